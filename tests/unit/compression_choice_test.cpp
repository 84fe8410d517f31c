// A chunk group's choice of whether to compress its next chunk: on data that never compresses
// almost no chunk is compressed in vain, and data that becomes compressible is compressed again
// within a bounded number of chunks (or seconds, for a slow group).
#include "pipeline/compression_choice.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <optional>
#include <vector>

namespace mcaprec::pipeline {
namespace {

using mcap::Compression;
using namespace std::chrono_literals;

// What encoding a tried chunk gives, as the compressor pool reports it.
mcap::EncodedChunk tried_result(bool compressible) {
  mcap::EncodedChunk chunk;
  chunk.uncompressed_size = 1 << 20;
  chunk.compression = compressible ? "zstd" : "";
  chunk.compressed_size = compressible ? chunk.uncompressed_size / 3 : chunk.uncompressed_size;
  return chunk;
}

// Runs a group's chunks through the choice the way the compressor pool does, with `in_flight`
// chunks being encoded at once: a tried chunk's result is reported `in_flight` chunks after it
// was chosen (0: at once).
class GroupSimulation {
 public:
  GroupSimulation(size_t in_flight, CompressionChoice::Clock::duration per_chunk)
      : in_flight_(in_flight), per_chunk_(per_chunk) {}

  // One chunk whose data compresses as `compressible` says; true if it was tried.
  bool next_chunk(bool compressible) {
    now_ += per_chunk_;
    const bool tried = choice_.choose(Compression::kZstd, now_) == Compression::kZstd;
    pending_.push_back(tried ? std::optional<bool>(compressible) : std::nullopt);
    while (pending_.size() > in_flight_) {
      if (pending_.front()) choice_.record(tried_result(*pending_.front()), now_);
      pending_.pop_front();
    }
    return tried;
  }

  // Which of `n` chunks of one kind were tried.
  std::vector<bool> run(uint64_t n, bool compressible) {
    std::vector<bool> tried;
    for (uint64_t i = 0; i < n; ++i) tried.push_back(next_chunk(compressible));
    return tried;
  }

  CompressionChoice& choice() { return choice_; }

