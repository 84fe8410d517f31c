#include "daemon/recording_options.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "mcap/crc32.hpp"

namespace mcaprec::daemon {

base::Result<std::string> file_crc32_hex(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return base::Error{0, "cannot read " + path + ": " + std::strerror(errno)};
  }
  uint32_t crc = 0;
  std::vector<uint8_t> buffer(64 * 1024);
  uint64_t offset = 0;
  for (;;) {
    const size_t n = std::fread(buffer.data(), 1, buffer.size(), file);
    if (n > 0) {
      crc = mcap::crc32_update(crc, mcap::ByteView(buffer.data(), n));
      offset += n;
    }
    if (n < buffer.size()) break;
  }
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) return base::Error{offset, "cannot read " + path};
  char hex[9];
  std::snprintf(hex, sizeof(hex), "%08x", crc);
  return std::string(hex);
}

events::EventOptions event_options_for(const config::Events& events) {
  events::EventOptions options;
  options.enabled = true;
  options.look_back = events.look_back;
  options.memory_bytes = events.memory_bytes;
  options.spool_bytes = events.spool_bytes;
  options.max_total_bytes = events.max_total_bytes;
  options.default_before = events.before;
  options.default_after = events.after;
  options.signal_event = events.signal_event;
  for (const config::EventTriggerRule& rule : events.triggers) {
    options.triggers.push_back(
        events::TriggerRule{rule.topic, rule.name, rule.before, rule.after, rule.min_interval});
  }
  return options;
}

std::vector<mcap::Metadata> session_records(const config::Session& session) {
  std::vector<mcap::Metadata> records;
  if (session.empty()) return records;
  mcap::Metadata facts{"mcaprec.session", session.metadata};
  mcap::Metadata foxglove{"foxglove", {}};
  if (!session.device_id.empty()) {
    facts.metadata["device_id"] = session.device_id;
    foxglove.metadata["deviceId"] = session.device_id;
  }
  if (!session.device_name.empty()) {
    facts.metadata["device_name"] = session.device_name;
    foxglove.metadata["deviceName"] = session.device_name;
  }
  records.push_back(std::move(facts));
  if (!foxglove.metadata.empty()) records.push_back(std::move(foxglove));
  return records;
}

storage::FinishedFileListener call_each(std::vector<storage::FinishedFileListener> listeners) {
  if (listeners.empty()) return {};
  if (listeners.size() == 1) return std::move(listeners.front());
  return [all = std::move(listeners)](const storage::FinishedFile& file) {
    for (const storage::FinishedFileListener& listener : all) listener(file);
  };
}

pipeline::PipelineOptions pipeline_options_for(const config::Config& config) {
  pipeline::PipelineOptions options;
  options.directory = config.output.directory;
  options.prefix = config.output.prefix;
  options.max_bytes = config.output.max_bytes;
  options.max_duration = config.output.max_duration;
  options.sync_interval = config.output.sync_interval;
  options.max_total_bytes = config.output.max_total_bytes;
  options.min_free_bytes = config.output.min_free_bytes;
  options.start_paused = config.recording.start == config::RecordingStart::kPaused;
  options.profile = config.mcap.profile;
  options.compression = config.mcap.compression;
  options.compression_level = config.mcap.compression_level;
  options.chunk_size = config.mcap.chunk_size;
  options.chunk_max_age = config.mcap.chunk_max_age;
  options.compressor_threads = config.pipeline.compressor_threads;
  options.memory_budget = config.pipeline.memory_budget;
  options.default_queue_bytes = config.pipeline.queue_bytes;
  // Ingest gives each channel its policy from the configuration; a channel declared without
  // one must never stall a receive thread, so the default only drops.
  options.default_overflow = pipeline::OverflowPolicy::kDropNewest;
  options.recorder_metadata = true;
  options.file_metadata = session_records(config.session);
  if (config.events) options.events = event_options_for(*config.events);
  return options;
}

}  // namespace mcaprec::daemon
