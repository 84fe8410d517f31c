#pragma once
// channels[].max_rate: admits at most one message per interval of log time, on average. The
// next slot advances by exactly one interval from the previous one (not from the admitted
// message), so jitter around the limit does not pull the recorded rate below it; after a
// quiet spell the slots restart from the message that ends it. Log time rather than arrival
// time decides, so the result does not depend on how bursts of the network are delivered.
// Lock-free: several producer threads may push to one channel.
#include <algorithm>
#include <atomic>
#include <cstdint>

#include "mcap/records.hpp"

namespace mcaprec::pipeline {

class RateLimiter {
 public:
  explicit RateLimiter(uint64_t millihertz)
      : interval_(std::max<uint64_t>(1, kNanosPerMillihertzSecond / millihertz)),
        reset_after_(std::max<uint64_t>(2 * interval_, kNanosPerSecond)) {}

  // A slot taken by admit(), to give back when the message was not queued after all.
  struct Slot {
    mcap::Timestamp before = 0;
    mcap::Timestamp after = 0;
  };

  // True when a message logged at `log_time` is within the rate (and takes its slot, described
  // in `taken` if given).
  bool admit(mcap::Timestamp log_time, Slot* taken = nullptr) {
    mcap::Timestamp due = next_due_.load(std::memory_order_relaxed);
    for (;;) {
      // A clock that jumped back (a sender restarted its simulated time) must not silence the
      // channel until it catches up: it restarts the slots.
      const bool jumped_back = due > reset_after_ && log_time < due - reset_after_;
      if (log_time < due && !jumped_back) return false;
      const mcap::Timestamp next =
          (!jumped_back && log_time - due < interval_) ? due + interval_ : log_time + interval_;
      if (next_due_.compare_exchange_weak(due, next, std::memory_order_relaxed)) {
        if (taken != nullptr) *taken = Slot{due, next};
        return true;
      }
    }
  }

  // Undoes admit() unless another message took a slot since (then the slot stays used: rarely,
  // and only one message too few recorded).
  void give_back(const Slot& slot) {
    mcap::Timestamp expected = slot.after;
    next_due_.compare_exchange_strong(expected, slot.before, std::memory_order_relaxed);
  }

 private:
  static constexpr uint64_t kNanosPerSecond = 1'000'000'000;
  static constexpr uint64_t kNanosPerMillihertzSecond = 1'000 * kNanosPerSecond;
  const uint64_t interval_;     // ns of log time per message
  const uint64_t reset_after_;  // a jump back by more than this restarts the slots
  std::atomic<mcap::Timestamp> next_due_{0};
};

}  // namespace mcaprec::pipeline