 private:
  size_t in_flight_;
  CompressionChoice::Clock::duration per_chunk_;
  CompressionChoice::Clock::time_point now_{};
  CompressionChoice choice_;
  std::deque<std::optional<bool>> pending_;
};

uint64_t count(const std::vector<bool>& tried) {
  uint64_t n = 0;
  for (bool t : tried) n += t;
  return n;
}

// How many chunks were stored raw before every chunk was tried again: the index of the first
// chunk from which on all were tried.
uint64_t chunks_before_compressing_again(const std::vector<bool>& tried) {
  uint64_t first = tried.size();
  while (first > 0 && tried[first - 1]) --first;
  return first;
}

// Always-incompressible data (camera frames) at 1,000 chunks a second: over 20,000 chunks, at
// most 0.3% are compressed in vain, whether chunks are encoded one at a time or four at once.
// The former policy (32 skipped, then 3 tried again) compressed 3 chunks in 35: 8.6%.
TEST(CompressionChoiceTest, IncompressibleGroupRarelyTriesCompression) {
  constexpr uint64_t kChunks = 20000;
  for (size_t in_flight : {0, 1, 4}) {
    SCOPED_TRACE("chunks in flight: " + std::to_string(in_flight));
    GroupSimulation group(in_flight, 1ms);
    const std::vector<bool> tried = group.run(kChunks, false);
    const uint64_t tries = count(tried);
    EXPECT_LE(tries, kChunks * 3 / 1000) << tries << " of " << kChunks << " tried";
    // The first chunks are tried until the streak proves the data incompressible.
    EXPECT_TRUE(tried[0] && tried[1] && tried[2]);
    EXPECT_GE(tries, 3u);
    EXPECT_EQ(group.choice().skipped(), kChunks - tries);
  }
}

// After a long incompressible stretch (the skip at its longest), the data turns compressible:
// every chunk is tried again within kMaxChunksSkipped chunks, plus those already in flight.
TEST(CompressionChoiceTest, GroupWhoseDataTurnsCompressibleCompressesAgainWithinTheBound) {
  for (size_t in_flight : {0, 4}) {
    SCOPED_TRACE("chunks in flight: " + std::to_string(in_flight));
    GroupSimulation group(in_flight, 1ms);
    (void)group.run(4000, false);  // the backoff has reached its longest skip
    const std::vector<bool> tried = group.run(3000, true);
    const uint64_t raw = chunks_before_compressing_again(tried);
    EXPECT_LE(raw, CompressionChoice::kMaxChunksSkipped + 1 + in_flight);
    EXPECT_LT(raw, tried.size() - 1000) << "never compressed again";
  }
}

// A group whose data turns compressible right after a retry, at each stage of the backoff: the
// wait never exceeds the current skip, which doubles from kChunksSkipped.
TEST(CompressionChoiceTest, SkipsDoubleFromTheFirstOne) {
  GroupSimulation group(0, 1ms);
  std::vector<bool> tried = group.run(3 + CompressionChoice::kChunksSkipped + 1, false);
  // Three tries, a skip of kChunksSkipped, then one retry.
  EXPECT_EQ(count(tried), 4u);
  EXPECT_TRUE(tried.back());
  tried = group.run(2 * CompressionChoice::kChunksSkipped + 1, false);
  EXPECT_EQ(count(tried), 1u);
  EXPECT_TRUE(tried.back());
  tried = group.run(4 * CompressionChoice::kChunksSkipped + 1, false);
  EXPECT_EQ(count(tried), 1u);
  EXPECT_TRUE(tried.back());
}

// A slow group (one chunk a second) is bounded by time: it retries every kMaxSkipTime once the
// skip in chunks would be longer, and notices compressible data within that time.
TEST(CompressionChoiceTest, SlowGroupRetriesWithinSeconds) {
  GroupSimulation group(0, 1s);
  (void)group.run(600, false);
  const std::vector<bool> tried = group.run(600, false);
  const uint64_t per_retry = uint64_t(
      std::chrono::duration_cast<std::chrono::seconds>(CompressionChoice::kMaxSkipTime).count());
  EXPECT_GE(count(tried), 600 / (per_retry + 1));
  EXPECT_LE(count(tried), 600 / per_retry + 1);
  const std::vector<bool> compressible = group.run(100, true);
  EXPECT_LE(chunks_before_compressing_again(compressible), per_retry + 1);
}

// Chunks that compress by less than kMinSavingPercent count as incompressible; a compressible
// chunk breaks the streak.
TEST(CompressionChoiceTest, BarelyCompressedChunksCountAsIncompressible) {
  mcap::EncodedChunk barely = tried_result(true);
  barely.compressed_size = barely.uncompressed_size * 99 / 100;
  EXPECT_TRUE(CompressionChoice::barely_compressed(barely));
  EXPECT_FALSE(CompressionChoice::barely_compressed(tried_result(true)));

  CompressionChoice choice;
  const auto t = CompressionChoice::Clock::time_point{};
  choice.record(barely, t);
  choice.record(barely, t);
  choice.record(tried_result(true), t);  // the streak starts over
  choice.record(barely, t);
  choice.record(barely, t);
  EXPECT_EQ(choice.choose(Compression::kZstd, t), Compression::kZstd);
  choice.record(barely, t);  // third in a row
  EXPECT_EQ(choice.choose(Compression::kZstd, t), Compression::kNone);
  EXPECT_EQ(choice.choose(Compression::kNone, t), Compression::kNone);
}

// A retry whose result never comes back (its encode failed) does not stop retries: another one
// goes after the current skip's worth of chunks.
TEST(CompressionChoiceTest, LostRetryIsReplaced) {
  CompressionChoice choice;
  auto t = CompressionChoice::Clock::time_point{};
  for (int i = 0; i < 3; ++i) choice.record(tried_result(false), t);
  int tries = 0;
  for (uint32_t i = 0; i < 3 * CompressionChoice::kChunksSkipped + 3; ++i) {
    t += 1ms;
    tries += choice.choose(Compression::kZstd, t) == Compression::kZstd;  // never recorded
  }
  EXPECT_EQ(tries, 3);
  // A late compressible result means every chunk is tried again.
  choice.record(tried_result(true), t);
  EXPECT_EQ(choice.choose(Compression::kZstd, t), Compression::kZstd);
  EXPECT_EQ(choice.choose(Compression::kZstd, t), Compression::kZstd);
}

}  // namespace
}  // namespace mcaprec::pipeline
