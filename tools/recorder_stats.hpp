#pragma once
// The recorder's `mcaprec.stats` record, read back for `mcaprec info` over a session. The
// record holds counts since its session started, so a session's totals are those of its last
// file, and a file's own share is its counts minus those of the file before it in the session.
// Keys are read generically: every key whose value is a number is a counter, `<topic>.<name>`
// when it holds a dot, else a total; counters the recorder adds later show up by themselves.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "session_files.hpp"

namespace mcaprec::tool {

using Counters = std::map<std::string, uint64_t>;  // "written" -> 1200, "dropped_queue_full" -> 3

struct RecorderStats {
  std::string session_start;                 // groups files of one recorder session
  Counters totals;                           // keys without a topic
  std::map<std::string, Counters> by_topic;  // topic -> its counters
};

// The last `mcaprec.stats` record of the file, if it has one that can be read.
std::optional<RecorderStats> read_recorder_stats(const SessionFile& file);

// What one file added to its session's counts: its counts minus those of the closest earlier
// file of the same session in `stats` (the whole count for the first one). Same order as input.
std::vector<Counters> file_shares(const std::vector<std::optional<RecorderStats>>& stats);

// Totals over several sessions: the last file of each session, summed.
struct SessionCounters {
  size_t files_with_stats = 0;
  size_t sessions = 0;
  Counters totals;
  std::map<std::string, Counters> by_topic;
};
SessionCounters session_counters(const std::vector<std::optional<RecorderStats>>& stats);

// The sum of the counters named "dropped_*" (reasons a message was lost).
uint64_t dropped_total(const Counters& counters);
// "queue_full 3, memory_budget 1" for the non-zero drops; "" when none.
std::string drop_breakdown(const Counters& counters);
// Counters other than received, written and dropped_* that are not zero ("paused 12"), which
// later recorders may add (reasons a message was not recorded without being a drop).
Counters other_counters(const Counters& counters);

}  // namespace mcaprec::tool
