// Event recording through the real mcaprecd over real sockets: SIGUSR1 and a topic rule (with
// its debounce) write event files holding every message of their window and nothing beyond one
// chunk_max_age of it; on-event channels are absent from the continuous files and present in
// the event files; an event file open at kill -9 is completed by recovery at the next start;
// the example configuration loads; events.max_total_bytes deletes the oldest finished event files
// only beyond its quota, never the open one, while output retention deletes continuous files only.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "daemon_fixture.hpp"
#include "periodic_thread.hpp"
#include "pipeline_test_support.hpp"
#include "producers.hpp"

namespace mcaprec::e2e {
namespace {

using pipeline::testing::eventually;
using pipeline::testing::FileContents;
using pipeline::testing::read_file;

constexpr auto kChunkMaxAge = milliseconds(100);

// Sends one message every `period` on each topic (each from its own socket, so each sender
// defines one channel) until stopped.
class UdpStream {
 public:
  UdpStream(uint16_t port, std::vector<std::string> topics, std::chrono::microseconds period)
      : topics_(std::move(topics)),
        clients_(make_clients(port, topics_.size())),
        sender_(period, [this](uint32_t n) {
          for (size_t i = 0; i < topics_.size(); ++i) {
            clients_[i]->send(mcap_datagram(topics_[i], n, 300));
          }
        }) {}
  void stop() { sender_.stop(); }

 private:
  static std::vector<std::unique_ptr<UdpClient>> make_clients(uint16_t port, size_t count) {
    std::vector<std::unique_ptr<UdpClient>> clients;
    for (size_t i = 0; i < count; ++i) clients.push_back(std::make_unique<UdpClient>(port));
    return clients;
  }

  const std::vector<std::string> topics_;
  const std::vector<std::unique_ptr<UdpClient>> clients_;
  test_support::PeriodicThread sender_;  // last: stops before the clients go
};

class EventsE2ETest : public DaemonFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(DaemonFixture::SetUp());
    port_ = free_port(SOCK_DGRAM);
  }

  void start_with_events(const std::string& after) {
    const fs::path config = dir_ / "mcaprecd.yaml";
    std::ofstream(config)
        << "output:\n  directory: " << output_.string() << "\n  min_free_bytes: 0\n"
        << "mcap:\n  chunk_size: 16KiB\n  chunk_max_age: 100ms\n"
        << "pipeline:\n  compressor_threads: 2\n  memory_budget: 64MiB\n  queue_bytes: 4MiB\n"
        << "events:\n  look_back: 5s\n  memory_bytes: 64KiB\n  spool_bytes: 64MiB\n"
        << "  before: 700ms\n  after: " << after << "\n  signal_event: button\n"
        << "  triggers:\n    - {topic: /trigger, name: trig, before: 300ms, after: 200ms, "
           "min_interval: 30s}\n"
        << "channels:\n  - {topic: /camera, chunk_group: camera, record: on_event}\n"
        << "metrics:\n  bind: 127.0.0.1:" << metrics_port_ << "\n"
        << "sources:\n  - name: sensors\n    transport: udp\n    bind: 127.0.0.1:" << port_
        << "\n    format: mcap\n    receive_buffer: 8MiB\n";
    start_recording(config.string());
  }

  std::vector<fs::path> files_with(const std::string& part, const std::string& suffix) const {
    std::vector<fs::path> out;
    for (const auto& entry : fs::directory_iterator(output_)) {
      const std::string name = entry.path().filename().string();
      if (name.find(part) != std::string::npos && name.ends_with(suffix)) {
        out.push_back(entry.path());
      }
    }
    return out;
  }

  std::vector<fs::path> continuous() const {
    std::vector<fs::path> out;
    for (const fs::path& path : files_with("rec_", ".mcap")) {
      if (path.filename().string().find("_event_") == std::string::npos) out.push_back(path);
    }
    return out;
  }

  uint16_t port_ = 0;
};

std::string topic_of(const FileContents& file, uint16_t channel) {
  return file.channels.at(channel).topic;
}

uint64_t number(const std::string& text) {
  return std::stoull(text);
}

