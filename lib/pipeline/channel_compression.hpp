#pragma once
// Per channel: whether its data is worth compressing, learned from the chunks that tried, and
// what compression did with its bytes (counters). Only channels of a learning group (the
// shared "default" group) decide for themselves; channels of a configured chunk group follow
// the group (CompressionChoice).
//
// How it learns: each chunk that tries the codec flushes it at every channel boundary, so the
// compressed bytes of each channel's records are known exactly (ChannelShare). Those
// observations, gathered until at least kMinSampleBytes, move a decaying estimate (an EWMA of
// compressed/raw). Above store_raw_above the channel's data goes into the group's raw lane:
// chunks of incompressible channels only, stored without an attempt. Every probe_every_chunks
// raw chunks (or probe_every of time) a sample of the channel's records in such a chunk is
// tried (the chunk stays raw); if the estimate falls below compress_below the channel goes back
// to the compressed lane. The thresholds and why they are what they are: lib/pipeline/README.md
// ("Per-channel compression").
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "mcap/chunk.hpp"

namespace mcaprec::pipeline {

// The two lanes of a learning group: chunks that are compressed, chunks stored raw. A channel's
// data goes into one of them at a time.
using Lane = uint8_t;
inline constexpr Lane kCompressedLane = 0;
inline constexpr Lane kRawLane = 1;
inline constexpr size_t kLaneCount = 2;

struct CompressionLearning {
  bool enabled = true;  // false: every group behaves like a configured one
  // Estimated compressed/raw ratio above which a channel is stored raw (saves under 10 %) and
  // below which a raw channel is compressed again (saves over 15 %); the gap keeps a channel
  // near the line from switching back and forth.
  double store_raw_above = 0.90;
  double compress_below = 0.85;
  // Weight of each new observation in the estimate: three incompressible observations in a row
  // take a channel from 0.5 to 0.94.
  double weight = 0.5;
  // A raw channel's data is tried again after this many raw chunks of it, or this long since
  // its last attempt, whichever comes first.
  uint32_t probe_every_chunks = 64;
  std::chrono::nanoseconds probe_every = std::chrono::seconds(10);
  // Observations are gathered until this many raw bytes: a few small messages say little
  // (a flush costs a few bytes of framing).
  uint64_t min_sample_bytes = 16 << 10;
  // A probe runs the codec over at most this many bytes of each raw channel's records in the
  // chunk (probe_sample()), not over the whole chunk, which stays raw: one camera frame of 4 MB
  // would otherwise cost a full attempt to learn what a part of it tells.
  uint64_t probe_sample_bytes = 256 << 10;
};

// What a probe compresses of one channel's records in a chunk (`pieces`, `total` bytes
// together): all of them up to `sample_bytes`, otherwise `sample_bytes` in kProbeWindows
// windows spread evenly over them (a frame's first rows alone may be its border). Appends the
// views to `out`; returns the bytes they hold.
inline constexpr uint64_t kProbeWindows = 4;
uint64_t probe_sample(std::span<const mcap::ChunkPiece> pieces, uint64_t total,
                      uint64_t sample_bytes, std::vector<mcap::ByteView>& out);

// A channel's counters, as stats report them.
struct ChannelCompressionCounts {
  uint64_t bytes_in = 0;    // record bytes of the channel in encoded chunks
  uint64_t bytes_out = 0;   // what they became in the file (compressed share, or raw)
  uint64_t attempts = 0;    // chunks holding its data that were run through the codec
  uint64_t skipped = 0;     // chunks holding its data stored raw without an attempt
  bool stored_raw = false;  // the channel's data currently goes into raw chunks
};

class ChannelCompression {
 public:
  ChannelCompression(const CompressionLearning& policy, bool learns)
      : policy_(policy), learns_(learns && policy.enabled) {}
  ChannelCompression(const ChannelCompression&) = delete;
  ChannelCompression& operator=(const ChannelCompression&) = delete;

  bool learns() const { return learns_; }
  uint64_t probe_sample_bytes() const { return policy_.probe_sample_bytes; }
  // Where the channel's data should go now (read by its group's assembler when sealing).
  bool wants_raw() const { return raw_.load(std::memory_order_relaxed); }

  // At a seal of a raw chunk holding this channel's data (under the group's seal lock):
  // whether that chunk should be tried (a probe is due). Counts the chunk either way.
  bool probe_due(int64_t now_ns);

  // A compressor thread tried `raw_bytes` of the channel's records, which became
  // `compressed_bytes`. Updates the estimate (learning channels) and may move the channel.
  void observe(uint64_t raw_bytes, uint64_t compressed_bytes, int64_t now_ns);

  // A compressor thread encoded the channel's share of a chunk: `in` record bytes stored as
  // `out` bytes; `tried`: through the codec; `skipped`: stored raw without trying although a
  // codec is configured.
  void count(uint64_t in, uint64_t out, bool tried, bool skipped) {
    bytes_in_.fetch_add(in, std::memory_order_relaxed);
    bytes_out_.fetch_add(out, std::memory_order_relaxed);
    if (tried) attempts_.fetch_add(1, std::memory_order_relaxed);
    if (skipped) skipped_.fetch_add(1, std::memory_order_relaxed);
  }

  ChannelCompressionCounts counts() const {
    ChannelCompressionCounts c;
    c.bytes_in = bytes_in_.load(std::memory_order_relaxed);
    c.bytes_out = bytes_out_.load(std::memory_order_relaxed);
    c.attempts = attempts_.load(std::memory_order_relaxed);
    c.skipped = skipped_.load(std::memory_order_relaxed);
    c.stored_raw = wants_raw();
    return c;
  }
  // The current estimate of compressed/raw (1 before anything was learned); for tests.
  double estimate() const {
    std::lock_guard lock(mu_);
    return estimated_ ? estimate_ : 1.0;
  }

 private:
  const CompressionLearning& policy_;
  const bool learns_;
  std::atomic<bool> raw_{false};

  mutable std::mutex mu_;           // several compressor threads may observe at once
  double estimate_ = 0;             // guarded by mu_; EWMA of compressed/raw
  bool estimated_ = false;          // guarded by mu_; the first sample sets the estimate
  uint64_t sample_raw_ = 0;         // guarded by mu_; observations gathered so far
  uint64_t sample_compressed_ = 0;  // guarded by mu_
  uint32_t raw_chunks_ = 0;         // guarded by mu_; raw chunks since the last attempt
  int64_t last_attempt_ns_ = 0;     // guarded by mu_

  std::atomic<uint64_t> bytes_in_{0};
  std::atomic<uint64_t> bytes_out_{0};
  std::atomic<uint64_t> attempts_{0};
  std::atomic<uint64_t> skipped_{0};
};

}  // namespace mcaprec::pipeline
