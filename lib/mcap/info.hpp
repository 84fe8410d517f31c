#pragma once
// What `mcaprec info` shows about a file, gathered from the summary section alone when the file
// has a usable one (no chunk is touched), else from a linear scan of the data section.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mcap/error.hpp"
#include "mcap/records.hpp"

namespace mcaprec::mcap {

struct ChannelInfo {
  uint16_t id = 0;
  std::string topic;
  std::string message_encoding;
  uint16_t schema_id = 0;
  std::string schema_name;  // empty when the channel has no schema
  std::string schema_encoding;
  uint64_t message_count = 0;
};

// Chunks stored with one compression ("" = none).
struct CompressionInfo {
  std::string compression;
  uint64_t chunk_count = 0;
  uint64_t compressed_bytes = 0;
  uint64_t uncompressed_bytes = 0;
};

struct AttachmentInfo {
  std::string name;
  std::string media_type;
  uint64_t data_size = 0;
  Timestamp log_time = 0;
};

struct FileInfo {
  uint64_t file_size = 0;
  Header header;
  // False when the facts come from the summary; true when the file had to be scanned, with
  // the reason the summary could not be used.
  bool scanned = false;
  std::string scan_reason;
  // When scanned: why the scan stopped before the end (a truncated or damaged file).
  std::optional<Error> incomplete;

  uint64_t message_count = 0;
  Timestamp message_start_time = 0;  // 0 when there are no messages
  Timestamp message_end_time = 0;
  uint64_t chunk_count = 0;
  uint64_t schema_count = 0;
  std::vector<CompressionInfo> compression;  // by compression name
  std::vector<ChannelInfo> channels;         // by topic, then id
  std::vector<AttachmentInfo> attachments;   // in file order
  std::vector<std::string> metadata;         // names, in file order
  std::vector<uint64_t> metadata_offsets;    // of each Metadata record, same order
};

// Fails only when the bytes are not an MCAP file at all (no valid magic and Header).
Result<FileInfo> gather_info(ByteView file);

}  // namespace mcaprec::mcap
