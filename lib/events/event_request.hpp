#pragma once
// What marks an event (the control endpoint, SIGUSR1, a topic rule) and what is known of one
// afterwards. The pipeline re-exports these names (pipeline/event_request.hpp), which is where
// the daemon's control endpoint and signal handler meet them.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "mcap/records.hpp"

namespace mcaprec::events {

enum class EventTrigger { kControl, kSignal, kRule };
const char* event_trigger_name(EventTrigger trigger);  // "control", "signal", "rule"

struct EventRequest {
  std::string name;  // goes into the file name: letters, digits, '_', '-', '.'
  EventTrigger trigger = EventTrigger::kControl;
  std::string trigger_detail;                      // e.g. the topic of the rule that fired
  std::optional<std::chrono::nanoseconds> before;  // none: the configured default
  std::optional<std::chrono::nanoseconds> after;   // none: the configured default
  mcap::KeyValueMap fields;                        // free key/values for `mcaprec.event`
};

enum class EventPhase {
  kWaiting,    // the look-ahead is not over yet
  kWriting,    // its chunks are being written
  kFinalized,  // its file is complete
  kFailed,     // see EventState::error
};
const char* event_phase_name(EventPhase phase);  // "waiting", "writing", "finalized", "failed"

struct EventState {
  uint64_t id = 0;
  EventRequest request;
  mcap::Timestamp trigger_time = 0;  // ns since the epoch, the log-time clock
  mcap::Timestamp window_start = 0;  // trigger_time - before
  mcap::Timestamp window_end = 0;    // trigger_time + after
  EventPhase phase = EventPhase::kWaiting;
  std::string file;  // the event file: `.active` while open, the final name once finalized
  std::string error;
  // Chunks overlapping the window that its file lacks: the ring could not hold them (bounds)
  // or read them back. 0: the file has every message of the window.
  uint64_t chunks_missing = 0;
};

}  // namespace mcaprec::events
