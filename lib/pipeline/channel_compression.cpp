#include "pipeline/channel_compression.hpp"

#include <algorithm>

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

uint64_t probe_sample(std::span<const mcap::ChunkPiece> pieces, uint64_t total,
                      uint64_t sample_bytes, std::vector<mcap::ByteView>& out) {
  if (total <= sample_bytes) {
    for (const mcap::ChunkPiece& piece : pieces) out.push_back(piece.records);
    return total;
  }
  const uint64_t window = sample_bytes / kProbeWindows;
  uint64_t sampled = 0;
  size_t piece = 0;
  uint64_t piece_begin = 0;  // of pieces[piece], within the records
  for (uint64_t w = 0; w < kProbeWindows; ++w) {
    uint64_t at = w * (total / kProbeWindows);  // windows never overlap: total > sample_bytes
    uint64_t left = window;
    while (left > 0 && piece < pieces.size()) {
      const mcap::ByteView records = pieces[piece].records;
      if (at >= piece_begin + records.size()) {
        piece_begin += records.size();
        ++piece;
        continue;
      }
      const uint64_t n = std::min(left, piece_begin + records.size() - at);
      out.push_back(records.subspan(at - piece_begin, n));
      at += n;
      left -= n;
      sampled += n;
    }
  }
  return sampled;
}

}  // namespace mcaprec::pipeline
