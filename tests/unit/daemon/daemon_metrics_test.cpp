// What /metrics and /status say, and the HTTP server that serves them: Prometheus text with
// HELP and TYPE for every mcaprec_ metric and the counts a user checks (per channel, per drop
// reason, per source, kernel drops, compressor time), JSON that parses, and the server's
// answers to other paths, other methods, oversized, malformed and slow requests.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "daemon/http_server.hpp"
#include "daemon/metrics_text.hpp"
#include "daemon/status_json.hpp"
#include "daemon_test_support.hpp"

namespace mcaprec::daemon {
namespace {

using testing::http_exchange;
using testing::http_get;

DaemonSnapshot sample_snapshot() {
  DaemonSnapshot snap;
  snap.version = "1.2.3";
  snap.state = "recording";
  snap.uptime_seconds = 12.5;
  snap.config_path = "/etc/mcaprec/mcaprec.yaml";
  snap.config_crc32 = "0badcafe";
  snap.directory = "/var/lib/mcaprec/recordings";
  pipeline::ChannelStats imu;
  imu.id = 1;
  imu.topic = "/imu";
  imu.chunk_group = "default";
  imu.received = 1000;
  imu.received_bytes = 64000;
  imu.written = 990;
  imu.dropped[size_t(pipeline::DropReason::kQueueFull)] = 7;
  imu.dropped[size_t(pipeline::DropReason::kStopped)] = 3;
  imu.queued_bytes = 512;
  pipeline::ChannelStats odd;
  odd.id = 2;
  odd.topic = "/we\"ird\\topic\n";
  snap.pipeline.channels = {imu, odd};
  snap.pipeline.writer.messages_written = 990;
  snap.pipeline.writer.bytes_written = 30000;
  snap.pipeline.writer.chunks_written = 4;
  snap.pipeline.file.files_started = 3;
  snap.pipeline.finalizer.files_finalized = 2;
  snap.pipeline.compression.cpu_time = std::chrono::milliseconds(1500);
  snap.pipeline.writer.cpu_time = std::chrono::milliseconds(20);
  snap.pipeline.writer.longest_chunk = std::chrono::milliseconds(7);
  snap.pipeline.file.current_file = "/var/lib/mcaprec/recordings/rec_x_2.mcap.active";
  snap.pipeline.file.sync.syncs = 41;
  snap.pipeline.file.sync.sync_errors = 1;
  snap.pipeline.file.sync.sync_time = std::chrono::milliseconds(250);
  snap.pipeline.file.sync.max_sync_time = std::chrono::milliseconds(30);
  snap.pipeline.file.files_closed_on_error = 1;
  snap.pipeline.file.paused = true;
  snap.pipeline.file.pause_reason = "disk has 0 B free, below output.min_free_bytes 1 GiB";
  snap.pipeline.file.retention_files_deleted = 6;
  snap.pipeline.file.retention_bytes_deleted = 123456;
  snap.pipeline.file.files_lost_before_upload = 2;
  snap.pipeline.in_flight.chunks = 5;
  snap.pipeline.in_flight.chunk_limit = 16;
  snap.pipeline.in_flight.peak_chunks = 17;
  snap.process.cpu_seconds = 3.25;
  snap.process.resident_bytes = 41943040;
  snap.process.virtual_bytes = 734003200;
  snap.process.open_fds = 23;
  snap.process.max_fds = 524288;
  snap.process.start_time_seconds = 1796512345;
  snap.output_free_bytes = 987654321;
  ingest::SourceStats lidar;
  lidar.name = "lidar";
  lidar.transport = "udp";
  lidar.bind = "0.0.0.0:2368";
  lidar.messages = 500;
  lidar.datagrams = 505;
  lidar.kernel_drops = 42;
  lidar.kernel_dropped_datagrams = 420;
  lidar.errors["too_large"] = 5;
  lidar.peers = {"10.0.0.7:2368"};
  ingest::SourceStats producers;
  producers.name = "producers";
  producers.transport = "tcp";
  producers.bind = "127.0.0.1:9410";
  producers.messages = 500;
  producers.connections_open = 2;
  producers.peers = {"127.0.0.1:40000", "127.0.0.1:40002"};
  snap.sources = {lidar, producers};
  snap.rates.messages_received = 99.5;
  return snap;
}

// name{labels} -> value, for every sample line; and the HELP/TYPE of every family.
struct ParsedExposition {
  std::map<std::string, std::string> samples;
  std::map<std::string, std::string> types;
  std::set<std::string> helped;
  std::vector<std::string> problems;
};

ParsedExposition parse_exposition(const std::string& text) {
  ParsedExposition parsed;
  std::istringstream lines(text);
  std::string line;
  // Our own families, and the standard process_* ones.
  const std::regex help(R"(# HELP ((?:mcaprec|process)_[a-z0-9_]+) \S.*)");
  const std::regex type(R"(# TYPE ((?:mcaprec|process)_[a-z0-9_]+) (counter|gauge))");
  const std::regex sample(R"(((?:mcaprec|process)_[a-z0-9_]+)(\{.*\})? (\S+))");
  std::smatch match;
  while (std::getline(lines, line)) {
    if (std::regex_match(line, match, help)) {
      parsed.helped.insert(match[1]);
    } else if (std::regex_match(line, match, type)) {
      parsed.types[match[1]] = match[2];
    } else if (std::regex_match(line, match, sample)) {
      const std::string name = match[1];
      if (!parsed.types.count(name) || !parsed.helped.count(name)) {
        parsed.problems.push_back("sample before HELP/TYPE: " + line);
      }
      if (parsed.types[name] == "counter" && !name.ends_with("_total")) {
        parsed.problems.push_back("counter without _total: " + name);
      }
      parsed.samples[name + std::string(match[2])] = match[3];
    } else {
      parsed.problems.push_back("unparsable line: " + line);
    }
  }
  return parsed;
}

TEST(DaemonMetricsTest, PrometheusTextHasEveryFamilyWithHelpAndType) {
  const std::string text = prometheus_text(sample_snapshot());
  const ParsedExposition parsed = parse_exposition(text);
  EXPECT_TRUE(parsed.problems.empty()) << ::testing::PrintToString(parsed.problems) << text;
  const auto& s = parsed.samples;
  auto value = [&](const std::string& key) {
    auto it = s.find(key);
    return it == s.end() ? std::string("<missing>") : it->second;
  };
  EXPECT_EQ(value("mcaprec_build_info{version=\"1.2.3\"}"), "1");
  EXPECT_EQ(value("mcaprec_channel_messages_received_total{channel=\"1\",topic=\"/imu\"}"), "1000");
  EXPECT_EQ(value("mcaprec_channel_bytes_received_total{channel=\"1\",topic=\"/imu\"}"), "64000");
  EXPECT_EQ(value("mcaprec_channel_messages_written_total{channel=\"1\",topic=\"/imu\"}"), "990");
  EXPECT_EQ(value("mcaprec_channel_messages_dropped_total{channel=\"1\",topic=\"/imu\",reason="
                  "\"queue_full\"}"),
            "7");
  EXPECT_EQ(value("mcaprec_channel_messages_dropped_total{channel=\"1\",topic=\"/imu\",reason="
                  "\"stopped\"}"),
            "3");
  EXPECT_EQ(value("mcaprec_channel_messages_dropped_total{channel=\"1\",topic=\"/imu\",reason="
                  "\"memory_budget\"}"),
            "0");
  EXPECT_EQ(value("mcaprec_channel_queue_bytes{channel=\"1\",topic=\"/imu\"}"), "512");
  EXPECT_EQ(value("mcaprec_compressor_busy_seconds_total"), "1.5");
  EXPECT_EQ(value("mcaprec_bytes_written_total"), "30000");
  EXPECT_EQ(value("mcaprec_files_finalized_total"), "2");
  EXPECT_EQ(value("mcaprec_syncs_total"), "41");
  EXPECT_EQ(value("mcaprec_sync_errors_total"), "1");
  EXPECT_EQ(value("mcaprec_sync_seconds_total"), "0.25");
  EXPECT_EQ(value("mcaprec_sync_max_seconds"), "0.03");
  EXPECT_EQ(value("mcaprec_writer_longest_chunk_seconds"), "0.007");
  EXPECT_EQ(value("mcaprec_files_closed_on_error_total"), "1");
  EXPECT_EQ(value("mcaprec_recording_paused"), "1");
  EXPECT_EQ(parsed.types.at("mcaprec_recording_paused"), "gauge");
  EXPECT_EQ(value("mcaprec_retention_files_deleted_total"), "6");
  EXPECT_EQ(value("mcaprec_retention_bytes_deleted_total"), "123456");
  EXPECT_EQ(value("mcaprec_files_lost_before_upload_total"), "2");
  EXPECT_EQ(value("mcaprec_channel_messages_dropped_total{channel=\"1\",topic=\"/imu\",reason="
                  "\"no_space\"}"),
            "0");
  EXPECT_EQ(value("mcaprec_source_kernel_drops_total{source=\"lidar\",transport=\"udp\"}"), "42");
  EXPECT_EQ(value("mcaprec_source_kernel_dropped_datagrams_total{source=\"lidar\",transport="
                  "\"udp\"}"),
            "420");
  EXPECT_EQ(value("mcaprec_source_errors_total{source=\"lidar\",transport=\"udp\",reason=\"too_"
                  "large\"}"),
            "5");
  EXPECT_EQ(value("mcaprec_source_connections_open{source=\"producers\",transport=\"tcp\"}"), "2");
  EXPECT_EQ(value("mcaprec_in_flight_chunks"), "5");
  EXPECT_EQ(value("mcaprec_in_flight_chunks_limit"), "16");
  EXPECT_EQ(value("mcaprec_in_flight_chunks_peak"), "17");
  EXPECT_EQ(value("process_cpu_seconds_total"), "3.25");
  EXPECT_EQ(value("process_resident_memory_bytes"), "41943040");
  EXPECT_EQ(value("process_virtual_memory_bytes"), "734003200");
  EXPECT_EQ(value("process_open_fds"), "23");
  EXPECT_EQ(value("process_max_fds"), "524288");
  EXPECT_EQ(value("process_start_time_seconds"), "1796512345");
  EXPECT_EQ(value("mcaprec_output_free_bytes"), "987654321");
  EXPECT_EQ(parsed.types.at("mcaprec_in_flight_chunks"), "gauge");
  EXPECT_EQ(parsed.types.at("mcaprec_channel_queue_bytes"), "gauge");
  EXPECT_EQ(parsed.types.at("mcaprec_bytes_written_total"), "counter");
  // Label values are escaped, so an odd topic cannot break the format.
  EXPECT_NE(text.find("topic=\"/we\\\"ird\\\\topic\\n\""), std::string::npos) << text;
}

TEST(DaemonMetricsTest, StatusJsonParsesAndCarriesFileRatesAndPeers) {
  const nlohmann::json status = nlohmann::json::parse(status_json(sample_snapshot()));
  EXPECT_EQ(status["state"], "recording");
  EXPECT_EQ(status["version"], "1.2.3");
  EXPECT_DOUBLE_EQ(status["uptime_seconds"].get<double>(), 12.5);
  EXPECT_EQ(status["current_file"], "/var/lib/mcaprec/recordings/rec_x_2.mcap.active");
  EXPECT_EQ(status["config"]["crc32"], "0badcafe");
  EXPECT_DOUBLE_EQ(status["rates"]["messages_received_per_second"].get<double>(), 99.5);
  EXPECT_EQ(status["files"]["finalized"], 2);
  EXPECT_EQ(status["channels"][0]["topic"], "/imu");
  EXPECT_EQ(status["channels"][0]["dropped"]["queue_full"], 7);
  EXPECT_EQ(status["channels"][1]["topic"], "/we\"ird\\topic\n");
  EXPECT_EQ(status["sources"][0]["kernel_drops"], 42);
  EXPECT_EQ(status["sources"][0]["kernel_dropped_datagrams"], 420);
  EXPECT_EQ(status["sources"][0]["peers"][0], "10.0.0.7:2368");
  EXPECT_EQ(status["sources"][1]["peers"].size(), 2u);
  EXPECT_EQ(status["sources"][1]["connections_open"], 2);
  EXPECT_TRUE(status["first_error"].is_null());
  EXPECT_EQ(status["recording_paused"], true);
  EXPECT_EQ(status["pause_reason"], "disk has 0 B free, below output.min_free_bytes 1 GiB");
  EXPECT_EQ(status["sync"]["count"], 41);
  EXPECT_EQ(status["sync"]["errors"], 1);
  EXPECT_DOUBLE_EQ(status["sync"]["seconds"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(status["sync"]["max_seconds"].get<double>(), 0.03);
  EXPECT_EQ(status["files"]["closed_on_error"], 1);
  EXPECT_EQ(status["retention"]["files_deleted"], 6);
  EXPECT_EQ(status["retention"]["bytes_deleted"], 123456);
  EXPECT_EQ(status["retention"]["files_lost_before_upload"], 2);
  EXPECT_EQ(status["channels"][0]["dropped"]["no_space"], 0);
  EXPECT_EQ(status["memory"]["in_flight_chunks"], 5);
  EXPECT_EQ(status["memory"]["in_flight_chunks_limit"], 16);
  EXPECT_EQ(status["memory"]["in_flight_chunks_peak"], 17);
}

// Appends `line` unless it is there already: shapes in the order they first appear.
void add_once(std::vector<std::string>& lines, const std::string& line) {
  if (std::find(lines.begin(), lines.end(), line) == lines.end()) lines.push_back(line);
}

// Every metric family as "name type" plus the label names of its samples, in output order.
std::vector<std::string> metric_shapes(const std::string& text) {
  const std::regex type(R"(# TYPE (\S+) (\S+))");
  const std::regex sample(R"(([a-z0-9_]+)(?:\{(.*)\})? \S+)");
  const std::regex label(R"(([a-z_]+)="(?:[^"\\]|\\.)*")");
  std::vector<std::string> shapes;
  std::string family;
  std::istringstream lines(text);
  std::smatch match;
  for (std::string line; std::getline(lines, line);) {
    if (std::regex_match(line, match, type)) {
      family = match[1].str() + " " + match[2].str();
    } else if (std::regex_match(line, match, sample)) {
      const std::string labels = match[2];
      std::string shape = family;
      for (std::sregex_iterator it(labels.begin(), labels.end(), label), end; it != end; ++it) {
        shape += " " + (*it)[1].str();
      }
      add_once(shapes, shape);
    }
  }
  return shapes;
}

// Every key path of a JSON document with the kind of its value ("channels[].dropped.stopped
// number"), array elements merged, in document order.
void collect_keys(const nlohmann::ordered_json& value, const std::string& path,
                  std::vector<std::string>& keys) {
  if (!path.empty()) add_once(keys, path + " " + value.type_name());
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) {
      collect_keys(child, path.empty() ? key : path + "." + key, keys);
    }
  } else if (value.is_array()) {
    for (const auto& element : value) collect_keys(element, path + "[]", keys);
  }
}

std::vector<std::string> status_keys(const std::string& text) {
  std::vector<std::string> keys;
  collect_keys(nlohmann::ordered_json::parse(text), "", keys);
  return keys;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// What dashboards and scripts select by: written from the output of the daemon before its JSON
// and HTTP moved onto libraries, so that no refactoring renames a metric or a key silently.
const char kGoldenMetricShapes[] = R"(mcaprec_build_info gauge version
mcaprec_uptime_seconds gauge
mcaprec_writer_stalled gauge
process_cpu_seconds_total counter
process_resident_memory_bytes gauge
process_virtual_memory_bytes gauge
process_open_fds gauge
process_max_fds gauge
process_start_time_seconds gauge
mcaprec_channel_messages_received_total counter channel topic
mcaprec_channel_bytes_received_total counter channel topic
mcaprec_channel_messages_written_total counter channel topic
mcaprec_channel_messages_dropped_total counter channel topic reason
mcaprec_channel_messages_not_recorded_total counter channel topic reason
mcaprec_channel_messages_relatched_total counter channel topic
mcaprec_channel_compression_in_bytes_total counter channel topic
mcaprec_channel_compression_out_bytes_total counter channel topic
mcaprec_channel_compression_attempts_total counter channel topic
mcaprec_channel_compression_skipped_total counter channel topic
mcaprec_channel_compression_stored_raw gauge channel topic
mcaprec_channel_queue_bytes gauge channel topic
mcaprec_messages_written_total counter
mcaprec_messages_kept_total counter
mcaprec_bytes_written_total counter
mcaprec_chunks_written_total counter
mcaprec_chunk_uncompressed_bytes_total counter
mcaprec_chunk_compressed_bytes_total counter
mcaprec_chunks_stored_uncompressed_total counter
mcaprec_files_started_total counter
mcaprec_files_finalized_total counter
mcaprec_write_errors_total counter
mcaprec_files_closed_on_error_total counter
mcaprec_syncs_total counter
mcaprec_sync_errors_total counter
mcaprec_sync_seconds_total counter
mcaprec_sync_max_seconds gauge
mcaprec_recording_paused gauge
mcaprec_paused_everything gauge
mcaprec_paused_topics gauge
mcaprec_paused_sources gauge
mcaprec_retention_files_deleted_total counter
mcaprec_retention_bytes_deleted_total counter
mcaprec_files_lost_before_upload_total counter
mcaprec_output_free_bytes gauge
mcaprec_memory_in_use_bytes gauge
mcaprec_memory_budget_bytes gauge
mcaprec_in_flight_bytes gauge
mcaprec_in_flight_chunks gauge
mcaprec_in_flight_chunks_limit gauge
mcaprec_in_flight_chunks_peak gauge
mcaprec_compressor_threads gauge
mcaprec_compressor_busy_seconds_total counter
mcaprec_writer_busy_seconds_total counter
mcaprec_writer_longest_chunk_seconds gauge
mcaprec_finalizer_busy_seconds_total counter
mcaprec_source_messages_total counter source transport
mcaprec_source_bytes_total counter source transport
mcaprec_source_datagrams_total counter source transport
mcaprec_source_kernel_drops_total counter source transport
mcaprec_source_kernel_dropped_datagrams_total counter source transport
mcaprec_source_connections_accepted_total counter source transport
mcaprec_source_connections_open gauge source transport
mcaprec_source_connections_refused_total counter source transport
mcaprec_source_direct_bytes_total counter source transport
mcaprec_source_errors_total counter source transport reason)";
const char kGoldenStatusKeys[] = R"(version string
state string
uptime_seconds number
config object
config.path string
config.crc32 string
directory string
current_file string
last_finalized_file string
files object
files.started number
files.finalized number
files.closed_on_error number
recording_paused boolean
pause_reason string
sync object
sync.count number
sync.errors number
sync.seconds number
sync.max_seconds number
retention object
retention.files_deleted number
retention.bytes_deleted number
retention.files_lost_before_upload number
rates object
rates.messages_received_per_second number
rates.bytes_received_per_second number
rates.messages_written_per_second number
rates.bytes_written_per_second number
rates.messages_dropped_per_second number
totals object
totals.messages_received number
totals.bytes_received number
totals.messages_written number
totals.messages_kept number
totals.messages_dropped number
totals.bytes_written number
totals.chunks_written number
totals.write_errors number
totals.uncompressed_bytes number
totals.compressed_bytes number
totals.messages_not_recorded object
totals.messages_not_recorded.paused number
totals.messages_not_recorded.rate_limited number
totals.messages_not_recorded.excluded number
memory object
memory.in_use_bytes number
memory.budget_bytes number
memory.in_flight_bytes number
memory.in_flight_chunks number
memory.in_flight_chunks_limit number
memory.in_flight_chunks_peak number
cpu_seconds object
cpu_seconds.writer number
cpu_seconds.compressors number
cpu_seconds.finalizer number
compressor_threads number
writer_stalled boolean
paused_by_request object
paused_by_request.everything boolean
paused_by_request.since null
paused_by_request.since_utc null
paused_by_request.topics array
paused_by_request.sources array
first_error null
channels array
channels[] object
channels[].id number
channels[].topic string
channels[].chunk_group string
channels[].record string
channels[].received number
channels[].received_bytes number
channels[].written number
channels[].queued_bytes number
channels[].dropped object
channels[].dropped.queue_full number
channels[].dropped.memory_budget number
channels[].dropped.too_large number
channels[].dropped.stopped number
channels[].dropped.write_error number
channels[].dropped.no_space number
channels[].not_recorded object
channels[].not_recorded.paused number
channels[].not_recorded.rate_limited number
channels[].not_recorded.excluded number
channels[].relatched number
channels[].compression object
channels[].compression.bytes_in number
channels[].compression.bytes_out number
channels[].compression.attempts number
channels[].compression.skipped number
channels[].compression.stored_raw boolean
sources array
sources[] object
sources[].name string
sources[].transport string
sources[].bind string
sources[].messages number
sources[].bytes number
sources[].datagrams number
sources[].kernel_drops number
sources[].kernel_dropped_datagrams number
sources[].errors object
sources[].errors.too_large number
sources[].peers array
sources[].peers[] string
sources[].connections_accepted number
sources[].connections_open number
sources[].connections_refused number
sources[].direct_bytes number
process object
process.cpu_seconds number
process.resident_memory_bytes number
process.virtual_memory_bytes number
process.open_fds number
process.max_fds number
process.start_time_seconds number
output_free_bytes number)";

TEST(DaemonMetricsTest, MetricNamesAndStatusKeysAreUnchanged) {
  const DaemonSnapshot snapshot = sample_snapshot();
  EXPECT_EQ(metric_shapes(prometheus_text(snapshot)), lines_of(kGoldenMetricShapes));
  EXPECT_EQ(status_keys(status_json(snapshot)), lines_of(kGoldenStatusKeys));
}

// With an `upload:` section: these families and keys come in addition, the upload object last.
const char kGoldenUploadMetricShapes[] = R"(mcaprec_upload_files_pending gauge
mcaprec_upload_bytes_pending gauge
mcaprec_upload_oldest_pending_age_seconds gauge
mcaprec_upload_files_uploaded_total counter
mcaprec_upload_bytes_uploaded_total counter
mcaprec_upload_bytes_sent_total counter
mcaprec_upload_bytes_per_second gauge
mcaprec_upload_failures_total counter reason
mcaprec_upload_files_deleted_total counter
mcaprec_upload_files_missing_total counter)";
const char kGoldenUploadStatusKeys[] = R"(upload object
upload.files_pending number
upload.bytes_pending number
upload.oldest_pending_age_seconds number
upload.files_uploaded number
upload.bytes_uploaded number
upload.bytes_sent number
upload.bytes_per_second number
upload.failures object
upload.failures.network number
upload.failures.server number
upload.failures.access number
upload.failures.no_bucket number
upload.failures.local_file number
upload.failures.other number
upload.files_deleted number
upload.files_missing number)";

TEST(DaemonMetricsTest, UploadMetricNamesAndStatusKeys) {
  DaemonSnapshot snapshot = sample_snapshot();
  snapshot.upload.emplace();
  std::vector<std::string> shapes = metric_shapes(prometheus_text(snapshot));
  std::vector<std::string> keys = status_keys(status_json(snapshot));
  const std::vector<std::string> plain_shapes = metric_shapes(prometheus_text(sample_snapshot()));
  const std::vector<std::string> plain_keys = status_keys(status_json(sample_snapshot()));
  std::erase_if(shapes, [&](const std::string& shape) {
    return std::find(plain_shapes.begin(), plain_shapes.end(), shape) != plain_shapes.end();
  });
  ASSERT_GE(keys.size(), plain_keys.size());
  EXPECT_EQ(std::vector<std::string>(keys.begin(), keys.begin() + plain_keys.size()), plain_keys);
  keys.erase(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(plain_keys.size()));
  EXPECT_EQ(shapes, lines_of(kGoldenUploadMetricShapes));
  EXPECT_EQ(keys, lines_of(kGoldenUploadStatusKeys));
}

TEST(DaemonMetricsTest, JsonStringsAreAlwaysValid) {
  DaemonSnapshot snapshot = sample_snapshot();
  snapshot.pipeline.channels[1].topic = std::string("a\x01\xff\xc3\xa9\xed\xa0\x80", 8);
  snapshot.uptime_seconds = 1.0 / 0.0;
  const nlohmann::json parsed = nlohmann::json::parse(status_json(snapshot));
  EXPECT_EQ(parsed["channels"][1]["topic"],
            "a\x01\xEF\xBF\xBD\xc3\xa9\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_TRUE(parsed["uptime_seconds"].is_null());
}

TEST(DaemonHttpTest, RequestLinesAreParsed) {
  auto head = parse_request_head("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->method, "GET");
  EXPECT_EQ(head->path, "/metrics");
  EXPECT_FALSE(parse_request_head("GET /metrics\r\n\r\n"));
  EXPECT_FALSE(parse_request_head("get / HTTP/1.0\r\n\r\n"));
  EXPECT_FALSE(parse_request_head("GET metrics HTTP/1.0\r\n\r\n"));
  EXPECT_FALSE(parse_request_head("\x16\x03\x01 hello"));
}

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpLimits limits = {}) {
    auto server = HttpServer::listen(config::Endpoint{"127.0.0.1", 0}, limits);
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
    server_->serve([](std::string_view path) -> std::optional<HttpResponse> {
      if (path == "/metrics") return HttpResponse{200, "text/plain", "mcaprec_up 1\n"};
      return std::nullopt;
    });
  }
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, AnswersGetAndRefusesTheRest) {
  start();
  const uint16_t port = server_->port();
  ASSERT_NE(port, 0);
  testing::HttpReply reply = http_get(port, "/metrics");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "mcaprec_up 1\n");
  EXPECT_NE(reply.head.find("Content-Length: 13"), std::string::npos) << reply.head;
  EXPECT_NE(reply.head.find("Connection: close"), std::string::npos);

