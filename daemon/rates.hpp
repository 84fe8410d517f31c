#pragma once
// Rates over a sliding window, from counters sampled now and then: messages and bytes received
// and written per second, for STATUS= lines and /status.
#include <chrono>
#include <cstdint>
#include <deque>
#include <string>

#include "pipeline/pipeline.hpp"

namespace mcaprec::daemon {

struct Totals {
  uint64_t messages_received = 0;
  uint64_t bytes_received = 0;
  uint64_t messages_written = 0;
  uint64_t bytes_written = 0;  // file bytes (compressed chunks)
  uint64_t messages_dropped = 0;

  static Totals from(const pipeline::PipelineStats& stats);
};

struct Rates {
  double messages_received = 0;  // per second
  double bytes_received = 0;
  double messages_written = 0;
  double bytes_written = 0;
  double messages_dropped = 0;
};

class RateTracker {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateTracker(std::chrono::nanoseconds window) : window_(window) {}

  void add(Clock::time_point time, const Totals& totals);
  // Over the samples within the window (the oldest one just outside it included); zero until
  // two samples are known.
  Rates rates() const;

 private:
  struct Sample {
    Clock::time_point time;
    Totals totals;
  };
  std::chrono::nanoseconds window_;
  std::deque<Sample> samples_;
};

// "1.50 KiB", "12.0 MiB": short, for status lines.
std::string short_size(double bytes);

// The STATUS= line: "Recording rec_…_3.mcap: 1234 msg/s, 5.6 MiB/s in, 1.2 MiB/s to disk,
// 4 files, 0 dropped".
std::string status_line(const pipeline::PipelineStats& stats, const Rates& rates);

}  // namespace mcaprec::daemon
