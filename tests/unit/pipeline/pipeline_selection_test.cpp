// What a user chose not to record: messages above a channel's max_rate and channels of topics
// their source excludes. Both are counted per channel under their own not_recorded reason,
// written into `mcaprec.stats`, and never reported as drops.
#include <gtest/gtest.h>

#include "payload.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline/rate_limiter.hpp"
#include "pipeline_test_support.hpp"

namespace mcaprec::pipeline {
namespace {

using test_support::payload;
using testing::FileContents;
using testing::read_file;
using testing::ScratchDir;

constexpr mcap::Timestamp kMs = 1'000'000;

PipelineOptions options_in(const std::string& directory) {
  PipelineOptions options;
  options.directory = directory;
  options.chunk_size = 4096;
  options.compressor_threads = 1;
  options.max_bytes = 0;
  options.max_duration = std::chrono::nanoseconds(0);
  return options;
}

std::string stat(const FileContents& contents, const std::string& key) {
  const mcap::Metadata* stats = contents.find_metadata("mcaprec.stats");
  if (stats == nullptr) return "<no mcaprec.stats>";
  auto it = stats->metadata.find(key);
  return it == stats->metadata.end() ? "<no " + key + ">" : it->second;
}

TEST(RateLimiterTest, JitterAroundTheLimitKeepsTheConfiguredRate) {
  RateLimiter ten_hz(10'000);  // 10 Hz in millihertz
  int admitted = 0;
  // 100 Hz for 10 s, each message up to 0.4 ms early or late.
  for (int i = 0; i < 1000; ++i) {
    const mcap::Timestamp jitter = (i % 3 == 0) ? 0 : (i % 3 == 1 ? 400'000 : 0);
    const mcap::Timestamp at = 1'000 * kMs + static_cast<mcap::Timestamp>(i) * 10 * kMs - jitter;
    if (ten_hz.admit(at)) ++admitted;
  }
  EXPECT_GE(admitted, 99);
  EXPECT_LE(admitted, 101);
}

TEST(RateLimiterTest, AClockJumpingBackDoesNotSilenceTheChannel) {
  RateLimiter one_hz(1'000);
  EXPECT_TRUE(one_hz.admit(100'000 * kMs));
  EXPECT_FALSE(one_hz.admit(100'500 * kMs));
  EXPECT_TRUE(one_hz.admit(5'000 * kMs));  // the sender restarted its clock
  EXPECT_FALSE(one_hz.admit(5'100 * kMs));
  EXPECT_TRUE(one_hz.admit(6'000 * kMs));
}

TEST(RateLimiterTest, AGivenBackSlotAdmitsTheSameMessageAgain) {
  RateLimiter one_hz(1'000);
  RateLimiter::Slot slot;
  ASSERT_TRUE(one_hz.admit(10'000 * kMs, &slot));
  one_hz.give_back(slot);
  EXPECT_TRUE(one_hz.admit(10'000 * kMs));
}

TEST(PipelineSelectionTest, MessagesAboveMaxRateAreCountedRateLimitedNotDropped) {
  ScratchDir dir;
  auto pipeline = Pipeline::start(options_in(dir.path()));
  ASSERT_TRUE(pipeline.ok()) << pipeline.error().to_string();
  ChannelSpec limited;
  limited.topic = "/imu";
  limited.max_rate_millihertz = 10'000;
  ChannelSpec free;
  free.topic = "/odom";
  ChannelHandle imu = *(*pipeline)->declare_channel(limited);
  ChannelHandle odom = *(*pipeline)->declare_channel(free);
  // One second of 100 Hz on both; the batch path must limit as push() does.
  std::vector<OutgoingMessage> batch;
  std::vector<mcap::Bytes> payloads;
  for (uint32_t i = 0; i < 100; ++i) payloads.push_back(payload(i, 16));
  for (uint32_t i = 0; i < 100; ++i) {
    const mcap::Timestamp at = 1'000 * kMs + i * 10 * kMs;
    if (i < 50) {
      ASSERT_TRUE((*pipeline)->push(imu, at, at, i, payloads[i]).ok());
    } else {
      batch.push_back(OutgoingMessage{at, at, i, payloads[i]});
    }
    ASSERT_TRUE((*pipeline)->push(odom, at, at, i, payloads[i]).ok());
  }
  (*pipeline)->push_batch(imu, batch);
  const PipelineStats stats = (*pipeline)->stats();
  ASSERT_TRUE((*pipeline)->stop().ok());

  const ChannelStats& imu_stats = stats.channels.at(0);
  EXPECT_EQ(imu_stats.received, 100u);
  EXPECT_EQ(imu_stats.not_recorded_for(NotRecordedReason::kRateLimited), 90u);
  EXPECT_EQ(imu_stats.dropped_total(), 0u);
  EXPECT_EQ(stats.channels.at(1).not_recorded_total(), 0u);

  const std::vector<std::string> files = dir.files(".mcap");
  ASSERT_EQ(files.size(), 1u);
  const FileContents contents = read_file(files[0]);
  ASSERT_EQ(contents.error, "");
  size_t imu_messages = 0;
  for (const auto& message : contents.messages)
    imu_messages += message.channel_id == record_id(imu.id());
  EXPECT_EQ(imu_messages, 10u);
  EXPECT_EQ(contents.messages.size(), 110u);
  EXPECT_EQ(stat(contents, "/imu.not_recorded_rate_limited"), "90");
  EXPECT_EQ(stat(contents, "/imu.written"), "10");
  EXPECT_EQ(stat(contents, "not_recorded_rate_limited"), "90");
  EXPECT_EQ(stat(contents, "dropped_queue_full"), "0");
}

TEST(PipelineSelectionTest, AnExcludedChannelIsCountedButNeverDeclaredInTheFile) {
  ScratchDir dir;
  auto pipeline = Pipeline::start(options_in(dir.path()));
  ASSERT_TRUE(pipeline.ok()) << pipeline.error().to_string();
  ChannelSpec debug;
  debug.topic = "/debug/trace";
  debug.source = "producers";
  debug.excluded = true;
  ChannelSpec kept;
  kept.topic = "/perception/objects";
  kept.source = "producers";
  ChannelHandle excluded = *(*pipeline)->declare_channel(debug);
  ChannelHandle recorded = *(*pipeline)->declare_channel(kept);
  for (uint32_t i = 0; i < 20; ++i) {
    const PushResult pushed = (*pipeline)->push(excluded, i, i, i, payload(i, 8));
    EXPECT_TRUE(pushed.ok() && !pushed.recorded());
    const std::optional<PushResult> pushed_kept =
        (*pipeline)->try_push(recorded, i, i, i, payload(i, 8));
    ASSERT_TRUE(pushed_kept && pushed_kept->recorded());
  }
  const PipelineStats stats = (*pipeline)->stats();
  ASSERT_TRUE((*pipeline)->stop().ok());
  EXPECT_EQ(stats.channels.at(0).not_recorded_for(NotRecordedReason::kExcluded), 20u);
  EXPECT_EQ(stats.channels.at(0).dropped_total(), 0u);

  const FileContents contents = read_file(dir.files(".mcap").at(0));
  ASSERT_EQ(contents.error, "");
  EXPECT_EQ(contents.messages.size(), 20u);
  ASSERT_EQ(contents.channels.size(), 1u);
  EXPECT_EQ(contents.channels.begin()->second.topic, "/perception/objects");
  EXPECT_EQ(stat(contents, "/debug/trace.not_recorded_excluded"), "20");
  EXPECT_EQ(stat(contents, "not_recorded_excluded"), "20");
}

}  // namespace
}  // namespace mcaprec::pipeline
