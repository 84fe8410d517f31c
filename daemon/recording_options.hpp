#pragma once
// From the configuration to the pipeline: the Config's output, mcap and pipeline sections
// become PipelineOptions, and the configuration file's CRC-32 goes into every file's `mcaprec`
// metadata record (key "config_crc32", 8 lowercase hex digits) so that a recording can be traced
// back to the configuration that made it. The `session:` section becomes the records every file
// starts with.
//
// Per-topic settings (chunk group, queue size, overflow policy) are applied by ingest when it
// declares a channel, from config::channel_settings_for() and config::effective_overflow(); the
// defaults here cover channels declared without them.
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "config/config.hpp"
#include "pipeline/pipeline.hpp"

namespace mcaprec::daemon {

// CRC-32 of the file's bytes as 8 lowercase hex digits.
base::Result<std::string> file_crc32_hex(const std::string& path);

pipeline::PipelineOptions pipeline_options_for(const config::Config& config);
// The `session:` section as the records every file starts with: `mcaprec.session` (device_id
// and device_name when set, then the free metadata keys) and `foxglove` (deviceId/deviceName,
// only when a device is named). None for an empty section.
std::vector<mcap::Metadata> session_records(const config::Session& session);
// One listener that calls each of `listeners` in turn (on_finalize, upload, ...); an empty
// list gives an empty listener.
storage::FinishedFileListener call_each(std::vector<storage::FinishedFileListener> listeners);
// The `events:` section as the pipeline's event options (enabled).
events::EventOptions event_options_for(const config::Events& events);

}  // namespace mcaprec::daemon
