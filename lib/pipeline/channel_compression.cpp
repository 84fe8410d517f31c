#include "pipeline/channel_compression.hpp"

namespace mcaprec::pipeline {

bool ChannelCompression::probe_due(int64_t now_ns) {
  std::lock_guard lock(mu_);
  if (last_attempt_ns_ == 0) last_attempt_ns_ = now_ns;
  ++raw_chunks_;
  const bool due = raw_chunks_ > policy_.probe_every_chunks ||
                   now_ns - last_attempt_ns_ >= policy_.probe_every.count();
  if (due) {
    // Counted as an attempt from now: the chunks sealed before its result arrives are not
    // probed as well.
    raw_chunks_ = 0;
    last_attempt_ns_ = now_ns;
  }
  return due;
}

void ChannelCompression::observe(uint64_t raw_bytes, uint64_t compressed_bytes, int64_t now_ns) {
  if (!learns_ || raw_bytes == 0) return;
  std::lock_guard lock(mu_);
  last_attempt_ns_ = now_ns;
  raw_chunks_ = 0;
  sample_raw_ += raw_bytes;
  sample_compressed_ += compressed_bytes;
  if (sample_raw_ < policy_.min_sample_bytes) return;
  const double ratio = double(sample_compressed_) / double(sample_raw_);
  sample_raw_ = 0;
  sample_compressed_ = 0;
  estimate_ = estimated_ ? estimate_ + policy_.weight * (ratio - estimate_) : ratio;
  estimated_ = true;
  const bool raw = raw_.load(std::memory_order_relaxed);
  if (!raw && estimate_ > policy_.store_raw_above) {
    raw_.store(true, std::memory_order_relaxed);
  } else if (raw && estimate_ < policy_.compress_below) {
    raw_.store(false, std::memory_order_relaxed);
  }
}

}  // namespace mcaprec::pipeline
