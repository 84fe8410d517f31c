#pragma once
// The MCAP file writer: Magic and Header, then schemas, channels, messages (in chunks or not),
// attachments and metadata, then on close Data End, the summary, summary offsets and Footer.
// It also appends chunks that were encoded elsewhere (see chunk.hpp), which is how the
// recording pipeline compresses on other threads.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mcap/chunk.hpp"
#include "mcap/compression.hpp"
#include "mcap/error.hpp"
#include "mcap/records.hpp"
#include "mcap/sink.hpp"

namespace mcaprec::mcap {

std::string default_library_name();  // "mcaprec/<version>"

struct WriterOptions {
  std::string profile;                           // Header.profile ("", "ros1", "ros2", ...)
  std::string library = default_library_name();  // Header.library
  bool use_chunks = true;         // messages go into chunks, else into the data section
  uint64_t chunk_size = 1 << 20;  // seal a chunk once its records reach this many bytes
  Compression compression = Compression::kZstd;  // chunk codec
  int compression_level = 1;                     // zstd level
  bool message_indexes = true;                   // Message Index records after each chunk
  bool chunk_indexes = true;                     // Chunk Index records in the summary
  bool statistics = true;                        // a Statistics record in the summary
  bool repeat_schemas = true;                    // Schema records repeated in the summary
  bool repeat_channels = true;                   // Channel records repeated in the summary
  bool attachment_indexes = true;                // Attachment Index records in the summary
  bool metadata_indexes = true;                  // Metadata Index records in the summary
  bool summary_offsets = true;                   // Summary Offset records after the summary
  bool chunk_crc = true;                         // Chunk.uncompressed_crc
  bool attachment_crc = true;                    // Attachment.crc
  bool data_section_crc = true;                  // DataEnd.data_section_crc
  bool summary_crc = true;                       // Footer.summary_crc
};

class Writer {
 public:
  // Writes Magic and Header to `sink` at once.
  static Result<std::unique_ptr<Writer>> open(std::unique_ptr<ByteSink> sink,
                                              WriterOptions options);
  // (A writer on a file: storage::create_file_writer.)
  ~Writer();

  // Writes the record now (into the open chunk when chunking). Ids are the caller's: schema ids
  // must not be 0; a channel's schema (unless 0) must have been added before.
  Status add_schema(const Schema& schema);
  Status add_channel(const Channel& channel);
  Status write_message(const Message& message);
  // Attachments and metadata live outside chunks: an open chunk is flushed first.
  Status write_attachment(const Attachment& attachment);
  Status write_metadata(const Metadata& metadata);
  // Appends a chunk encoded elsewhere. Its channels must have been added. An open chunk of this
  // writer is flushed first.
  Status write_encoded_chunk(const EncodedChunk& chunk);
  // Seals and writes the open chunk, if any.
  Status flush_chunk();
  // Flushes, writes Data End, summary, summary offsets, Footer and Magic. The sink is flushed
  // but not synced; call sink sync through the storage layer for durability.
  Status close();

  // Recovering from a failed write, so that a file still ends valid (disk full, I/O error):
  // flush() hands buffered bytes to the sink's OS side, and its failure fails the writer like a
  // failed write. checkpoint() remembers the file as it is (length, data-section CRC, indexes,
  // statistics); call it between records, after a flush, where every byte is with the OS.
  // rewind_after_failure() discards from the sink everything after the last checkpoint (without
  // one: after the last record written whole, not counting a failed close's Data End), forgets
  // what was written after it, and makes the writer usable again, so that close() completes a
  // valid file holding what it held at that point. It fails, and the writer stays failed, when
  // the sink cannot discard (ByteSink::truncate).
  Status flush();
  void checkpoint();
  Status rewind_after_failure();
  bool failed() const { return failed_; }

  uint64_t bytes_written() const { return offset_; }
  const Statistics& statistics() const { return stats_; }
  bool has_schema(uint16_t id) const { return schemas_.count(id) != 0; }
  bool has_channel(uint16_t id) const { return channels_.count(id) != 0; }
  ByteSink& sink() { return *sink_; }

 private:
  Writer(std::unique_ptr<ByteSink> sink, WriterOptions options);
  Status append(ByteView bytes);                   // to the sink, tracking offset and CRC
  Status append_record_now(const Record& record);  // serialize + append
  void note_message(uint16_t channel_id, Timestamp log_time, uint64_t count);
  Status write_summary();
  // The summary's record groups, appended to `summary` (which starts at file offset
  // `summary_start`); gives a Summary Offset for each group that is not empty.
  std::vector<SummaryOffset> append_summary_groups(Bytes& summary, uint64_t summary_start) const;
  void append_chunk_indexes(Bytes& summary) const;  // built from the flat entries below
  Status append_chunk(const EncodedChunk& chunk);   // chunk bytes + its index entry
  Status usable() const;                            // error once closed or failed
  Status fail(Error error);                         // marks the writer failed

  std::unique_ptr<ByteSink> sink_;
  WriterOptions options_;
  Compressor compressor_;
  ChunkBuilder chunk_;
  EncodedChunk encoded_;            // reused for this writer's own chunks
  Bytes scratch_;                   // reused for serializing records
  std::vector<ByteView> gathered_;  // reused: the pieces of the chunk being appended
  uint64_t offset_ = 0;
  uint32_t data_crc_ = 0;
  bool closed_ = false;
  bool failed_ = false;
  std::string failure_;           // what made the writer fail, repeated by later calls
  uint64_t data_end_offset_ = 0;  // where the Data End of the last close() attempt starts
  uint32_t data_crc_before_end_ = 0;

  struct Checkpoint {
    uint64_t offset = 0;
    uint32_t data_crc = 0;
    size_t chunk_indexes = 0;
    size_t attachment_indexes = 0;
    size_t metadata_indexes = 0;
    Statistics stats;
  };
  std::optional<Checkpoint> checkpoint_;
  std::vector<uint16_t> schemas_since_checkpoint_;  // ids added after it, forgotten by a rewind
  std::vector<uint16_t> channels_since_checkpoint_;

  std::map<uint16_t, Schema> schemas_;
  std::map<uint16_t, Channel> channels_;
  // Chunk Index records are built when the summary is written. Until then a chunk costs one
  // flat entry, and its message index offsets go back to back into one vector shared by all
  // chunks: appending a chunk allocates nothing while the reserved room lasts (a map per
  // chunk would allocate for every channel of every chunk).
  struct ChunkIndexEntry {
    Timestamp message_start_time = 0;
    Timestamp message_end_time = 0;
    uint64_t chunk_start_offset = 0;
    uint64_t chunk_length = 0;
    uint64_t message_index_length = 0;
    uint64_t compressed_size = 0;
    uint64_t uncompressed_size = 0;
    std::string compression;   // "", "zstd", "lz4": short enough to be stored inline
    size_t offsets_begin = 0;  // [offsets_begin, offsets_end) of chunk_message_index_offsets_
    size_t offsets_end = 0;
  };
  std::vector<ChunkIndexEntry> chunk_index_entries_;
  ChannelValues chunk_message_index_offsets_;  // absolute file offsets
  std::vector<AttachmentIndex> attachment_indexes_;
  std::vector<MetadataIndex> metadata_indexes_;
  Statistics stats_;
};

}  // namespace mcaprec::mcap
