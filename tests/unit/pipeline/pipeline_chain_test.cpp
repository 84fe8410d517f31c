// A message larger than a queue segment is written across a chain of segments. A reader must
// not see it: every message comes back whole and byte-exact, its Message Index entry points at
// it, a chunk never holds part of one (even when chunk_size is smaller than the message), and a
// drop_oldest channel that discards one frees all its segments.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mcap/reader.hpp"
#include "payload.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline_test_support.hpp"

namespace mcaprec::pipeline {
namespace {

using testing::FileContents;
using testing::read_file;
using testing::ScratchDir;

constexpr size_t kSegment = 4096;
constexpr size_t kRecordOverhead = 31;  // Message record prefix and fixed fields
// What one segment counts against the memory budget: its bytes and its index entries.
constexpr uint64_t kSegmentCost = kSegment + kSegment / 64 * sizeof(mcap::MessageIndexEntry);

// Noise differs with the message and the position, so that a misplaced piece shows.
using test_support::Filler;
using test_support::payload;

// A started pipeline and its one channel; `pipeline` is null when it did not start.
struct OneChannel {
  std::unique_ptr<Pipeline> pipeline;
  ChannelHandle channel;
};

OneChannel start_one_channel(const PipelineOptions& options, const std::string& topic) {
  auto started = Pipeline::start(options);
  if (!started.ok()) return {};
  OneChannel run{std::move(*started), {}};
  ChannelSpec spec;
  spec.topic = topic;
  run.channel = *run.pipeline->declare_channel(spec);
  return run;
}

PipelineOptions chain_options(const std::string& dir) {
  PipelineOptions options;
  options.directory = dir;
  options.segment_bytes = kSegment;
  options.chunk_size = 64 << 10;
  options.compressor_threads = 2;
  options.max_bytes = 0;
  options.default_overflow = OverflowPolicy::kBlock;
  return options;
}

std::string only_file(const ScratchDir& dir) {
  const std::vector<std::string> files = dir.files(".mcap");
  EXPECT_EQ(files.size(), 1u);
  return files.empty() ? std::string() : files[0];
}

// Every Message Index entry of the file points at the start of a Message record of its channel
// with its log time, and every message in a chunk is indexed once.
void expect_indexes_point_at_messages(const std::string& path) {
  auto mapped = mcap::MappedFile::open(path);
  ASSERT_TRUE(mapped.ok());
  mcap::StreamReader reader(mapped->bytes());
  struct Indexed {
    uint16_t channel_id;
    mcap::Timestamp log_time;
    bool seen;
  };
  std::map<uint64_t, Indexed> chunk_messages;  // by offset in the current chunk's records
  uint64_t chunk = UINT64_MAX;
  uint64_t indexed = 0;
  uint64_t messages = 0;
  auto close_chunk = [&] {
    for (const auto& [offset, m] : chunk_messages) EXPECT_TRUE(m.seen) << "not indexed: " << offset;
    chunk_messages.clear();
  };
  for (;;) {
    auto item = reader.next();
    ASSERT_TRUE(item.ok()) << item.error().to_string();
    if (!item->has_value()) break;
    const mcap::RecordItem& record = **item;
    if (const auto* message = std::get_if<mcap::Message>(&record.record)) {
      if (record.offset != chunk) {
        close_chunk();
        chunk = record.offset;
      }
      chunk_messages[record.chunk_offset] = {message->channel_id, message->log_time, false};
      ++messages;
    } else if (const auto* index = std::get_if<mcap::MessageIndex>(&record.record)) {
      for (const auto& [log_time, offset] : index->records) {
        auto found = chunk_messages.find(offset);
        ASSERT_NE(found, chunk_messages.end())
            << "index entry at " << offset << " of chunk " << chunk << " is not a message";
        EXPECT_EQ(found->second.channel_id, index->channel_id);
        EXPECT_EQ(found->second.log_time, log_time);
        EXPECT_FALSE(found->second.seen);
        found->second.seen = true;
        ++indexed;
      }
    }
  }
  close_chunk();
  EXPECT_EQ(indexed, messages);
}

// With the segment size chosen from chunk_size, a 64 KiB message (a common frame size, and just
// above the largest UDP datagram) takes one segment, not a chain of two that would count twice
// its size against the memory budget.
TEST(PipelineChainTest, SixtyFourKibMessagesTakeOneDefaultSegmentEach) {
  ScratchDir dir;
  PipelineOptions options;
  options.directory = dir.path();
  options.chunk_size = 1 << 20;
  options.chunk_max_age = std::chrono::hours(1);  // nothing is sealed while we look
  options.max_bytes = 0;
  OneChannel run = start_one_channel(options, "/frames");
  ASSERT_NE(run.pipeline, nullptr);
  Pipeline& pipeline = *run.pipeline;
  const ChannelHandle channel = run.channel;
  constexpr uint32_t kMessages = 8;  // 512 KiB of records: under chunk_size, so all stay queued
  const uint64_t before = pipeline.stats().memory.in_use;
  for (uint32_t n = 0; n < kMessages; ++n) {
    ASSERT_TRUE(pipeline.push(channel, n, n, n, payload(n, 64 << 10, Filler::kNoise)).ok()) << n;
  }
  const uint64_t per_message = (pipeline.stats().memory.in_use - before) / kMessages;
  EXPECT_GE(per_message, uint64_t{64 << 10} + kRecordOverhead);
  EXPECT_LT(per_message, uint64_t{96} << 10) << "each message took a chain of segments";
  ASSERT_TRUE(pipeline.stop().ok());
  const FileContents contents = read_file(only_file(dir));
  EXPECT_EQ(contents.messages.size(), kMessages);
}

// Also when raw chunks are written from their segments (in_place_min_bytes): from none, from
// whole segments only, from every range however small.
struct RawWrite {
  mcap::Compression compression;
  uint64_t in_place_min_bytes;
};

class PipelineChainRoundTrip : public ::testing::TestWithParam<RawWrite> {};

INSTANTIATE_TEST_SUITE_P(RawChunks, PipelineChainRoundTrip,
                         ::testing::Values(RawWrite{mcap::Compression::kZstd, 0},
                                           RawWrite{mcap::Compression::kZstd, kSegment},
                                           RawWrite{mcap::Compression::kNone, 1},
                                           RawWrite{mcap::Compression::kNone, kSegment}));

TEST_P(PipelineChainRoundTrip, MessagesOfOneTwoAndManySegmentsRoundTripByteExact) {
  ScratchDir dir;
  PipelineOptions options = chain_options(dir.path());
  options.compression = GetParam().compression;
  options.in_place_min_bytes = GetParam().in_place_min_bytes;
  auto started = Pipeline::start(options);
  ASSERT_TRUE(started.ok());
  Pipeline& pipeline = **started;
  ChannelSpec a_spec;
  a_spec.topic = "/a";
  ChannelSpec b_spec;
  b_spec.topic = "/b";
  b_spec.chunk_group = "b";
  const ChannelHandle channels[] = {*pipeline.declare_channel(a_spec),
                                    *pipeline.declare_channel(b_spec)};
  // One segment (small, and exactly full), two (one byte over, 6 KB, exactly two full), many
  // (13 and 49 segments); interleaved, so that chains start after partly filled segments.
  const size_t sizes[] = {100,
                          kSegment - kRecordOverhead,
                          kSegment - kRecordOverhead + 1,
                          6000,
                          2 * kSegment - kRecordOverhead,
                          50000,
                          16,
                          200000};
  constexpr uint32_t kMessages = 200;
  for (uint32_t n = 0; n < kMessages; ++n) {
    const size_t size = sizes[n % std::size(sizes)];
    ASSERT_TRUE(pipeline.push(channels[n / 3 % 2], n, n, n, payload(n, size, Filler::kNoise)).ok())
        << n;
  }
  ASSERT_TRUE(pipeline.stop().ok());
  // The segments the writer wrote from went back to the pool.
  EXPECT_EQ(pipeline.stats().memory.in_use, 0u);

  const std::string path = only_file(dir);
  const FileContents contents = read_file(path);
  ASSERT_EQ(contents.error, "");
  ASSERT_EQ(contents.messages.size(), kMessages);
  std::vector<const testing::ReadMessage*> by_sequence(kMessages, nullptr);
  for (const testing::ReadMessage& m : contents.messages) {
    ASSERT_LT(m.sequence, kMessages);
    by_sequence[m.sequence] = &m;
  }
  for (uint32_t n = 0; n < kMessages; ++n) {
    ASSERT_NE(by_sequence[n], nullptr) << n;
    const testing::ReadMessage& m = *by_sequence[n];
    EXPECT_EQ(m.channel_id, record_id(channels[n / 3 % 2].id())) << n;
    EXPECT_EQ(m.log_time, n);
    EXPECT_EQ(m.data, payload(n, sizes[n % std::size(sizes)], Filler::kNoise)) << "message " << n;
  }
  expect_indexes_point_at_messages(path);
}

// Payloads written in place into reserved records (what a TCP session does with a large payload
// still arriving) come back the same, in the order they were committed, among pushed ones.
TEST_P(PipelineChainRoundTrip, ReservedPayloadsRoundTripByteExactInCommitOrder) {
  ScratchDir dir;
  PipelineOptions options = chain_options(dir.path());
  options.compression = GetParam().compression;
  options.in_place_min_bytes = GetParam().in_place_min_bytes;
  OneChannel run = start_one_channel(options, "/big");
  ASSERT_NE(run.pipeline, nullptr);
  Pipeline& pipeline = *run.pipeline;
  const size_t sizes[] = {5, kSegment - kRecordOverhead, kSegment - kRecordOverhead + 1, 6000,
                          200000};
  std::vector<uint32_t> order;  // sequences in the order they went in
  std::vector<size_t> size_of;
  uint32_t sequence = 0;
  for (int round = 0; round < 20; ++round) {
    // A reservation, a push while it fills, then its commit: the push comes first.
    const uint32_t reserved_sequence = sequence++;
    const size_t size = sizes[round % std::size(sizes)];
    size_of.push_back(size);
    ReservedRecord record;
    ASSERT_TRUE(pipeline.reserve_payload(run.channel, size, record)) << round;
    EXPECT_EQ(record.payload_size(), size);
    size_t pieces_bytes = 0;
    for (const auto piece : record.pieces()) pieces_bytes += piece.size();
    EXPECT_EQ(pieces_bytes, size);
    const mcap::Bytes expected = payload(reserved_sequence, size, Filler::kNoise);
    // Written in uneven parts, as reads from a socket would.
    for (size_t at = 0; at < size; at += 1777) {
      record.write(at, mcap::ByteView(expected).subspan(at, std::min<size_t>(1777, size - at)));
    }
    const uint32_t pushed_sequence = sequence++;
    size_of.push_back(300);
    ASSERT_TRUE(pipeline
                    .push(run.channel, pushed_sequence, pushed_sequence, pushed_sequence,
                          payload(pushed_sequence, 300, Filler::kNoise))
                    .ok());
    order.push_back(pushed_sequence);
    EXPECT_TRUE(pipeline
                    .commit_payload(run.channel, record, reserved_sequence, reserved_sequence,
                                    reserved_sequence)
                    .recorded());
    EXPECT_FALSE(record.active());
    order.push_back(reserved_sequence);
  }
  ASSERT_TRUE(pipeline.stop().ok());
  EXPECT_EQ(pipeline.stats().memory.in_use, 0u);
  const ChannelStats stats = pipeline.stats().channels.at(0);
  EXPECT_EQ(stats.received, sequence);
  EXPECT_EQ(stats.written, sequence);

  const std::string path = only_file(dir);
  const FileContents contents = read_file(path);
  ASSERT_EQ(contents.error, "");
  ASSERT_EQ(contents.messages.size(), order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    const testing::ReadMessage& m = contents.messages[i];
    EXPECT_EQ(m.sequence, order[i]) << i;
    EXPECT_EQ(m.log_time, order[i]);
    EXPECT_EQ(m.data, payload(order[i], size_of[order[i]], Filler::kNoise)) << "message " << i;
  }
  expect_indexes_point_at_messages(path);
}

// A reservation holds its room in the queue and the memory budget until it is committed or
// cancelled; a cancelled one counts nothing and gives everything back.
TEST(PipelineChainTest, AReservationHoldsItsRoomUntilCommittedOrCancelled) {
  ScratchDir dir;
  testing::WriteGate gate;
  PipelineOptions options = chain_options(dir.path());
  options.open_sink = testing::gated_sink_factory(gate);
  auto started = Pipeline::start(options);
  ASSERT_TRUE(started.ok());
  Pipeline& pipeline = **started;
  ChannelSpec spec;
  spec.topic = "/frames";
  spec.queue_bytes = 100000;
  spec.overflow = OverflowPolicy::kDropNewest;
  const ChannelHandle channel = *pipeline.declare_channel(spec);
  gate.close();

  const uint64_t idle = pipeline.stats().memory.in_use;
  ReservedRecord first;
  ASSERT_TRUE(pipeline.reserve_payload(channel, 60000, first));
  EXPECT_GE(pipeline.stats().memory.in_use - idle, 60000u);
  // 60 KB reserved of 100 KB: 50 KB more fits neither as a push nor as a reservation.
  EXPECT_EQ(pipeline.push(channel, 1, 1, 1, payload(1, 50000, Filler::kNoise)).reason(),
            DropReason::kQueueFull);
  ReservedRecord second;
  EXPECT_FALSE(pipeline.reserve_payload(channel, 50000, second));
  EXPECT_FALSE(second.active());
  first.cancel();
  EXPECT_EQ(pipeline.stats().memory.in_use, idle);
  ChannelStats stats = pipeline.stats().channels.at(0);
  EXPECT_EQ(stats.received, 1u);  // the dropped push; the cancelled reservation is not counted
  EXPECT_EQ(stats.dropped_for(DropReason::kQueueFull), 1u);
  // Now it fits, and a reservation dropped without commit gives its room back too.
  {
    ReservedRecord dropped;
    ASSERT_TRUE(pipeline.reserve_payload(channel, 90000, dropped));
  }
  ASSERT_TRUE(pipeline.reserve_payload(channel, 50000, second));
  second.write(0, payload(2, 50000, Filler::kNoise));
  EXPECT_TRUE(pipeline.commit_payload(channel, second, 2, 2, 2).recorded());
  gate.open();
  ASSERT_TRUE(pipeline.stop().ok());
  stats = pipeline.stats().channels.at(0);
  EXPECT_EQ(stats.received, 2u);
  EXPECT_EQ(stats.written, 1u);
  EXPECT_EQ(pipeline.stats().memory.in_use, 0u);
  const FileContents contents = read_file(only_file(dir));
  ASSERT_EQ(contents.messages.size(), 1u);
  EXPECT_EQ(contents.messages[0].data, payload(2, 50000, Filler::kNoise));
}

// A paused topic's reserved message is not recorded, counted as paused, and a stopped pipeline
// drops it as `stopped`: the same outcomes as a push.
TEST(PipelineChainTest, ACommitFollowsPausesAndStopsAsAPushWould) {
  ScratchDir dir;
  OneChannel run = start_one_channel(chain_options(dir.path()), "/frames");
  ASSERT_NE(run.pipeline, nullptr);
  Pipeline& pipeline = *run.pipeline;
  ReservedRecord record;
  ASSERT_TRUE(pipeline.reserve_payload(run.channel, 10000, record));
  const mcap::Timestamp from = pipeline.pause(PauseSelector{});
  const PushResult paused = pipeline.commit_payload(run.channel, record, from + 1, from + 1, 1);
  EXPECT_TRUE(paused.ok());
  EXPECT_FALSE(paused.recorded());
  EXPECT_EQ(pipeline.stats().channels.at(0).not_recorded_for(NotRecordedReason::kPaused), 1u);
  pipeline.resume(PauseSelector{});

  ASSERT_TRUE(pipeline.reserve_payload(run.channel, 10000, record));
  ASSERT_TRUE(pipeline.stop().ok());
  EXPECT_EQ(pipeline.commit_payload(run.channel, record, 2, 2, 2).reason(), DropReason::kStopped);
  const ChannelStats stats = pipeline.stats().channels.at(0);
  EXPECT_EQ(stats.received, 2u);
  EXPECT_EQ(stats.written, 0u);
  EXPECT_EQ(stats.dropped_for(DropReason::kStopped), 1u);
  EXPECT_EQ(pipeline.stats().memory.in_use, 0u);
}

TEST(PipelineChainTest, AChunkSmallerThanAMessageHoldsItWhole) {
  ScratchDir dir;
  PipelineOptions options = chain_options(dir.path());
  options.chunk_size = 4096;  // a 20 KB message spans 5 segments and 5 chunk sizes
  options.compression = mcap::Compression::kNone;
  OneChannel run = start_one_channel(options, "/big");
  ASSERT_NE(run.pipeline, nullptr);
  Pipeline& pipeline = *run.pipeline;
  const ChannelHandle channel = run.channel;
  constexpr uint32_t kMessages = 60;
  auto size_of = [](uint32_t n) -> size_t { return n % 3 == 0 ? 20000 : 300; };
  for (uint32_t n = 0; n < kMessages; ++n) {
    ASSERT_TRUE(pipeline.push(channel, n, n, n, payload(n, size_of(n), Filler::kNoise)).ok()) << n;
  }
  ASSERT_TRUE(pipeline.stop().ok());

  const std::string path = only_file(dir);
  const FileContents contents = read_file(path);
  ASSERT_EQ(contents.error, "");
  ASSERT_EQ(contents.messages.size(), kMessages);
  std::map<uint64_t, uint64_t> chunk_sizes;  // uncompressed, by chunk start offset
  for (const mcap::ChunkIndex& index : contents.summary.chunk_indexes) {
    chunk_sizes[index.chunk_start_offset] = index.uncompressed_size;
  }
  for (uint32_t n = 0; n < kMessages; ++n) {
    const testing::ReadMessage& m = contents.messages[n];
    ASSERT_EQ(m.sequence, n);
    EXPECT_EQ(m.data, payload(n, size_of(n), Filler::kNoise)) << n;
    // The chunk went past chunk_size to take the whole record.
    ASSERT_EQ(chunk_sizes.count(m.chunk_offset), 1u);
    EXPECT_GE(chunk_sizes[m.chunk_offset], kRecordOverhead + size_of(n)) << n;
  }
  expect_indexes_point_at_messages(path);
}

// A stalled disk: messages wait in the queue, where drop_oldest discards them.
struct StalledChannel {
  ScratchDir dir;
  testing::WriteGate gate;
  std::unique_ptr<Pipeline> pipeline;
  ChannelHandle channel;

