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

std::vector<RingChunk> everything(const LookBackRing& ring) {
  std::vector<RingChunk> out;
  ring.collect(0, 0, UINT64_MAX, out);
  return out;
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
  for (int i = 0; i < 6; ++i) {
    ring.add(chunk_at(kSecond + i, kSecond + i, 400, static_cast<uint8_t>(i)), false);
    ring.spill();
  }
  RingStats stats = ring.stats();
  EXPECT_LE(stats.memory_bytes, 1000u);
  EXPECT_EQ(stats.chunks_spilled, 4u);
  EXPECT_EQ(stats.spool_bytes, 1600u);
  EXPECT_EQ(stats.chunks_not_held, 0u);
  const std::vector<RingChunk> held = everything(ring);
  ASSERT_EQ(held.size(), 6u);
  for (size_t i = 0; i < held.size(); ++i) {
    auto loaded = ring.load(held[i]);
    ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
    EXPECT_EQ((*loaded)->bytes, mcap::Bytes(400, static_cast<uint8_t>(i))) << i;
    EXPECT_EQ(held[i].spooled, i < 4);
  }
}

TEST(LookBackRingTest, ASpoolThatWrapsForgetsWhatItOverwrote) {
  test_support::ScratchDir dir;
  auto spool = Spool::open((dir / "ring.spool").string(), 1000);  // two chunks of 400
  ASSERT_TRUE(spool.ok());
  LookBackRing ring(RingLimits{std::chrono::seconds(60), 400}, spool->get());
  for (int i = 0; i < 6; ++i) {
    ring.add(chunk_at(kSecond + i, kSecond + i, 400, static_cast<uint8_t>(i)), false);
    ring.spill();
  }
  const RingStats stats = ring.stats();
  EXPECT_EQ(stats.chunks_held, 3u);  // one in memory, two in the spool
  EXPECT_EQ(stats.chunks_not_held, 3u);
  for (const RingChunk& chunk : everything(ring)) {
    auto loaded = ring.load(chunk);
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ((*loaded)->bytes.front(), static_cast<uint8_t>(chunk.seq));
  }
}

}  // namespace
}  // namespace mcaprec::events
