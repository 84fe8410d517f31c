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
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "mcap/chunk.hpp"
#include "pipeline/compression_choice.hpp"

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
