// mcaprecd end to end: the real binary, real sockets on 127.0.0.1 (ports chosen free), a
// temporary output directory, and a notify socket standing in for systemd. What a user or an
// operator sees: exit codes and error lines, --check-config's output, READY=1 / WATCHDOG=1 /
// STOPPING=1, /metrics and /status, only finalized files after SIGTERM, every message of every
// source kind recorded exactly once, and rotation (by size and by SIGHUP) losing nothing.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "daemon_fixture.hpp"
#include "daemon_test_support.hpp"
#include "mcap/writer.hpp"
#include "pipeline_test_support.hpp"
#include "producers.hpp"
#include "storage/file_sink.hpp"

namespace mcaprec::e2e {
namespace {

const fs::path kConfigDir = MCAPREC_CONFIG_DIR;
const fs::path kSystemdDir = MCAPREC_SYSTEMD_DIR;

// Generous: sanitizer builds on a shared machine are slow.
constexpr milliseconds kStopBound = seconds(20);

class DaemonE2ETest : public DaemonFixture {
 protected:
  std::string write_config(const std::string& name, const std::string& yaml) {
    const fs::path path = dir_ / name;
    std::ofstream(path) << yaml;
    return path.string();
  }

  // A configuration recording into output_ with small chunks, metrics on, and `sources`;
  // `output_extra` adds keys to the output section, `extra` whole sections.
  std::string config_with(const std::string& sources, const std::string& extra = "",
                          const std::string& output_extra = "") {
    return write_config("mcaprecd.yaml",
                        "output:\n  directory: " + output_.string() + "\n" + output_extra +
                            "mcap:\n  chunk_size: 16KiB\n  chunk_max_age: 100ms\n"
                            "pipeline:\n  compressor_threads: 2\n"
                            "  memory_budget: 64MiB\n  queue_bytes: 4MiB\n"
                            "  shutdown_timeout: 8s\n"
                            "metrics:\n  bind: 127.0.0.1:" +
                            std::to_string(metrics_port_) + "\nsources:\n" + sources + extra);
  }

  std::string tcp_source(const std::string& name, uint16_t port, const std::string& format,
                         const std::string& topic = "") {
    std::string text = "  - name: " + name +
                       "\n    transport: tcp\n    bind: 127.0.0.1:" + std::to_string(port) +
                       "\n    format: " + format + "\n";
    if (!topic.empty()) text += "    topic: " + topic + "\n";
    // A frame must fit the channel's queue (4 MiB here).
    if (format == "length_prefixed") text += "    max_message_size: 64KiB\n";
    return text;
  }
  std::string udp_source(const std::string& name, uint16_t port, const std::string& format,
                         const std::string& topic = "") {
    std::string text = "  - name: " + name +
                       "\n    transport: udp\n    bind: 127.0.0.1:" + std::to_string(port) +
                       "\n    format: " + format + "\n";
    if (!topic.empty()) text += "    topic: " + topic + "\n";
    return text;
  }

  // SIGTERM, then the exit code.
  int stop(int signal_number = SIGTERM) {
    daemon_->signal(signal_number);
    const std::optional<int> code = daemon_->wait(kStopBound);
    EXPECT_TRUE(code) << "still running " << kStopBound.count() << " ms after the signal\n"
                      << daemon_->err();
    return code.value_or(-1);
  }

  int run_to_exit(const std::vector<std::string>& args,
                  std::map<std::string, std::string> env = {}) {
    start(args, std::move(env));
    const std::optional<int> code = daemon_->wait(kStartBound);
    EXPECT_TRUE(code) << "did not exit";
    return code.value_or(-1);
  }

  // Polls /status until the daemon has received `messages` in total.
  bool wait_received(uint64_t messages, milliseconds timeout = seconds(20)) {
    return pipeline::testing::eventually(
        [&] {
          const nlohmann::json s = status();
          return s.is_object() && s["totals"]["messages_received"].get<uint64_t>() >= messages;
        },
        timeout);
  }

