#pragma once
// Every number /metrics and /status report, declared once. A row gives the Prometheus family
// (name, help, type), the /status key path and how to read the value from the snapshot;
// metrics_text.cpp and status_json.cpp only walk the tables. A new counter is one row (and its
// test): its family goes where the row is, its /status key last in its object.
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "daemon/snapshot.hpp"

namespace mcaprec::daemon {

// Counts by reason: one sample per reason (label `reason`) in /metrics, an object in /status.
using ByReason = std::vector<std::pair<std::string, uint64_t>>;

// What a row reads. A count is an integer in both outputs; a real number or a duration (in
// seconds) has nine significant digits in /metrics and six in /status; a flag is 0 or 1 in
// /metrics and a boolean in /status. std::monostate: this element has no such value (a UDP
// counter of a TCP source), so neither output shows it.
using CounterValue =
    std::variant<std::monostate, uint64_t, double, std::chrono::nanoseconds, bool, ByReason>;

// One family and its key, over `Stats`: the whole snapshot, a channel or a source.
template <class Stats>
struct Counter {
  std::string_view metric;  // Prometheus family name; "" = /status only
  std::string_view type;    // "counter" or "gauge"
  std::string_view help;
  std::string_view status;  // /status key path, levels joined by '.'; "" = /metrics only
  CounterValue (*read)(const Stats&);
};

using SnapshotCounter = Counter<DaemonSnapshot>;
using ChannelCounter = Counter<pipeline::ChannelStats>;
using SourceCounter = Counter<ingest::SourceStats>;

// In /metrics order: the daemon's own (after mcaprec_build_info), then per channel, then the
// recording's, then per source.
std::span<const SnapshotCounter> daemon_counters();
std::span<const ChannelCounter> channel_counters();
std::span<const SnapshotCounter> recording_counters();
std::span<const SourceCounter> source_counters();

}  // namespace mcaprec::daemon
