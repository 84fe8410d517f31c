#pragma once
// upload.max_bandwidth: one token bucket for every transfer of the process, so that two uploads
// at once share the limit instead of doubling it. The body read path of every PUT and part
// (CurlSession) takes its bytes from it before handing them to libcurl.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

namespace mcaprec::upload {

class BandwidthLimit {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  using Sleep = std::function<void(std::chrono::nanoseconds)>;

  // `bytes_per_second` > 0. `burst`: how far ahead of the average a transfer may get after an
  // idle moment; 0 = a twentieth of a second's worth, at least 16 KiB (small enough that a
  // measurement over a few seconds sees the rate itself). Tests inject the clock and the sleep.
  explicit BandwidthLimit(uint64_t bytes_per_second, uint64_t burst = 0, Clock clock = {},
                          Sleep sleep = {});

  // Books `bytes` and says how long the caller must wait before sending them (zero while the
  // bucket holds enough). Callers that book together are served one after another, each after
  // the debt of those before it: fair, and the total stays at the rate.
  std::chrono::nanoseconds reserve(uint64_t bytes);
  // reserve(), then sleeps that long.
  void acquire(uint64_t bytes);

  // The most a caller should book at once, so that one booking never sleeps for long.
  uint64_t max_booking() const { return burst_; }
  uint64_t bytes_per_second() const { return rate_; }

 private:
  const uint64_t rate_;
  const uint64_t burst_;
  const Clock clock_;
  const Sleep sleep_;
  std::mutex mu_;
  double tokens_;  // guarded by mu_; negative = debt that later callers wait behind
  std::chrono::steady_clock::time_point refilled_at_;  // guarded by mu_
};

// The limit for `bytes_per_second`, or null for 0 (unlimited). Create one per process and give
// the same pointer to every session (SessionOptions::bandwidth).
std::shared_ptr<BandwidthLimit> bandwidth_limit_for(uint64_t bytes_per_second);

}  // namespace mcaprec::upload