  std::vector<std::string> files(const std::string& suffix) const {
    std::vector<std::string> out;
    if (!fs::exists(output_)) return out;
    for (const auto& entry : fs::directory_iterator(output_)) {
      const std::string name = entry.path().string();
      if (name.ends_with(suffix)) out.push_back(name);
    }
    std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
      return pipeline::testing::ScratchDir::file_index(a) <
             pipeline::testing::ScratchDir::file_index(b);
    });
    return out;
  }

  // Numbers of the messages recorded on each topic, over every finalized file (each checked
  // completely, and by `mcaprec verify`).
  std::map<std::string, std::multiset<uint32_t>> recorded() {
    std::map<std::string, std::multiset<uint32_t>> by_topic;
    for (const std::string& path : files(".mcap")) {
      EXPECT_EQ(verify(path), 0) << path;
      const pipeline::testing::FileContents contents = pipeline::testing::read_file(path);
      EXPECT_EQ(contents.error, "") << path;
      for (const auto& message : contents.messages) {
        by_topic[contents.channels.at(message.channel_id).topic].insert(
            mcap::load_le<uint32_t>(message.data.data()));
      }
    }
    return by_topic;
  }

  static void expect_each_once(const std::multiset<uint32_t>& numbers, uint32_t count,
                               const std::string& what) {
    EXPECT_EQ(numbers.size(), count) << what;
    for (uint32_t i = 0; i < count; ++i) {
      if (numbers.count(i) != 1) {
        ADD_FAILURE() << what << ": message " << i << " recorded " << numbers.count(i) << " times";
        return;
      }
    }
  }
};

TEST_F(DaemonE2ETest, VersionHelpAndUsageErrors) {
  EXPECT_EQ(run_to_exit({"--version"}), 0);
  EXPECT_EQ(daemon_->out(), std::string("mcaprecd ") + MCAPREC_VERSION + "\n");
  EXPECT_EQ(run_to_exit({"--help"}), 0);
  EXPECT_NE(daemon_->out().find("--check-config FILE"), std::string::npos);
  EXPECT_EQ(run_to_exit({}), 2);
  EXPECT_NE(daemon_->err().find("missing --config FILE"), std::string::npos);
}

TEST_F(DaemonE2ETest, CheckConfigPrintsTheEffectiveConfiguration) {
  EXPECT_EQ(run_to_exit({"--check-config", (kConfigDir / "examples" / "minimal.yaml").string()}),
            0);
  const std::string out = daemon_->out();
  for (const char* line : {"directory: ./recordings", "max_bytes: 2GiB", "compression: zstd",
                           "chunk_max_age: 500ms", "memory_budget: 512MiB", "shutdown_timeout: 10s",
                           "bind: \"127.0.0.1:9410\"", "level: info"}) {
    EXPECT_NE(out.find(line), std::string::npos) << line << " missing from\n" << out;
  }
  // The shipped files are valid: the README's default and the packaged service configuration.
  EXPECT_EQ(run_to_exit({"--check-config", (kConfigDir / "default.yaml").string()}), 0)
      << daemon_->err();
  EXPECT_EQ(run_to_exit({"--check-config", (kSystemdDir / "mcaprec.yaml").string()}), 0)
      << daemon_->err();
  EXPECT_NE(daemon_->out().find("directory: /var/lib/mcaprec/recordings"), std::string::npos);
}

