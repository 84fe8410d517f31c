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

}  // namespace
}  // namespace mcaprec::daemon
