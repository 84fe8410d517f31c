// CRC-32 throughput: mcaprec's crc32 (ISA-L folding) against zlib's crc32, the usual baseline,
// on the same buffers in the same run. Every MCAP CRC (chunks, data section, summary) goes
// through this function, so it must stay far above disk and compressor speeds (target 10 GB/s).
#include <benchmark/benchmark.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <random>

#include "mcap/crc32.hpp"

namespace {

using mcaprec::mcap::Bytes;

Bytes random_bytes(size_t size) {
  std::mt19937_64 rng(42);
  Bytes bytes(size);
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  return bytes;
}

void BM_Crc32_Isal(benchmark::State& state) {
  const Bytes data = random_bytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(mcaprec::mcap::crc32(data));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

void BM_Crc32_Zlib(benchmark::State& state) {
  const Bytes data = random_bytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(::crc32(0L, data.data(), static_cast<uInt>(data.size())));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

// Both functions must agree, or the comparison is meaningless.
bool implementations_agree() {
  const Bytes data = random_bytes(1 << 20);
  return mcaprec::mcap::crc32(data) == ::crc32(0L, data.data(), static_cast<uInt>(data.size()));
}

}  // namespace

BENCHMARK(BM_Crc32_Isal)->Arg(64 << 10)->Arg(1 << 20);
BENCHMARK(BM_Crc32_Zlib)->Arg(64 << 10)->Arg(1 << 20);

int main(int argc, char** argv) {
  if (!implementations_agree()) {
    std::fputs("crc32_bench: ISA-L and zlib CRC-32 disagree\n", stderr);
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
