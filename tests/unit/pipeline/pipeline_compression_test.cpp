// Per-channel compression decisions (channel_compression.hpp): in the default group, a channel
// whose data does not compress gets raw chunks of its own and stops costing attempts, a
// compressible one keeps zstd chunks, one that turns compressible is compressed again after a
// probe, a configured group keeps deciding as a whole; and the per-channel counters add up to
// the chunks in the files.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "payload.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline_test_support.hpp"

namespace mcaprec::pipeline {
namespace {

using testing::eventually;
using testing::FileContents;
using testing::read_file;
using testing::ScratchDir;

using test_support::Filler;
using test_support::payload;

constexpr uint64_t kRecordOverhead = 31;  // Message record header before the payload

PipelineOptions options_for(const std::string& directory) {
  PipelineOptions options;
  options.directory = directory;
  options.chunk_size = 8192;
  options.compressor_threads = 1;
  options.max_bytes = 0;
  options.max_duration = std::chrono::nanoseconds(0);
  options.default_overflow = OverflowPolicy::kBlock;
  options.compression_learning.min_sample_bytes = 4096;
  // No probe by time: the tests decide by chunks.
  options.compression_learning.probe_every = std::chrono::hours(1);
  return options;
}

ChannelSpec spec_for(const std::string& topic, const std::string& group = "") {
  ChannelSpec spec;
  spec.topic = topic;
  spec.chunk_group = group;
  return spec;
}

const ChannelStats& stats_of(const PipelineStats& stats, ChannelHandle handle) {
  return stats.channels.at(record_id(handle.id()) - 1);
}

// Per channel id: how many chunks of the files hold it, and how many of those with each codec.
struct ChunkTally {
  uint64_t chunks = 0;
  std::map<std::string, uint64_t> by_codec;
  uint64_t shared = 0;  // chunks that also hold another channel

