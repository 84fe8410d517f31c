#include "ingest/record_decoding.hpp"

#include <cstdio>
#include <limits>
#include <variant>

#include "mcap/bytes.hpp"
#include "mcap/crc32.hpp"
#include "mcap/serialize.hpp"

namespace mcaprec::ingest::detail {

namespace {

uint64_t saturating_add(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max()
                                                      : a + b;
}

// Parses a kept record with the format core's parser; a failure means the fields do not fit
// the record's length.
template <class T>
DecodeResult<T> parse_as(mcap::Opcode opcode, mcap::ByteView content, uint64_t offset) {
  base::Result<mcap::Record> parsed =
      mcap::parse_record(static_cast<uint8_t>(opcode), content, offset);
  if (!parsed.ok()) {
    return DecodeError{DecodeReason::kMalformed, offset, parsed.error().message};
  }
  return std::get<T>(std::move(*parsed));
}

std::string hex32(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof(text), "0x%08x", value);
  return text;
}

}  // namespace

std::string opcode_label(uint8_t opcode) {
  if (is_spec_opcode(opcode)) return mcap::opcode_name(opcode);
  char text[32];
  std::snprintf(text, sizeof(text), "%s(0x%02x)", opcode >= 0x80 ? "Private" : "Unknown", opcode);
  return text;
}

bool is_spec_opcode(uint8_t opcode) {
  return opcode >= static_cast<uint8_t>(mcap::Opcode::kHeader) &&
         opcode <= static_cast<uint8_t>(mcap::Opcode::kDataEnd);
}

uint64_t content_limit(uint8_t opcode, const DecoderLimits& limits) {
  // zstd and lz4 frames exceed their input by under 1/255 of it plus a few hundred bytes.
  const uint64_t chunk_limit = saturating_add(
      saturating_add(limits.max_chunk_bytes, limits.max_chunk_bytes / 128), kRecordOverhead);
  switch (static_cast<mcap::Opcode>(opcode)) {
    case mcap::Opcode::kMessage:
      return saturating_add(limits.max_message_size, mcap::kMessageHeaderSize);
    case mcap::Opcode::kChunk:
    case mcap::Opcode::kMessageIndex:
    case mcap::Opcode::kChunkIndex:
    case mcap::Opcode::kAttachmentIndex:
    case mcap::Opcode::kMetadataIndex:
    case mcap::Opcode::kStatistics:
    case mcap::Opcode::kSummaryOffset:
      return chunk_limit;
    case mcap::Opcode::kHeader:
    case mcap::Opcode::kFooter:
    case mcap::Opcode::kSchema:
    case mcap::Opcode::kChannel:
    case mcap::Opcode::kAttachment:
    case mcap::Opcode::kMetadata:
    case mcap::Opcode::kDataEnd:
      return saturating_add(limits.max_message_size, kRecordOverhead);
  }
  return chunk_limit;  // future and private records, skipped
}

DecodeStatus check_content_length(uint8_t opcode, uint64_t length, uint64_t offset,
                                  const DecoderLimits& limits) {
  const uint64_t limit = content_limit(opcode, limits);
  if (length > limit) {
    return DecodeError{DecodeReason::kOversized, offset,
                       opcode_label(opcode) + " record of " + std::to_string(length) +
                           " content bytes exceeds the limit of " + std::to_string(limit) +
                           " (max_message_size " + std::to_string(limits.max_message_size) +
                           ", max_chunk_bytes " + std::to_string(limits.max_chunk_bytes) + ")"};
  }
  if (opcode == static_cast<uint8_t>(mcap::Opcode::kMessage) && length < mcap::kMessageHeaderSize) {
    return DecodeError{DecodeReason::kMalformed, offset,
                       "Message record of " + std::to_string(length) +
                           " content bytes is shorter than its 22 bytes of fixed fields"};
  }
  return {};
}

