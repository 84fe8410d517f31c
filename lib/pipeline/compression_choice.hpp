#pragma once
// Per chunk group: whether to try compressing its next chunk. Camera frames and other
// already-compressed data cost CPU to compress and gain nothing; after a few chunks in a row
// prove incompressible, the group's chunks are stored raw for a while, then one chunk is tried
// again (the data may have changed). Each retry that proves incompressible too doubles the next
// skip, up to kMaxChunksSkipped chunks or kMaxSkipTime, whichever ends first: on a stream that
// never compresses, about one chunk in a thousand is compressed in vain, and data that becomes
// compressible is compressed again within that bound (plus the chunks already being encoded).
// Several compressor threads may encode one group's chunks at once: only one retry is in flight.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>

#include "mcap/chunk.hpp"
#include "mcap/compression.hpp"

namespace mcaprec::pipeline {

class CompressionChoice {
 public:
  using Clock = std::chrono::steady_clock;

  // Incompressible chunks in a row that start the first skip, and how many chunks it lasts.
  static constexpr uint32_t kStreakToSkip = 3;
  static constexpr uint32_t kChunksSkipped = 32;
  // Bounds on a skip: at the default 1 MiB chunks, 1,024 chunks are 1 GiB; a slow group is
  // bounded by time instead, so that it notices compressible data within seconds.
  static constexpr uint32_t kMaxChunksSkipped = 1024;
  static constexpr Clock::duration kMaxSkipTime = std::chrono::seconds(5);
  // A chunk that compresses by less than this percentage is stored raw (barely_compressed();
  // the compressor pool passes it to encode_chunk as min_saving_percent).
  static constexpr uint32_t kMinSavingPercent = 2;

  // The codec for the group's next chunk: `configured`, or kNone while skipping.
  mcap::Compression choose(mcap::Compression configured) {
    return choose(configured, Clock::now());
  }
  // The same at a given time (tests).
  mcap::Compression choose(mcap::Compression configured, Clock::time_point now) {
    if (configured == mcap::Compression::kNone) return configured;
    std::lock_guard lock(mu_);
    if (skip_length_ == 0) return configured;  // not skipping: every chunk is tried
    // The skip is over: retry one chunk, and keep skipping meanwhile. A retry whose result
    // never comes back (its encode failed) is replaced after another skip's worth.
    if (skip_left_ == 0 || now - skip_started_ >= kMaxSkipTime) {
      retry_in_flight_ = true;
      restart_skip(now);
      return configured;
    }
    --skip_left_;
    ++skipped_;
    return mcap::Compression::kNone;
  }

  // Compressed, but by less than kMinSavingPercent: not worth the CPU, nor the readers'
  // decompression.
  static bool barely_compressed(const mcap::EncodedChunk& chunk) {
    return !chunk.compression.empty() &&
           chunk.compressed_size * 100 > chunk.uncompressed_size * (100 - kMinSavingPercent);
  }

  // What trying to compress a chunk gave. Chunks encoded with kNone (skipped) tell nothing.
  void record(const mcap::EncodedChunk& chunk) { record(chunk, Clock::now()); }
  void record(const mcap::EncodedChunk& chunk, Clock::time_point now) {
    const bool incompressible = chunk.compression.empty() || barely_compressed(chunk);
    std::lock_guard lock(mu_);
    if (!incompressible) {
      // Compressible again (the retry, or a chunk tried before the skip began): every chunk is
      // tried again, and the backoff starts over.
      streak_ = 0;
      skip_length_ = 0;
      skip_left_ = 0;
      retry_in_flight_ = false;
      return;
    }
    if (skip_length_ == 0) {
      if (++streak_ >= kStreakToSkip) {
        streak_ = 0;
        skip_length_ = kChunksSkipped;
        restart_skip(now);
      }
      return;
    }
    // Skipping already. The in-flight retry failed: skip twice as long before the next one.
    // An incompressible chunk tried before the skip began says nothing new.
    if (retry_in_flight_) {
      retry_in_flight_ = false;
      skip_length_ = std::min(skip_length_ * 2, kMaxChunksSkipped);
      restart_skip(now);
    }
  }

  // Chunks stored raw without trying, so far.
  uint64_t skipped() const {
    std::lock_guard lock(mu_);
    return skipped_;
  }

 private:
  void restart_skip(Clock::time_point now) {
    skip_left_ = skip_length_;
    skip_started_ = now;
  }

  mutable std::mutex mu_;
  uint32_t streak_ = 0;           // incompressible tries in a row while not skipping
  uint32_t skip_length_ = 0;      // chunks the current skip lasts; 0 = not skipping
  uint32_t skip_left_ = 0;        // chunks of the current skip still to store raw
  bool retry_in_flight_ = false;  // a chunk tried after a skip has not reported back
  Clock::time_point skip_started_{};
  uint64_t skipped_ = 0;  // all guarded by mu_
};

}  // namespace mcaprec::pipeline
