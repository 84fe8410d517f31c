#include "synth/sensor_mix.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "mcap/compression.hpp"

using namespace mcaprec;
using synth::SensorMix;

namespace {

// The first `count` messages, payloads copied out (views die on the next call).
struct Captured {
  size_t topic_index;
  uint32_t sequence;
  mcap::Timestamp log_time;
  mcap::Bytes payload;
};
std::vector<Captured> take(SensorMix& mix, size_t count) {
  std::vector<Captured> out;
  for (size_t i = 0; i < count; ++i) {
    const synth::SyntheticMessage m = mix.next();
    out.push_back({m.topic_index, m.sequence, m.log_time, {m.payload.begin(), m.payload.end()}});
  }
  return out;
}

}  // namespace

TEST(SensorMix, SameSeedGivesTheSameStreamAndAnotherSeedDoesNot) {
  SensorMix a(synth::default_sensor_mix(), 7), b(synth::default_sensor_mix(), 7);
  SensorMix c(synth::default_sensor_mix(), 8);
  const auto first = take(a, 3000), second = take(b, 3000), other = take(c, 3000);
  size_t differing = 0;
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].topic_index, second[i].topic_index) << i;
    EXPECT_EQ(first[i].log_time, second[i].log_time) << i;
    EXPECT_EQ(first[i].payload, second[i].payload) << i;
    if (first[i].payload != other[i].payload) ++differing;
  }
  EXPECT_GT(differing, 1000u);
}

TEST(SensorMix, MessagesComeInLogTimeOrderAtEachTopicsRate) {
  SensorMix mix;
  std::map<size_t, uint64_t> counts;
  std::map<size_t, uint32_t> next_sequence;
  const synth::SyntheticMessage first = mix.next();
  mcap::Timestamp previous = first.log_time;
  ++counts[first.topic_index];
  ++next_sequence[first.topic_index];
  for (;;) {
    const synth::SyntheticMessage m = mix.next();
    if (m.log_time >= first.log_time + 1'000'000'000ULL) break;  // one second of log time
    ASSERT_GE(m.log_time, previous);
    previous = m.log_time;
    EXPECT_EQ(m.sequence, next_sequence[m.topic_index]++);
    ++counts[m.topic_index];
  }
  for (size_t i = 0; i < mix.topics().size(); ++i) {
    const double rate = mix.topics()[i].rate_hz;
    EXPECT_NEAR(static_cast<double>(counts[i]), rate, 1.0) << mix.topics()[i].topic;
  }
}

TEST(SensorMix, PayloadsHaveTheNominalSizesAndCompressibility) {
  SensorMix mix;
  std::map<std::string, mcap::Bytes> bytes_by_topic;
  std::map<std::string, uint64_t> max_size;
  for (int i = 0; i < 15000; ++i) {
    const synth::SyntheticMessage m = mix.next();
    const synth::TopicSpec& spec = mix.topics()[m.topic_index];
    auto& all = bytes_by_topic[spec.topic];
    all.insert(all.end(), m.payload.begin(), m.payload.end());
    max_size[spec.topic] = std::max<uint64_t>(max_size[spec.topic], m.payload.size());
    if (spec.kind != synth::PayloadKind::kJsonDiagnostics) {
      EXPECT_EQ(m.payload.size(), spec.payload_bytes) << spec.topic;
    }
  }
  mcap::Compressor compressor;
  auto ratio = [&](const std::string& topic) {
    const mcap::Bytes& input = bytes_by_topic.at(topic);
    mcap::Bytes out;
    const mcap::ByteView pieces[] = {input};
    auto size = compressor.compress(mcap::Compression::kZstd, 1, pieces, out);
    EXPECT_TRUE(size.ok());
    return static_cast<double>(out.size()) / static_cast<double>(input.size());
  };
  EXPECT_GT(ratio("/camera/image"), 0.99);  // encoded frames do not compress
  EXPECT_GT(ratio("/lidar/points"), 0.8);   // noisy floats barely do
  EXPECT_LT(ratio("/lidar/packets"), 0.9);  // moderately compressible
  EXPECT_LT(ratio("/can"), 0.5);
  EXPECT_LT(ratio("/diagnostics"), 0.3);  // JSON text
  EXPECT_GT(max_size["/diagnostics"], 100u);
}

TEST(SensorMix, AutomotiveSetHasTheIssuesThirtyTopicsAtAbout573MegabytesPerSecond) {
  const std::vector<synth::TopicSpec> topics = synth::automotive_sensor_set();
  EXPECT_EQ(topics.size(), 30u);
  SensorMix mix(topics);
  EXPECT_NEAR(mix.nominal_bytes_per_second(), 572.5e6, 0.1e6);
}

// One second of the set: every payload has its nominal size, raw camera frames do not compress
// with lz4 and barely with zstd level 1, point clouds of noisy floats compress a little, the
// small structured messages well.
TEST(SensorMix, AutomotivePayloadsHaveTheirSizesAndCompressibility) {
  SensorMix mix(synth::automotive_sensor_set());
  std::map<std::string, mcap::Bytes> bytes_by_topic;
  std::map<std::string, int> messages;
  for (int i = 0; i < 1124; ++i) {
    const synth::SyntheticMessage m = mix.next();
    const synth::TopicSpec& spec = mix.topics()[m.topic_index];
    ++messages[spec.topic];
    EXPECT_EQ(m.payload.size(), spec.payload_bytes) << spec.topic;
    auto& all = bytes_by_topic[spec.topic];
    if (all.size() < 4'000'000) all.insert(all.end(), m.payload.begin(), m.payload.end());
  }
  EXPECT_NEAR(messages["/camera/3"], 24, 1);
  EXPECT_NEAR(messages["/ultrasonic/11"], 40, 1);
  mcap::Compressor compressor;
  auto ratio = [&](mcap::Compression codec, const std::string& topic) {
    const mcap::Bytes& input = bytes_by_topic.at(topic);
    // 1 MiB at a time, as chunks would be.
    const size_t piece = std::min<size_t>(input.size(), 1 << 20);
    mcap::Bytes out;
    const mcap::ByteView pieces[] = {mcap::ByteView(input.data(), piece)};
    EXPECT_TRUE(compressor.compress(codec, 1, pieces, out).ok());
    return static_cast<double>(out.size()) / static_cast<double>(piece);
  };
  EXPECT_GT(ratio(mcap::Compression::kLz4, "/camera/0"), 0.99);
  EXPECT_GT(ratio(mcap::Compression::kZstd, "/camera/0"), 0.85);
  EXPECT_LT(ratio(mcap::Compression::kZstd, "/camera/0"), 0.98);
  EXPECT_GT(ratio(mcap::Compression::kZstd, "/lidar/top"), 0.75);
  EXPECT_LT(ratio(mcap::Compression::kZstd, "/lidar/top"), 0.95);
  EXPECT_LT(ratio(mcap::Compression::kZstd, "/radar/0"), 0.6);
  EXPECT_LT(ratio(mcap::Compression::kZstd, "/ultrasonic/0"), 0.5);
}
