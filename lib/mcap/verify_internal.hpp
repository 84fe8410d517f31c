#pragma once
// The state of one verification run, shared by verify.cpp (file frame and data section) and
// verify_summary.cpp (summary section and the cross-checks between summary and data).
// Internal to lib/mcap.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mcap/compression.hpp"
#include "mcap/records.hpp"
#include "mcap/serialize.hpp"
#include "mcap/verify.hpp"

namespace mcaprec::mcap::verify_detail {

std::string hex32(uint32_t value);

inline bool same_schema(const Schema& a, const Schema& b) {
  return a.id == b.id && a.name == b.name && a.encoding == b.encoding && a.data == b.data;
}

inline bool same_channel(const Channel& a, const Channel& b) {
  return a.id == b.id && a.schema_id == b.schema_id && a.topic == b.topic &&
         a.message_encoding == b.message_encoding && a.metadata == b.metadata;
}

// What a Chunk record and the Message Index run after it really hold.
struct ChunkFacts {
  uint64_t length = 0;  // record length, prefix included
  Timestamp start = 0;
  Timestamp end = 0;
  std::string compression;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  std::map<uint16_t, uint64_t> index_offsets;  // channel -> file offset of its Message Index
  uint64_t index_length = 0;                   // bytes of the Message Index run
  uint32_t chunk_index_count = 0;              // Chunk Index records pointing here
};

struct AttachmentFacts {
  uint64_t length = 0;
  Timestamp log_time = 0;
  Timestamp create_time = 0;
  uint64_t data_size = 0;
  std::string name;
  std::string media_type;
  uint32_t index_count = 0;
};

struct MetadataFacts {
  uint64_t length = 0;
  std::string name;
  uint32_t index_count = 0;
};

// A message inside the chunk being checked, for matching its Message Index entries.
struct ChunkMessage {
  uint64_t offset = 0;  // in the uncompressed chunk records
  uint16_t channel_id = 0;
  Timestamp log_time = 0;
  uint32_t times_indexed = 0;
};

// One run of same-opcode records in the summary section.
struct SummaryGroup {
  uint8_t opcode = 0;
  uint64_t start = 0;
  uint64_t length = 0;
  bool has_summary_offset = false;
};

template <class T>
struct Placed {
  uint64_t offset = 0;  // of the record in the file
  T record;
};

class Verifier {
 public:
  Verifier(ByteView file, const VerifyOptions& options) : file_(file), options_(options) {}
  VerifyReport run();

 private:
  void add(uint64_t offset, std::string message, Severity severity = Severity::kError);
  void warn(uint64_t offset, std::string message) {
    add(offset, std::move(message), Severity::kWarning);
  }

  // verify.cpp
  bool check_frame_of_file();
  void walk_data_section();
  void on_data_record(const RecordFrame& frame, Record& record);
  void on_schema(uint64_t offset, const Schema& schema);
  void on_channel(uint64_t offset, const Channel& channel);
  void on_message(uint64_t offset, const Message& message);
  void on_chunk(const RecordFrame& frame, const Chunk& chunk);
  void walk_chunk_records(uint64_t chunk_offset, const Chunk& chunk, ByteView records);
  void on_message_index(const RecordFrame& frame, const MessageIndex& index);
  void close_chunk();
  void on_attachment(const RecordFrame& frame, const Attachment& attachment);
  void check_data_crc();

  // verify_summary.cpp
  void walk_summary_section();
  void on_summary_record(const RecordFrame& frame, Record& record);
  void check_footer_pointers(std::optional<uint64_t> offsets_begin);
  void check_summary_crc();
  void check_summary_offsets();
  void check_summary_copies();
  void check_chunk_indexes();
  void check_attachment_indexes();
  void check_metadata_indexes();
  void check_statistics();

  ByteView file_;
  VerifyOptions options_;
  VerifyReport report_;
  Decompressor decompressor_;
  Bytes chunk_buffer_;

  // File frame.
  uint64_t footer_offset_ = 0;
  Footer footer_;
  bool have_footer_ = false;

  // Data section.
  bool seen_header_ = false;
  bool data_framing_broken_ = false;
  std::optional<uint64_t> data_end_offset_;
  uint32_t data_end_crc_ = 0;
  uint64_t summary_begin_ = 0;  // first byte after the data section
  std::map<uint16_t, Schema> schemas_;
  std::map<uint16_t, Channel> channels_;
  std::set<uint16_t> reported_unknown_channels_;
  std::map<uint16_t, uint64_t> channel_message_counts_;
  Timestamp message_start_ = 0;
  Timestamp message_end_ = 0;
  std::set<uint16_t> channels_in_chunks_;
  uint64_t messages_outside_chunks_ = 0;
  uint64_t first_message_outside_chunks_ = 0;
  std::map<uint64_t, ChunkFacts> chunks_;
  std::map<uint64_t, AttachmentFacts> attachments_;
  std::map<uint64_t, MetadataFacts> metadata_;
  // The chunk whose Message Index run may follow (null once another record came).
  ChunkFacts* open_chunk_ = nullptr;
  uint64_t open_chunk_offset_ = 0;
  bool open_chunk_decoded_ = false;
  bool after_unreadable_chunk_ = false;  // suppresses findings for its orphaned Message Indexes
  std::vector<ChunkMessage> chunk_messages_;

  // Summary section.
  bool summary_walked_ = false;
  std::map<uint16_t, Placed<Schema>> summary_schemas_;
  std::map<uint16_t, Placed<Channel>> summary_channels_;
  std::vector<Placed<ChunkIndex>> chunk_indexes_;
  std::vector<Placed<AttachmentIndex>> attachment_indexes_;
  std::vector<Placed<MetadataIndex>> metadata_indexes_;
  std::optional<Placed<Statistics>> statistics_;
  std::set<uint16_t> channels_before_statistics_;
  std::vector<Placed<SummaryOffset>> summary_offsets_;
  std::vector<SummaryGroup> summary_groups_;
};

}  // namespace mcaprec::mcap::verify_detail
