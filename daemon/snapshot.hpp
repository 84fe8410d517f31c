#pragma once
// Everything /metrics and /status report, gathered at one moment.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/finalize_command.hpp"
#include "daemon/process_stats.hpp"
#include "daemon/rates.hpp"
#include "ingest/ingest_server.hpp"
#include "pipeline/pipeline.hpp"
#include "upload/uploader.hpp"

namespace mcaprec::daemon {

struct DaemonSnapshot {
  std::string version;
  std::string state;  // "starting", "recording", "stopping"
  double uptime_seconds = 0;
  std::string config_path;
  std::string config_crc32;  // 8 hex digits, also in each file's `mcaprec` metadata
  std::string directory;
  bool writer_stalled = false;  // the watchdog is withholding pings
  pipeline::PipelineStats pipeline;
  std::vector<ingest::SourceStats> sources;
  Rates rates;
  ProcessStats process;
  std::optional<uint64_t> output_free_bytes;        // none while the directory cannot be asked
  std::optional<upload::UploadStats> upload;        // with an `upload:` section
  std::optional<FinalizeCommandStats> on_finalize;  // none without an on_finalize command
};

}  // namespace mcaprec::daemon
