// The number of chunks in flight (sealed, not yet written) is bounded, not only their bytes:
// while the disk is stalled, tiny chunks sealed by age stop at the limit and the rest of the
// messages wait in their queues; once the disk moves again every message is written exactly
// once, in order. Rotation requests and stop seal past the limit and still lose nothing.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
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

using test_support::payload;
constexpr size_t kPayloadBytes = 64;

// Tiny messages, each alone long enough to be sealed by age into a chunk of its own; chunks
// far below chunk_size, so that the byte bound never closes the gate.
PipelineOptions tiny_chunk_options() {
  PipelineOptions options;
  options.chunk_size = 1 << 20;
  options.chunk_max_age = std::chrono::milliseconds(1);
  options.compressor_threads = 1;
  options.memory_budget = 64 << 20;
  return options;
}

// Every message of every file, as (channel, sequence), in file order.
std::vector<std::pair<uint16_t, uint32_t>> read_all(const std::vector<std::string>& files) {
  std::vector<std::pair<uint16_t, uint32_t>> out;
  for (const std::string& file : files) {
    const FileContents contents = read_file(file);
    EXPECT_EQ(contents.error, "") << file;
    for (const testing::ReadMessage& m : contents.messages) {
      EXPECT_EQ(m.data, payload(m.sequence, kPayloadBytes));
      out.emplace_back(m.channel_id, m.sequence);
    }
  }
  return out;
}

TEST(PipelineInFlightTest, TinyChunksSealedByAgeStopAtTheChunkLimitWhileTheDiskStalls) {
  testing::GatedRun run(tiny_chunk_options());
  ASSERT_NE(run.pipeline, nullptr);
  Pipeline& pipeline = *run.pipeline;
  ChannelSpec spec;
  spec.topic = "/slow";
  const ChannelHandle channel = *pipeline.declare_channel(spec);
  run.gate.close();  // the writer stalls at its first chunk

  const uint64_t limit = pipeline.stats().in_flight.chunk_limit;
  ASSERT_GT(limit, 0u);
  const uint32_t messages = uint32_t(3 * limit);
  for (uint32_t i = 0; i < messages; ++i) {
    ASSERT_TRUE(pipeline.push(channel, i + 1, i + 1, i, payload(i, kPayloadBytes)).ok());
    // Long enough for the message to come of age alone.
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }
  EXPECT_TRUE(testing::eventually([&] { return pipeline.stats().in_flight.chunks == limit; }))
      << pipeline.stats().in_flight.chunks << " of " << limit;
  std::this_thread::sleep_for(std::chrono::milliseconds(30));  // more would have sealed by now
  PipelineStats stalled = pipeline.stats();
  EXPECT_EQ(stalled.in_flight.chunks, limit);
  EXPECT_EQ(stalled.in_flight.peak_chunks, limit);
  EXPECT_EQ(stalled.writer.chunks_written, 0u);
  // What could not be sealed waits, unsealed, in the channel's queue.
  EXPECT_GT(stalled.channels.at(0).queued_bytes, 0u);

  run.gate.open();
  ASSERT_TRUE(pipeline.stop().ok());
  // (The peak is not checked past this point: stop() seals what is left past the bound, and
  // may do so before the writer has drained what was in flight.)
  const PipelineStats stats = pipeline.stats();
  EXPECT_EQ(stats.in_flight.chunks, 0u);
  EXPECT_EQ(stats.channels.at(0).dropped_total(), 0u);
  EXPECT_EQ(stats.writer.messages_written, messages);

  const std::vector<std::string> files = run.dir.files(".mcap");
  ASSERT_EQ(files.size(), 1u);
  const auto written = read_all(files);
  ASSERT_EQ(written.size(), messages);
  for (uint32_t i = 0; i < messages; ++i) EXPECT_EQ(written[i].second, i) << "at " << i;
  // The chunks that waited were sealed together once the disk moved: fewer chunks than
  // messages, where sealing each message as it came of age would make one each.
  EXPECT_LT(read_file(files[0]).summary.chunk_indexes.size(), size_t{messages});
}

TEST(PipelineInFlightTest, RotationSealsPastTheChunkLimitAndLosesNothing) {
  testing::GatedRun run(tiny_chunk_options());
  ASSERT_NE(run.pipeline, nullptr);
  Pipeline& pipeline = *run.pipeline;
  const uint64_t limit = pipeline.stats().in_flight.chunk_limit;
  // A group per channel: a rotation request seals at least a chunk per group.
  const size_t channel_count = size_t(2 * limit);
  std::vector<ChannelHandle> channels;
  for (size_t c = 0; c < channel_count; ++c) {
    ChannelSpec spec;
    spec.topic = "/c" + std::to_string(c);
    spec.chunk_group = "g" + std::to_string(c);
    channels.push_back(*pipeline.declare_channel(spec));
  }
  run.gate.close();
  // Fills the gate with chunks of channel 0 sealed by age, then leaves one message per channel,
  // which cannot be sealed now.
  uint32_t sequence = 0;
  std::map<uint16_t, std::vector<uint32_t>> sent;
  for (uint64_t i = 0; i < 2 * limit; ++i) {
    ASSERT_TRUE(pipeline.push(channels[0], 1, 1, sequence, payload(sequence, kPayloadBytes)).ok());
    sent[record_id(channels[0].id())].push_back(sequence++);
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }
  ASSERT_TRUE(testing::eventually([&] { return pipeline.stats().in_flight.chunks == limit; }));
  for (const ChannelHandle& channel : channels) {
    ASSERT_TRUE(pipeline.push(channel, 2, 2, sequence, payload(sequence, kPayloadBytes)).ok());
    sent[record_id(channel.id())].push_back(sequence++);
  }
  pipeline.request_rotation();
  EXPECT_GT(pipeline.stats().in_flight.peak_chunks, limit);

  run.gate.open();
  ASSERT_TRUE(pipeline.stop().ok());
  const PipelineStats stats = pipeline.stats();
  EXPECT_EQ(stats.in_flight.chunks, 0u);
  EXPECT_EQ(stats.writer.messages_written, sequence);

  // Everything pushed before the request is in the first file, each message once, in order per
  // channel.
  const std::vector<std::string> files = run.dir.files(".mcap");
  ASSERT_GE(files.size(), 1u);
  const auto first = read_all({files[0]});
  EXPECT_EQ(first.size(), sequence);
  std::map<uint16_t, std::vector<uint32_t>> written;
  for (const auto& [channel, seq] : read_all(files)) written[channel].push_back(seq);
  EXPECT_EQ(written, sent);
}

}  // namespace
}  // namespace mcaprec::pipeline
