#pragma once
// When each item of a paced stream is due, as nanoseconds after the stream began. A load
// generator asks for every item's due time and sleeps until it; falling behind is caught up by
// sending late items at once, so the average rate stays exact over any run long enough.
//
//   unpaced            every item is due at once (as fast as possible)
//   at_rate(R)         item i is due at i / R seconds
//   by_log_time(S)     an item is due when its log time, relative to the first item's, has
//                      passed at S times real speed; earlier log times than the first are due
//                      at once, so out-of-order recordings do not stall the replay
#include <cmath>
#include <cstdint>
#include <optional>

#include "mcap/records.hpp"

namespace mcaprec::synth {

class Pacer {
 public:
  static Pacer unpaced() { return Pacer(Mode::kUnpaced, 0); }
  // `per_second` must be > 0.
  static Pacer at_rate(double per_second) { return Pacer(Mode::kRate, per_second); }
  // `speed` must be > 0; 1 is real time, 2 twice as fast.
  static Pacer by_log_time(double speed) { return Pacer(Mode::kLogTime, speed); }

  bool paced() const { return mode_ != Mode::kUnpaced; }

  // Due time of the item with position `index` (from 0) and `log_time`. Remembers the first
  // log time it is given.
  uint64_t due_ns(uint64_t index, mcap::Timestamp log_time) {
    switch (mode_) {
      case Mode::kUnpaced:
        return 0;
      case Mode::kRate:
        return static_cast<uint64_t>(std::llround(static_cast<double>(index) * 1e9 / factor_));
      case Mode::kLogTime:
        if (!first_log_time_) first_log_time_ = log_time;
        if (log_time <= *first_log_time_) return 0;
        return static_cast<uint64_t>(
            std::llround(static_cast<double>(log_time - *first_log_time_) / factor_));
    }
    return 0;
  }

 private:
  enum class Mode { kUnpaced, kRate, kLogTime };
  Pacer(Mode mode, double factor) : mode_(mode), factor_(factor) {}

  Mode mode_;
  double factor_;  // messages per second, or replay speed
  std::optional<mcap::Timestamp> first_log_time_;
};

}  // namespace mcaprec::synth
