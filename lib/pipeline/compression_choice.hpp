#pragma once
// Per chunk group: whether to try compressing its next chunk. Camera frames and other
// already-compressed data cost CPU to compress and gain nothing; after a few chunks in a row
// prove incompressible, the group's chunks are stored raw for a while, then tried again (the
// data may have changed). Several compressor threads may encode one group's chunks at once.
// Used by configured chunk groups; in the default group each channel decides for itself
// (channel_compression.hpp).
#include <cstdint>
#include <mutex>

#include "mcap/chunk.hpp"
#include "mcap/compression.hpp"

namespace mcaprec::pipeline {

class CompressionChoice {
 public:
  // Incompressible chunks in a row that start a skip, and how many chunks a skip lasts.
  static constexpr uint32_t kStreakToSkip = 3;
  static constexpr uint32_t kChunksSkipped = 32;
  // A chunk must save at least this much to be kept compressed (see barely_compressed).
  static constexpr uint32_t kMinSavingPercent = 2;

  // The codec for the group's next chunk: `configured`, or kNone while skipping.
  mcap::Compression choose(mcap::Compression configured) {
    if (configured == mcap::Compression::kNone) return configured;
    std::lock_guard lock(mu_);
    if (skip_left_ == 0) return configured;
    --skip_left_;
    return mcap::Compression::kNone;
  }

  // Compressed, but by less than 2%: not worth the CPU, nor the readers' decompression.
  static bool barely_compressed(const mcap::EncodedChunk& chunk) {
    return !chunk.compression.empty() &&
           chunk.compressed_size * 100 > chunk.uncompressed_size * (100 - kMinSavingPercent);
  }

  // What trying to compress a chunk gave. Chunks encoded with kNone (skipped) tell nothing.
  void record(const mcap::EncodedChunk& chunk) {
    const bool incompressible = chunk.compression.empty() || barely_compressed(chunk);
    std::lock_guard lock(mu_);
    if (!incompressible) {
      streak_ = 0;
      return;
    }
    if (++streak_ >= kStreakToSkip) {
      streak_ = 0;
      skip_left_ = kChunksSkipped;
    }
  }

 private:
  mutable std::mutex mu_;
  uint32_t streak_ = 0;     // guarded by mu_
  uint32_t skip_left_ = 0;  // guarded by mu_
};

}  // namespace mcaprec::pipeline
