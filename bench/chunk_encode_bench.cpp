// What a compressor thread spends per GB encoding chunks of incompressible payloads (camera
// frames, already-compressed data): random bytes in 1 MiB chunks (the configuration default),
// handed over as 64 KiB pieces like the pipeline's queue segments, as 64 KiB messages (TCP
// frames) or 1,200-byte messages (UDP datagrams).
//
// BM_EncodeTried: every chunk is compressed (and, being incompressible, stored raw): the cost
// of a chunk that the group's policy decided to try; "ratio" is stored size / records size.
// The compressible variant (about 2:1) checks that compressible chunks pay nothing for it.
// BM_GroupPolicy: a chunk group's stream as the compressor pool runs it (CompressionChoice
// decides whether to try, barely-compressed chunks are stored raw), over 4,000 chunks of a
// fresh group: the cost the daemon pays per GB of such a stream, compression attempts included.
// "tried" is the fraction of chunks the policy tried to compress.
// BM_EncodeKind: one 1 MiB chunk of a single kind of sensor data, each codec: what it costs and
// what it saves, per kind (the measurements behind the per-channel thresholds of
// lib/pipeline/channel_compression.hpp). Kinds: raw camera frames (a smooth 8-bit image with
// sensor noise of a few levels, like the frames of a raw camera), encoded (random) frames,
// point clouds and lidar packets, IMU, CAN and JSON from the synthetic sensor mix.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <vector>

#include "mcap/chunk.hpp"
#include "pipeline/compression_choice.hpp"
#include "synth/sensor_mix.hpp"