TEST_F(EventsE2ETest, SignalAndTopicRuleWriteEventFilesWithTheirWindowExactly) {
  ASSERT_NO_FATAL_FAILURE(start_with_events("500ms"));
  UdpStream stream(port_, {"/fast", "/camera"}, std::chrono::microseconds(500));
  std::this_thread::sleep_for(milliseconds(1500));
  daemon_->signal(SIGUSR1);
  ASSERT_TRUE(
      eventually([&] { return files_with("_event_button_", ".mcap").size() == 1; }, seconds(15)))
      << daemon_->err();
  // Three messages on the rule's topic within its min_interval: one event.
  UdpClient trigger(port_);
  for (uint32_t i = 0; i < 3; ++i) trigger.send(mcap_datagram("/trigger", i, 10));
  ASSERT_TRUE(
      eventually([&] { return files_with("_event_trig_", ".mcap").size() == 1; }, seconds(15)))
      << daemon_->err();
  stream.stop();
  // The file is renamed before the finalizer counts it.
  std::string metrics;
  EXPECT_TRUE(eventually([&] {
    metrics = http_get(metrics_port_, "/metrics").body;
    return metrics.find("mcaprec_event_files_written_total 2") != std::string::npos;
  }));
  EXPECT_NE(metrics.find("mcaprec_events_marked_total 2"), std::string::npos) << metrics;
  daemon_->signal(SIGTERM);
  ASSERT_EQ(daemon_->wait(seconds(20)), 0) << daemon_->err();

  // Every /fast message recorded, from the continuous files; no /camera there.
  std::vector<mcap::Timestamp> fast;
  for (const fs::path& path : continuous()) {
    const FileContents file = read_file(path.string());
    ASSERT_EQ(file.error, "") << path;
    for (const auto& message : file.messages) {
      const std::string topic = topic_of(file, message.channel_id);
      EXPECT_NE(topic, "/camera") << "an on-event channel in a continuous file";
      if (topic == "/fast") fast.push_back(message.log_time);
    }
  }
  const fs::path button = files_with("_event_button_", ".mcap").front();
  EXPECT_EQ(verify(button.string()), 0);
  const FileContents event = read_file(button.string());
  ASSERT_EQ(event.error, "");
  const mcap::Metadata* record = event.find_metadata("mcaprec.event");
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->metadata.at("trigger"), "signal");
  const mcap::Timestamp start = number(record->metadata.at("window_start"));
  const mcap::Timestamp end = number(record->metadata.at("window_end"));
  EXPECT_EQ(end - start, 1'200'000'000u);  // before 700ms + after 500ms
  const auto margin =
      static_cast<mcap::Timestamp>((kChunkMaxAge + milliseconds(200)).count()) * 1'000'000;
  std::set<mcap::Timestamp> in_event;
  size_t camera = 0;
  for (const auto& message : event.messages) {
    const std::string topic = topic_of(event, message.channel_id);
    EXPECT_GE(message.log_time + margin, start) << topic;
    EXPECT_LE(message.log_time, end + margin) << topic;
    if (topic == "/fast") in_event.insert(message.log_time);
    if (topic == "/camera" && message.log_time >= start && message.log_time <= end) ++camera;
  }
  size_t inside = 0;
  for (mcap::Timestamp t : fast) {
    if (t < start || t > end) continue;
    ++inside;
    EXPECT_TRUE(in_event.count(t)) << "a /fast message of the window is missing";
  }
  EXPECT_GT(inside, 500u);
  EXPECT_GT(camera * 10, inside * 8) << "the camera (on-event) is in the event file";

  const FileContents rule = read_file(files_with("_event_trig_", ".mcap").front().string());
  ASSERT_EQ(rule.error, "");
  size_t triggers = 0;
  for (const auto& message : rule.messages)
    triggers += topic_of(rule, message.channel_id) == "/trigger";
  EXPECT_EQ(triggers, 3u);
  EXPECT_EQ(rule.find_metadata("mcaprec.event")->metadata.at("trigger"), "rule");
}

