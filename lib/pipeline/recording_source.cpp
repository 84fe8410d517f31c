#include "pipeline/recording_source.hpp"

#include <map>

namespace mcaprec::pipeline {

namespace {

std::string not_recorded_key(NotRecordedReason reason) {
  return "not_recorded_" + std::string(not_recorded_reason_name(reason));
}

// What chunk encoding did with a channel's records (channel_compression.hpp).
void put_compression(mcap::Metadata& metadata, const std::string& prefix,
                     const ChannelCompressionCounts& counts) {
  metadata.metadata[prefix + "compression_bytes_in"] = std::to_string(counts.bytes_in);
  metadata.metadata[prefix + "compression_bytes_out"] = std::to_string(counts.bytes_out);
  metadata.metadata[prefix + "compression_attempts"] = std::to_string(counts.attempts);
  metadata.metadata[prefix + "compression_skipped"] = std::to_string(counts.skipped);
}

}  // namespace

storage::RecordingSource::Declaration RegistryRecordingSource::declaration(
    uint16_t channel_id) const {
  const ChannelEntry* entry = registry_.find(channel_id);
  if (entry == nullptr) return {};
  return {&entry->channel, entry->schema ? &*entry->schema : nullptr};
}

void RegistryRecordingSource::declared_channels(std::vector<const mcap::Channel*>& out) const {
  registry_.entries(entries_scratch_);
  out.clear();
  for (const ChannelEntry* entry : entries_scratch_) out.push_back(&entry->channel);
}

bool RegistryRecordingSource::latched_chunk(mcap::EncodedChunk& out) const {
  return latches_ != nullptr && latches_->encode(out);
}

void RegistryRecordingSource::note_relatched(const mcap::EncodedChunk& chunk) const {
  for (const auto& [channel_id, count] : chunk.message_counts) {
    if (WrittenChannelCounts* counts = written_.find(channel_id)) {
      counts->relatched.fetch_add(count, std::memory_order_relaxed);
    }
  }
}

mcap::Metadata RegistryRecordingSource::session_stats() const {
  mcap::Metadata metadata;
  metadata.name = "mcaprec.stats";
  registry_.entries(entries_scratch_);
  std::map<std::string, int> topic_uses;
  for (const ChannelEntry* entry : entries_scratch_) ++topic_uses[entry->channel.topic];
  ChannelCountsSnapshot total;
  for (const ChannelEntry* entry : entries_scratch_) {
    const ChannelCountsSnapshot counts =
        read_channel_counts(entry->queue->counters(), written_.find(entry->channel.id));
    std::string key = entry->channel.topic;
    if (topic_uses[key] > 1) key += "#" + std::to_string(entry->channel.id);
    metadata.metadata[key + ".received"] = std::to_string(counts.received);
    metadata.metadata[key + ".written"] = std::to_string(counts.written);
    total.received += counts.received;
    total.written += counts.written;
    for (size_t r = 0; r < kDropReasonCount; ++r) {
      metadata.metadata[key + ".dropped_" + std::string(drop_reason_name(DropReason(r)))] =
          std::to_string(counts.dropped[r]);
      total.dropped[r] += counts.dropped[r];
    }
    for (size_t r = 0; r < kNotRecordedReasonCount; ++r) {
      metadata.metadata[key + "." + not_recorded_key(NotRecordedReason(r))] =
          std::to_string(counts.not_recorded[r]);
      total.not_recorded[r] += counts.not_recorded[r];
    }
    put_compression(metadata, key + ".", entry->queue->compression().counts());
  }
  metadata.metadata["received"] = std::to_string(total.received);
  metadata.metadata["written"] = std::to_string(total.written);
  for (size_t r = 0; r < kDropReasonCount; ++r) {
    metadata.metadata["dropped_" + std::string(drop_reason_name(DropReason(r)))] =
        std::to_string(total.dropped[r]);
  }
  for (size_t r = 0; r < kNotRecordedReasonCount; ++r) {
    metadata.metadata[not_recorded_key(NotRecordedReason(r))] =
        std::to_string(total.not_recorded[r]);
  }
  metadata.metadata["scope"] = "session";
  metadata.metadata["session_start"] = session_start_;
  return metadata;
}

}  // namespace mcaprec::pipeline
