// From the configuration to the recording: the durability and retention settings of `output`
// reach the pipeline, and a recording paused for lack of room is not taken for a stalled
// writer (a watchdog restart would not make room).
#include <gtest/gtest.h>

#include "config/loader.hpp"
#include "daemon/progress_watchdog.hpp"
#include "daemon/recording_options.hpp"

namespace mcaprec::daemon {
namespace {

using namespace std::chrono_literals;

constexpr const char* kOneSource =
    "sources:\n"
    "  - name: producers\n"
    "    transport: tcp\n"
    "    bind: 127.0.0.1:9410\n";

TEST(DaemonRecordingOptionsTest, SyncIntervalAndRetentionLimitsReachThePipeline) {
  auto config = config::load_config_string(std::string(R"(
output:
  directory: /tmp/recordings
  sync_interval: 250ms
  max_total_bytes: 20GiB
  min_free_bytes: 512MiB
)") + kOneSource,
                                           "test.yaml");
  ASSERT_TRUE(config.ok()) << config.error_text();
  const pipeline::PipelineOptions options = pipeline_options_for(config.value());
  EXPECT_EQ(options.sync_interval, 250ms);
  EXPECT_EQ(options.max_total_bytes, uint64_t{20} << 30);
  EXPECT_EQ(options.min_free_bytes, uint64_t{512} << 20);

  auto defaults = config::load_config_string(kOneSource, "defaults.yaml");
  ASSERT_TRUE(defaults.ok()) << defaults.error_text();
  const pipeline::PipelineOptions by_default = pipeline_options_for(defaults.value());
  EXPECT_EQ(by_default.sync_interval, 1s);
  EXPECT_EQ(by_default.max_total_bytes, 0u);
  EXPECT_EQ(by_default.min_free_bytes, uint64_t{1} << 30);
}

TEST(DaemonRecordingOptionsTest, APausedRecordingIsNotAStalledWriter) {
  pipeline::PipelineStats stats;
  stats.in_flight.bytes = 1 << 20;
  stats.file.paused = true;
  const auto t0 = std::chrono::steady_clock::now();
  ProgressWatchdog watchdog(10s, t0);
  EXPECT_TRUE(watchdog.observe(WriterProgress::from(stats, true), t0).ping);
  EXPECT_TRUE(watchdog.observe(WriterProgress::from(stats, true), t0 + 60s).ping);
  EXPECT_FALSE(watchdog.stalled());
  stats.file.paused = false;
  EXPECT_TRUE(watchdog.observe(WriterProgress::from(stats, true), t0 + 61s).ping);
  EXPECT_FALSE(watchdog.observe(WriterProgress::from(stats, true), t0 + 72s).ping)
      << "once resumed, work that does not move is a stall again";
}

// The session section becomes the records every file starts with; the `foxglove` record only
// names a device when the configuration does, and an empty section writes nothing.
TEST(DaemonRecordingOptionsTest, SessionBecomesTheRecordsEveryFileStartsWith) {
  config::Session session;
  EXPECT_TRUE(session_records(session).empty());
  session.metadata = {{"driver", "ann"}};
  std::vector<mcap::Metadata> records = session_records(session);
  ASSERT_EQ(records.size(), 1u) << "no device: no foxglove record";
  EXPECT_EQ(records[0].name, "mcaprec.session");
  EXPECT_EQ(records[0].metadata, (mcap::KeyValueMap{{"driver", "ann"}}));

  session.device_name = "Test Car 7";
  records = session_records(session);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].name, "foxglove");
  EXPECT_EQ(records[1].metadata, (mcap::KeyValueMap{{"deviceName", "Test Car 7"}}));
  session.device_id = "car-7";
  records = session_records(session);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].metadata,
            (mcap::KeyValueMap{
                {"device_id", "car-7"}, {"device_name", "Test Car 7"}, {"driver", "ann"}}));
  EXPECT_EQ(records[1].metadata,
            (mcap::KeyValueMap{{"deviceId", "car-7"}, {"deviceName", "Test Car 7"}}));

  auto config = config::load_config_string(
      std::string(kOneSource) + "session:\n  device_id: car-7\n", "test.yaml");
  ASSERT_TRUE(config.ok()) << config.error_text();
  EXPECT_EQ(pipeline_options_for(config.value()).file_metadata.size(), 2u);
}

}  // namespace
}  // namespace mcaprec::daemon