  EXPECT_EQ(http_get(port, "/nothing").status, 404);
  reply = http_exchange(port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(reply.status, 405);
  EXPECT_NE(reply.head.find("Allow: GET"), std::string::npos);
  EXPECT_EQ(http_exchange(port, "HELLO\r\n\r\n").status, 400);
  // Bare LF line ends are accepted too.
  EXPECT_EQ(http_exchange(port, "GET /metrics HTTP/1.0\n\n").status, 200);
}

TEST_F(HttpServerTest, OversizedAndSlowRequestsAreCutOff) {
  HttpLimits limits;
  limits.max_request_bytes = 256;
  limits.timeout = std::chrono::milliseconds(300);
  start(limits);
  const uint16_t port = server_->port();
  EXPECT_EQ(
      http_exchange(port, "GET /metrics HTTP/1.0\r\nX: " + std::string(1000, 'a') + "\r\n\r\n")
          .status,
      431);
  // Never finishes its request: answered 408 once the timeout passes.
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_EQ(http_exchange(port, "GET /metrics HTTP/1.0\r\n").status, 408);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5));
  // The server still serves others afterwards.
  EXPECT_EQ(http_get(port, "/metrics").status, 200);
}

TEST_F(HttpServerTest, HeaderLinesMustParse) {
  start();
  const uint16_t port = server_->port();
  EXPECT_EQ(http_exchange(port, "GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n").status, 400);
  EXPECT_EQ(http_exchange(port, "GET /metrics HTTP/1.1\r\nHost: a\r\nX-Y: z\r\n\r\n").status, 200);
  // A body announced with GET is not read, and does not stop the answer.
  EXPECT_EQ(http_exchange(port, "GET /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello").status,
            200);
}