TEST_F(DaemonE2ETest, BadConfigExits78NamingKeyAndLineAndTouchesNothing) {
  const std::string config = write_config("bad.yaml",
                                          "output:\n"
                                          "  directory: " +
                                              output_.string() +
                                              "\n"
                                              "  max_byte: 1GiB\n"
                                              "sources:\n"
                                              "  - name: producers\n"
                                              "    transport: tcp\n"
                                              "    bind: 127.0.0.1:9410\n");
  EXPECT_EQ(run_to_exit({"--config", config}), 78);  // EX_CONFIG: systemd does not restart it
  EXPECT_NE(daemon_->err().find(config + ":3: output.max_byte: unknown key, did you mean "
                                         "'max_bytes'?"),
            std::string::npos)
      << daemon_->err();
  EXPECT_FALSE(fs::exists(output_));
  EXPECT_EQ(notify_->receive(milliseconds(100)).find("READY=1"), std::string::npos);

  EXPECT_EQ(run_to_exit({"--check-config", config}), 78);
  EXPECT_NE(daemon_->err().find(config + ":3: output.max_byte"), std::string::npos);
  EXPECT_EQ(daemon_->out(), "");

  // A missing file is a configuration error too: restarting would not make it appear.
  EXPECT_EQ(run_to_exit({"--config", (dir_ / "absent.yaml").string()}), 78);
  EXPECT_NE(daemon_->err().find("absent.yaml"), std::string::npos) << daemon_->err();
}

TEST_F(DaemonE2ETest, JournalStreamGetsPriorityPrefixesWithoutTimestamps) {
  const std::string config = write_config("bad.yaml", "sources: []\nbogus: 1\n");
  // stderr is redirected into this file; tell the daemon it is the journal.
  const fs::path err = dir_ / "stderr";
  std::ofstream(err).close();
  struct stat info {};
  ASSERT_EQ(::stat(err.c_str(), &info), 0);
  EXPECT_EQ(
      run_to_exit({"--config", config}, {{"JOURNAL_STREAM", std::to_string(info.st_dev) + ":" +
                                                                std::to_string(info.st_ino)}}),
      78);
  const std::string text = daemon_->err();
  ASSERT_FALSE(text.empty());
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    EXPECT_TRUE(line.starts_with("<3>" + config + ":") || line.starts_with("<3>not starting"))
        << line;
  }
  // Without the variable, lines carry a human timestamp instead.
  EXPECT_EQ(run_to_exit({"--config", config}), 78);
  EXPECT_TRUE(daemon_->err().starts_with("20")) << daemon_->err();
  EXPECT_NE(daemon_->err().find("Z error "), std::string::npos) << daemon_->err();
}

