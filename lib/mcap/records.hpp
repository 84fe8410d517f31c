#pragma once
// MCAP records, one struct per record type of the specification, fields in wire order.
// Bulk payloads (message data, attachment data, chunk records) are views into the buffer the
// record was parsed from or will be written from; everything else is owned.
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace mcaprec::mcap {

using ByteView = std::span<const uint8_t>;
using Bytes = std::vector<uint8_t>;
using KeyValueMap = std::map<std::string, std::string>;
using Timestamp = uint64_t;

inline constexpr uint8_t kMagic[8] = {0x89, 'M', 'C', 'A', 'P', '0', '\r', '\n'};
inline constexpr uint64_t kRecordPrefixSize = 9;  // opcode (1) + content length (8)
inline constexpr uint64_t kFooterRecordSize = kRecordPrefixSize + 20;
inline constexpr uint64_t kDataEndRecordSize = kRecordPrefixSize + 4;
inline constexpr uint64_t kMessageHeaderSize = 22;  // Message content before its data

enum class Opcode : uint8_t {
  kHeader = 0x01,
  kFooter = 0x02,
  kSchema = 0x03,
  kChannel = 0x04,
  kMessage = 0x05,
  kChunk = 0x06,
  kMessageIndex = 0x07,
  kChunkIndex = 0x08,
  kAttachment = 0x09,
  kAttachmentIndex = 0x0A,
  kStatistics = 0x0B,
  kMetadata = 0x0C,
  kMetadataIndex = 0x0D,
  kSummaryOffset = 0x0E,
  kDataEnd = 0x0F,
};

const char* opcode_name(uint8_t opcode);  // "Schema", or "Unknown(0x80)"-style for others

struct Header {
  std::string profile;
  std::string library;
};

struct Footer {
  uint64_t summary_start = 0;
  uint64_t summary_offset_start = 0;
  uint32_t summary_crc = 0;
};

struct Schema {
  uint16_t id = 0;
  std::string name;
  std::string encoding;
  Bytes data;
};

struct Channel {
  uint16_t id = 0;
  uint16_t schema_id = 0;
  std::string topic;
  std::string message_encoding;
  KeyValueMap metadata;
};

struct Message {
  uint16_t channel_id = 0;
  uint32_t sequence = 0;
  Timestamp log_time = 0;
  Timestamp publish_time = 0;
  ByteView data;
};

struct Chunk {
  Timestamp message_start_time = 0;
  Timestamp message_end_time = 0;
  uint64_t uncompressed_size = 0;
  uint32_t uncompressed_crc = 0;
  std::string compression;
  ByteView records;  // compressed as `compression` says
};

struct MessageIndex {
  uint16_t channel_id = 0;
  std::vector<std::pair<Timestamp, uint64_t>> records;  // (log_time, offset in chunk records)
};

struct ChunkIndex {
  Timestamp message_start_time = 0;
  Timestamp message_end_time = 0;
  uint64_t chunk_start_offset = 0;
  uint64_t chunk_length = 0;  // including the 9-byte record prefix
  std::map<uint16_t, uint64_t> message_index_offsets;
  uint64_t message_index_length = 0;
  std::string compression;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
};

struct Attachment {
  Timestamp log_time = 0;
  Timestamp create_time = 0;
  std::string name;
  std::string media_type;
  ByteView data;
  uint32_t crc = 0;  // over every content byte before this field; 0 = not available
};

struct AttachmentIndex {
  uint64_t offset = 0;
  uint64_t length = 0;  // including the 9-byte record prefix
  Timestamp log_time = 0;
  Timestamp create_time = 0;
  uint64_t data_size = 0;
  std::string name;
  std::string media_type;
};

struct Statistics {
  uint64_t message_count = 0;
  uint16_t schema_count = 0;
  uint32_t channel_count = 0;
  uint32_t attachment_count = 0;
  uint32_t metadata_count = 0;
  uint32_t chunk_count = 0;
  Timestamp message_start_time = 0;
  Timestamp message_end_time = 0;
  std::map<uint16_t, uint64_t> channel_message_counts;
};

struct Metadata {
  std::string name;
  KeyValueMap metadata;
};

struct MetadataIndex {
  uint64_t offset = 0;
  uint64_t length = 0;  // including the 9-byte record prefix
  std::string name;
};

struct SummaryOffset {
  uint8_t group_opcode = 0;
  uint64_t group_start = 0;
  uint64_t group_length = 0;
};

struct DataEnd {
  uint32_t data_section_crc = 0;
};

// A record with an opcode this library does not know (private 0x80-0xFF or future ones).
struct UnknownRecord {
  uint8_t opcode = 0;
  ByteView content;
};

using Record = std::variant<Header, Footer, Schema, Channel, Message, Chunk, MessageIndex,
                            ChunkIndex, Attachment, AttachmentIndex, Statistics, Metadata,
                            MetadataIndex, SummaryOffset, DataEnd, UnknownRecord>;

// Number of content bytes an Attachment's crc covers (everything before the crc field).
inline uint64_t attachment_crc_covered_length(const Attachment& a) {
  return 8 + 8 + 4 + a.name.size() + 4 + a.media_type.size() + 8 + a.data.size();
}

}  // namespace mcaprec::mcap
