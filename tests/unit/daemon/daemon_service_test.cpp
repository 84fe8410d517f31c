// The service's lifecycle with a stand-in for the network listeners: READY=1 once started,
// recording until a stop request with every message written exactly once into finalized files,
// rotation on request, /metrics and /status while recording, watchdog pings that stop while the
// writer is stuck and resume when it moves, a stop that is cut short or abandoned within the
// shutdown bound, and start-up failures that leave nothing behind.
#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "config/loader.hpp"
#include "daemon/http_server.hpp"
#include "daemon/service.hpp"
#include "daemon_test_support.hpp"
#include "mcap/bytes.hpp"
#include "pipeline_test_support.hpp"
#include "upload/retry_policy.hpp"
#include "upload/upload_journal.hpp"
#include "upload/upload_queue.hpp"

namespace mcaprec::daemon {
namespace {

namespace fs = std::filesystem;
using pipeline::testing::eventually;
using pipeline::testing::read_file;
using pipeline::testing::ScratchDir;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeIngest;
using testing::RecordingNotifier;

config::Config make_config(const std::string& directory, const std::string& extra = "") {
  const std::string yaml =
      "output:\n  directory: " + directory +
      "\n"
      "mcap:\n  chunk_size: 4KiB\n  chunk_max_age: 50ms\n"
      "pipeline:\n  compressor_threads: 2\n  memory_budget: 64MiB\n  queue_bytes: 1MiB\n"
      "  shutdown_timeout: 4s\n"
      "sources:\n  - name: fake\n    transport: tcp\n"
      "    bind: 127.0.0.1:0\n" +
      extra;
  config::Result<config::Config> loaded = config::load_config_string(yaml, "test.yaml");
  EXPECT_TRUE(loaded) << loaded.error_text();
  if (loaded) return *loaded;
  config::Config fallback;  // keeps a broken test from writing into the working directory
  fallback.output.directory = directory;
  return fallback;
}

// Runs a service on its own thread, like main() does on the main thread.
class RunningService {
 public:
  RunningService(ServiceOptions options, FakeIngest::Plan plan) : plan_(plan) {
    options.start_ingest = [this](const config::Config&, pipeline::Pipeline& pipeline)
        -> mcap::Result<std::unique_ptr<ingest::IngestServer>> {
      auto fake = std::make_unique<FakeIngest>(pipeline, plan_);
      ingest_ = fake.get();
      return std::unique_ptr<ingest::IngestServer>(std::move(fake));
    };
    options.handle_signals = false;
    auto started = Service::start(std::move(options));
    if (!started) {
      error_ = started.error().message;
      return;
    }
    service_ = std::move(*started);
    result_ = std::async(std::launch::async, [this] { return service_->run(); });
  }

  bool ok() const { return service_ != nullptr; }
  const std::string& error() const { return error_; }
  Service& service() { return *service_; }
  FakeIngest& ingest() { return *ingest_; }

  // The run's result, or nullopt if it does not end within `timeout`.
  std::optional<RunResult> wait(milliseconds timeout) {
    if (result_.wait_for(timeout) != std::future_status::ready) return std::nullopt;
    return result_.get();
  }

 private:
  FakeIngest::Plan plan_;
  FakeIngest* ingest_ = nullptr;
  std::string error_;
  std::unique_ptr<Service> service_;
  std::future<RunResult> result_;
};

ServiceOptions base_options(const config::Config& config, Notifier& notifier) {
  ServiceOptions options;
  options.config = config;
  options.config_path = "test.yaml";
  options.config_crc32 = "12345678";
  options.notifier = &notifier;
  options.status_interval = milliseconds(200);
  return options;
}

// Every finalized file's messages on /fake, by sequence; fails the test on invalid files.
std::multiset<uint32_t> recorded_sequences(const ScratchDir& dir, size_t* files = nullptr) {
  std::multiset<uint32_t> sequences;
  const std::vector<std::string> finished = dir.files(".mcap");
  if (files) *files = finished.size();
  for (const std::string& path : finished) {
    const pipeline::testing::FileContents contents = read_file(path);
    EXPECT_EQ(contents.error, "") << path;
    for (const auto& message : contents.messages) {
      EXPECT_EQ(mcap::load_le<uint32_t>(message.data.data()), message.sequence);
      sequences.insert(message.sequence);
    }
  }
  return sequences;
}

void expect_each_once(const std::multiset<uint32_t>& sequences, uint32_t total) {
  EXPECT_EQ(sequences.size(), total);
  for (uint32_t i = 0; i < total; ++i) {
    ASSERT_EQ(sequences.count(i), 1u) << "sequence " << i;
  }
}

// Every test records into its own scratch directory and keeps what the service notified.
class DaemonServiceTest : public ::testing::Test {
 protected:
  // base_options() with the files written through `gate`, so that the test can stall the writer
  // like a hung disk.
  ServiceOptions gated_options() {
    ServiceOptions options = base_options(make_config(dir.path()), notifier);
    options.open_sink = pipeline::testing::gated_sink_factory(gate);
    return options;
  }

