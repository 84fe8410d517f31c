#pragma once
// A chunk sealed by its group's assembler, on its way to a compressor thread: the ranges of
// channel segments that hold its Message records, in chunk order, and its sequence number.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pipeline/channel_queue.hpp"
#include "pipeline/compression_choice.hpp"

namespace mcaprec::pipeline {

struct SealedChunk {
  // Room for the pieces of a chunk reserved once, when the object is made: sealed chunks are
  // recycled, and one meeting its first chunk of many pieces would otherwise allocate in steady
  // state. A 1 MiB chunk of 64 KiB segments has a few dozen; of 4 KiB segments, a few hundred.
  static constexpr size_t kReservedPieces = 512;
  SealedChunk() { pieces.reserve(kReservedPieces); }

  uint64_t seq = 0;                          // N: the writer appends chunk N only after chunk N-1
  CompressionChoice* compression = nullptr;  // the group's codec choice
  std::vector<SealedPiece> pieces;           // each holds a ref on its segment
  uint64_t record_bytes = 0;                 // uncompressed size of the records
  bool on_event = false;                     // from an on-event group: for the ring only
};

}  // namespace mcaprec::pipeline
