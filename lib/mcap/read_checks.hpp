#pragma once
// Checks shared by the stream reader, the summary reader and the scanner (internal to lib/mcap):
// magic, chunk decoding with its limits and CRC, attachment CRC, which records a chunk may hold.
#include <cstdint>
#include <string>

#include "mcap/compression.hpp"
#include "mcap/error.hpp"
#include "mcap/reader.hpp"
#include "mcap/records.hpp"

namespace mcaprec::mcap::detail {

// "0x0000abcd"
std::string hex32(uint32_t value);

// The leading magic: "not an MCAP file: bad magic" or "truncated magic" at offset 0.
Status check_leading_magic(ByteView file);

// True when `file[at, at + 8)` is the magic.
bool is_magic_at(ByteView file, uint64_t at);

// Decompresses (or, for "", views in place) the records of the Chunk at file offset
// `chunk_offset`, enforcing `options.max_chunk_bytes` before allocating and the stored CRC when
// non-zero and `options.validate_crcs`. On success `out.records` views either `chunk.records` or
// `buffer`, and `out.crc` holds the records' CRC when one was computed.
struct DecodedChunk {
  ByteView records;
  bool crc_computed = false;
  uint32_t crc = 0;
};
Status decode_chunk(const Chunk& chunk, uint64_t chunk_offset, const ReadOptions& options,
                    Decompressor& decompressor, Bytes& buffer, DecodedChunk& out);

// Schema, Channel, Message and opcodes the spec does not define (future or private records).
bool allowed_in_chunk(uint8_t opcode);

// Checks Attachment.crc (when non-zero) over `content`, the record's content bytes.
Status check_attachment_crc(const Attachment& attachment, ByteView content, uint64_t offset);

}  // namespace mcaprec::mcap::detail
