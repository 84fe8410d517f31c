#include "mcap/read_checks.hpp"

#include <cstdio>
#include <cstring>

#include "mcap/crc32.hpp"

namespace mcaprec::mcap::detail {

std::string hex32(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof(text), "0x%08x", value);
  return text;
}

bool is_magic_at(ByteView file, uint64_t at) {
  return at <= file.size() && file.size() - at >= sizeof(kMagic) &&
         std::memcmp(file.data() + at, kMagic, sizeof(kMagic)) == 0;
}

Status check_leading_magic(ByteView file) {
  if (is_magic_at(file, 0)) return {};
  if (file.size() < sizeof(kMagic) &&
      (file.empty() || std::memcmp(file.data(), kMagic, file.size()) == 0)) {
    return Error{
        0, "not an MCAP file: truncated magic (" + std::to_string(file.size()) + " of 8 bytes)"};
  }
  return Error{0, "not an MCAP file: bad magic"};
}

Status decode_chunk(const Chunk& chunk, uint64_t chunk_offset, const ReadOptions& options,
                    Decompressor& decompressor, Bytes& buffer, DecodedChunk& out) {
  const std::string where = "Chunk at offset " + std::to_string(chunk_offset) + ": ";
  out = {};
  if (chunk.uncompressed_size > options.max_chunk_bytes) {
    return Error{chunk_offset,
                 where + "uncompressed size " + std::to_string(chunk.uncompressed_size) +
                     " exceeds the limit of " + std::to_string(options.max_chunk_bytes) + " bytes"};
  }
  if (chunk.compression.empty()) {
    if (chunk.records.size() != chunk.uncompressed_size) {
      return Error{chunk_offset, where + "uncompressed chunk holds " +
                                     std::to_string(chunk.records.size()) +
                                     " bytes but declares uncompressed_size " +
                                     std::to_string(chunk.uncompressed_size)};
    }
    out.records = chunk.records;
  } else if (chunk.compression == "zstd" || chunk.compression == "lz4") {
    // A corrupt uncompressed_size must not make us allocate (and zero) gigabytes: neither codec
    // can expand its input beyond a fixed ratio (lz4 about 255:1, zstd 32768:1, one 4-byte RLE
    // block per 128 KiB), so anything larger is refused before decompressing.
    const uint64_t max_ratio = chunk.compression == "lz4" ? 256 : 32768;
    const uint64_t compressed = chunk.records.size();
    if (chunk.uncompressed_size > 1024 &&
        (chunk.uncompressed_size - 1024) / max_ratio >= compressed) {
      return Error{chunk_offset, where + "uncompressed_size " +
                                     std::to_string(chunk.uncompressed_size) +
                                     " is impossible for " + std::to_string(compressed) +
                                     " bytes of " + chunk.compression + " data"};
    }
    Status st = decompressor.decompress(chunk.compression, chunk.records, chunk.uncompressed_size,
                                        buffer, options.max_chunk_bytes);
    if (!st.ok()) return Error{chunk_offset, where + st.error().message};
    if (buffer.size() != chunk.uncompressed_size) {
      return Error{chunk_offset, where + "decompressed to " + std::to_string(buffer.size()) +
                                     " bytes, expected " + std::to_string(chunk.uncompressed_size)};
    }
    out.records = buffer;
  } else {
    return Error{chunk_offset, where + "unsupported compression \"" + chunk.compression + "\""};
  }
  if (options.validate_crcs && chunk.uncompressed_crc != 0) {
    out.crc = crc32(out.records);
    out.crc_computed = true;
    if (out.crc != chunk.uncompressed_crc) {
      return Error{chunk_offset, where + "CRC mismatch: stored " + hex32(chunk.uncompressed_crc) +
                                     ", computed " + hex32(out.crc)};
    }
  }
  return {};
}

bool allowed_in_chunk(uint8_t opcode) {
  switch (static_cast<Opcode>(opcode)) {
    case Opcode::kSchema:
    case Opcode::kChannel:
    case Opcode::kMessage:
      return true;
    default:
      // Spec records other than the three above may not be nested; anything past the last
      // defined opcode is a future or private record that readers pass through.
      return opcode > static_cast<uint8_t>(Opcode::kDataEnd);
  }
}

Status check_attachment_crc(const Attachment& attachment, ByteView content, uint64_t offset) {
  if (attachment.crc == 0) return {};
  const uint64_t covered = attachment_crc_covered_length(attachment);
  if (covered > content.size()) {
    return Error{offset, "Attachment at offset " + std::to_string(offset) +
                             ": CRC covers more bytes than the record holds"};
  }
  const uint32_t computed = crc32(content.first(covered));
  if (computed != attachment.crc) {
    return Error{offset, "Attachment at offset " + std::to_string(offset) +
                             ": CRC mismatch: stored " + hex32(attachment.crc) + ", computed " +
                             hex32(computed)};
  }
  return {};
}

}  // namespace mcaprec::mcap::detail
