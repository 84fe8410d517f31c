#pragma once
// The chunk half of the recovery scan (internal to lib/mcap): decompressing a chunk, checking
// its CRC and walking its records, done apart from the scan's linear walk, on helper threads
// when asked, because decompression is most of a scan's work.
#include <cstdint>
#include <optional>
#include <vector>

#include "mcap/compression.hpp"
#include "mcap/error.hpp"
#include "mcap/reader.hpp"
#include "mcap/records.hpp"
#include "mcap/serialize.hpp"

namespace mcaprec::mcap::detail {

// A message of a chunk, at `offset` within its uncompressed records.
struct ChunkMessage {
  uint64_t offset = 0;
  Timestamp log_time = 0;
  uint16_t channel_id = 0;
};

// What checking one chunk found.
struct ChunkCheck {
  std::optional<Error> error;          // why the chunk is not valid
  std::vector<ChunkMessage> messages;  // in chunk order
  std::vector<Schema> schemas;
  std::vector<Channel> channels;
  Timestamp start = 0;  // message log time range, when messages is not empty
  Timestamp end = 0;
  uint32_t record_crc = 0;  // CRC of the whole Chunk record, prefix included
};

// Decompresses a chunk, checks its CRC and walks its records. One per thread.
class ChunkChecker {
 public:
  // `frame` is the Chunk record in `file`, parsed as `chunk`.
  void check(ByteView file, const RecordFrame& frame, const Chunk& chunk,
             const ReadOptions& options, ChunkCheck& out);

 private:
  Decompressor decompressor_;
  Bytes buffer_;
};

// Checks chunks ahead of the linear walk on `threads` threads (the caller's included): from the
// chunk the walk asks for, it frames the records that follow and checks the next batch of
// chunks in parallel. With one thread every chunk is checked when asked for.
class ChunkPrefetcher {
 public:
  ChunkPrefetcher(ByteView file, const ReadOptions& options, unsigned threads);

  // The check of the chunk `frame` holds (parsed as `chunk`); valid until the next call.
  ChunkCheck& check(const RecordFrame& frame, const Chunk& chunk);

 private:
  struct Job {
    RecordFrame frame;
    Chunk chunk;
    ChunkCheck result;
  };

  void check_batch_from(const RecordFrame& first, const Chunk& first_chunk);

  ByteView file_;
  ReadOptions options_;
  std::vector<ChunkChecker> checkers_;
  std::vector<Job> jobs_;
  size_t batch_size_ = 0;  // jobs_ [0, batch_size_) hold the current batch
  size_t next_ = 0;        // the next job the walk should ask for
};

}  // namespace mcaprec::mcap::detail
