#pragma once
// An estimate, from above, of what closing a recording file still writes: the `mcaprec.stats`
// record, Data End, the summary (a copy of every Schema and Channel, a Chunk Index per chunk,
// statistics, indexes of metadata and attachments) and the footer. The recording file keeps
// this much disk room reserved after its last record, so that a full disk never stops a file
// from being closed valid. Kept per chunk and per declaration, never per message.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "mcap/chunk.hpp"
#include "mcap/records.hpp"

namespace mcaprec::storage {

class SummaryEstimate {
 public:
  // Record overhead of a summary entry, rounded up (opcode, length, fixed fields).
  static constexpr uint64_t kIndexEntry = 128;

  // `stats_keys_per_channel`: the keys each channel adds to `mcaprec.stats`.
  explicit SummaryEstimate(size_t stats_keys_per_channel)
      : stats_keys_per_channel_(stats_keys_per_channel) {}

  // A new file: only the fixed part so far.
  void start_file();
  // Records the file got: each adds its summary entry.
  void add_schema(const mcap::Schema& schema) { reserve_ += schema_record_bytes(schema); }
  void add_channel(const mcap::Channel& channel) { reserve_ += channel_record_bytes(channel); }
  void add_chunk(const mcap::EncodedChunk& chunk);
  void add_index_entry(uint64_t name_bytes) { reserve_ += kIndexEntry + name_bytes; }
  // The session's channels changed: sizes `mcaprec.stats` for all of them.
  void count_stats_for(const std::vector<const mcap::Channel*>& channels);

  // Room to keep reserved after the file's last record.
  uint64_t reserve() const { return reserve_ + stats_bytes_; }

  // A record and its summary copy, and its channel's keys in `mcaprec.stats`: what declaring
  // it in a file adds at most.
  uint64_t first_use_bytes(const mcap::Channel& channel) const {
    return 2 * channel_record_bytes(channel) + channel_stats_bytes(channel);
  }
  static uint64_t first_use_bytes(const mcap::Schema& schema) {
    return 2 * schema_record_bytes(schema);
  }
  // A Metadata record and its index entry, from above.
  static uint64_t metadata_bytes(const mcap::Metadata& metadata) {
    uint64_t bytes = 2 * kIndexEntry + 2 * metadata.name.size();
    for (const auto& [key, value] : metadata.metadata) bytes += 8 + key.size() + value.size();
    return bytes;
  }

 private:
  static uint64_t schema_record_bytes(const mcap::Schema& schema);
  static uint64_t channel_record_bytes(const mcap::Channel& channel);
  uint64_t channel_stats_bytes(const mcap::Channel& channel) const;

  const size_t stats_keys_per_channel_;
  uint64_t reserve_ = 0;      // everything but `mcaprec.stats`
  uint64_t stats_bytes_ = 0;  // `mcaprec.stats` for every channel known
};

}  // namespace mcaprec::storage