TEST_F(EventsE2ETest, EventFileOpenAtKillNineIsRecoveredAtTheNextStart) {
  ASSERT_NO_FATAL_FAILURE(start_with_events("30s"));
  UdpStream stream(port_, {"/fast", "/camera"}, std::chrono::microseconds(1000));
  std::this_thread::sleep_for(milliseconds(800));
  daemon_->signal(SIGUSR1);
  // Chunks reach the open event file during its 30 s look-ahead.
  ASSERT_TRUE(eventually(
      [&] {
        const auto active = files_with("_event_button_", ".mcap.active");
        return active.size() == 1 && fs::file_size(active.front()) > 64 * 1024;
      },
      seconds(15)));
  daemon_->signal(SIGKILL);
  daemon_->wait(seconds(10));
  stream.stop();
  EXPECT_TRUE(fs::exists(output_ / "rec_lookback.spool"));

  ASSERT_NO_FATAL_FAILURE(start_with_events("500ms"));
  ASSERT_TRUE(
      eventually([&] { return files_with("_event_button_", ".mcap").size() == 1; }, seconds(15)));
  EXPECT_TRUE(files_with("_event_button_", ".mcap.active").empty());
  const fs::path recovered = files_with("_event_button_", ".mcap").front();
  EXPECT_EQ(verify(recovered.string()), 0);
  const FileContents event = read_file(recovered.string());
  ASSERT_EQ(event.error, "");
  EXPECT_GT(event.messages.size(), 100u);
  EXPECT_NE(event.find_metadata("mcaprec.recovery"), nullptr);
  daemon_->signal(SIGTERM);
  ASSERT_EQ(daemon_->wait(seconds(20)), 0);
  EXPECT_NE(daemon_->err().find("discarding the look-back spool"), std::string::npos)
      << daemon_->err();
  EXPECT_FALSE(fs::exists(output_ / "rec_lookback.spool"));
}

// Paths and sizes from the daemon's "events.max_total_bytes: deleted PATH (N bytes)" lines, in
// the order it deleted them.
std::vector<std::pair<std::string, uint64_t>> quota_deletions(const std::string& log) {
  static const std::string kSaid = "events.max_total_bytes: deleted ";
  std::vector<std::pair<std::string, uint64_t>> out;
  for (size_t at = log.find(kSaid); at != std::string::npos; at = log.find(kSaid, at + 1)) {
    const size_t path = at + kSaid.size();
    const size_t open = log.find(" (", path);
    out.emplace_back(log.substr(path, open - path), std::stoull(log.substr(open + 2)));
  }
  return out;
}

