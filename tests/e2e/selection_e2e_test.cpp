// Topic selection and rate limits end to end: the real mcaprecd with sources[].topics /
// exclude_topics and channels[].max_rate, fed over TCP by an MCAP producer. What a user
// notices: only the selected topics are in the (verified) file, the limited topic holds the
// configured rate, and what was left out is counted `excluded` / `rate_limited` in /status,
// /metrics and `mcaprec.stats`, never as drops.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "daemon_fixture.hpp"
#include "daemon_test_support.hpp"
#include "mcap/writer.hpp"
#include "pipeline_test_support.hpp"
#include "producers.hpp"

namespace mcaprec::e2e {
namespace {

using Json = nlohmann::json;

class SelectionE2ETest : public DaemonFixture {
 protected:
  std::string write_config(uint16_t port) {
    const fs::path path = dir_ / "mcaprecd.yaml";
    std::ofstream(path) << "output:\n  directory: " << output_.string()
                        << "\nmcap:\n  chunk_size: 16KiB\n  chunk_max_age: 100ms\n"
                           "pipeline:\n  compressor_threads: 1\n  memory_budget: 64MiB\n"
                           "metrics:\n  bind: 127.0.0.1:"
                        << metrics_port_
                        << "\ncontrol:\n  socket: \"\"\n"
                           "sources:\n  - name: producers\n    transport: tcp\n"
                           "    bind: 127.0.0.1:"
                        << port
                        << "\n    topics: ['^/vehicle/', '^/imu$']\n"
                           "    exclude_topics: ['/debug']\n"
                           "channels:\n  - {topic: /imu, max_rate: 10Hz}\n";
    return path.string();
  }

  uint64_t status_count(const Json& s, const std::string& topic, const std::string& reason) {
    for (const Json& channel : s["channels"]) {
      if (channel["topic"] == topic) return channel["not_recorded"][reason].get<uint64_t>();
    }
    ADD_FAILURE() << "no channel " << topic << " in /status";
    return 0;
  }
};

// Two seconds of 100 Hz log time on four topics: /vehicle/speed is recorded whole, /imu at
// 10 Hz, /vehicle/debug (excluded) and /camera (not selected) not at all.
TEST_F(SelectionE2ETest, OnlySelectedTopicsAreRecordedAndTheLimitedOneAtItsRate) {
  const uint16_t port = free_port(SOCK_STREAM);
  start_recording(write_config(port));
  const std::vector<std::string> topics = {"/vehicle/speed", "/imu", "/vehicle/debug", "/camera"};
  TcpClient client(port);
  mcap::WriterOptions options;
  options.use_chunks = false;
  auto writer = mcap::Writer::open(std::make_unique<SocketSink>(client), options);
  ASSERT_TRUE(writer.ok());
  for (uint16_t id = 1; id <= topics.size(); ++id) {
    ASSERT_TRUE((*writer)->add_channel(mcap::Channel{id, 0, topics[id - 1], "raw", {}}));
  }
  const uint64_t start = now_ns();
  constexpr uint32_t kMessages = 200;
  for (uint32_t i = 0; i < kMessages; ++i) {
    const uint64_t at = start + uint64_t{i} * 10'000'000;
    const mcap::Bytes data = payload(i, 32);
    for (uint16_t id = 1; id <= topics.size(); ++id) {
      ASSERT_TRUE((*writer)->write_message(mcap::Message{id, i, at, at, data}));
    }
  }
  (void)(*writer)->close();
  client.finish();
  ASSERT_TRUE(pipeline::testing::eventually([&] {
    const Json s = status();
    return s.is_object() && s["totals"]["messages_received"].get<uint64_t>() >= 4 * kMessages;
  }));

  const Json s = status();
  EXPECT_EQ(status_count(s, "/imu", "rate_limited"), kMessages - 20);
  EXPECT_EQ(status_count(s, "/vehicle/debug", "excluded"), kMessages);
  EXPECT_EQ(status_count(s, "/camera", "excluded"), kMessages);
  EXPECT_EQ(status_count(s, "/vehicle/speed", "excluded"), 0u);
  EXPECT_EQ(s["totals"]["messages_dropped"].get<uint64_t>(), 0u);
  const std::string metrics = http_get(metrics_port_, "/metrics").body;
  EXPECT_NE(metrics.find("topic=\"/imu\",reason=\"rate_limited\"} 180"), std::string::npos);
  EXPECT_NE(metrics.find("topic=\"/camera\",reason=\"excluded\"} 200"), std::string::npos);

  daemon_->signal(SIGTERM);
  ASSERT_EQ(daemon_->wait(seconds(20)).value_or(-1), 0) << daemon_->err();
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(output_)) files.push_back(entry.path().string());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(verify(files[0]), 0);
  const pipeline::testing::FileContents contents = pipeline::testing::read_file(files[0]);
  ASSERT_EQ(contents.error, "");
  std::map<std::string, uint64_t> per_topic;
  for (const auto& message : contents.messages) {
    ++per_topic[contents.channels.at(message.channel_id).topic];
  }
  EXPECT_EQ(per_topic, (std::map<std::string, uint64_t>{{"/imu", 20}, {"/vehicle/speed", 200}}));
  EXPECT_EQ(contents.channels.size(), 2u) << "excluded topics are not declared in the file";
  const mcap::Metadata* stats = contents.find_metadata("mcaprec.stats");
  ASSERT_NE(stats, nullptr);
  EXPECT_EQ(stats->metadata.at("not_recorded_excluded"), "400");
  EXPECT_EQ(stats->metadata.at("/imu.not_recorded_rate_limited"), "180");
  EXPECT_EQ(stats->metadata.at("dropped_queue_full"), "0");
}

}  // namespace
}  // namespace mcaprec::e2e
