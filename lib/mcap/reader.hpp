#pragma once
// Reading MCAP files held in memory (usually a MappedFile):
// - StreamReader: every record in file order, chunks decoded, CRC-checked and their records
//   yielded in place;
// - read_summary: Footer -> summary section, without touching chunks;
// - scan: how far a file is complete and valid, and what the valid part declares (recovery).
// Every malformed input is an Error with the offset and what was wrong.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mcap/compression.hpp"
#include "mcap/error.hpp"
#include "mcap/records.hpp"

namespace mcaprec::mcap {

// A read-only memory map of a whole file.
class MappedFile {
 public:
  static Result<MappedFile> open(const std::string& path);
  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  ~MappedFile();

  ByteView bytes() const { return {data_, size_}; }

 private:
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

struct ReadOptions {
  bool validate_crcs = true;                         // chunk and attachment CRCs (when non-zero)
  bool decode_chunks = true;                         // yield the records inside chunks
  uint64_t max_chunk_bytes = kDefaultMaxChunkBytes;  // refuse larger uncompressed chunks
};

// One record as the stream reader yields it.
struct RecordItem {
  Record record;
  uint64_t offset = 0;        // file offset of the record, or of its chunk when in_chunk
  bool in_chunk = false;      // the record came out of a chunk
  uint64_t chunk_offset = 0;  // when in_chunk: offset within the chunk's uncompressed records
};

class StreamReader {
 public:
  explicit StreamReader(ByteView file, ReadOptions options = {});

  // The next record; std::nullopt after the Footer and trailing magic. An error is final: every
  // later call returns it again. Views in the record stay valid until the next call.
  Result<std::optional<RecordItem>> next();

 private:
  // Keeps the error for later calls and returns it.
  Result<std::optional<RecordItem>> fail(Error error);
  Result<std::optional<RecordItem>> next_in_chunk();
  Result<std::optional<RecordItem>> next_in_file();
  Status enter_chunk(const Chunk& chunk, uint64_t offset);
  Status check_file_end() const;

  ByteView file_;
  ReadOptions options_;
  Decompressor decompressor_;
  Bytes chunk_records_;     // the current chunk, decompressed
  ByteView chunk_view_;     // view of the current chunk's records (no copy when uncompressed)
  uint64_t chunk_pos_ = 0;  // next record within chunk_view_
  uint64_t chunk_file_offset_ = 0;
  bool in_chunk_ = false;
  uint64_t pos_ = 0;  // next record within file_
  bool started_ = false;
  bool done_ = false;
  std::optional<Error> error_;
};

// Everything the summary section holds, plus Header and Footer.
struct Summary {
  Header header;
  Footer footer;
  std::map<uint16_t, Schema> schemas;
  std::map<uint16_t, Channel> channels;
  std::vector<ChunkIndex> chunk_indexes;
  std::vector<AttachmentIndex> attachment_indexes;
  std::vector<MetadataIndex> metadata_indexes;
  std::optional<Statistics> statistics;
  std::vector<SummaryOffset> summary_offsets;
};

// Reads Header, Footer and the summary section (checking the summary CRC when non-zero).
// Fails with "file is not indexed" when the footer's summary_start is 0.
Result<Summary> read_summary(ByteView file, bool validate_crc = true);

// What a linear scan found: the longest prefix of the file made of complete, valid records.
struct ScanReport {
  // Offset just past the last complete, valid data-section record (a chunk counts as valid
  // with its CRC and its message index records; the last chunk's run may be incomplete, see
  // missing_message_indexes). 0 when not even the magic is valid.
  uint64_t valid_end = 0;
  bool complete = false;         // Data End, summary, Footer and magic all present and valid
  std::optional<Error> stopped;  // why the scan stopped early, when it did
  Header header;
  // What the valid prefix declares, enough to write a new summary for it.
  std::map<uint16_t, Schema> schemas;
  std::map<uint16_t, Channel> channels;
  std::vector<ChunkIndex> chunk_indexes;
  std::vector<AttachmentIndex> attachment_indexes;
  std::vector<MetadataIndex> metadata_indexes;
  Statistics statistics;  // counts and times of the valid prefix
  uint32_t data_crc = 0;  // CRC of bytes [0, valid_end)
  // Message Index records the last kept chunk lacks, when the scan ended inside or right after
  // its Message Index run with some of its channels not yet indexed (the writer was cut off, or
  // an index record was damaged). Rebuilt from the chunk's messages, entries in chunk order;
  // appended at valid_end they complete the run. Empty when nothing is missing.
  std::vector<MessageIndex> missing_message_indexes;
};

ScanReport scan(ByteView file, ReadOptions options = {});
// The same scan with chunks decompressed and checked on `threads` threads (the caller's
// included) ahead of the linear walk; the report is identical.
ScanReport scan(ByteView file, ReadOptions options, unsigned threads);

}  // namespace mcaprec::mcap