// Two quotas side by side: output.max_total_bytes deletes continuous files (many) and never an
// event file; events.max_total_bytes deletes the oldest finished event files, only as many as it
// must, never the open one.
TEST_F(EventsE2ETest, EventFilesHaveTheirOwnQuotaApartFromContinuousRetention) {
  constexpr uint64_t kEventQuota = 1536 * 1024;
  constexpr uint64_t kContinuousQuota = 1024 * 1024;
  const fs::path config = dir_ / "mcaprecd.yaml";
  std::ofstream(config)
      << "output:\n  directory: " << output_.string() << "\n  min_free_bytes: 0\n"
      << "  max_bytes: 64KiB\n  max_total_bytes: " << kContinuousQuota << "\n"
      << "mcap:\n  compression: none\n  chunk_size: 16KiB\n  chunk_max_age: 100ms\n"
      << "pipeline:\n  compressor_threads: 2\n  memory_budget: 64MiB\n  queue_bytes: 4MiB\n"
      << "events:\n  look_back: 5s\n  memory_bytes: 1MiB\n  spool_bytes: 64MiB\n"
      << "  max_total_bytes: " << kEventQuota << "\n  before: 300ms\n  after: 100ms\n"
      << "  signal_event: button\n  triggers:\n"
      << "    - {topic: /trigger, name: long, before: 100ms, after: 3s, min_interval: 30s}\n"
      << "sources:\n  - name: sensors\n    transport: udp\n    bind: 127.0.0.1:" << port_
      << "\n    format: mcap\n    receive_buffer: 8MiB\n";
  start_recording(config.string());
  UdpStream stream(port_, {"/fast", "/camera"}, std::chrono::microseconds(300));
  std::this_thread::sleep_for(milliseconds(800));
  constexpr size_t kSignals = 5;  // windows 500 ms apart: five files of ~0.4-0.6 s of data each
  for (size_t i = 0; i < kSignals; ++i) {
    daemon_->signal(SIGUSR1);
    std::this_thread::sleep_for(milliseconds(500));
  }
  UdpClient(port_).send(mcap_datagram("/trigger", 0, 10));
  // Every button file finalized, and the quota enforced after the last one.
  std::vector<std::pair<std::string, uint64_t>> deleted;
  std::vector<fs::path> kept;
  uint64_t kept_bytes = 0;
  ASSERT_TRUE(eventually(
      [&] {
        deleted = quota_deletions(daemon_->err());
        kept = files_with("_event_button_", ".mcap");
        kept_bytes = 0;
        for (const fs::path& path : kept) {
          std::error_code gone;  // deleted since the listing: look again
          kept_bytes += fs::file_size(path, gone);
          if (gone) return false;
        }
        return kept.size() + deleted.size() == kSignals && kept_bytes <= kEventQuota;
      },
      seconds(15)))
      << daemon_->err();
  // The rule's file is still open, and stays: only finished files count and go.
  const std::vector<fs::path> open = files_with("_event_long_", ".mcap.active");
  ASSERT_EQ(open.size(), 1u);
  std::sort(kept.begin(), kept.end());  // by trigger time: the names carry it

  ASSERT_FALSE(deleted.empty()) << "five event files should not fit " << kEventQuota;
  // Only beyond the quota: the last file deleted would not have fitted beside the kept ones.
  EXPECT_GT(kept_bytes + deleted.back().second, kEventQuota);
  // Oldest first: every deleted file is older than every kept one, and deletions go in order.
  for (size_t i = 0; i < deleted.size(); ++i) {
    EXPECT_LT(fs::path(deleted[i].first).filename(), kept.front().filename());
    if (i > 0) {
      EXPECT_LT(deleted[i - 1].first, deleted[i].first);
    }
  }
  // Continuous retention ran all along and left the event files alone.
  const std::vector<fs::path> recordings = continuous();
  uint64_t continuous_bytes = 0;
  for (const fs::path& path : recordings) {
    std::error_code gone;  // still recording: retention may have deleted it since the listing
    const uint64_t size = fs::file_size(path, gone);
    if (!gone) continuous_bytes += size;
  }
  EXPECT_LE(continuous_bytes, kContinuousQuota + 128 * 1024);  // + the open file
  const std::string log = daemon_->err();
  static const std::string kRetention = "retention: deleted ";
  size_t continuous_deleted = 0;
  for (size_t at = log.find(kRetention); at != std::string::npos;
       at = log.find(kRetention, at + 1)) {
    ++continuous_deleted;
    EXPECT_EQ(log.find("_event_", at), log.find("_event_", log.find('\n', at)))
        << "output retention deleted an event file: " << log.substr(at, 200);
  }
  EXPECT_GT(continuous_deleted, 3u) << log;
  EXPECT_TRUE(fs::exists(open.front()));

  stream.stop();
  daemon_->signal(SIGTERM);
  ASSERT_EQ(daemon_->wait(seconds(20)), 0) << daemon_->err();
  EXPECT_EQ(files_with("_event_long_", ".mcap").size(), 1u);
}

TEST_F(EventsE2ETest, TheEventVehicleExampleLoads) {
  start({"--check-config", std::string(MCAPREC_CONFIG_DIR) + "/examples/event-vehicle.yaml"});
  ASSERT_EQ(daemon_->wait(seconds(10)), 0) << daemon_->err();
  const std::string printed = daemon_->out();
  EXPECT_NE(printed.find("record: on_event"), std::string::npos) << printed;
  EXPECT_NE(printed.find("look_back: 30s"), std::string::npos);
  EXPECT_NE(printed.find("signal_event: button"), std::string::npos);
}

}  // namespace
}  // namespace mcaprec::e2e
