#include "storage/summary_estimate.hpp"

namespace mcaprec::storage {

namespace {

// What closing a file writes whatever it held: Data End, Footer, Magic, summary offsets,
// Statistics and the `mcaprec.stats` totals, with a wide margin.
constexpr uint64_t kSummaryBase = 16 << 10;

}  // namespace

void SummaryEstimate::start_file() {
  reserve_ = kSummaryBase;
}

void SummaryEstimate::add_chunk(const mcap::EncodedChunk& chunk) {
  // Its Chunk Index: fixed fields and one message-index offset per channel.
  reserve_ += kIndexEntry + 16 * chunk.message_counts.size();
}

void SummaryEstimate::count_stats_for(const std::vector<const mcap::Channel*>& channels) {
  stats_bytes_ = 0;
  for (const mcap::Channel* channel : channels) stats_bytes_ += channel_stats_bytes(*channel);
}

uint64_t SummaryEstimate::schema_record_bytes(const mcap::Schema& schema) {
  return kIndexEntry + schema.name.size() + schema.encoding.size() + schema.data.size();
}

uint64_t SummaryEstimate::channel_record_bytes(const mcap::Channel& channel) {
  uint64_t bytes = kIndexEntry + channel.topic.size() + channel.message_encoding.size();
  for (const auto& [key, value] : channel.metadata) bytes += 8 + key.size() + value.size();
  return bytes;
}

// The channel's keys in `mcaprec.stats` and its statistics entry.
uint64_t SummaryEstimate::channel_stats_bytes(const mcap::Channel& channel) const {
  return stats_keys_per_channel_ * (64 + channel.topic.size()) + 16;
}

}  // namespace mcaprec::storage
