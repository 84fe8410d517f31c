#pragma once
// Building a chunk (records + per-channel message index) and encoding it into the exact bytes
// that go into the file: the Chunk record followed by its Message Index records. Encoding needs
// no file offset, so it can run on any thread; the writer only appends the result.
#include <map>
#include <string>
#include <vector>

#include "mcap/compression.hpp"
#include "mcap/records.hpp"

namespace mcaprec::mcap {

// Accumulates the uncompressed records of one chunk.
class ChunkBuilder {
 public:
  // Appends a Schema or Channel (or any non-message record) to the chunk.
  void add_record(const Record& record);
  // Appends a Message record and indexes it.
  void add_message(const Message& message);
  // Appends a Message record whose payload the caller copies into the returned pointer
  // (`data_size` bytes). Saves one copy on the hot path.
  uint8_t* add_message_uninitialized(uint16_t channel_id, uint32_t sequence, Timestamp log_time,
                                     Timestamp publish_time, uint64_t data_size);

  bool empty() const { return records_.empty(); }
  uint64_t size() const { return records_.size(); }  // uncompressed bytes so far
  uint64_t message_count() const { return message_count_; }
  Timestamp start_time() const { return start_time_; }
  Timestamp end_time() const { return end_time_; }
  ByteView records() const { return records_; }
  // Per channel, (log_time, offset in records) in insertion order.
  const std::map<uint16_t, std::vector<std::pair<Timestamp, uint64_t>>>& index() const {
    return index_;
  }

  // Forgets the content but keeps the buffer's capacity for the next chunk.
  void clear();

 private:
  Bytes records_;
  std::map<uint16_t, std::vector<std::pair<Timestamp, uint64_t>>> index_;
  uint64_t message_count_ = 0;
  Timestamp start_time_ = 0;
  Timestamp end_time_ = 0;
};

struct ChunkEncodeOptions {
  Compression compression = Compression::kZstd;  // codec tried for the chunk
  int level = 1;                                 // codec level (zstd)
  bool chunk_crc = true;                         // fill Chunk.uncompressed_crc
  bool message_indexes = true;                   // write Message Index records after the chunk
  bool data_crc = true;                          // compute EncodedChunk::crc for DataEnd
};

// A chunk ready to be appended to a file, plus what the writer needs for its summary.
struct EncodedChunk {
  Bytes bytes;                      // Chunk record, then its Message Index records
  uint64_t chunk_record_size = 0;   // size of the Chunk record (prefix included) at bytes[0]
  uint64_t message_index_length = 0;  // bytes.size() - chunk_record_size
  // channel id -> offset of its Message Index record, relative to bytes[0]
  std::map<uint16_t, uint64_t> message_index_offsets;
  Timestamp message_start_time = 0;
  Timestamp message_end_time = 0;
  std::string compression;  // as stored: "" when compression did not shrink the chunk
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint32_t crc = 0;  // CRC-32 of `bytes` (0 unless ChunkEncodeOptions::data_crc)
  std::map<uint16_t, uint64_t> message_counts;  // per channel
  uint64_t message_count = 0;
};

// Compresses the chunk's records (stored raw when compression does not shrink them), frames the
// Chunk record and its Message Index records, and computes the CRCs.
Status encode_chunk(const ChunkBuilder& chunk, const ChunkEncodeOptions& options,
                    Compressor& compressor, EncodedChunk& out);

}  // namespace mcaprec::mcap
