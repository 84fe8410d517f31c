#include "ingest/chunk_unpacker.hpp"

#include <cstdio>
#include <string>
#include <variant>

#include "mcap/crc32.hpp"
#include "mcap/serialize.hpp"

namespace mcaprec::ingest::detail {

namespace {

DecodeError bad_chunk(uint64_t offset, const std::string& what) {
  return DecodeError{DecodeReason::kBadChunk, offset, "Chunk: " + what};
}

// Neither codec expands its input past a fixed ratio (lz4 about 255:1, zstd about 32768:1), so
// a larger uncompressed_size is a lie that would make us allocate for nothing.
bool size_is_possible(const mcap::Chunk& chunk) {
  const uint64_t max_ratio = chunk.compression == "lz4" ? 256 : 32768;
  return chunk.uncompressed_size <= 1024 ||
         (chunk.uncompressed_size - 1024) / max_ratio < chunk.records.size();
}

}  // namespace

DecodeResult<mcap::ByteView> ChunkUnpacker::unpack(mcap::ByteView content, uint64_t offset) {
  base::Result<mcap::Record> parsed =
      mcap::parse_record(static_cast<uint8_t>(mcap::Opcode::kChunk), content, offset);
  if (!parsed.ok()) return bad_chunk(offset, parsed.error().message);
  const mcap::Chunk& chunk = std::get<mcap::Chunk>(*parsed);

  if (chunk.uncompressed_size > limits_.max_chunk_bytes) {
    return DecodeError{DecodeReason::kOversized, offset,
                       "Chunk of " + std::to_string(chunk.uncompressed_size) +
                           " uncompressed bytes exceeds max_chunk_bytes " +
                           std::to_string(limits_.max_chunk_bytes)};
  }
  mcap::ByteView records;
  if (chunk.compression.empty()) {
    if (chunk.records.size() != chunk.uncompressed_size) {
      return bad_chunk(offset, "stored chunk holds " + std::to_string(chunk.records.size()) +
                                   " bytes but declares uncompressed_size " +
                                   std::to_string(chunk.uncompressed_size));
    }
    records = chunk.records;
  } else if (chunk.compression == "zstd" || chunk.compression == "lz4") {
    if (!size_is_possible(chunk)) {
      return bad_chunk(offset, "uncompressed_size " + std::to_string(chunk.uncompressed_size) +
                                   " is impossible for " + std::to_string(chunk.records.size()) +
                                   " bytes of " + chunk.compression);
    }
    base::Status st =
        decompressor_.decompress(chunk.compression, chunk.records, chunk.uncompressed_size, buffer_,
                                 limits_.max_chunk_bytes);
    if (!st.ok()) return bad_chunk(offset, st.error().message);
    records = buffer_;
  } else {
    return bad_chunk(offset, "unsupported compression \"" + chunk.compression + "\"");
  }

  if (chunk.uncompressed_crc != 0) {
    const uint32_t computed = mcap::crc32(records);
    if (computed != chunk.uncompressed_crc) {
      char text[96];
      std::snprintf(text, sizeof(text), "CRC mismatch: stored 0x%08x, computed 0x%08x",
                    chunk.uncompressed_crc, computed);
      return bad_chunk(offset, text);
    }
  }
  return records;
}

}  // namespace mcaprec::ingest::detail