  StalledChannel(uint64_t queue_bytes, uint64_t memory_budget) {
    PipelineOptions options = chain_options(dir.path());
    options.chunk_size = 4096;
    options.compressor_threads = 1;
    options.memory_budget = memory_budget;
    options.open_sink = testing::gated_sink_factory(gate);
    auto started = Pipeline::start(options);
    EXPECT_TRUE(started.ok());
    pipeline = std::move(*started);
    ChannelSpec spec;
    spec.topic = "/frames";
    spec.queue_bytes = queue_bytes;
    spec.overflow = OverflowPolicy::kDropOldest;
    channel = *pipeline->declare_channel(spec);
    gate.close();
  }
  ~StalledChannel() { gate.open(); }

  // Pushes `count` frames of `size` bytes, every one accepted; returns the peak memory in use.
  uint64_t push_frames(uint32_t count, size_t size) {
    uint64_t peak = 0;
    for (uint32_t n = 0; n < count; ++n) {
      EXPECT_TRUE(pipeline->push(channel, n, n, n, payload(n, size, Filler::kNoise)).ok()) << n;
      peak = std::max(peak, pipeline->stats().memory.in_use);
    }
    return peak;
  }

  // Opens the disk, stops, and checks that what was written is whole and the newest survived.
  void finish_and_check(uint32_t count, size_t size) {
    gate.open();
    ASSERT_TRUE(pipeline->stop().ok());
    const std::string path = only_file(dir);
    const FileContents contents = read_file(path);
    ASSERT_EQ(contents.error, "");
    const ChannelStats stats = pipeline->stats().channels.at(0);
    EXPECT_EQ(stats.received, count);
    EXPECT_EQ(stats.written, contents.messages.size());
    EXPECT_EQ(stats.received, stats.written + stats.dropped_total());
    for (const testing::ReadMessage& m : contents.messages) {
      EXPECT_EQ(m.data, payload(m.sequence, size, Filler::kNoise)) << m.sequence;
    }
    ASSERT_FALSE(contents.messages.empty());
    EXPECT_EQ(contents.messages.back().sequence, count - 1) << "the newest frame must survive";
    expect_indexes_point_at_messages(path);
  }
};

TEST(PipelineChainTest, DropOldestForAFullQueueFreesEverySegmentOfAChainedMessage) {
  // 40 KB frames take 10 segments each; the queue holds two. Were a discarded frame's
  // continuation segments kept, 200 frames would hold 11 MB, past the 4 MiB budget.
  constexpr uint32_t kFrames = 200;
  constexpr size_t kFrame = 40000;
  StalledChannel run(100000, 4 << 20);
  const uint64_t peak = run.push_frames(kFrames, kFrame);
  const ChannelStats stats = run.pipeline->stats().channels.at(0);
  EXPECT_GT(stats.dropped_for(DropReason::kQueueFull), kFrames - 10);
  EXPECT_EQ(stats.dropped_for(DropReason::kMemoryBudget), 0u);
  // Two queued frames, and a few sealed or encoded ones waiting for the stalled disk.
  EXPECT_LE(peak, 6 * 10 * kSegmentCost);
  run.finish_and_check(kFrames, kFrame);
}

TEST(PipelineChainTest, DropOldestUnderMemoryPressureFreesEverySegmentOfAChainedMessage) {
  // The queue is larger than the budget: the budget is what makes room, by discarding the
  // oldest frames. A chain that did not return all its segments would soon leave nothing to
  // discard, and frames would be refused.
  constexpr uint32_t kFrames = 200;
  constexpr size_t kFrame = 40000;
  constexpr uint64_t kBudget = 512 << 10;
  StalledChannel run(16 << 20, kBudget);
  const uint64_t peak = run.push_frames(kFrames, kFrame);
  const ChannelStats stats = run.pipeline->stats().channels.at(0);
  EXPECT_GT(stats.dropped_for(DropReason::kMemoryBudget), kFrames / 2);
  EXPECT_EQ(stats.dropped_for(DropReason::kQueueFull), 0u);
  // Encoded frames waiting for the stalled writer are counted but not refused (at most the
  // in-flight bound, 4 chunks here, each holding one frame).
  EXPECT_LE(peak, kBudget + 4 * (kFrame + 4096));
  run.finish_and_check(kFrames, kFrame);
}

TEST(PipelineChainTest, AMessageWhoseChainCannotFitTheBudgetIsTooLarge) {
  ScratchDir dir;
  PipelineOptions options = chain_options(dir.path());
  options.memory_budget = 12 * kSegmentCost;  // 12 segments at most
  OneChannel run = start_one_channel(options, "/big");
  ASSERT_NE(run.pipeline, nullptr);
  Pipeline& pipeline = *run.pipeline;
  const ChannelHandle channel = run.channel;
  const size_t fits = 12 * kSegment - kRecordOverhead;  // exactly 12 segments
  const PushResult too_large =
      pipeline.push(channel, 1, 1, 1, payload(1, fits + 1, Filler::kNoise));
  ASSERT_FALSE(too_large.ok());
  EXPECT_EQ(too_large.reason(), DropReason::kTooLarge);
  EXPECT_TRUE(pipeline.push(channel, 2, 2, 2, payload(2, fits, Filler::kNoise)).ok());
  ASSERT_TRUE(pipeline.stop().ok());
  const FileContents contents = read_file(only_file(dir));
  ASSERT_EQ(contents.error, "");
  ASSERT_EQ(contents.messages.size(), 1u);
  EXPECT_EQ(contents.messages[0].data, payload(2, fits, Filler::kNoise));
  EXPECT_EQ(pipeline.stats().channels.at(0).dropped_for(DropReason::kTooLarge), 1u);
}

}  // namespace
}  // namespace mcaprec::pipeline
