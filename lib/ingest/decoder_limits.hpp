#pragma once
// What one connection (TCP) or one sender address (UDP) may make the decoders hold in memory.
// Every limit is checked before the bytes it guards are buffered or allocated.
#include <cstdint>

namespace mcaprec::ingest {

// Room for the fields of a kept record besides its bulk bytes (names, topic, media type,
// metadata map): a Schema, Channel, Attachment, Metadata or Header record may have up to
// max_message_size + kRecordOverhead content bytes.
inline constexpr uint64_t kRecordOverhead = 64 * 1024;

struct DecoderLimits {
  // Largest message payload accepted, in bytes. Also bounds Schema data, Attachment data and
  // the other kept records (see kRecordOverhead).
  uint64_t max_message_size = 16 << 20;
  // Most channels one connection or sender may define; schemas are capped at the same number.
  uint32_t max_channels = 1024;
  // Largest uncompressed Chunk accepted, in bytes (the compressed Chunk record may exceed it by
  // the codecs' framing). Keep it above max_message_size + 31 so one maximal message fits.
  uint64_t max_chunk_bytes = 64 << 20;
  // Most bytes the schemas and channels of one connection or sender may hold together.
  uint64_t max_definition_bytes = 64 << 20;
};

}  // namespace mcaprec::ingest