DecodeResult<mcap::Message> decode_message(mcap::ByteView content, uint64_t offset,
                                           const SenderChannels& channels,
                                           const DecoderLimits& limits) {
  if (content.size() < mcap::kMessageHeaderSize) {
    return DecodeError{DecodeReason::kMalformed, offset,
                       "Message record of " + std::to_string(content.size()) +
                           " content bytes is shorter than its 22 bytes of fixed fields"};
  }
  mcap::Message m;
  const uint8_t* p = content.data();
  m.channel_id = mcap::load_le<uint16_t>(p);
  m.sequence = mcap::load_le<uint32_t>(p + 2);
  m.log_time = mcap::load_le<uint64_t>(p + 6);
  m.publish_time = mcap::load_le<uint64_t>(p + 14);
  m.data = content.subspan(mcap::kMessageHeaderSize);
  if (m.data.size() > limits.max_message_size) {
    return DecodeError{DecodeReason::kOversized, offset,
                       "message of " + std::to_string(m.data.size()) +
                           " bytes exceeds max_message_size " +
                           std::to_string(limits.max_message_size)};
  }
  if (!channels.has_channel(InBandChannelId{m.channel_id})) {
    return DecodeError{
        DecodeReason::kUnknownChannel, offset,
        "message on channel id " + std::to_string(m.channel_id) + ", which was never defined"};
  }
  return m;
}

DecodeResult<std::optional<mcap::Schema>> decode_schema(mcap::ByteView content, uint64_t offset,
                                                        SenderChannels& channels) {
  DecodeResult<mcap::Schema> schema =
      parse_as<mcap::Schema>(mcap::Opcode::kSchema, content, offset);
  if (!schema.ok()) return schema.error();
  if (schema->id == 0) return std::optional<mcap::Schema>();
  DecodeResult<SenderChannels::Added> added = channels.add_schema(*schema, offset);
  if (!added.ok()) return added.error();
  if (*added == SenderChannels::Added::kRepeat) return std::optional<mcap::Schema>();
  return std::optional<mcap::Schema>(std::move(*schema));
}

DecodeResult<std::optional<InBandChannelId>> decode_channel(mcap::ByteView content, uint64_t offset,
                                                            SenderChannels& channels) {
  DecodeResult<mcap::Channel> channel =
      parse_as<mcap::Channel>(mcap::Opcode::kChannel, content, offset);
  if (!channel.ok()) return channel.error();
  DecodeResult<SenderChannels::Added> added = channels.add_channel(*channel, offset);
  if (!added.ok()) return added.error();
  if (*added == SenderChannels::Added::kRepeat) return std::optional<InBandChannelId>();
  return std::optional<InBandChannelId>(InBandChannelId{channel->id});
}

DecodeResult<mcap::Attachment> decode_attachment(mcap::ByteView content, uint64_t offset) {
  DecodeResult<mcap::Attachment> attachment =
      parse_as<mcap::Attachment>(mcap::Opcode::kAttachment, content, offset);
  if (!attachment.ok() || attachment->crc == 0) return attachment;
  // The parser succeeded, so the covered bytes lie within the content.
  const uint32_t computed =
      mcap::crc32(content.first(mcap::attachment_crc_covered_length(*attachment)));
  if (computed != attachment->crc) {
    return DecodeError{DecodeReason::kMalformed, offset,
                       "Attachment \"" + attachment->name + "\" CRC mismatch: stored " +
                           hex32(attachment->crc) + ", computed " + hex32(computed)};
  }
  return attachment;
}

DecodeResult<mcap::Metadata> decode_metadata(mcap::ByteView content, uint64_t offset) {
  return parse_as<mcap::Metadata>(mcap::Opcode::kMetadata, content, offset);
}

DecodeResult<mcap::Header> decode_header(mcap::ByteView content, uint64_t offset) {
  return parse_as<mcap::Header>(mcap::Opcode::kHeader, content, offset);
}

}  // namespace mcaprec::ingest::detail