  // Starts `stuck` with 500-byte messages pushed one every `interval` and the stop bounded
  // by `shutdown_timeout`; once more than `pushed` went in, stalls the disk and waits until
  // chunks are held in flight behind it.
  void start_with_a_stuck_writer(milliseconds shutdown_timeout, std::chrono::microseconds interval,
                                 uint32_t pushed) {
    ServiceOptions options = gated_options();
    options.config.pipeline.shutdown_timeout = shutdown_timeout;
    stuck.emplace(std::move(options), FakeIngest::Plan{1'000'000, interval, 500});
    ASSERT_TRUE(stuck->ok()) << stuck->error();
    ASSERT_TRUE(eventually([&] { return stuck->ingest().pushed() > pushed; }));
    gate.close();
    ASSERT_TRUE(
        eventually([&] { return stuck->service().snapshot().pipeline.in_flight.bytes > 0; }));
  }

  ScratchDir dir;
  RecordingNotifier notifier;
  pipeline::testing::WriteGate gate;    // the disk, for the tests that stall it
  std::optional<RunningService> stuck;  // started by start_with_a_stuck_writer()
};

// Service::start() with an ingest that fails with `error` when it is reached.
mcap::Result<std::unique_ptr<Service>> start_with_failing_ingest(ServiceOptions options,
                                                                 const std::string& error) {
  options.start_ingest =
      [error](const config::Config&,
              pipeline::Pipeline&) -> mcap::Result<std::unique_ptr<ingest::IngestServer>> {
    return mcap::Error{0, error};
  };
  return Service::start(std::move(options));
}

TEST_F(DaemonServiceTest, RecordsUntilStoppedIntoFinalizedFiles) {
  RunningService running(base_options(make_config(dir.path()), notifier),
                         FakeIngest::Plan{500, std::chrono::microseconds(100), 200});
  ASSERT_TRUE(running.ok()) << running.error();
  EXPECT_TRUE(notifier.messages().front().starts_with("READY=1\nSTATUS=Recording to "));
  ASSERT_TRUE(eventually([&] { return running.ingest().pushed() == 500; }));
  EXPECT_TRUE(notifier.wait_for("STATUS=Recording rec_", 1, seconds(5)));

  running.service().request_stop();
  const std::optional<RunResult> result = running.wait(seconds(10));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_FALSE(result->abandoned);
  EXPECT_EQ(notifier.count("STOPPING=1"), 1u);
  EXPECT_TRUE(dir.files(".active").empty());
  expect_each_once(recorded_sequences(dir), 500);

  const pipeline::testing::FileContents first = read_file(dir.files(".mcap").front());
  const mcap::Metadata* info = first.find_metadata("mcaprec");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->metadata.at("config_crc32"), "12345678");
  EXPECT_EQ(info->metadata.at("config_file"), "test.yaml");
  EXPECT_EQ(running.service().snapshot().state, "stopped");
}

TEST_F(DaemonServiceTest, RotationRequestsStartNewFilesWithoutLosingMessages) {
  RunningService running(base_options(make_config(dir.path()), notifier),
                         FakeIngest::Plan{1500, std::chrono::microseconds(500), 100});
  ASSERT_TRUE(running.ok()) << running.error();
  for (uint32_t at : {300u, 800u}) {
    ASSERT_TRUE(eventually([&] { return running.ingest().pushed() >= at; }));
    running.service().request_rotation();
  }
  ASSERT_TRUE(eventually([&] { return running.ingest().pushed() == 1500; }));
  running.service().request_stop();
  const std::optional<RunResult> result = running.wait(seconds(10));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->exit_code, 0);
  size_t files = 0;
  expect_each_once(recorded_sequences(dir, &files), 1500);
  EXPECT_EQ(files, 3u);
  // A rotation names its reason in the next file's metadata.
  const pipeline::testing::FileContents second = read_file(dir.files(".mcap")[1]);
  ASSERT_NE(second.find_metadata("mcaprec"), nullptr);
  EXPECT_EQ(second.find_metadata("mcaprec")->metadata.at("start_reason"), "request");
}

