// What reserving room costs the writer: 1 MiB chunks appended to a file, as the recording file
// appends them (reserve, then write) and without the reserve; and in plain system calls, write(2)
// alone against a fallocate before each write. The file is cut back to empty every 256 MiB so
// that the page cache stays small; CPU-s/GB is the process's CPU time per 10^9 bytes written.
//
//   MCAPREC_BENCH_DIR=/dev/shm file_sink_bench --benchmark_repetitions=5
//
// The directory defaults to /dev/shm: on tmpfs the figure is the kernel's page-cache work alone,
// which a disk's figure would bury under its own noise.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "mcap/records.hpp"
#include "process_cpu.hpp"
#include "storage/file_sink.hpp"

namespace {

using namespace mcaprec;
using bench::process_cpu_seconds;

constexpr size_t kChunkBytes = size_t{1} << 20;
constexpr uint64_t kCutBackBytes = uint64_t{256} << 20;

std::string bench_path() {
  const char* dir = std::getenv("MCAPREC_BENCH_DIR");
  return std::string(dir != nullptr ? dir : "/dev/shm") + "/mcaprec_file_sink_bench.bin";
}

void report(benchmark::State& state, double cpu_seconds, uint64_t bytes) {
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["CPU_s_per_GB"] = cpu_seconds / (static_cast<double>(bytes) / 1e9);
}

// Plain system calls, one chunk at a time: write(2) alone (the floor), or after a
// fallocate(KEEP_SIZE) of the chunk's room.
void BM_SystemCalls(benchmark::State& state, bool fallocate_first) {
  const std::string path = bench_path();
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) return state.SkipWithError(("cannot create " + path).c_str());
  const mcap::Bytes chunk(kChunkBytes, 7);
  uint64_t bytes = 0;
  uint64_t size = 0;
  const double cpu = process_cpu_seconds();
  for (auto _ : state) {
    if (fallocate_first) {
      (void)::fallocate(fd, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(size),
                        static_cast<off_t>(chunk.size()));
    }
    if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) {
      return state.SkipWithError("write failed");
    }
    bytes += chunk.size();
    if ((size += chunk.size()) >= kCutBackBytes) {
      (void)::ftruncate(fd, 0);
      (void)::lseek(fd, 0, SEEK_SET);
      size = 0;
    }
  }
  report(state, process_cpu_seconds() - cpu, bytes);
  ::close(fd);
  ::unlink(path.c_str());
}

// storage::FileSink as the recording file drives it: reserve(chunk), then write(chunk); with
// argument 0 without the reserve, its baseline.
void BM_FileSink(benchmark::State& state) {
  const bool reserving = state.range(0) != 0;
  const std::string path = bench_path();
  const mcap::Bytes chunk(kChunkBytes, 7);
  uint64_t bytes = 0;
  double cpu = 0;
  while (state.KeepRunning()) {
    auto sink = storage::FileSink::create(path);
    if (!sink.ok()) return state.SkipWithError(sink.error().message.c_str());
    const double began = process_cpu_seconds();
    for (uint64_t size = 0; size < kCutBackBytes; size += chunk.size()) {
      if ((reserving && !(*sink)->reserve(chunk.size()).ok()) || !(*sink)->write(chunk).ok()) {
        return state.SkipWithError("reserve or write failed");
      }
      bytes += chunk.size();
    }
    if (!(*sink)->close().ok()) return state.SkipWithError("close failed");
    cpu += process_cpu_seconds() - began;
  }
  report(state, cpu, bytes);
  ::unlink(path.c_str());
}

}  // namespace

BENCHMARK_CAPTURE(BM_SystemCalls, write, false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_SystemCalls, fallocate_then_write, true)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FileSink)->ArgName("reserve")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