namespace {

using namespace mcaprec;
using mcap::Compression;

constexpr uint64_t kChunkBytes = uint64_t{1} << 20;
constexpr uint64_t kPieceBytes = uint64_t{64} << 10;

// One chunk's records, as pieces of about kPieceBytes of messages of `message_size` random bytes.
struct ChunkInput {
  std::vector<mcap::ChunkBuilder> builders;
  std::vector<mcap::ChunkPiece> pieces;
  uint64_t payload_bytes = 0;
};

ChunkInput make_chunk(uint64_t message_size, bool compressible = false) {
  ChunkInput input;
  std::mt19937_64 rng(42);
  uint64_t total = 0;
  mcap::Timestamp time = 1;
  input.builders.emplace_back();
  while (total < kChunkBytes) {
    if (input.builders.back().size() + message_size > kPieceBytes &&
        !input.builders.back().empty()) {
      input.builders.emplace_back();
    }
    uint8_t* data = input.builders.back().add_message_uninitialized(1, uint32_t(time), time, time,
                                                                    message_size);
    // Compressible: 16 distinct byte values at random, about 2:1 with zstd -1.
    const int shift = compressible ? 60 : 56;
    for (uint64_t i = 0; i < message_size; ++i) data[i] = static_cast<uint8_t>(rng() >> shift);
    total += message_size;
    ++time;
  }
  for (const mcap::ChunkBuilder& b : input.builders) input.pieces.push_back(b.piece());
  input.payload_bytes = total;
  return input;
}

void report(benchmark::State& state, const ChunkInput& input) {
  const double bytes = double(input.payload_bytes) * double(state.iterations());
  state.SetBytesProcessed(int64_t(bytes));
}

// Encodes one chunk as the compressor pool does: with `codec` (kNone when the group skips), and
// a chunk that compresses by too little is stored raw.
bool encode_like_the_pool(const ChunkInput& input, Compression codec, mcap::Compressor& compressor,
                          mcap::EncodedChunk& encoded) {
  mcap::ChunkEncodeOptions options;
  options.level = 1;
  options.compression = codec;
  options.min_saving_percent = pipeline::CompressionChoice::kMinSavingPercent;
  if (!mcap::encode_chunk(input.pieces, options, compressor, encoded).ok()) return false;
  if (codec != Compression::kNone && pipeline::CompressionChoice::barely_compressed(encoded)) {
    options.compression = Compression::kNone;
    return mcap::encode_chunk(input.pieces, options, compressor, encoded).ok();
  }
  return true;
}

void BM_EncodeTried(benchmark::State& state, Compression codec, uint64_t message_size,
                    bool compressible) {
  const ChunkInput input = make_chunk(message_size, compressible);
  mcap::Compressor compressor;
  mcap::EncodedChunk encoded;
  for (auto _ : state) {
    if (!encode_like_the_pool(input, codec, compressor, encoded)) {
      state.SkipWithError("encode failed");
      return;
    }
    benchmark::DoNotOptimize(encoded.crc);
  }
  report(state, input);
  state.counters["ratio"] = double(encoded.compressed_size) / double(encoded.uncompressed_size);
}

void BM_GroupPolicy(benchmark::State& state, Compression codec, uint64_t message_size) {
  const ChunkInput input = make_chunk(message_size);
  mcap::Compressor compressor;
  mcap::EncodedChunk encoded;
  pipeline::CompressionChoice choice;
  uint64_t tried_count = 0;
  for (auto _ : state) {
    const Compression chosen = choice.choose(codec);
    if (!encode_like_the_pool(input, chosen, compressor, encoded)) {
      state.SkipWithError("encode failed");
      return;
    }
    if (chosen != Compression::kNone) {
      ++tried_count;
      choice.record(encoded);
    }
    benchmark::DoNotOptimize(encoded.crc);
  }
  report(state, input);
  state.counters["tried"] = double(tried_count) / double(state.iterations());
}

// A raw 8-bit camera frame: a smooth scene (gradients and soft edges) plus sensor noise of
// about +-6 levels, the noise a real sensor adds and what keeps such frames from compressing
// well.
void raw_camera_frame(uint8_t* out, uint64_t size, uint32_t frame, std::mt19937_64& rng) {
  constexpr uint32_t kWidth = 1920;
  for (uint64_t i = 0; i < size; ++i) {
    const uint32_t x = uint32_t(i % kWidth);
    const uint32_t y = uint32_t(i / kWidth);
    const int scene = int((x / 8 + y / 5 + frame) % 160) + ((x / 200 + y / 150) % 2) * 60;
    const int noise = int(rng() % 13) - 6;
    out[i] = uint8_t(std::clamp(scene + noise, 0, 255));
  }
}

enum class Kind { kRawCamera, kEncodedCamera, kPointCloud, kLidarPacket, kImu, kCan, kJson };

// One chunk of messages of one kind, as pieces of about kPieceBytes.
ChunkInput make_kind_chunk(Kind kind) {
  ChunkInput input;
  std::mt19937_64 rng(7);
  synth::SensorMix mix;
  size_t topic = 0;
  const synth::PayloadKind wanted[] = {synth::PayloadKind::kCameraFrame,
                                       synth::PayloadKind::kCameraFrame,
                                       synth::PayloadKind::kPointCloud,
                                       synth::PayloadKind::kLidarPacket,
                                       synth::PayloadKind::kImu,
                                       synth::PayloadKind::kCan,
                                       synth::PayloadKind::kJsonDiagnostics};
  for (size_t i = 0; i < mix.topics().size(); ++i) {
    if (mix.topics()[i].kind == wanted[size_t(kind)]) topic = i;
  }
  mcap::Bytes raw(256 << 10);
  uint64_t total = 0;
  mcap::Timestamp time = 1;
  input.builders.emplace_back();
  while (total < kChunkBytes) {
    mcap::ByteView payload;
    if (kind == Kind::kRawCamera) {
      raw_camera_frame(raw.data(), raw.size(), uint32_t(time), rng);
      payload = raw;
    } else {
      synth::SyntheticMessage m = mix.next();
      while (m.topic_index != topic) m = mix.next();
      payload = m.payload;
    }
    if (input.builders.back().size() + payload.size() > kPieceBytes &&
        !input.builders.back().empty()) {
      input.builders.emplace_back();
    }
    uint8_t* data = input.builders.back().add_message_uninitialized(1, uint32_t(time), time, time,
                                                                    payload.size());
    std::copy(payload.begin(), payload.end(), data);
    total += payload.size();
    ++time;
  }
  for (const mcap::ChunkBuilder& b : input.builders) input.pieces.push_back(b.piece());
  input.payload_bytes = total;
  return input;
}

void BM_EncodeKind(benchmark::State& state, Compression codec, Kind kind) {
  const ChunkInput input = make_kind_chunk(kind);
  mcap::Compressor compressor;
  mcap::EncodedChunk encoded;
  mcap::ChunkEncodeOptions options;
  options.compression = codec;
  options.level = 1;
  // Keep any saving, so that the ratio is the codec's own.
  options.min_saving_percent = 0;
  for (auto _ : state) {
    if (!mcap::encode_chunk(input.pieces, options, compressor, encoded).ok()) {
      state.SkipWithError("encode failed");
      return;
    }
    benchmark::DoNotOptimize(encoded.crc);
  }
  report(state, input);
  state.counters["ratio"] = double(encoded.compressed_size) / double(encoded.uncompressed_size);
}

#define MCAPREC_KIND_BENCH(name, kind)                                     \
  BENCHMARK_CAPTURE(BM_EncodeKind, name##_zstd1, Compression::kZstd, kind) \
      ->Unit(benchmark::kMicrosecond);                                     \
  BENCHMARK_CAPTURE(BM_EncodeKind, name##_lz4, Compression::kLz4, kind)    \
      ->Unit(benchmark::kMicrosecond);                                     \
  BENCHMARK_CAPTURE(BM_EncodeKind, name##_none, Compression::kNone, kind)  \
      ->Unit(benchmark::kMicrosecond)

MCAPREC_KIND_BENCH(raw_camera, Kind::kRawCamera);
MCAPREC_KIND_BENCH(encoded_camera, Kind::kEncodedCamera);
MCAPREC_KIND_BENCH(point_cloud, Kind::kPointCloud);
MCAPREC_KIND_BENCH(lidar_packet, Kind::kLidarPacket);
MCAPREC_KIND_BENCH(imu, Kind::kImu);
MCAPREC_KIND_BENCH(can, Kind::kCan);
MCAPREC_KIND_BENCH(json, Kind::kJson);

BENCHMARK_CAPTURE(BM_EncodeTried, zstd1_64k, Compression::kZstd, 64 << 10, false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_EncodeTried, zstd1_1200, Compression::kZstd, 1200, false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_EncodeTried, lz4_64k, Compression::kLz4, 64 << 10, false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_EncodeTried, none_64k, Compression::kNone, 64 << 10, false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_EncodeTried, zstd1_64k_compressible, Compression::kZstd, 64 << 10, true)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_GroupPolicy, zstd1_64k, Compression::kZstd, 64 << 10)
    ->Iterations(4000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_GroupPolicy, zstd1_1200, Compression::kZstd, 1200)
    ->Iterations(4000)
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
