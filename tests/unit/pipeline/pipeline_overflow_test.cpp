// What a full pipeline does, as a producer and a reader of the files see it. The disk is
// stalled with a gated sink, so queues fill deterministically: drop_newest refuses the new
// messages, drop_oldest discards the oldest unsealed ones, block waits (and is released by
// stop()), the memory budget is honoured, and in every case what was sent equals what was
// written plus what was counted as dropped, in the stats and in the file's mcaprec.stats.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mcap/bytes.hpp"
#include "payload.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline_test_support.hpp"

namespace mcaprec::pipeline {
namespace {

using testing::FileContents;
using testing::read_file;
using testing::ScratchDir;

constexpr uint32_t kMessages = 2000;

using test_support::payload;
constexpr size_t kPayloadBytes = 100;

// The disk stalls from the first write, so that queues fill deterministically.
struct StalledRun : testing::SensorRun {
  StalledRun(OverflowPolicy policy, uint64_t queue_bytes, uint64_t memory_budget = 64 << 20)
      : SensorRun(policy, queue_bytes, memory_budget, PipelineOptions{}.chunk_max_age) {
    gate.close();
  }
};

std::set<uint32_t> sequences(const FileContents& contents) {
  std::set<uint32_t> out;
  for (const testing::ReadMessage& m : contents.messages) out.insert(m.sequence);
  return out;
}

void expect_stats_record(const FileContents& contents, const ChannelStats& stats) {
  const mcap::Metadata* record = contents.find_metadata("mcaprec.stats");
  ASSERT_NE(record, nullptr);
  const auto& kv = record->metadata;
  EXPECT_EQ(kv.at("/sensor.received"), std::to_string(stats.received));
  EXPECT_EQ(kv.at("/sensor.written"), std::to_string(stats.written));
  for (size_t r = 0; r < kDropReasonCount; ++r) {
    const std::string reason(drop_reason_name(DropReason(r)));
    EXPECT_EQ(kv.at("/sensor.dropped_" + reason), std::to_string(stats.dropped[r])) << reason;
  }
}

TEST(PipelineOverflowTest, DropNewestRefusesNewMessagesAndCountsThem) {
  StalledRun run(OverflowPolicy::kDropNewest, 8192);
  std::set<uint32_t> accepted;
  uint64_t refused = 0;
  for (uint32_t i = 0; i < kMessages; ++i) {
    const PushResult result = run.pipeline->push(run.channel, i, i, i, payload(i, kPayloadBytes));
    if (result.ok()) {
      accepted.insert(i);
    } else {
      EXPECT_EQ(result.reason(), DropReason::kQueueFull);
      ++refused;
    }
  }
  EXPECT_GT(refused, kMessages / 2) << "the stalled disk should have filled the queue";
  EXPECT_FALSE(accepted.empty());
  EXPECT_EQ(accepted.count(kMessages - 1), 0u) << "the newest message is the one refused";
  // The queue bound holds while stalled.
  EXPECT_LE(run.channel_stats().queued_bytes, 8192u);

  const FileContents contents = run.finish();
  ASSERT_EQ(contents.error, "");
  EXPECT_EQ(sequences(contents), accepted);
  const ChannelStats stats = run.channel_stats();
  EXPECT_EQ(stats.received, kMessages);
  EXPECT_EQ(stats.written, accepted.size());
  EXPECT_EQ(stats.dropped_for(DropReason::kQueueFull), refused);
  EXPECT_EQ(stats.received, stats.written + stats.dropped_total());
  expect_stats_record(contents, stats);
}

TEST(PipelineOverflowTest, DropOldestKeepsTheNewestMessages) {
  StalledRun run(OverflowPolicy::kDropOldest, 8192);
  for (uint32_t i = 0; i < kMessages; ++i) {
    ASSERT_TRUE(run.pipeline->push(run.channel, i, i, i, payload(i, kPayloadBytes)).ok()) << i;
  }
  const FileContents contents = run.finish();
  ASSERT_EQ(contents.error, "");
  const std::set<uint32_t> written = sequences(contents);
  const ChannelStats stats = run.channel_stats();
  EXPECT_GT(stats.dropped_for(DropReason::kQueueFull), kMessages / 2);
  EXPECT_EQ(stats.written, written.size());
  EXPECT_EQ(stats.received, kMessages);
  EXPECT_EQ(stats.received, stats.written + stats.dropped_total());
  // What stayed: the messages sealed before the disk stalled, and the newest queue-full.
  ASSERT_EQ(written.count(kMessages - 1), 1u) << "the newest message must survive";
  const uint32_t queue_messages = 8192 / 131;
  for (uint32_t i = kMessages - queue_messages; i < kMessages; ++i) {
    EXPECT_EQ(written.count(i), 1u) << i;
  }
  expect_stats_record(contents, stats);
}

TEST(PipelineOverflowTest, BlockWaitsForTheDiskAndLosesNothing) {
  StalledRun run(OverflowPolicy::kBlock, 8192);
  std::atomic<uint32_t> pushed{0};
  std::atomic<uint32_t> refused{0};
  std::thread producer([&] {
    for (uint32_t i = 0; i < kMessages; ++i) {
      if (!run.pipeline->push(run.channel, i, i, i, payload(i, kPayloadBytes)).ok()) ++refused;
      ++pushed;
    }
  });
  // The producer gets stuck once the queue and the chunks in flight are full.
  uint32_t before = 0;
  ASSERT_TRUE(testing::eventually([&] {
    before = pushed.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return pushed.load() == before && before > 0;
  }));
  EXPECT_LT(before, kMessages);
  run.gate.open();  // the disk is back: the producer resumes
  producer.join();
  EXPECT_EQ(refused.load(), 0u);
  const FileContents contents = run.finish();
  ASSERT_EQ(contents.error, "");
  ASSERT_EQ(contents.messages.size(), kMessages);
  for (uint32_t i = 0; i < kMessages; ++i) EXPECT_EQ(contents.messages[i].sequence, i);
  const ChannelStats stats = run.channel_stats();
  EXPECT_EQ(stats.written, kMessages);
  EXPECT_EQ(stats.dropped_total(), 0u);
  expect_stats_record(contents, stats);
}

TEST(PipelineOverflowTest, StopReleasesABlockedProducer) {
  StalledRun run(OverflowPolicy::kBlock, 8192);
  std::atomic<bool> stopped_push{false};
  std::atomic<uint32_t> accepted{0};
  std::thread producer([&] {
    for (uint32_t i = 0; i < kMessages; ++i) {
      const PushResult result = run.pipeline->push(run.channel, i, i, i, payload(i, kPayloadBytes));
      if (!result.ok()) {
        EXPECT_EQ(result.reason(), DropReason::kStopped);
        stopped_push = true;
        return;
      }
      ++accepted;
    }
  });
  ASSERT_TRUE(testing::eventually([&] {
    const uint32_t before = accepted.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return accepted.load() == before && before > 0;
  }));
  // stop() waits for the stalled disk, but releases the producer at once.
  std::thread stopper([&] { EXPECT_TRUE(run.pipeline->stop().ok()); });
  EXPECT_TRUE(testing::eventually([&] { return stopped_push.load(); }));
  producer.join();
  run.gate.open();
  stopper.join();
  const std::vector<std::string> files = run.dir.files(".mcap");
  ASSERT_EQ(files.size(), 1u);
  const FileContents contents = read_file(files[0]);
  ASSERT_EQ(contents.error, "");
  const ChannelStats stats = run.channel_stats();
  EXPECT_EQ(contents.messages.size(), accepted.load());
  EXPECT_EQ(stats.written, accepted.load());
  EXPECT_EQ(stats.dropped_for(DropReason::kStopped), 1u);
  EXPECT_EQ(stats.received, stats.written + stats.dropped_total());
  expect_stats_record(contents, stats);
}

TEST(PipelineOverflowTest, MemoryBudgetBoundsAllQueuesTogether) {
  constexpr uint64_t kBudget = 64 << 10;
  StalledRun run(OverflowPolicy::kDropNewest, 16 << 20, kBudget);
  // Queued and sealed messages stay within the budget. An encoded chunk waiting for the stalled
  // writer is counted but never refused: a compressor charges it just after releasing the
  // chunk's segments, and a producer may take those first. The in-flight gate bounds such
  // chunks (here 4 chunks of 4 KiB with one compressor), so the total can pass the budget by
  // that much and no more.
  constexpr uint64_t kEncodedWaiting = 5 * 4096 + 4096;
  uint64_t memory_drops = 0;
  uint64_t peak = 0;
  for (uint32_t i = 0; i < kMessages; ++i) {
    const PushResult result = run.pipeline->push(run.channel, i, i, i, payload(i, kPayloadBytes));
    if (!result.ok()) {
      EXPECT_EQ(result.reason(), DropReason::kMemoryBudget);
      ++memory_drops;
    }
    peak = std::max(peak, run.pipeline->stats().memory.in_use);
  }
  EXPECT_LE(peak, kBudget + kEncodedWaiting);
  EXPECT_GT(memory_drops, kMessages / 2);
  const FileContents contents = run.finish();
  ASSERT_EQ(contents.error, "");
  const ChannelStats stats = run.channel_stats();
  EXPECT_EQ(stats.dropped_for(DropReason::kMemoryBudget), memory_drops);
  EXPECT_EQ(stats.dropped_for(DropReason::kQueueFull), 0u);
  EXPECT_EQ(stats.written, contents.messages.size());
  EXPECT_EQ(stats.received, stats.written + stats.dropped_total());
  expect_stats_record(contents, stats);
}

TEST(PipelineOverflowTest, DropOldestUnderMemoryPressureStillKeepsTheNewest) {
  StalledRun run(OverflowPolicy::kDropOldest, 16 << 20, 64 << 10);
  uint64_t refused = 0;
  for (uint32_t i = 0; i < kMessages; ++i) {
    if (!run.pipeline->push(run.channel, i, i, i, payload(i, kPayloadBytes)).ok()) ++refused;
  }
  EXPECT_EQ(refused, 0u) << "old messages make room for new ones";
  const FileContents contents = run.finish();
  ASSERT_EQ(contents.error, "");
  const std::set<uint32_t> written = sequences(contents);
  EXPECT_EQ(written.count(kMessages - 1), 1u);
  const ChannelStats stats = run.channel_stats();
  EXPECT_GT(stats.dropped_for(DropReason::kMemoryBudget), 0u);
  EXPECT_EQ(stats.received, stats.written + stats.dropped_total());
}

TEST(PipelineOverflowTest, MemoryHeldByAnotherGroupIsFreedForABlockedProducer) {
  ScratchDir dir;
  PipelineOptions options;
  options.directory = dir.path();
  options.chunk_size = 1 << 20;                         // far away: no size seals
  options.chunk_max_age = std::chrono::nanoseconds(0);  // no age seals either
  options.segment_bytes = 4096;
  options.memory_budget = 256 << 10;
  options.max_bytes = 0;
  auto started = Pipeline::start(options);
  ASSERT_TRUE(started.ok());
  Pipeline& pipeline = **started;
  ChannelSpec hog_spec;
  hog_spec.topic = "/hog";
  hog_spec.chunk_group = "hog";
  hog_spec.queue_bytes = 1 << 20;
  const ChannelHandle hog = *pipeline.declare_channel(hog_spec);
  ChannelSpec waiting_spec;
  waiting_spec.topic = "/waiting";
  waiting_spec.overflow = OverflowPolicy::kBlock;
  const ChannelHandle waiting = *pipeline.declare_channel(waiting_spec);

  // The hog's unsealed messages take the budget up to the last segment.
  const uint64_t segment_cost = 4096 + 64 * sizeof(mcap::MessageIndexEntry);
  uint32_t i = 0;
  while (pipeline.stats().memory.in_use + segment_cost <= options.memory_budget) {
    ASSERT_TRUE(pipeline.push(hog, i, i, i, payload(i, kPayloadBytes)).ok());
    ++i;
  }
  ASSERT_EQ(pipeline.stats().writer.chunks_written, 0u);
  // Another group's producer needs a segment: the hog's group is sealed to make room.
  std::atomic<bool> done{false};
  std::thread producer([&] {
    EXPECT_TRUE(pipeline.push(waiting, 1, 1, 1, payload(1, kPayloadBytes)).ok());
    done = true;
  });
  const bool freed = testing::eventually([&] { return done.load(); }, std::chrono::seconds(5));
  EXPECT_TRUE(freed) << "the producer is still blocked";
  if (!freed) (void)pipeline.stop();  // releases it
  producer.join();
  ASSERT_TRUE(pipeline.stop().ok());
  const ChannelStats hog_stats = pipeline.stats().channels.at(0);
  EXPECT_EQ(hog_stats.written, i);
  EXPECT_EQ(hog_stats.dropped_total(), 0u);
}

TEST(PipelineOverflowTest, AMessageLargerThanItsQueueIsDroppedAsTooLarge) {
  StalledRun run(OverflowPolicy::kBlock, 1024);
  const mcap::Bytes big(2000, 1);
  const PushResult result = run.pipeline->push(run.channel, 1, 1, 1, big);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.reason(), DropReason::kTooLarge);
  EXPECT_TRUE(run.pipeline->push(run.channel, 2, 2, 2, payload(2, kPayloadBytes)).ok());
  const FileContents contents = run.finish();
  ASSERT_EQ(contents.error, "");
  EXPECT_EQ(contents.messages.size(), 1u);
  EXPECT_EQ(run.channel_stats().dropped_for(DropReason::kTooLarge), 1u);
}

TEST(PipelineOverflowTest, PushAfterStopIsCountedAsStopped) {
  StalledRun run(OverflowPolicy::kDropNewest, 8192);
  run.gate.open();
  ASSERT_TRUE(run.pipeline->stop().ok());
  const PushResult result = run.pipeline->push(run.channel, 1, 1, 1, payload(1, kPayloadBytes));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.reason(), DropReason::kStopped);
  EXPECT_EQ(run.channel_stats().dropped_for(DropReason::kStopped), 1u);
}

}  // namespace
}  // namespace mcaprec::pipeline
