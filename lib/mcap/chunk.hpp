#pragma once
// Building a chunk (records + per-channel message index) and encoding it into the exact bytes
// that go into the file: the Chunk record followed by its Message Index records. Encoding needs
// no file offset, so it can run on any thread; the writer only appends the result.
//
// A chunk's uncompressed records may arrive as several pieces (the pipeline fills per-channel
// buffers and hands them over without copying them together); the encoder streams the pieces
// through the codec as if they were one buffer.
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "mcap/compression.hpp"
#include "mcap/records.hpp"

namespace mcaprec::mcap {

// Where one message sits in a piece of chunk records.
struct MessageIndexEntry {
  uint16_t channel_id = 0;
  Timestamp log_time = 0;
  uint64_t offset = 0;  // of the Message record's opcode byte, relative to the piece's start
};

// A contiguous run of serialized records and the index of the messages in it.
struct ChunkPiece {
  ByteView records;
  std::span<const MessageIndexEntry> messages;
};

// Accumulates the uncompressed records of one chunk in one buffer.
class ChunkBuilder {
 public:
  // Appends a Schema or Channel (or any non-message record) to the chunk.
  void add_record(const Record& record);
  // Appends a Message record and indexes it.
  void add_message(const Message& message);
  // Appends a Message record whose payload the caller copies into the returned pointer
  // (`data_size` bytes), saving a copy. The pointer is valid until the next add.
  uint8_t* add_message_uninitialized(uint16_t channel_id, uint32_t sequence, Timestamp log_time,
                                     Timestamp publish_time, uint64_t data_size);

  bool empty() const { return records_.empty(); }
  uint64_t size() const { return records_.size(); }  // uncompressed bytes so far
  uint64_t message_count() const { return messages_.size(); }
  ChunkPiece piece() const { return {records_, messages_}; }

  // Forgets the content but keeps the buffers' capacity for the next chunk.
  void clear();

 private:
  Bytes records_;
  std::vector<MessageIndexEntry> messages_;
};

struct ChunkEncodeOptions {
  Compression compression = Compression::kZstd;  // codec tried for the chunk
  int level = 1;                                 // codec level (zstd)
  bool chunk_crc = true;                         // fill Chunk.uncompressed_crc
  bool message_indexes = true;                   // write Message Index records after the chunk
  bool data_crc = true;                          // compute EncodedChunk::crc for DataEnd
  // The chunk is stored raw unless compression saves at least this share of its records
  // (percent, 0 to 99; at 0 any saving at all keeps the compressed form).
  uint32_t min_saving_percent = 0;
  // Groups of pieces (ascending exclusive ends, the last pieces.size()), e.g. one per channel:
  // when the chunk is compressed, the codec is flushed after each group and
  // EncodedChunk::group_compressed_sizes tells what each group became. Empty: no groups.
  std::span<const uint32_t> piece_groups;
  // A chunk stored raw leaves pieces of at least this many bytes where they are instead of
  // copying them behind its header (EncodedChunk::parts); the caller keeps them alive until the
  // chunk is written. 0: every record is copied into EncodedChunk::bytes.
  uint64_t in_place_min_bytes = 0;
};

// A run of a chunk's bytes as they go into the file: the next `size` bytes of
// EncodedChunk::bytes, or (`in_place` set) bytes left in a piece the encoder was given.
struct ChunkPart {
  const uint8_t* in_place = nullptr;
  uint64_t size = 0;
};

// (channel id, value) pairs sorted by channel id, one per channel in a chunk. Flat rather than a
// map so that an EncodedChunk reused for the next chunk keeps its capacity: encoding allocates
// nothing once the vectors have seen as many channels.
using ChannelValues = std::vector<std::pair<uint16_t, uint64_t>>;

// A chunk ready to be appended to a file, plus what the writer needs for its summary.
struct EncodedChunk {
  // The Chunk record, then its Message Index records; when `parts` is not empty, only the
  // bytes of those parts that are not in place, in file order.
  Bytes bytes;
  // Empty: the chunk is `bytes`. Otherwise the chunk in file order, some of its records left in
  // the encoder's pieces (ChunkEncodeOptions::in_place_min_bytes), so that a raw chunk goes to
  // the file with one gathering write instead of a copy first. Every offset and size below is
  // of the chunk as in the file.
  std::vector<ChunkPart> parts;
  uint64_t in_place_bytes = 0;        // the sum of the in-place parts' sizes
  uint64_t chunk_record_size = 0;     // size of the Chunk record (prefix included) at bytes[0]
  uint64_t message_index_length = 0;  // bytes.size() - chunk_record_size
  // Offset of each channel's Message Index record, relative to bytes[0] (empty when the
  // options asked for no message indexes).
  ChannelValues message_index_offsets;
  Timestamp message_start_time = 0;
  Timestamp message_end_time = 0;
  std::string compression;  // as stored: "" when compression did not shrink the chunk
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint32_t crc = 0;              // CRC-32 of `bytes` (0 unless ChunkEncodeOptions::data_crc)
  ChannelValues message_counts;  // messages per channel
  uint64_t message_count = 0;
  // Bytes of the compressed frame each of ChunkEncodeOptions::piece_groups produced, when
  // compression was tried (also when the chunk was then stored raw); empty otherwise. Said of
  // the attempt, not of the stored bytes, so description_of() leaves it out.
  std::vector<uint64_t> group_compressed_sizes;

  // Bytes the chunk takes in the file.
  uint64_t file_size() const { return bytes.size() + in_place_bytes; }
};

// The chunk's bytes in file order, as views (into `chunk.bytes` and the in-place pieces), into
// `out` (cleared first).
void chunk_views(const EncodedChunk& chunk, std::vector<ByteView>& out);
// The chunk's bytes in file order, copied into `out` (overwritten).
void copy_chunk_bytes(const EncodedChunk& chunk, Bytes& out);

// Every field but `bytes` and its `parts`: a chunk whose bytes are kept elsewhere (the look-back
// spool), or that are about to be filled into a reused buffer. Keep in step with EncodedChunk's
// fields.
inline EncodedChunk description_of(const EncodedChunk& chunk) {
  EncodedChunk out;
  out.chunk_record_size = chunk.chunk_record_size;
  out.message_index_length = chunk.message_index_length;
  out.message_index_offsets = chunk.message_index_offsets;
  out.message_start_time = chunk.message_start_time;
  out.message_end_time = chunk.message_end_time;
  out.compression = chunk.compression;
  out.compressed_size = chunk.compressed_size;
  out.uncompressed_size = chunk.uncompressed_size;
  out.crc = chunk.crc;
  out.message_counts = chunk.message_counts;
  out.message_count = chunk.message_count;
  return out;
}

// Compresses the pieces (as one stream; stored raw when compression does not shrink them by
// options.min_saving_percent, or at all),
// frames the Chunk record and its Message Index records (one per channel, by channel id, entries
// in piece order), and computes the CRCs. `out` is overwritten; its buffers are reused.
Status encode_chunk(std::span<const ChunkPiece> pieces, const ChunkEncodeOptions& options,
                    Compressor& compressor, EncodedChunk& out);
inline Status encode_chunk(const ChunkBuilder& chunk, const ChunkEncodeOptions& options,
                           Compressor& compressor, EncodedChunk& out) {
  const ChunkPiece piece = chunk.piece();
  return encode_chunk(std::span<const ChunkPiece>(&piece, 1), options, compressor, out);
}

}  // namespace mcaprec::mcap
