#pragma once
// /status: the daemon's state as one JSON object, for people and scripts:
//   {"version", "state", "uptime_seconds", "config": {"path", "crc32"}, "directory",
//    "current_file", "last_finalized_file", "files": {"started", "finalized"},
//    "rates": {"messages_received_per_second", ...}, "totals": {...}, "memory": {...},
//    "cpu_seconds": {"writer", "compressors", "finalizer"}, "writer_stalled",
//    "channels": [{"id", "topic", "chunk_group", "received", ..., "dropped": {reason: n}}],
//    "sources": [{"name", "transport", "bind", ..., "errors": {reason: n}, "peers": [...]}]}
#include <string>

#include "daemon/snapshot.hpp"

namespace mcaprec::daemon {

std::string status_json(const DaemonSnapshot& snapshot);

}  // namespace mcaprec::daemon
