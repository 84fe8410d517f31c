// The counter table is the one place a number of /metrics and /status is declared: every row
// shows up in both outputs (where it names both), with the value its accessor reads.
#include "daemon/counter_table.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "daemon/metrics_text.hpp"
#include "daemon/status_json.hpp"

namespace mcaprec::daemon {
namespace {

using Json = nlohmann::json;

// Every value non-zero and distinct, two channels, a UDP and a TCP source.
DaemonSnapshot rich_snapshot() {
  DaemonSnapshot s;
  s.version = "9.8.7";
  s.state = "recording";
  s.uptime_seconds = 1234.5678912;
  s.config_path = "/etc/x.yaml";
  s.config_crc32 = "deadbeef";
  s.directory = "/rec";
  s.writer_stalled = true;
  for (uint16_t id : {uint16_t{3}, uint16_t{7}}) {
    pipeline::ChannelStats c;
    c.id = id;
    c.topic = id == 3 ? "/imu" : "/odd\"topic\\\n\xff";
    c.chunk_group = "g" + std::to_string(id);
    c.received = 100u + id;
    c.received_bytes = 2000u + id;
    c.written = 90u + id;
    for (size_t r = 0; r < pipeline::kDropReasonCount; ++r) c.dropped[r] = r + id;
    c.queued_bytes = 55u + id;
    c.compression.bytes_in = 3000u + id;
    c.compression.bytes_out = 1000u + id;
    c.compression.attempts = 20u + id;
    c.compression.skipped = 30u + id;
    c.compression.stored_raw = id == 7;
    s.pipeline.channels.push_back(c);
  }
  auto& p = s.pipeline;
  p.events.emplace();
  p.events->ring.memory_bytes = 61;
  p.events->ring.spool_bytes = 62;
  p.events->ring.chunks_held = 63;
  p.events->ring.chunks_evicted = 64;
  p.events->ring.chunks_not_held = 65;
  p.events->events_marked = 66;
  p.events->files_finalized = 67;
  p.events->bytes_written = 68;
  p.events->chunks_missed = 69;
  p.events->files_deleted = 70;
  p.events->cpu_time = std::chrono::milliseconds(71);
  p.writer.chunks_written = 11;
  p.writer.messages_written = 12;
  p.writer.bytes_written = 13;
  p.file.files_started = 14;
  p.finalizer.files_finalized = 15;
  p.writer.write_errors = 16;
  p.compression.chunks_stored_raw = 17;
  p.compression.chunks_skipped = 18;
  p.compression.uncompressed_bytes = 19;
  p.compression.compressed_bytes = 20;
  p.memory.in_use = 21;
  p.memory.budget = 22;
  p.in_flight.bytes = 23;
  p.in_flight.chunks = 24;
  p.in_flight.chunk_limit = 25;
  p.in_flight.peak_chunks = 26;
  p.compression.threads = 27;
  p.file.files_closed_on_error = 28;
  p.file.sync.syncs = 29;
  p.file.sync.sync_errors = 30;
  p.file.sync.sync_time = std::chrono::nanoseconds(31123456789);
  p.file.sync.max_sync_time = std::chrono::nanoseconds(32123456);
  p.file.paused = true;
  p.file.pause_reason = "no room";
  p.file.retention_files_deleted = 33;
  p.file.retention_bytes_deleted = 34;
  p.file.current_file = "/rec/a.mcap.active";
  p.finalizer.last_finalized_file = "/rec/b.mcap";
  p.writer.cpu_time = std::chrono::nanoseconds(35123456789);
  p.compression.cpu_time = std::chrono::nanoseconds(36123456789);
  p.finalizer.cpu_time = std::chrono::nanoseconds(37123456789);
  p.scheduler_cpu = std::chrono::nanoseconds(38123456789);
  p.file.first_error = mcap::Error{5, "boom"};
  ingest::SourceStats u;
  u.name = "lidar";
  u.transport = "udp";
  u.bind = "0.0.0.0:1";
  u.messages = 41;
  u.bytes = 42;
  u.datagrams = 43;
  u.kernel_drops = 44;
  u.kernel_dropped_datagrams = 45;
  u.connections_accepted = 46;
  u.connections_open = 47;
  u.connections_refused = 48;
  u.direct_bytes = 0;
  u.errors = {{"too_large", 49}, {"truncated", 50}};
  u.peers = {"1.2.3.4:5"};
  ingest::SourceStats t = u;
  t.name = "producers";
  t.transport = "tcp";
  t.bind = "127.0.0.1:2";
  t.messages = 51;
  t.peers = {"127.0.0.1:6", "127.0.0.1:7"};
  s.sources = {u, t};
  s.rates = {1.5, 2.25, 3.125, 4.0625, 5.123456789};
  s.process = {61.5, 62, 63, 64, 65, 66};
  s.output_free_bytes = 67;
  upload::UploadStats& up = s.upload.emplace();
  up.files_pending = 81;
  up.bytes_pending = 82;
  up.oldest_pending_age_seconds = 83.5;
  up.files_uploaded = 84;
  up.bytes_uploaded = 85;
  up.bytes_sent = 86;
  up.bytes_per_second = 87.25;
  up.files_deleted = 88;
  up.files_missing = 89;
  for (size_t r = 0; r < upload::kFailureReasonCount; ++r) up.failures[r] = 90 + r;
  return s;
}

// The /metrics text of a plain count, or "" for other values.
std::string count_text(const CounterValue& value) {
  const uint64_t* count = std::get_if<uint64_t>(&value);
  return count ? " " + std::to_string(*count) + "\n" : "";
}

// The row's family is declared with its help and type, and a count appears as a sample.
template <class Stats>
void expect_in_metrics(const std::string& text, const Counter<Stats>& row, const Stats& stats) {
  if (row.metric.empty()) return;
  const std::string name(row.metric);
  EXPECT_NE(text.find("# HELP " + name + " " + std::string(row.help) + "\n"), std::string::npos)
      << name;
  EXPECT_NE(text.find("# TYPE " + name + " " + std::string(row.type) + "\n"), std::string::npos)
      << name;
  const std::string count = count_text(row.read(stats));
  if (!count.empty()) {
    EXPECT_NE(text.find(count), std::string::npos) << name;
  }
}

// The row's key holds its value (counts exactly, the rest by kind).
template <class Stats>
void expect_in_status(const Json& object, const Counter<Stats>& row, const Stats& stats) {
  if (row.status.empty()) return;
  std::string pointer = "/" + std::string(row.status);
  for (char& c : pointer) c = c == '.' ? '/' : c;
  const CounterValue value = row.read(stats);
  const Json::json_pointer key(pointer);
  if (std::holds_alternative<std::monostate>(value)) {
    EXPECT_FALSE(object.contains(key)) << pointer;
    return;
  }
  ASSERT_TRUE(object.contains(key)) << pointer;
  const Json& found = object.at(key);
  if (const uint64_t* count = std::get_if<uint64_t>(&value)) {
    EXPECT_EQ(found.get<uint64_t>(), *count) << pointer;
  } else if (const bool* flag = std::get_if<bool>(&value)) {
    EXPECT_EQ(found.get<bool>(), *flag) << pointer;
  } else if (const ByReason* counts = std::get_if<ByReason>(&value)) {
    for (const auto& [reason, n] : *counts) {
      EXPECT_EQ(found.at(reason), n) << pointer;
    }
  } else {
    EXPECT_TRUE(found.is_number()) << pointer;
  }
}

TEST(CounterTableTest, EveryRowIsInBothOutputsWithItsValue) {
  const DaemonSnapshot snapshot = rich_snapshot();
  const std::string metrics = prometheus_text(snapshot);
  const Json status = Json::parse(status_json(snapshot));
  for (const std::span<const SnapshotCounter> rows : {daemon_counters(), recording_counters()}) {
    for (const SnapshotCounter& row : rows) {
      expect_in_metrics(metrics, row, snapshot);
      expect_in_status(status, row, snapshot);
    }
  }
  for (const ChannelCounter& row : channel_counters()) {
    for (size_t i = 0; i < snapshot.pipeline.channels.size(); ++i) {
      expect_in_metrics(metrics, row, snapshot.pipeline.channels[i]);
      expect_in_status(status["channels"][i], row, snapshot.pipeline.channels[i]);
    }
  }
  for (const SourceCounter& row : source_counters()) {
    for (size_t i = 0; i < snapshot.sources.size(); ++i) {
      expect_in_metrics(metrics, row, snapshot.sources[i]);
      expect_in_status(status["sources"][i], row, snapshot.sources[i]);
    }
  }
}

TEST(CounterTableTest, UnknownFreeSpaceIsLeftOutRatherThanReportedAsZero) {
  DaemonSnapshot snapshot = rich_snapshot();
  snapshot.output_free_bytes.reset();
  const std::string metrics = prometheus_text(snapshot);
  EXPECT_NE(metrics.find("# TYPE mcaprec_output_free_bytes gauge\n"), std::string::npos);
  EXPECT_EQ(metrics.find("\nmcaprec_output_free_bytes "), std::string::npos) << metrics;
  EXPECT_FALSE(Json::parse(status_json(snapshot)).contains("output_free_bytes"));
}

// Each family is declared once, and each key once in its object.
template <class Stats>
void expect_unique(std::span<const Counter<Stats>> rows, std::set<std::string_view>& metrics,
                   std::set<std::string_view>& keys) {
  for (const Counter<Stats>& row : rows) {
    if (!row.metric.empty()) {
      EXPECT_TRUE(metrics.insert(row.metric).second) << row.metric;
    }
    if (!row.status.empty()) {
      EXPECT_TRUE(keys.insert(row.status).second) << row.status;
    }
  }
}

TEST(CounterTableTest, NamesAreUnique) {
  std::set<std::string_view> metrics;
  std::set<std::string_view> snapshot_keys;
  std::set<std::string_view> channel_keys;
  std::set<std::string_view> source_keys;
  expect_unique(daemon_counters(), metrics, snapshot_keys);
  expect_unique(recording_counters(), metrics, snapshot_keys);
  expect_unique(channel_counters(), metrics, channel_keys);
  expect_unique(source_counters(), metrics, source_keys);
}

}  // namespace
}  // namespace mcaprec::daemon