// A client that got its 408 and then neither sends nor closes loses its connection one timeout
// later, so that it cannot hold a connection slot for good.
TEST_F(HttpServerTest, ASilentClientIsDroppedAfterItsTimeout) {
  HttpLimits limits;
  limits.timeout = std::chrono::milliseconds(200);
  limits.max_connections = 1;
  start(limits);
  const uint16_t port = server_->port();
  const int silent = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(silent, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  const std::string partial = "GET /metrics HTTP/1.0\r\n";
  ASSERT_EQ(::send(silent, partial.data(), partial.size(), MSG_NOSIGNAL), ssize_t(partial.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_EQ(http_get(port, "/metrics").status, 200);
  ::close(silent);
}

// At the connection cap the oldest connection still sending its request is closed, so that
// half-open clients cannot keep a scrape out (issue 16: 100 of them, answered within a second).
TEST_F(HttpServerTest, HalfOpenClientsMakeRoomForAScrape) {
  HttpLimits limits;
  limits.max_connections = 8;
  start(limits);
  const uint16_t port = server_->port();
  std::vector<int> idle;
  for (int i = 0; i < 100; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ::send(fd, "GET /met", 8, MSG_NOSIGNAL);
    idle.push_back(fd);
  }
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_EQ(http_get(port, "/metrics").status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(1));
  for (int fd : idle) ::close(fd);
}

// A server that takes bodies reads exactly Content-Length bytes, and refuses more than its limit.
TEST(HttpServerBodyTest, BodiesAreReadUpToTheLimit) {
  HttpLimits limits;
  limits.max_body_bytes = 16;
  auto server = HttpServer::listen(config::Endpoint{"127.0.0.1", 0}, limits);
  ASSERT_TRUE(server);
  (*server)->serve([](HttpRequest request, HttpReply reply) {
    reply(HttpResponse{200, "text/plain", request.method + " " + request.path + " " + request.body,
                       ""});
  });
  const uint16_t port = (*server)->port();
  testing::HttpReply answer =
      http_exchange(port, "POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.body, "POST /x hello");
  EXPECT_EQ(http_exchange(port, "POST /x HTTP/1.1\r\nContent-Length: 17\r\n\r\n").status, 413);
  EXPECT_EQ(
      http_exchange(port, "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").status,
      411);
}

TEST_F(HttpServerTest, PortInUseIsAStartError) {
  start();
  auto second = HttpServer::listen(config::Endpoint{"127.0.0.1", server_->port()});
  ASSERT_FALSE(second);
  EXPECT_NE(
      second.error().message.find("cannot listen on 127.0.0.1:" + std::to_string(server_->port())),
      std::string::npos)
      << second.error().message;
  EXPECT_NE(second.error().message.find("in use"), std::string::npos) << second.error().message;
}

TEST_F(HttpServerTest, StopClosesTheListener) {
  start();
  const uint16_t port = server_->port();
  server_->stop();
  EXPECT_EQ(http_get(port, "/metrics").status, 0);
}

}  // namespace
}  // namespace mcaprec::daemon
