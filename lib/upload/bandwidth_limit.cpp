#include "upload/bandwidth_limit.hpp"

#include <algorithm>
#include <thread>

namespace mcaprec::upload {

namespace {

constexpr uint64_t kMinBurst = 16 * 1024;

uint64_t default_burst(uint64_t rate) {
  return std::max(kMinBurst, rate / 20);
}

}  // namespace

BandwidthLimit::BandwidthLimit(uint64_t bytes_per_second, uint64_t burst, Clock clock, Sleep sleep)
    : rate_(std::max<uint64_t>(bytes_per_second, 1)),
      burst_(burst != 0 ? burst : default_burst(rate_)),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })),
      sleep_(sleep ? std::move(sleep)
                   : Sleep([](std::chrono::nanoseconds d) { std::this_thread::sleep_for(d); })),
      // Starts full: the first burst goes at once, as after any idle moment.
      tokens_(static_cast<double>(burst_)),
      refilled_at_(clock_()) {}

std::chrono::nanoseconds BandwidthLimit::reserve(uint64_t bytes) {
  std::lock_guard lock(mu_);
  const auto now = clock_();
  if (now > refilled_at_) {
    const double elapsed_s = std::chrono::duration<double>(now - refilled_at_).count();
    tokens_ =
        std::min(static_cast<double>(burst_), tokens_ + elapsed_s * static_cast<double>(rate_));
    refilled_at_ = now;
  }
  tokens_ -= static_cast<double>(bytes);
  if (tokens_ >= 0) return std::chrono::nanoseconds(0);
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(-tokens_ / static_cast<double>(rate_)));
}

void BandwidthLimit::acquire(uint64_t bytes) {
  const std::chrono::nanoseconds wait = reserve(bytes);
  if (wait.count() > 0) sleep_(wait);
}

std::shared_ptr<BandwidthLimit> bandwidth_limit_for(uint64_t bytes_per_second) {
  if (bytes_per_second == 0) return nullptr;
  return std::make_shared<BandwidthLimit>(bytes_per_second);
}

}  // namespace mcaprec::upload