TEST_F(DaemonServiceTest, MetricsAndStatusAnswerWhileRecording) {
  RunningService running(
      base_options(make_config(dir.path(), "metrics:\n  bind: 127.0.0.1:0\n"), notifier),
      FakeIngest::Plan{200, std::chrono::microseconds(0), 100});
  ASSERT_TRUE(running.ok()) << running.error();
  const uint16_t port = running.service().metrics_port();
  ASSERT_NE(port, 0);
  ASSERT_TRUE(eventually([&] { return running.ingest().pushed() == 200; }));
  ASSERT_TRUE(eventually(
      [&] { return running.service().snapshot().pipeline.writer.messages_written == 200; }));

  const testing::HttpReply metrics = testing::http_get(port, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.head.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(metrics.body.find(
                "mcaprec_channel_messages_received_total{channel=\"1\",topic=\"/fake\"} 200\n"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("mcaprec_channel_messages_written_total{channel=\"1\",topic=\"/"
                              "fake\"} 200\n"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("mcaprec_source_messages_total{source=\"fake\",transport=\"tcp\"} "
                              "200\n"),
            std::string::npos);

  const testing::HttpReply status = testing::http_get(port, "/status");
  EXPECT_EQ(status.status, 200);
  const nlohmann::json json = nlohmann::json::parse(status.body);
  EXPECT_EQ(json["state"], "recording");
  EXPECT_TRUE(json["current_file"].get<std::string>().ends_with(".mcap.active"));
  EXPECT_EQ(json["config"]["crc32"], "12345678");
  EXPECT_EQ(json["sources"][0]["name"], "fake");
  EXPECT_EQ(json["sources"][0]["peers"][0], "127.0.0.1:50000");
  EXPECT_EQ(json["channels"][0]["written"], 200);
  EXPECT_EQ(testing::http_get(port, "/other").status, 404);

  running.service().request_stop();
  ASSERT_TRUE(running.wait(seconds(10)));
}

TEST_F(DaemonServiceTest, WatchdogPingsStopWhileTheWriterIsStuck) {
  ServiceOptions options = gated_options();
  options.watchdog_period = milliseconds(400);  // ticks every 100 ms, stall after 200 ms
  RunningService running(std::move(options),
                         FakeIngest::Plan{1'000'000, std::chrono::microseconds(200), 100});
  ASSERT_TRUE(running.ok()) << running.error();
  ASSERT_TRUE(notifier.wait_for("WATCHDOG=1", 3, seconds(5)));

  gate.close();  // the disk hangs
  ASSERT_TRUE(eventually([&] { return running.service().snapshot().writer_stalled; }));
  const size_t pings_when_stalled = notifier.count("WATCHDOG=1");
  std::this_thread::sleep_for(milliseconds(600));
  EXPECT_EQ(notifier.count("WATCHDOG=1"), pings_when_stalled);

  gate.open();  // the disk comes back
  EXPECT_TRUE(notifier.wait_for("WATCHDOG=1", pings_when_stalled + 2, seconds(5)));
  EXPECT_TRUE(eventually([&] { return !running.service().snapshot().writer_stalled; }));

  running.service().request_stop();
  const std::optional<RunResult> result = running.wait(seconds(10));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_TRUE(dir.files(".active").empty());
}

TEST_F(DaemonServiceTest, SecondStopFinalizesWhatIsThere) {
  ASSERT_NO_FATAL_FAILURE(
      start_with_a_stuck_writer(seconds(60), std::chrono::microseconds(50), 2000));

  // A backlog builds up behind the stuck writer.
  ASSERT_TRUE(eventually(
      [&] { return stuck->service().snapshot().pipeline.channels[0].queued_bytes > 256 * 1024; }));
  stuck->service().request_stop();
  stuck->service().request_stop();  // the second SIGTERM
  std::this_thread::sleep_for(milliseconds(200));
  gate.open();
  const std::optional<RunResult> result = stuck->wait(seconds(10));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_TRUE(dir.files(".active").empty());

  // Every message is accounted for: written once, or dropped and counted.
  const DaemonSnapshot snap = stuck->service().snapshot();
  ASSERT_EQ(snap.pipeline.channels.size(), 1u);
  const pipeline::ChannelStats& channel = snap.pipeline.channels[0];
  EXPECT_EQ(channel.received, channel.written + channel.dropped_total());
  EXPECT_GT(channel.dropped_for(pipeline::DropReason::kStopped), 0u);
  const std::multiset<uint32_t> sequences = recorded_sequences(dir);
  EXPECT_EQ(sequences.size(), channel.written);
  EXPECT_EQ(std::set<uint32_t>(sequences.begin(), sequences.end()).size(), sequences.size());
}

TEST_F(DaemonServiceTest, HungWriterIsAbandonedAtTheShutdownBound) {
  ASSERT_NO_FATAL_FAILURE(
      start_with_a_stuck_writer(milliseconds(800), std::chrono::microseconds(100), 1000));

  const auto begin = std::chrono::steady_clock::now();
  stuck->service().request_stop();
  const std::optional<RunResult> result = stuck->wait(seconds(10));
  const auto took = std::chrono::steady_clock::now() - begin;
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->abandoned);
  EXPECT_EQ(result->exit_code, 1);
  EXPECT_GE(took, milliseconds(700));
  EXPECT_LT(took, milliseconds(3000));
  gate.open();  // let the threads finish so the service can be destroyed
}

TEST_F(DaemonServiceTest, ListenerFailureLeavesNoRecordingBehind) {
  auto service =
      start_with_failing_ingest(base_options(make_config(dir.path() + "/out"), notifier),
                                "source fake: cannot listen on tcp 127.0.0.1:9410: address in use");
  ASSERT_FALSE(service);
  EXPECT_EQ(service.error().message,
            "source fake: cannot listen on tcp 127.0.0.1:9410: address in use");
  EXPECT_EQ(notifier.count("READY=1"), 0u);
  EXPECT_TRUE(fs::is_empty(dir.path() + "/out"));
}

TEST_F(DaemonServiceTest, MetricsPortInUseFailsBeforeTheDirectoryIsCreated) {
  // Hold a port.
  auto holder = HttpServer::listen(config::Endpoint{"127.0.0.1", 0});
  ASSERT_TRUE(holder);
  const std::string port = std::to_string((*holder)->port());
  auto service = start_with_failing_ingest(
      base_options(make_config(dir.path() + "/out", "metrics:\n  bind: 127.0.0.1:" + port + "\n"),
                   notifier),
      "not reached");
  ASSERT_FALSE(service);
  EXPECT_EQ(service.error().message.find("metrics: cannot listen on 127.0.0.1:" + port), 0u)
      << service.error().message;
  EXPECT_FALSE(fs::exists(dir.path() + "/out"));
}

TEST_F(DaemonServiceTest, UnusableDirectoryIsAStartError) {
  std::ofstream(dir.path() + "/file") << "not a directory";
  auto service = start_with_failing_ingest(
      base_options(make_config(dir.path() + "/file/sub"), notifier), "not reached");
  ASSERT_FALSE(service);
  EXPECT_EQ(service.error().message.find("cannot record into " + dir.path() + "/file/sub: "), 0u)
      << service.error().message;
}

// A disk of `capacity` bytes holding only the recorder's directory (top-level files).
struct SmallDisk {
  std::string directory;
  uint64_t capacity = 0;
  storage::FreeSpaceProbe probe() const {
    return [this](const std::string&) -> base::Result<uint64_t> {
      uint64_t used = 0;
      std::error_code ec;
      for (const fs::directory_entry& entry : fs::directory_iterator(directory, ec)) {
        std::error_code size_ec;
        const uint64_t size = entry.is_regular_file(size_ec) ? entry.file_size(size_ec) : 0;
        if (!size_ec) used += size;
      }
      return used >= capacity ? 0 : capacity - used;
    };
  }
};

// Every line logged, formatted; readable while threads still log.
class LogLines : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> with(const std::string& needle) {
    std::lock_guard lock(mutex_);
    std::vector<std::string> found;
    for (const std::string& line : lines_) {
      if (line.find(needle) != std::string::npos) found.push_back(line);
    }
    return found;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(message, formatted);
    lines_.emplace_back(formatted.data(), formatted.size());
  }
  void flush_() override {}

 private:
  std::vector<std::string> lines_;
};

// Everything the default logger says while it lives (made before the threads that log).
class CapturedLog {
 public:
  CapturedLog() { spdlog::default_logger()->sinks().push_back(lines_); }
  ~CapturedLog() { std::erase(spdlog::default_logger()->sinks(), lines_); }
  std::vector<std::string> lines_with(const std::string& needle) { return lines_->with(needle); }

 private:
  std::shared_ptr<LogLines> lines_ = std::make_shared<LogLines>();
};

// Uploads cannot happen (nothing listens at the endpoint) and the disk fills: the min_free_bytes
// emergency deletes files not yet uploaded. Each is reported once, as an error, by retention;
// the queue forgets it there, so the uploader, retrying the oldest file again and again, never
// finds it missing and reports it lost a second time.
TEST_F(DaemonServiceTest, FileLostInTheDiskEmergencyIsReportedOnceAndLeavesTheUploadQueue) {
  ::setenv(upload::kRetryScaleVariable, "0.01", 1);
  std::ofstream(dir.path() + "/credentials")
      << "[default]\naws_access_key_id = AK\naws_secret_access_key = SK\n";
  config::Config config = make_config(dir.path(),
                                      "upload:\n  endpoint: http://127.0.0.1:1\n  bucket: fleet\n"
                                      "  credentials_file: " +
                                          dir.path() + "/credentials\n");
  config.mcap.compression = config::Compression::kNone;  // the files as big as the messages
  config.output.max_bytes = 32 << 10;
  config.output.min_free_bytes = 64 << 10;
  const SmallDisk disk{dir.path(), (64 + 160) << 10};
  ServiceOptions options = base_options(config, notifier);
  options.free_space = disk.probe();
  CapturedLog log;
  RunningService running(std::move(options),
                         FakeIngest::Plan{3000, std::chrono::microseconds(300), 200});
  ASSERT_TRUE(running.ok()) << running.error();
  ASSERT_TRUE(eventually([&] { return running.ingest().pushed() == 3000; }, seconds(20)));
  std::this_thread::sleep_for(milliseconds(600));  // the uploader retries every file meanwhile
  const DaemonSnapshot snapshot = running.service().snapshot();
  running.service().request_stop();
  ASSERT_TRUE(running.wait(seconds(10)));

  const uint64_t lost = snapshot.pipeline.file.files_lost_before_upload;
  EXPECT_GT(lost, 0u);
  const std::vector<std::string> reported =
      log.lines_with(" before it was uploaded, to keep output.min_free_bytes");
  EXPECT_EQ(reported.size(), lost);
  for (const std::string& line : reported) EXPECT_NE(line.find("[error]"), std::string::npos);
  EXPECT_EQ(log.lines_with(" is gone from ").size(), 0u) << "reported lost a second time";
  ASSERT_TRUE(snapshot.upload);
  EXPECT_EQ(snapshot.upload->files_missing, 0u);
  // The queue holds exactly the files on disk: it forgot every lost one.
  std::ifstream in(upload::default_journal_path(dir.path(), config.output.prefix));
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::set<std::string> queued;
  for (const upload::JournalFile& file : upload::parse_journal(text).files)
    queued.insert(file.name);
  std::set<std::string> on_disk;
  for (const std::string& path : dir.files(".mcap")) on_disk.insert(fs::path(path).filename());
  EXPECT_EQ(queued, on_disk);
}

}  // namespace
}  // namespace mcaprec::daemon
