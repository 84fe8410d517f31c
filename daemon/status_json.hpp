#pragma once
// /status: the daemon's state as one JSON object, for people and scripts:
//   {"version", "state", "uptime_seconds", "config": {"path", "crc32"}, "directory",
//    "current_file", "last_finalized_file", "files": {"started", "finalized"},
//    "rates": {"messages_received_per_second", ...}, "totals": {...}, "memory": {...},
//    "cpu_seconds": {"writer", "compressors", "finalizer"}, "writer_stalled",
//    "paused_by_request": {"everything", "since", "since_utc", "topics": [...], "sources": [...]},
//    "channels": [{"id", "topic", "chunk_group", "received", ..., "dropped": {reason: n},
//                  "not_recorded": {"paused": n}}],
//    "sources": [{"name", "transport", "bind", ..., "errors": {reason: n}, "peers": [...]}]}
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "daemon/snapshot.hpp"

namespace mcaprec::daemon {

std::string status_json(const DaemonSnapshot& snapshot);

// What is paused by request: {"everything", "since", "since_utc", "topics": [{"name", "since",
// "since_utc"}], "sources": [...]} (since: ns since the epoch, the log-time clock; null when
// everything is not paused). Shared by /status and the control endpoint.
nlohmann::ordered_json pause_json(const pipeline::PauseState& state);
// ISO-8601 UTC with nanoseconds: "2026-11-21T10:15:00.123456789Z".
std::string utc_text(uint64_t nanoseconds);

}  // namespace mcaprec::daemon
