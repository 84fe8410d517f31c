#pragma once
// A chunk sealed by its group's assembler, on its way to a compressor thread: the ranges of
// channel segments that hold its Message records, in chunk order, and its sequence number.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pipeline/channel_compression.hpp"
#include "pipeline/channel_queue.hpp"
#include "pipeline/compression_choice.hpp"

namespace mcaprec::pipeline {

// One channel's part of a sealed chunk: its pieces are contiguous (a seal takes each channel
// once), ending at `pieces_end`.
struct ChannelShare {
  ChannelCompression* compression = nullptr;
  uint32_t pieces_end = 0;
  uint64_t record_bytes = 0;
};

struct SealedChunk {
  // Room for the pieces of a chunk reserved once, when the object is made: sealed chunks are
  // recycled, and one meeting its first chunk of many pieces would otherwise allocate in steady
  // state. A 1 MiB chunk of 64 KiB segments has a few dozen; of 4 KiB segments, a few hundred.
  static constexpr size_t kReservedPieces = 512;
  static constexpr size_t kReservedShares = 256;
  SealedChunk() {
    pieces.reserve(kReservedPieces);
    shares.reserve(kReservedShares);
    share_ends.reserve(kReservedShares);
  }

  uint64_t seq = 0;                          // N: the writer appends chunk N only after chunk N-1
  CompressionChoice* compression = nullptr;  // the group's codec choice (configured groups)
  std::vector<SealedPiece> pieces;           // each holds a ref on its segment
  std::vector<ChannelShare> shares;          // by channel, in piece order
  std::vector<uint32_t> share_ends;          // shares[i].pieces_end, for the encoder
  uint64_t record_bytes = 0;                 // uncompressed size of the records
  bool on_event = false;                     // from an on-event group: for the ring only
  // From a learning group (per-channel decisions): `raw_lane` chunks hold channels whose data
  // does not compress; they are stored without an attempt unless `probe` (one is due).
  bool learning = false;
  bool raw_lane = false;
  bool probe = false;
};

}  // namespace mcaprec::pipeline
