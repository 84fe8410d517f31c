// The look-back ring alone under a stream of incompressible 1 MiB chunks: one thread adds them
// as the ordered writer does (log time advancing with it), another spills as the event
// thread does, paced at about 500 MB/s. Prints each thread's CPU seconds per GB added and what the
// ring could not hold.
//
//   look_back_ring_bench SPOOL_DIR [GB=4] [MEMORY_MIB=512] [SPOOL_MIB=4096] [LOOK_BACK_S=8]
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "events/look_back_ring.hpp"
#include "pipeline/thread_cpu.hpp"

int main(int argc, char** argv) {
  using namespace mcaprec;
  if (argc < 2) {
    std::fprintf(
        stderr,
        "usage: look_back_ring_bench SPOOL_DIR [GB] [MEMORY_MIB] [SPOOL_MIB] [LOOK_BACK_S]\n");
    return 2;
  }
  const double gigabytes = argc > 2 ? std::atof(argv[2]) : 4;
  const uint64_t memory = (argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 512) << 20;
  const uint64_t spool_bytes = (argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 4096) << 20;
  const int look_back_s = argc > 5 ? std::atoi(argv[5]) : 8;
  constexpr size_t kChunk = 1 << 20;
  constexpr size_t kSources = 64;  // the pipeline cycles its segments: sources not all in cache
  constexpr mcap::Timestamp kChunkTime = 2'000'000;  // 1 MiB per 2 ms: about 500 MB/s

  const std::string path = (std::filesystem::path(argv[1]) / "bench_lookback.spool").string();
  auto spool = events::Spool::open(path, spool_bytes);
  if (!spool) return 1;
  events::LookBackRing ring(events::RingLimits{std::chrono::seconds(look_back_s), memory},
                            spool->get());
  std::vector<mcap::EncodedChunk> sources(kSources);
  for (size_t i = 0; i < kSources; ++i) {
    sources[i].bytes.resize(kChunk);
    for (size_t j = 0; j < kChunk; j += 64) sources[i].bytes[j] = uint8_t(i + j);
    sources[i].message_count = 16;
  }
  const auto chunks = static_cast<uint64_t>(gigabytes * 1e9 / kChunk);
  std::atomic<uint64_t> added{0};
  std::atomic<bool> done{false};
  double writer_cpu = 0;
  double events_cpu = 0;
  std::thread events_thread([&] {
    uint64_t seen = 0;
    while (!done.load() || seen != added.load()) {
      seen = added.load();
      if (!ring.spill(64 << 20)) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    events_cpu = double(pipeline::thread_cpu_ns()) / 1e9;
  });
  const auto start = std::chrono::steady_clock::now();
  std::thread writer_thread([&] {
    for (uint64_t i = 0; i < chunks; ++i) {
      std::this_thread::sleep_until(start + std::chrono::nanoseconds(i * kChunkTime));
      mcap::EncodedChunk& chunk = sources[i % kSources];
      chunk.message_start_time = (i + 1) * kChunkTime;
      chunk.message_end_time = (i + 2) * kChunkTime - 1;
      ring.add(chunk, false);
      added.fetch_add(1);
    }
    writer_cpu = double(pipeline::thread_cpu_ns()) / 1e9;
    done.store(true);
  });
  writer_thread.join();
  events_thread.join();
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const events::RingStats stats = ring.stats();
  const double gb = double(chunks) * kChunk / 1e9;
  std::printf(
      "{\"GB\": %.2f, \"wall_s\": %.2f, \"writer_cpu_s_per_GB\": %.3f, "
      "\"events_cpu_s_per_GB\": %.3f, \"spilled\": %llu, \"not_held\": %llu}\n",
      gb, wall, writer_cpu / gb, events_cpu / gb, (unsigned long long)stats.chunks_spilled,
      (unsigned long long)stats.chunks_not_held);
  return 0;
}
