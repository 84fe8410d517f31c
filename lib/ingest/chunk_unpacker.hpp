#pragma once
// Internal to lib/ingest: turns a Chunk record's content into the uncompressed records it
// holds, refusing sizes over the limit before allocating and checking the stored CRC.
#include <cstdint>

#include "ingest/decode_error.hpp"
#include "ingest/decoder_limits.hpp"
#include "mcap/compression.hpp"
#include "mcap/records.hpp"

namespace mcaprec::ingest::detail {

class ChunkUnpacker {
 public:
  explicit ChunkUnpacker(const DecoderLimits& limits) : limits_(limits) {}

  // The records of the Chunk record at stream `offset`. The view points into `content` for a
  // chunk stored uncompressed, else into this object's buffer; valid until the next call.
  DecodeResult<mcap::ByteView> unpack(mcap::ByteView content, uint64_t offset);

 private:
  DecoderLimits limits_;
  mcap::Decompressor decompressor_;
  mcap::Bytes buffer_;  // kept across chunks: a sender's chunks are usually alike in size
};

}  // namespace mcaprec::ingest::detail