TEST_F(DaemonE2ETest, ReadyWatchdogMetricsStatusAndACleanStop) {
  const uint16_t port = free_port(SOCK_STREAM);
  start_recording(config_with(tcp_source("producers", port, "mcap")),
                  {{"WATCHDOG_USEC", "2000000"}});
  EXPECT_NE(notify_->wait_for("WATCHDOG=1", seconds(10)), "");
  EXPECT_NE(notify_->wait_for("STATUS=Recording rec_", seconds(10)), "");

  const daemon::testing::HttpReply metrics = http_get(metrics_port_, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("# TYPE mcaprec_files_started_total counter\n"
                              "mcaprec_files_started_total 1\n"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("mcaprec_source_connections_open{source=\"producers\",transport="
                              "\"tcp\"} 0\n"),
            std::string::npos)
      << metrics.body;
  // The standard process figures, and the room left where the files go.
  const auto gauge = [&](const std::string& name) {
    const size_t at = metrics.body.find("\n" + name + " ");
    return at == std::string::npos ? -1.0 : std::stod(metrics.body.substr(at + name.size() + 2));
  };
  EXPECT_GT(gauge("process_resident_memory_bytes"), 1e6) << metrics.body;
  EXPECT_GE(gauge("process_open_fds"), 5) << metrics.body;  // sockets, the file, the log
  EXPECT_GT(gauge("process_max_fds"), gauge("process_open_fds")) << metrics.body;
  EXPECT_GE(gauge("process_cpu_seconds_total"), 0) << metrics.body;
  const double now = static_cast<double>(::time(nullptr));
  EXPECT_NEAR(gauge("process_start_time_seconds"), now, 60) << metrics.body;
  EXPECT_GT(gauge("mcaprec_output_free_bytes"), 0) << metrics.body;
  const nlohmann::json s = status();
  ASSERT_TRUE(s.is_object());
  EXPECT_EQ(s["state"], "recording");
  EXPECT_GT(s["process"]["open_fds"].get<uint64_t>(), 0u);
  EXPECT_GT(s["output_free_bytes"].get<uint64_t>(), 0u);
  EXPECT_TRUE(s["current_file"].get<std::string>().ends_with(".mcap.active"));
  EXPECT_EQ(s["sources"][0]["bind"], "127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(http_get(metrics_port_, "/nope").status, 404);
  EXPECT_EQ(
      daemon::testing::http_exchange(metrics_port_, "DELETE /metrics HTTP/1.0\r\n\r\n").status,
      405);

  EXPECT_EQ(stop(), 0) << daemon_->err();
  EXPECT_NE(notify_->wait_for("STOPPING=1", seconds(5)), "");
  EXPECT_TRUE(files(".active").empty());
  ASSERT_EQ(files(".mcap").size(), 1u);
  EXPECT_EQ(verify(files(".mcap")[0]), 0);
}

// The daemon's signals are read on its loop (a signalfd), never by a handler in some thread: every
// thread has them blocked, and signals sent in a burst right after READY=1 are all acted on.
TEST_F(DaemonE2ETest, EveryThreadLeavesTheSignalsToTheLoop) {
  const uint16_t port = free_port(SOCK_STREAM);
  start_recording(config_with(tcp_source("producers", port, "mcap")));
  daemon_->signal(SIGHUP);
  daemon_->signal(SIGUSR1);  // no event configured: logged and ignored

  const uint64_t wanted = (1ull << (SIGTERM - 1)) | (1ull << (SIGINT - 1)) |
                          (1ull << (SIGHUP - 1)) | (1ull << (SIGUSR1 - 1));
  const fs::path tasks = "/proc/" + std::to_string(daemon_->pid()) + "/task";
  int threads = 0;
  for (const auto& task : fs::directory_iterator(tasks)) {
    std::ifstream status(task.path() / "status");
    std::string line;
    while (std::getline(status, line)) {
      if (!line.starts_with("SigBlk:")) continue;
      const uint64_t blocked = std::stoull(line.substr(7), nullptr, 16);
      EXPECT_EQ(blocked & wanted, wanted) << task.path() << " " << line;
      ++threads;
    }
  }
  EXPECT_GE(threads, 4);
  EXPECT_EQ(stop(), 0);
  const std::string err = daemon_->err();
  EXPECT_NE(err.find("SIGHUP: starting a new file"), std::string::npos) << err;
  EXPECT_NE(err.find("SIGUSR1: event recording is not configured"), std::string::npos) << err;
  EXPECT_NE(err.find("SIGTERM: stopping"), std::string::npos) << err;
}

TEST_F(DaemonE2ETest, LogLevelComesFromTheConfigUnlessTheCommandLineSaysOtherwise) {
  const uint16_t port = free_port(SOCK_STREAM);
  const std::string config =
      config_with(tcp_source("producers", port, "mcap"), "logging:\n  level: warn\n");
  start_recording(config);
  EXPECT_EQ(stop(SIGINT), 0);
  EXPECT_EQ(daemon_->err().find(" info "), std::string::npos) << daemon_->err();

  start({"--config", config, "--log-level", "info"});
  ASSERT_NE(notify_->wait_for("READY=1", kStartBound), "") << daemon_->err();
  EXPECT_EQ(stop(), 0);
  EXPECT_NE(daemon_->err().find(" info mcaprecd "), std::string::npos) << daemon_->err();
}

TEST_F(DaemonE2ETest, PortInUseExitsWithOneClearLineAndLeavesNoFile) {
  // Hold the port the configuration asks for.
  const int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address = loopback(0);
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(holder, 1), 0);
  socklen_t length = sizeof(address);
  ::getsockname(holder, reinterpret_cast<sockaddr*>(&address), &length);
  const uint16_t port = ntohs(address.sin_port);

  EXPECT_EQ(run_to_exit({"--config", config_with(tcp_source("producers", port, "mcap"))}), 1);
  ::close(holder);
  const std::string err = daemon_->err();
  EXPECT_NE(err.find("producers"), std::string::npos) << err;
  EXPECT_NE(err.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_TRUE(files(".mcap").empty());
  EXPECT_TRUE(files(".active").empty());
}

TEST_F(DaemonE2ETest, UnusableOutputDirectoryExitsWithOneClearLine) {
  std::ofstream(dir_ / "file") << "x";
  output_ = dir_ / "file" / "recordings";
  EXPECT_EQ(run_to_exit({"--config", config_with(tcp_source("p", free_port(SOCK_STREAM), "mcap"))}),
            1);
  const std::string err = daemon_->err();
  EXPECT_NE(err.find("cannot record into " + output_.string()), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

// A crash left a recording `.active` and cut mid-chunk: the next start completes it before
// recording, says so, and both files are valid after the stop.
TEST_F(DaemonE2ETest, StartRecoversALeftoverActiveFile) {
  fs::create_directories(output_);
  const fs::path leftover = output_ / "rec_2026-11-21T06-00-00Z_0.mcap.active";
  {
    mcap::WriterOptions options;
    options.chunk_size = 4096;
    auto writer = storage::create_file_writer(leftover.string(), options);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->add_channel(mcap::Channel{1, 0, "/old", "", {}}).ok());
    const mcap::Bytes data(500, 7);
    for (uint32_t i = 0; i < 100; ++i) {
      ASSERT_TRUE((*writer)->write_message(mcap::Message{1, i, i, i, data}).ok());
    }
    ASSERT_TRUE((*writer)->close().ok());
  }
  fs::resize_file(leftover, fs::file_size(leftover) * 2 / 3);

  start_recording(config_with(tcp_source("producers", free_port(SOCK_STREAM), "mcap")));
  EXPECT_NE(daemon_->err().find("recovered rec_2026-11-21T06-00-00Z_0.mcap: kept "),
            std::string::npos)
      << daemon_->err();
  EXPECT_FALSE(fs::exists(leftover));
  EXPECT_EQ(stop(), 0) << daemon_->err();
  EXPECT_TRUE(files(".active").empty());
  ASSERT_EQ(files(".mcap").size(), 2u);
  for (const std::string& path : files(".mcap")) EXPECT_EQ(verify(path), 0) << path;
}

TEST_F(DaemonE2ETest, EachSourceKindIsRecordedExactly) {
  const uint16_t tcp_mcap = free_port(SOCK_STREAM);
  const uint16_t tcp_lp = free_port(SOCK_STREAM);
  const uint16_t udp_mcap = free_port(SOCK_DGRAM);
  const uint16_t udp_raw = free_port(SOCK_DGRAM);
  start_recording(config_with(tcp_source("tcp_mcap", tcp_mcap, "mcap") +
                              tcp_source("tcp_lp", tcp_lp, "length_prefixed", "/tcp/frames") +
                              udp_source("udp_mcap", udp_mcap, "mcap") +
                              udp_source("udp_raw", udp_raw, "raw", "/udp/raw")));
  constexpr uint32_t kStream = 3000;
  constexpr uint32_t kFrames = 1000;
  constexpr uint32_t kDatagrams = 500;

  ASSERT_TRUE(send_mcap_stream(tcp_mcap, "/tcp/mcap", 0, kStream, 200));
  {
    TcpClient client(tcp_lp);
    ASSERT_TRUE(client.connected());
    mcap::Bytes frames;
    for (uint32_t i = 0; i < kFrames; ++i) {
      const mcap::Bytes frame = length_prefixed_frame(i, 100 + i % 300);
      frames.insert(frames.end(), frame.begin(), frame.end());
    }
    ASSERT_TRUE(client.send(frames));
    client.finish();
  }
  UdpClient mcap_datagrams(udp_mcap);
  UdpClient raw_datagrams(udp_raw);
  for (uint32_t i = 0; i < kDatagrams; ++i) {
    ASSERT_TRUE(mcap_datagrams.send(mcap_datagram("/udp/mcap", i, 300)));
    ASSERT_TRUE(raw_datagrams.send(payload(i, 500)));
    // Paced, so that the kernel's receive buffer never overflows on a busy machine.
    if (i % 20 == 19) std::this_thread::sleep_for(milliseconds(2));
  }
  EXPECT_TRUE(wait_received(kStream + kFrames + 2 * kDatagrams)) << status().dump(2);
  const nlohmann::json s = status();
  for (const auto& source : s["sources"]) {
    EXPECT_TRUE(source["errors"].empty()) << source.dump();
    if (source["transport"] == "udp") {
      EXPECT_EQ(source["kernel_drops"], 0) << source.dump();
    }
  }
  EXPECT_EQ(stop(), 0) << daemon_->err();
  EXPECT_TRUE(files(".active").empty());

  std::map<std::string, std::multiset<uint32_t>> topics = recorded();
  EXPECT_EQ(topics.size(), 4u);
  expect_each_once(topics["/tcp/mcap"], kStream, "tcp mcap");
  expect_each_once(topics["/tcp/frames"], kFrames, "tcp length_prefixed");
  expect_each_once(topics["/udp/mcap"], kDatagrams, "udp mcap");
  expect_each_once(topics["/udp/raw"], kDatagrams, "udp raw");
}

TEST_F(DaemonE2ETest, SizeRotationAndSighupLoseAndDuplicateNothing) {
  const uint16_t port = free_port(SOCK_STREAM);
  start_recording(config_with(tcp_source("producers", port, "mcap"), "", "  max_bytes: 256KiB\n"));

  constexpr uint32_t kFirst = 4000;
  constexpr uint32_t kSecond = 4000;
  // Incompressible payloads, so that the files really grow: about 2.4 MB in 256 KiB files.
  ASSERT_TRUE(send_mcap_stream(port, "/numbers", 0, kFirst, 300, mcap::Compression::kNone, true));
  ASSERT_TRUE(wait_received(kFirst));
  daemon_->signal(SIGHUP);
  ASSERT_TRUE(pipeline::testing::eventually(
      [&] { return daemon_->err().find("SIGHUP: starting a new file") != std::string::npos; }));
  ASSERT_TRUE(
      send_mcap_stream(port, "/numbers", kFirst, kSecond, 300, mcap::Compression::kLz4, true));
  ASSERT_TRUE(wait_received(kFirst + kSecond));
  EXPECT_EQ(stop(), 0) << daemon_->err();

  const std::vector<std::string> finished = files(".mcap");
  EXPECT_GE(finished.size(), 5u);
  EXPECT_TRUE(files(".active").empty());
  std::map<std::string, std::multiset<uint32_t>> topics = recorded();
  expect_each_once(topics["/numbers"], kFirst + kSecond, "across rotations");

  std::multiset<std::string> reasons;
  for (const std::string& path : finished) {
    const pipeline::testing::FileContents contents = pipeline::testing::read_file(path);
    if (const mcap::Metadata* info = contents.find_metadata("mcaprec")) {
      reasons.insert(info->metadata.at("start_reason"));
      EXPECT_EQ(info->metadata.at("config_crc32").size(), 8u);
    }
  }
  EXPECT_EQ(reasons.count("request"), 1u);
  EXPECT_GE(reasons.count("size"), 2u);
}

}  // namespace
}  // namespace mcaprec::e2e
