// The look-back ring on its own: it keeps chunks for look_back (by their newest message), holds
// memory to its bound, spills the oldest to the spool and reads them back byte for byte, and
// counts what it cannot hold.
#include "events/look_back_ring.hpp"

#include <gtest/gtest.h>

#include "scratch_dir.hpp"

namespace mcaprec::events {
namespace {

constexpr mcap::Timestamp kSecond = 1'000'000'000;

mcap::EncodedChunk chunk_at(mcap::Timestamp start, mcap::Timestamp end, size_t size, uint8_t fill) {
  mcap::EncodedChunk chunk;
  chunk.message_start_time = start;
  chunk.message_end_time = end;
  chunk.bytes.assign(size, fill);
  chunk.message_count = 1;
  return chunk;
}

// Adds chunks number `from` to `to` - 1 (400 bytes filled with their number, one a second from
// 1 s) and spills after each, as the event thread does.
void add_spilling(LookBackRing& ring, int from, int to) {
  for (int i = from; i < to; ++i) {
    ring.add(chunk_at(kSecond + i, kSecond + i, 400, static_cast<uint8_t>(i)), false);
    ring.spill();
  }
}

std::vector<RingChunk> everything(const LookBackRing& ring) {
  std::vector<RingChunk> out;
  ring.collect(0, 0, UINT64_MAX, out);
  return out;
}

// The ring holds chunks 0 to `count` - 1 as add_spilling() made them, the first `spooled` of
// them read from the spool, and each reads back byte for byte.
void expect_holds_exactly(const LookBackRing& ring, size_t count, size_t spooled) {
  const std::vector<RingChunk> held = everything(ring);
  ASSERT_EQ(held.size(), count);
  for (size_t i = 0; i < held.size(); ++i) {
    EXPECT_EQ(held[i].spooled, i < spooled) << i;
    auto loaded = ring.load(held[i]);
    ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
    EXPECT_EQ((*loaded)->bytes, mcap::Bytes(400, static_cast<uint8_t>(i))) << i;
  }
}

TEST(LookBackRingTest, KeepsChunksForTheLookBackByTheirNewestMessage) {
  LookBackRing ring(RingLimits{std::chrono::seconds(2), 1 << 20}, nullptr);
  for (mcap::Timestamp s = 1; s <= 6; ++s)
    ring.add(chunk_at(s * kSecond, s * kSecond + 10, 100, 1), false);
  // Newest message at 6 s: chunks ending before 4 s are gone.
  const std::vector<RingChunk> held = everything(ring);
  ASSERT_EQ(held.size(), 3u);
  EXPECT_EQ(held.front().start, 4 * kSecond);
  const RingStats stats = ring.stats();
  EXPECT_EQ(stats.chunks_evicted, 3u);
  EXPECT_EQ(stats.chunks_not_held, 0u);
  EXPECT_EQ(stats.memory_bytes, 300u);
}

// add() reuses the buffers of chunks that left the ring, but never one the event thread still
// holds: a chunk collected for an event keeps its bytes while newer chunks push it out.
TEST(LookBackRingTest, ReusesBuffersOfChunksThatLeftButNotOfChunksStillHeld) {
  LookBackRing ring(RingLimits{std::chrono::seconds(1), 1 << 20}, nullptr);
  ring.add(chunk_at(1 * kSecond, 1 * kSecond, 1000, 0xA1), false);
  std::vector<RingChunk> held = everything(ring);  // the event thread's reference
  ASSERT_EQ(held.size(), 1u);
  for (mcap::Timestamp s = 3; s <= 12; ++s) {
    ring.add(chunk_at(s * kSecond, s * kSecond, 1000, static_cast<uint8_t>(s)), false);
  }
  EXPECT_EQ(held[0].chunk->bytes, mcap::Bytes(1000, 0xA1));
  const std::vector<RingChunk> now = everything(ring);
  ASSERT_EQ(now.size(), 2u);  // 11 s and 12 s
  EXPECT_EQ(now[0].chunk->bytes, mcap::Bytes(1000, 11));
  EXPECT_EQ(now[1].chunk->bytes, mcap::Bytes(1000, 12));
}

TEST(LookBackRingTest, CollectsOnlyChunksOverlappingTheWindowFromASequenceNumber) {
  LookBackRing ring(RingLimits{std::chrono::seconds(60), 1 << 20}, nullptr);
  for (mcap::Timestamp s = 1; s <= 5; ++s)
    ring.add(chunk_at(s * kSecond, s * kSecond + 500, 10, 1), true);
  std::vector<RingChunk> out;
  const uint64_t next = ring.collect(0, 2 * kSecond + 600, 4 * kSecond, out);
  EXPECT_EQ(next, 5u);
  ASSERT_EQ(out.size(), 2u);  // [3 s, 3.5 s] and [4 s, 4.5 s]
  EXPECT_EQ(out[0].seq, 2u);
  EXPECT_TRUE(out[0].on_event);
  out.clear();
  ring.collect(3, 0, UINT64_MAX, out);
  EXPECT_EQ(out.size(), 2u);
}

TEST(LookBackRingTest, WithoutASpoolTheMemoryBoundIsHardAndCounted) {
  LookBackRing ring(RingLimits{std::chrono::seconds(60), 1000}, nullptr);
  for (int i = 0; i < 5; ++i) ring.add(chunk_at(kSecond + i, kSecond + i, 400, 1), false);
  const RingStats stats = ring.stats();
  EXPECT_LE(stats.memory_bytes, 1000u);
  EXPECT_EQ(stats.chunks_not_held, 3u);
  EXPECT_EQ(stats.chunks_held, 2u);
  EXPECT_EQ(everything(ring).size(), 2u);
}

TEST(LookBackRingTest, SpillsTheOldestToTheSpoolAndReadsThemBackExactly) {
  test_support::ScratchDir dir;
  auto spool = Spool::open((dir / "ring.spool").string(), 10'000);
  ASSERT_TRUE(spool.ok());
  LookBackRing ring(RingLimits{std::chrono::seconds(60), 1000}, spool->get());
  add_spilling(ring, 0, 6);
  RingStats stats = ring.stats();
  EXPECT_LE(stats.memory_bytes, 1000u);
  EXPECT_EQ(stats.chunks_spilled, 4u);
  EXPECT_EQ(stats.spool_bytes, 1600u);
  EXPECT_EQ(stats.chunks_not_held, 0u);
  expect_holds_exactly(ring, 6, 4);
}

TEST(LookBackRingTest, ASpoolThatWrapsForgetsWhatItOverwrote) {
  test_support::ScratchDir dir;
  auto spool = Spool::open((dir / "ring.spool").string(), 1000);  // two chunks of 400
  ASSERT_TRUE(spool.ok());
  LookBackRing ring(RingLimits{std::chrono::seconds(60), 400}, spool->get());
  add_spilling(ring, 0, 6);
  const RingStats stats = ring.stats();
  EXPECT_EQ(stats.chunks_held, 3u);  // one in memory, two in the spool
  EXPECT_EQ(stats.chunks_not_held, 3u);
  for (const RingChunk& chunk : everything(ring)) {
    auto loaded = ring.load(chunk);
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ((*loaded)->bytes.front(), static_cast<uint8_t>(chunk.seq));
  }
}

// A marked event's window holds chunks past the look-back until it is lifted; the chunks of the
// window the ring let go are reported by number.
TEST(LookBackRingTest, KeepsWhatAnEventsWindowNeedsPastTheLookBack) {
  LookBackRing ring(RingLimits{std::chrono::seconds(2), 1 << 20}, nullptr);
  ring.keep_from(3 * kSecond);
  for (mcap::Timestamp s = 1; s <= 9; ++s)
    ring.add(chunk_at(s * kSecond, s * kSecond + 10, 100, 1), false);
  std::vector<RingChunk> held = everything(ring);
  ASSERT_EQ(held.size(), 7u);  // 3 s to 9 s: the look-back alone would keep 7 s to 9 s
  EXPECT_EQ(held.front().start, 3 * kSecond);
  EXPECT_EQ(ring.stats().chunks_evicted, 2u);
  ring.keep_from(LookBackRing::kKeepNothing);
  ring.add(chunk_at(10 * kSecond, 10 * kSecond, 100, 1), false);
  held = everything(ring);
  ASSERT_EQ(held.size(), 3u);
  EXPECT_EQ(held.front().start, 8 * kSecond);
}

TEST(LookBackRingTest, CollectNamesTheChunksOfTheWindowItLetGo) {
  LookBackRing ring(RingLimits{std::chrono::seconds(60), 1000}, nullptr);
  for (int i = 0; i < 5; ++i)
    ring.add(chunk_at(kSecond * (i + 1), kSecond * (i + 1), 400, 1), false);
  std::vector<RingChunk> out;
  std::vector<uint64_t> not_held;
  ring.collect(0, 2 * kSecond, 5 * kSecond, out, &not_held);
  EXPECT_EQ(not_held, (std::vector<uint64_t>{1, 2}));  // 1 s is outside the window
  ASSERT_EQ(out.size(), 2u);
  RingChunk found;
  EXPECT_TRUE(ring.find(out[0].seq, found));
  EXPECT_EQ(found.start, out[0].start);
  EXPECT_FALSE(ring.find(1, found));
}

// One call spills about max_bytes and says whether memory is still over its bound, so that the
// event thread can see to events in between. (A spool of 4,000 is too small for write-through.)
TEST(LookBackRingTest, SpillsInStepsOfAboutMaxBytes) {
  test_support::ScratchDir dir;
  auto spool = Spool::open((dir / "ring.spool").string(), 7999);
  ASSERT_TRUE(spool.ok());
  LookBackRing ring(RingLimits{std::chrono::seconds(60), 2000}, spool->get());
  for (int i = 0; i < 10; ++i) ring.add(chunk_at(kSecond + i, kSecond + i, 400, 1), false);
  EXPECT_TRUE(ring.spill(800));
  EXPECT_EQ(ring.stats().chunks_spilled, 2u);
  EXPECT_TRUE(ring.spill(400));
  EXPECT_EQ(ring.stats().chunks_spilled, 3u);
  EXPECT_FALSE(ring.spill());
  EXPECT_EQ(ring.stats().chunks_spilled, 5u);
  EXPECT_EQ(ring.stats().memory_bytes, 2000u);
  EXPECT_EQ(ring.stats().chunks_not_held, 0u);
}

// With a spool of at least four times memory, chunks are written to it as they come once memory
// is past seven eighths of its bound, and keep their memory copy (read from memory, not the
// spool) until memory is over its bound; then they leave memory without being written again.
TEST(LookBackRingTest, WritesNewChunksThroughToALargeSpoolAndLetsTheirMemoryCopyGoLater) {
  test_support::ScratchDir dir;
  auto spool = Spool::open((dir / "ring.spool").string(), 8000);
  ASSERT_TRUE(spool.ok());
  LookBackRing ring(RingLimits{std::chrono::seconds(60), 2000}, spool->get());
  add_spilling(ring, 0, 4);
  EXPECT_EQ(ring.stats().chunks_spilled, 0u);  // 1,600 of 2,000: not yet
  ring.add(chunk_at(kSecond + 4, kSecond + 4, 400, 4), false);
  ring.spill();
  EXPECT_EQ(ring.stats().chunks_spilled, 5u);  // all of them, oldest first
  EXPECT_EQ(ring.stats().memory_bytes, 2000u);
  EXPECT_EQ(ring.stats().spool_bytes, 0u);  // counted where they are read from
  for (const RingChunk& chunk : everything(ring)) EXPECT_FALSE(chunk.spooled);

  add_spilling(ring, 5, 8);
  const RingStats stats = ring.stats();
  EXPECT_EQ(stats.chunks_spilled, 8u);  // each written once
  EXPECT_EQ(stats.memory_bytes, 2000u);
  EXPECT_EQ(stats.spool_bytes, 1200u);
  EXPECT_EQ(stats.chunks_not_held, 0u);
  expect_holds_exactly(ring, 8, 3);
}

// The writer, at twice the memory bound, lets the oldest in-memory chunks go: those already in
// the spool stay held there.
TEST(LookBackRingTest, AtTwiceTheBoundChunksAlreadyInTheSpoolAreNotLost) {
  test_support::ScratchDir dir;
  auto spool = Spool::open((dir / "ring.spool").string(), 8000);
  ASSERT_TRUE(spool.ok());
  LookBackRing ring(RingLimits{std::chrono::seconds(60), 2000}, spool->get());
  for (int i = 0; i < 5; ++i) ring.add(chunk_at(kSecond + i, kSecond + i, 400, 1), false);
  ring.spill();  // all five written through, still in memory
  for (int i = 5; i < 11; ++i) ring.add(chunk_at(kSecond + i, kSecond + i, 400, 1), false);
  const RingStats stats = ring.stats();  // no spill meanwhile: 4,400 > 2 × 2,000
  EXPECT_EQ(stats.chunks_not_held, 0u);
  EXPECT_EQ(stats.chunks_held, 11u);
  EXPECT_EQ(stats.memory_bytes, 4000u);
  EXPECT_EQ(stats.spool_bytes, 400u);
}

}  // namespace
}  // namespace mcaprec::events
