#pragma once
// A topic rule at push time: any message on the rule's topic fires it, whatever its payload,
// at most once per min_interval (steady clock, so that a sender's clock cannot defeat it). The
// check is one clock read and one compare-and-swap, only on channels a rule names.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>

#include "events/event_options.hpp"

namespace mcaprec::events {

class RuleTrigger {
 public:
  explicit RuleTrigger(TriggerRule rule) : rule_(std::move(rule)) {}

  const TriggerRule& rule() const { return rule_; }

  // True for the one caller whose message fires the rule now.
  bool fire() {
    const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    int64_t last = last_fired_.load(std::memory_order_relaxed);
    if (last != kNever && now - last < rule_.min_interval.count()) return false;
    return last_fired_.compare_exchange_strong(last, now, std::memory_order_relaxed);
  }

 private:
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::min();
  const TriggerRule rule_;
  std::atomic<int64_t> last_fired_{kNever};
};

}  // namespace mcaprec::events
