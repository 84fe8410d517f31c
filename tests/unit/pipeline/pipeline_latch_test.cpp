// Latched channels: the last message written of each publisher starts every later file again,
// with its own log time, once, in the file's first chunk; it is counted as relatched, never as
// written, so received == written + dropped still holds.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "pipeline/latch_table.hpp"
#include "pipeline_test_support.hpp"

namespace mcaprec::pipeline::testing {
namespace {

mcap::Bytes text_bytes(const std::string& text) {
  return mcap::Bytes(text.begin(), text.end());
}

mcap::ByteView view(const mcap::Bytes& bytes) {
  return mcap::ByteView(bytes.data(), bytes.size());
}

// The messages of `topic` in `file`, and whether each came from the file's first chunk.
struct TopicMessages {
  std::vector<ReadMessage> messages;
  size_t in_first_chunk = 0;
};

TopicMessages topic_messages(const FileContents& file, const std::string& topic) {
  TopicMessages out;
  uint64_t first_chunk = UINT64_MAX;
  for (const ReadMessage& m : file.messages) first_chunk = std::min(first_chunk, m.chunk_offset);
  for (const ReadMessage& m : file.messages) {
    if (file.channels.at(m.channel_id).topic != topic) continue;
    out.messages.push_back(m);
    if (m.chunk_offset == first_chunk) ++out.in_first_chunk;
  }
  return out;
}

size_t count_payload(const TopicMessages& topic, const mcap::Bytes& payload) {
  return static_cast<size_t>(
      std::count_if(topic.messages.begin(), topic.messages.end(),
                    [&](const ReadMessage& m) { return m.data == payload; }));
}

PipelineOptions small_files(const std::string& directory) {
  PipelineOptions options;
  options.directory = directory;
  options.chunk_size = 4096;
  options.segment_bytes = 4096;
  options.compressor_threads = 1;
  options.compression = mcap::Compression::kNone;  // sizes as pushed
  options.max_bytes = 12 * 1024;                   // a few chunks per file
  options.chunk_max_age = std::chrono::milliseconds(20);
  return options;
}

ChannelSpec latched(uint64_t publisher) {
  ChannelSpec spec;
  spec.topic = "/tf_static";
  spec.message_encoding = "json";
  spec.latch = true;
  spec.publisher = publisher;
  return spec;
}

TEST(PipelineLatch, EveryRotatedFileStartsWithEachPublishersLastMessage) {
  ScratchDir dir;
  auto pipeline = std::move(*Pipeline::start(small_files(dir.path())));
  const ChannelHandle first = *pipeline->declare_channel(latched(1));
  const ChannelHandle second = *pipeline->declare_channel(latched(2));
  ChannelSpec data_spec;
  data_spec.topic = "/data";
  const ChannelHandle data = *pipeline->declare_channel(data_spec);
  ASSERT_EQ(first.id(), second.id());  // one file channel, two publishers

  const mcap::Bytes base = text_bytes(R"({"child":"base_link"})");
  const mcap::Bytes lidar = text_bytes(R"({"child":"lidar"})");
  ASSERT_TRUE(pipeline->push(first, 1000, 1000, 7, view(base)).ok());
  ASSERT_TRUE(pipeline->push(second, 2000, 2000, 9, view(lidar)).ok());
  // The latched channel goes quiet; the rest fills file after file (by size, and by request).
  for (uint32_t i = 0; i < 120; ++i) {
    ASSERT_TRUE(
        pipeline->push(data, 10'000 + i, 10'000 + i, i, test_support::payload(i, 700)).ok());
    if (i == 60) pipeline->request_rotation();
  }
  ASSERT_TRUE(pipeline->stop().ok());

  const std::vector<std::string> files = dir.files(".mcap");
  ASSERT_GE(files.size(), 4u);
  for (size_t f = 0; f < files.size(); ++f) {
    const FileContents file = read_file(files[f]);
    ASSERT_EQ(file.error, "") << files[f];
    const TopicMessages tf = topic_messages(file, "/tf_static");
    EXPECT_EQ(tf.messages.size(), 2u) << files[f];
    EXPECT_EQ(count_payload(tf, base), 1u) << files[f];
    EXPECT_EQ(count_payload(tf, lidar), 1u) << files[f];
    EXPECT_EQ(tf.in_first_chunk, 2u) << files[f];
    for (const ReadMessage& m : tf.messages) {
      // The same message: its own times and sequence.
      EXPECT_EQ(m.log_time, m.data == base ? 1000u : 2000u);
      EXPECT_EQ(m.sequence, m.data == base ? 7u : 9u);
    }
  }
  const PipelineStats stats = pipeline->stats();
  for (const ChannelStats& channel : stats.channels) {
    EXPECT_EQ(channel.received, channel.written + channel.dropped_total()) << channel.topic;
  }
  const ChannelStats& tf_stats = stats.channels.at(record_id(first.id()) - 1);
  EXPECT_EQ(tf_stats.written, 2u);
  EXPECT_EQ(tf_stats.relatched, 2 * (files.size() - 1));
  EXPECT_EQ(stats.channels.at(record_id(data.id()) - 1).relatched, 0u);
}

TEST(PipelineLatch, ANewerMessageReplacesItsPublishersLatchedOne) {
  ScratchDir dir;
  PipelineOptions options = small_files(dir.path());
  options.max_bytes = 0;  // rotation by request only
  auto pipeline = std::move(*Pipeline::start(options));
  const ChannelHandle tf = *pipeline->declare_channel(latched(1));
  const mcap::Bytes old_map = text_bytes(R"({"map":1})");
  const mcap::Bytes new_map = text_bytes(R"({"map":2})");
  ASSERT_TRUE(pipeline->push(tf, 100, 100, 1, view(old_map)).ok());
  ASSERT_EQ(pipeline->split(std::chrono::seconds(10)).outcome, SplitResult::Outcome::kFinalized);
  ASSERT_TRUE(pipeline->push(tf, 200, 200, 2, view(new_map)).ok());
  ASSERT_EQ(pipeline->split(std::chrono::seconds(10)).outcome, SplitResult::Outcome::kFinalized);
  ASSERT_TRUE(pipeline->push(tf, 300, 300, 3, view(new_map)).ok());  // same content again
  ASSERT_TRUE(pipeline->stop().ok());

  const std::vector<std::string> files = dir.files(".mcap");
  ASSERT_EQ(files.size(), 3u);
  const TopicMessages second = topic_messages(read_file(files[1]), "/tf_static");
  ASSERT_EQ(second.messages.size(), 2u);  // the latched old map first, then the new one
  EXPECT_EQ(second.messages[0].data, old_map);
  EXPECT_EQ(second.messages[1].data, new_map);
  const TopicMessages third = topic_messages(read_file(files[2]), "/tf_static");
  ASSERT_EQ(third.messages.size(), 2u);  // the latched new map, then its republication
  EXPECT_EQ(third.messages[0].log_time, 200u);
  EXPECT_EQ(third.messages[1].log_time, 300u);
}

OutgoingMessage message(mcap::Timestamp time, const mcap::Bytes& payload) {
  return OutgoingMessage{time, time, 0, view(payload)};
}

// Latches only what a file holds: queued (or lost) messages are not repeated.
TEST(LatchTable, LatchesAMessageOnlyOnceItsChunkIsWritten) {
  LatchTable table(mcap::Compression::kNone, 0);
  LatchTable::Lane* lane = table.lane(3);
  const mcap::Bytes a = text_bytes("a");
  const mcap::Bytes b = text_bytes("b");
  table.note_queued(*lane, 1, message(1, a));
  table.note_queued(*lane, 1, message(2, b));
  mcap::EncodedChunk chunk;
  EXPECT_FALSE(table.encode(chunk));  // both still queued
  table.note_handled({{3, 1}}, true);
  table.note_handled({{3, 1}}, false);  // b's chunk was lost
  ASSERT_TRUE(table.encode(chunk));
  EXPECT_EQ(chunk.message_count, 1u);
  EXPECT_EQ(chunk.message_start_time, 1u);
  // A chunk written before its pusher noted it (the pusher is between queue and table).
  table.note_handled({{3, 1}}, true);
  EXPECT_EQ(table.latched_count(), 1u);
  table.note_queued(*lane, 1, message(5, b));
  ASSERT_TRUE(table.encode(chunk));
  EXPECT_EQ(chunk.message_start_time, 5u);
  EXPECT_EQ(table.latched_count(), 1u);
}

TEST(LatchTable, KeepsOneCopyOfIdenticalPayloadsAndBoundsPublishers) {
  LatchTable table(mcap::Compression::kNone, 0);
  LatchTable::Lane* lane = table.lane(1);
  const mcap::Bytes same = text_bytes("static");
  table.note_queued(*lane, 1, message(1, same));
  table.note_queued(*lane, 2, message(2, same));  // e.g. the sender reconnected
  table.note_handled({{1, 2}}, true);
  EXPECT_EQ(table.latched_count(), 1u);
  std::vector<mcap::Bytes> payloads;
  for (uint64_t p = 0; p < LatchTable::kMaxPublishersPerChannel + 10; ++p) {
    payloads.push_back(text_bytes("p" + std::to_string(p)));
  }
  for (uint64_t p = 0; p < payloads.size(); ++p) {
    table.note_queued(*lane, 100 + p, message(10 + p, payloads[p]));
  }
  table.note_handled({{1, payloads.size()}}, true);
  EXPECT_EQ(table.latched_count(), LatchTable::kMaxPublishersPerChannel);
  mcap::EncodedChunk chunk;
  ASSERT_TRUE(table.encode(chunk));
  EXPECT_EQ(chunk.message_start_time, 10u + payloads.size() - LatchTable::kMaxPublishersPerChannel);
}

}  // namespace
}  // namespace mcaprec::pipeline::testing