  uint64_t with(const std::string& codec) const {
    auto it = by_codec.find(codec);
    return it == by_codec.end() ? 0 : it->second;
  }
};

std::map<uint16_t, ChunkTally> tally_chunks(const std::vector<std::string>& files) {
  std::map<uint16_t, ChunkTally> tally;
  for (const std::string& file : files) {
    const FileContents contents = read_file(file);
    EXPECT_EQ(contents.error, "") << file;
    for (const mcap::ChunkIndex& chunk : contents.summary.chunk_indexes) {
      for (const auto& [channel, offset] : chunk.message_index_offsets) {
        ChunkTally& t = tally[channel];
        ++t.chunks;
        ++t.by_codec[chunk.compression];
        if (chunk.message_index_offsets.size() > 1) ++t.shared;
      }
    }
  }
  return tally;
}

TEST(PipelineCompressionTest, NoiseGetsRawChunksOfItsOwnAndStopsCostingAttempts) {
  ScratchDir dir;
  PipelineOptions options = options_for(dir.path());
  options.compression_learning.probe_every_chunks = 1000;  // no probe in this test
  auto started = Pipeline::start(options);
  ASSERT_TRUE(started.ok()) << started.error().to_string();
  Pipeline& pipeline = **started;
  const ChannelHandle noise = *pipeline.declare_channel(spec_for("/noise"));
  const ChannelHandle log = *pipeline.declare_channel(spec_for("/log"));
  // A configured group is the user's choice: it decides as a whole, as before.
  const ChannelHandle camera = *pipeline.declare_channel(spec_for("/camera", "camera"));
  uint64_t payload_bytes = 0;
  auto push_round = [&](uint32_t from, uint32_t to) {
    for (uint32_t i = from; i < to; ++i) {
      ASSERT_TRUE(pipeline.push(noise, i, i, i, payload(i, 1000, Filler::kNoise)).ok());
      ASSERT_TRUE(pipeline.push(log, i, i, i, payload(i, 200)).ok());
      ASSERT_TRUE(pipeline.push(camera, i, i, i, payload(i, 1000, Filler::kNoise)).ok());
      payload_bytes += 1000 + kRecordOverhead;
    }
  };
  push_round(0, 100);
  // Everything pushed so far is written once the split returns.
  ASSERT_EQ(pipeline.split(std::chrono::seconds(20)).outcome, SplitResult::Outcome::kFinalized);
  const ChannelStats first = stats_of(pipeline.stats(), noise);
  EXPECT_TRUE(first.compression.stored_raw);
  push_round(100, 200);
  ASSERT_TRUE(pipeline.stop().ok());

  const PipelineStats stats = pipeline.stats();
  const ChannelStats& noise_stats = stats_of(stats, noise);
  const ChannelStats& log_stats = stats_of(stats, log);
  const ChannelStats& camera_stats = stats_of(stats, camera);
  // The noise channel stopped costing attempts: none in the second round, only skips.
  EXPECT_EQ(noise_stats.compression.attempts, first.compression.attempts);
  EXPECT_GE(noise_stats.compression.skipped, first.compression.skipped + 10);
  EXPECT_EQ(log_stats.compression.skipped, 0u);
  EXPECT_FALSE(log_stats.compression.stored_raw);
  EXPECT_FALSE(camera_stats.compression.stored_raw);

  const std::map<uint16_t, ChunkTally> tally = tally_chunks(dir.files(".mcap"));
  const ChunkTally& noise_chunks = tally.at(record_id(noise.id()));
  const ChunkTally& log_chunks = tally.at(record_id(log.id()));
  // In the files: the noise in raw chunks of its own (but for the first, learning, ones), the
  // compressible channel in zstd chunks.
  EXPECT_GE(noise_chunks.with(""), noise_chunks.chunks - noise_stats.compression.attempts);
  EXPECT_LE(noise_chunks.shared, noise_stats.compression.attempts);
  EXPECT_EQ(log_chunks.with("zstd"), log_chunks.chunks);
  EXPECT_EQ(noise_chunks.chunks,
            noise_stats.compression.attempts + noise_stats.compression.skipped);
  EXPECT_EQ(log_chunks.chunks, log_stats.compression.attempts);

  // The counters add up: bytes in are the channel's records, bytes out sum to the chunks'.
  EXPECT_EQ(noise_stats.compression.bytes_in, payload_bytes);
  EXPECT_EQ(log_stats.compression.bytes_in, 200 * (200 + kRecordOverhead));
  EXPECT_GE(noise_stats.compression.bytes_out, noise_stats.compression.bytes_in * 95 / 100);
  EXPECT_LT(log_stats.compression.bytes_out, log_stats.compression.bytes_in / 2);
  uint64_t in = 0;
  uint64_t out = 0;
  for (const ChannelStats& c : stats.channels) {
    in += c.compression.bytes_in;
    out += c.compression.bytes_out;
  }
  EXPECT_EQ(in, stats.compression.uncompressed_bytes);
  EXPECT_EQ(out, stats.compression.compressed_bytes);
}

// A probe looks at a sample of the channel's records in the chunk: all of them when small,
// else four equal windows spread evenly over them, across piece boundaries.
TEST(PipelineCompressionTest, AProbeSamplesWindowsSpreadOverTheRecords) {
  std::vector<uint8_t> bytes(1000);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t(i);
  const mcap::ByteView all(bytes);
  // Pieces of 300, 50, 450 and 200 bytes.
  const std::vector<mcap::ChunkPiece> pieces = {
      {all.subspan(0, 300), {}},
      {all.subspan(300, 50), {}},
      {all.subspan(350, 450), {}},
      {all.subspan(800, 200), {}},
  };
  std::vector<mcap::ByteView> views;
  EXPECT_EQ(probe_sample(pieces, 1000, 1000, views), 1000u);
  ASSERT_EQ(views.size(), 4u);  // small enough: every piece, whole
  EXPECT_EQ(views[2].data(), bytes.data() + 350);
  EXPECT_EQ(views[2].size(), 450u);

  // (offset in the records, size) of each view of a sample of `sample_bytes`.
  auto windows_of = [&](uint64_t sample_bytes) {
    views.clear();
    EXPECT_EQ(probe_sample(pieces, 1000, sample_bytes, views), sample_bytes);
    std::vector<std::pair<size_t, size_t>> windows;
    for (const mcap::ByteView view : views) {
      windows.emplace_back(size_t(view.data() - bytes.data()), view.size());
    }
    return windows;
  };
  // 100 bytes in 4 windows of 25, at 0, 250, 500 and 750; 400 bytes in 4 of 100, the second
  // and the last crossing into the next piece.
  EXPECT_EQ(windows_of(100),
            (std::vector<std::pair<size_t, size_t>>{{0, 25}, {250, 25}, {500, 25}, {750, 25}}));
  EXPECT_EQ(windows_of(400),
            (std::vector<std::pair<size_t, size_t>>{
                {0, 100}, {250, 50}, {300, 50}, {500, 100}, {750, 50}, {800, 50}}));
}

// A probe compresses the sample, not the chunk: a channel whose large messages are noise except
// where the sample's windows fall is taken for compressible (the whole chunk would not be), and
// the probe's own chunk is stored raw.
TEST(PipelineCompressionTest, AProbeCompressesASampleNotTheWholeChunk) {
  ScratchDir dir;
  PipelineOptions options = options_for(dir.path());
  options.chunk_size = 64 << 10;
  options.compression_learning.probe_every_chunks = 2;
  options.compression_learning.probe_sample_bytes = 4096;
  auto started = Pipeline::start(options);
  ASSERT_TRUE(started.ok()) << started.error().to_string();
  Pipeline& pipeline = **started;
  const ChannelHandle frames = *pipeline.declare_channel(spec_for("/frames"));
  constexpr size_t kFrame = 200000;  // one message per chunk
  for (uint32_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(pipeline.push(frames, i, i, i, payload(i, kFrame, Filler::kNoise)).ok());
    ASSERT_EQ(pipeline.split(std::chrono::seconds(20)).outcome, SplitResult::Outcome::kFinalized);
  }
  const ChannelStats noisy = stats_of(pipeline.stats(), frames);
  ASSERT_TRUE(noisy.compression.stored_raw);
  // Zeros only where the windows fall (the record's 31-byte header comes first).
  mcap::Bytes framed = payload(9, kFrame, Filler::kNoise);
  const size_t record = kFrame + kRecordOverhead;
  for (size_t w = 0; w < kProbeWindows; ++w) {
    const size_t at = w * (record / kProbeWindows);
    for (size_t i = 0; i < 1024; ++i) {
      if (at + i >= kRecordOverhead) framed[at + i - kRecordOverhead] = 0;
    }
  }
  uint32_t sequence = 4;
  while (stats_of(pipeline.stats(), frames).compression.stored_raw && sequence < 12) {
    ASSERT_TRUE(pipeline.push(frames, sequence, sequence, sequence, framed).ok());
    ASSERT_EQ(pipeline.split(std::chrono::seconds(20)).outcome, SplitResult::Outcome::kFinalized);
    ++sequence;
  }
  ASSERT_FALSE(stats_of(pipeline.stats(), frames).compression.stored_raw)
      << "the sample's zeros should have made it compressible";
  const ChannelStats probed = stats_of(pipeline.stats(), frames);
  EXPECT_EQ(probed.compression.attempts, noisy.compression.attempts + 1);
  // Every chunk so far is raw: the probe's chunk too, and the whole frame barely compresses.
  ASSERT_TRUE(pipeline.stop().ok());
  const std::map<uint16_t, ChunkTally> tally = tally_chunks(dir.files(".mcap"));
  EXPECT_EQ(tally.at(record_id(frames.id())).with(""), tally.at(record_id(frames.id())).chunks);
}

TEST(PipelineCompressionTest, ChannelThatTurnsCompressibleIsCompressedAgainAfterAProbe) {
  ScratchDir dir;
  PipelineOptions options = options_for(dir.path());
  options.compression_learning.probe_every_chunks = 4;
  auto started = Pipeline::start(options);
  ASSERT_TRUE(started.ok()) << started.error().to_string();
  Pipeline& pipeline = **started;
  const ChannelHandle sensor = *pipeline.declare_channel(spec_for("/sensor"));
  for (uint32_t i = 0; i < 60; ++i) {
    ASSERT_TRUE(pipeline.push(sensor, i, i, i, payload(i, 1000, Filler::kNoise)).ok());
  }
  ASSERT_EQ(pipeline.split(std::chrono::seconds(20)).outcome, SplitResult::Outcome::kFinalized);
  const ChannelStats noisy = stats_of(pipeline.stats(), sensor);
  EXPECT_TRUE(noisy.compression.stored_raw);
  // The same channel now sends data that compresses well: its chunks stay raw until a probe
  // (every 5th raw chunk) finds that out ...
  for (uint32_t i = 60; i < 120; ++i) {
    ASSERT_TRUE(pipeline.push(sensor, i, i, i, payload(i, 1000)).ok());
  }
  // The probe's verdict comes from the compressor thread, which may still be behind the chunks
  // already sealed (all raw): wait for it, so that the chunks sealed next use it.
  ASSERT_TRUE(eventually([&] { return !stats_of(pipeline.stats(), sensor).compression.stored_raw; },
                         std::chrono::seconds(20)))
      << "no probe found the channel compressible";
  for (uint32_t i = 120; i < 140; ++i) {
    ASSERT_TRUE(pipeline.push(sensor, i, i, i, payload(i, 1000)).ok());
  }
  ASSERT_EQ(pipeline.split(std::chrono::seconds(20)).outcome, SplitResult::Outcome::kFinalized);
  EXPECT_FALSE(stats_of(pipeline.stats(), sensor).compression.stored_raw);
  // ... and from then on they are compressed again.
  for (uint32_t i = 140; i < 240; ++i) {
    ASSERT_TRUE(pipeline.push(sensor, i, i, i, payload(i, 1000)).ok());
  }
  ASSERT_TRUE(pipeline.stop().ok());

  const ChannelStats after = stats_of(pipeline.stats(), sensor);
  EXPECT_FALSE(after.compression.stored_raw);
  EXPECT_GT(after.compression.attempts, noisy.compression.attempts);
  std::vector<std::string> files = dir.files(".mcap");
  ASSERT_EQ(files.size(), 3u);
  std::sort(files.begin(), files.end());
  const std::map<uint16_t, ChunkTally> probed = tally_chunks({files[1]});
  const ChunkTally& turning = probed.at(record_id(sensor.id()));
  EXPECT_GE(turning.with(""), 1u);
  EXPECT_GE(turning.with("zstd"), 1u);  // after the probe (its own chunk stays raw)
  const std::map<uint16_t, ChunkTally> last = tally_chunks({files[2]});
  const ChunkTally& compressed = last.at(record_id(sensor.id()));
  EXPECT_GE(compressed.chunks, 10u);
  EXPECT_EQ(compressed.with("zstd"), compressed.chunks);
}

}  // namespace
}  // namespace mcaprec::pipeline
