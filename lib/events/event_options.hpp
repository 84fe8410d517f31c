#pragma once
// What event recording is told: the look-back ring's bounds, the defaults of an event's window,
// the topic rules, and where event files go (filled in by the pipeline from its own options).
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/finalizer.hpp"
#include "storage/recording_file.hpp"

namespace mcaprec::events {

// Any message on `topic` marks the event `name`, at most once per `min_interval`.
struct TriggerRule {
  std::string topic;
  std::string name;
  std::chrono::nanoseconds before{0};
  std::chrono::nanoseconds after{0};
  std::chrono::nanoseconds min_interval{0};
};

struct EventOptions {
  bool enabled = false;  // false: no ring, every mark is refused
  // The ring keeps every chunk whose newest message is at most this much older than the newest
  // message seen.
  std::chrono::nanoseconds look_back = std::chrono::seconds(30);
  uint64_t memory_bytes = uint64_t{256} << 20;  // ring bytes kept in memory; beyond: the spool
  uint64_t spool_bytes = uint64_t{8} << 30;     // spool file bound; 0 = memory only
  uint64_t max_total_bytes = 0;                 // event files' own quota; 0 = none
  std::chrono::nanoseconds default_before = std::chrono::seconds(30);
  std::chrono::nanoseconds default_after = std::chrono::seconds(10);
  std::string signal_event = "manual";  // the event SIGUSR1 marks
  std::vector<TriggerRule> triggers;
};

// Where and how event files are written; the pipeline fills it.
struct EventFileOptions {
  std::string directory;
  std::string prefix;
  // Template for each event file's RecordingFile (writer options, metadata, sync, sink);
  // single_path is set per file.
  storage::RecordingFileOptions file;
  // An event file stays open this long after its window ends, for chunks still on their way
  // (sealed up to chunk_max_age after their oldest message, then compressed and written).
  std::chrono::nanoseconds close_delay = std::chrono::seconds(2);
  // Told of every event file finalized or failed (see storage::FinishedFileListener).
  storage::FinishedFileListener on_file_finished;
};

}  // namespace mcaprec::events
