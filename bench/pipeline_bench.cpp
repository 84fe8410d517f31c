// The recording pipeline against the single-threaded format library on the synthetic sensor
// mix, in one run: mcap::Writer compressing inline on one thread (the baseline) and the
// pipeline with K = 1, 2 and 4 compressor threads, all with zstd level 1 and 1 MiB chunks, all
// writing to a sink that only counts bytes (the disk is not what is measured).
//
// Counters (computed here, not by Google Benchmark, because the work is spread over threads):
//   payload_MBps    message payload bytes per wall second (10^6 bytes)
//   CPU_s_per_GB    process CPU seconds (every thread) per 10^9 payload bytes
//   writer_share    the ordered writer thread's CPU / process CPU (pipeline only)
//   allocs_per_msg  global operator new calls per message after the first pass (warm-up)
//   steady_allocs_per_msg  the same over the second half of the passes (pipeline only)
//   peak_RSS_MiB    ru_maxrss of the process so far (a high-water mark over the whole run)
//   budget_MiB      the pipeline's memory_budget
//   dropped         messages the pipeline did not write (must be 0: every channel blocks)
//   file_ratio      file bytes / payload bytes (baseline only)
//   skipped_share   chunks stored raw without trying to compress / chunks written
//   zstd_ratio      compressed / uncompressed chunk bytes
#include <benchmark/benchmark.h>
#include <execinfo.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "declare_topics.hpp"
#include "mcap/sink.hpp"
#include "mcap/writer.hpp"
#include "pipeline/pipeline.hpp"
#include "process_cpu.hpp"
#include "synth/sensor_mix.hpp"

// Every allocation of the process is counted, whatever thread makes it.
namespace {
std::atomic<uint64_t> g_allocations{0};
// MCAPREC_BENCH_TRACE_ALLOCS=N: print the call stacks of the first N allocations counted in
// steady state (stderr; resolve with `addr2line -Cfe pipeline_bench +OFFSET`).
std::atomic<int> g_traces_left{0};

void trace_allocation() {
  if (g_traces_left.load(std::memory_order_relaxed) <= 0) return;
  if (g_traces_left.fetch_sub(1, std::memory_order_relaxed) <= 0) return;
  void* frames[16];
  const int n = backtrace(frames, 16);
  static const char kMark[] = "--- allocation\n";
  (void)!write(2, kMark, sizeof(kMark) - 1);
  backtrace_symbols_fd(frames, n, 2);
}

void* counted_allocation(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  trace_allocation();
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}

void* counted_aligned_allocation(size_t size, std::align_val_t align) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const size_t alignment = static_cast<size_t>(align);
  const size_t rounded = (std::max<size_t>(size, 1) + alignment - 1) / alignment * alignment;
  if (void* p = std::aligned_alloc(alignment, rounded)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(size_t size) {
  return counted_allocation(size);
}
void* operator new[](size_t size) {
  return counted_allocation(size);
}
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new(size_t size, std::align_val_t align) {
  return counted_aligned_allocation(size, align);
}
void* operator new[](size_t size, std::align_val_t align) {
  return counted_aligned_allocation(size, align);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, size_t, std::align_val_t) noexcept {
  std::free(p);
}

namespace {

using namespace mcaprec;
using bench::process_cpu_seconds;

constexpr double kWorkloadSeconds = 2.0;
constexpr uint64_t kChunkSize = uint64_t{1} << 20;
constexpr uint64_t kMemoryBudget = uint64_t{64} << 20;

struct Workload {
  std::vector<synth::TopicSpec> topics;
  mcap::Bytes payloads;  // every payload, back to back
  struct Item {
    uint16_t topic;
    uint32_t sequence;
    mcap::Timestamp log_time;
    uint64_t offset;
    uint32_t size;
  };
  std::vector<Item> items;
  uint64_t payload_bytes = 0;
};

// Two seconds of the default mix (seed 1), generated once before any timing.
const Workload& workload() {
  static const Workload w = [] {
    Workload out;
    std::vector<synth::TopicSpec> topics = synth::default_sensor_mix();
    // MCAPREC_BENCH_MIX=camera_heavy: the camera at 40 Hz (as make_mix_file writes it), so
    // that 81 % of the payload is incompressible frames: the mix where per-channel
    // compression decisions matter most.
    const char* mix_name = std::getenv("MCAPREC_BENCH_MIX");
    if (mix_name != nullptr && std::string(mix_name) == "camera_heavy") {
      for (synth::TopicSpec& t : topics) {
        if (t.kind == synth::PayloadKind::kCameraFrame) t.rate_hz = 40;
      }
    }
    synth::SensorMix mix(topics);
    out.topics = mix.topics();
    const synth::SyntheticMessage first = mix.next();
    const mcap::Timestamp end = first.log_time + static_cast<uint64_t>(kWorkloadSeconds * 1e9);
    for (synth::SyntheticMessage m = first; m.log_time < end; m = mix.next()) {
      out.items.push_back({static_cast<uint16_t>(m.topic_index), m.sequence, m.log_time,
                           out.payloads.size(), static_cast<uint32_t>(m.payload.size())});
      out.payloads.insert(out.payloads.end(), m.payload.begin(), m.payload.end());
    }
    out.payload_bytes = out.payloads.size();
    return out;
  }();
  return w;
}

mcap::ByteView payload_of(const Workload& w, const Workload::Item& item) {
  return mcap::ByteView(w.payloads.data() + item.offset, item.size);
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB
}

// Counts what it is given and keeps nothing.
class CountingSink : public mcap::ByteSink {
 public:
  mcap::Status write(mcap::ByteView data) override {
    bytes_ += data.size();
    return {};
  }

 private:
  uint64_t bytes_ = 0;
};

// The pipeline renames `<path>.active` when it finalizes the file, so the name must exist.
storage::SinkFactory counting_sink_factory() {
  return [](const std::string& path) -> mcap::Result<std::unique_ptr<mcap::ByteSink>> {
    std::ofstream touch(path, std::ios::binary | std::ios::trunc);
    return std::unique_ptr<mcap::ByteSink>(std::make_unique<CountingSink>());
  };
}

struct Measurement {
  double cpu_start = process_cpu_seconds();
  double wall_start = wall_seconds();
  uint64_t alloc_mark = 0;
  uint64_t messages_at_mark = 0;

  void report(benchmark::State& state, uint64_t iterations, uint64_t alloc_end,
              uint64_t messages_end, double cpu_seconds, double wall_seconds_taken) const {
    const double bytes = static_cast<double>(workload().payload_bytes) * double(iterations);
    state.counters["payload_MBps"] = bytes / wall_seconds_taken / 1e6;
    state.counters["CPU_s_per_GB"] = cpu_seconds / bytes * 1e9;
    state.counters["allocs_per_msg"] =
        messages_end > messages_at_mark
            ? double(alloc_end - alloc_mark) / double(messages_end - messages_at_mark)
            : -1;
    state.counters["peak_RSS_MiB"] = peak_rss_mib();
    state.SetBytesProcessed(static_cast<int64_t>(bytes));
  }
};

// mcap::Writer on this thread: serialize, compress and write each chunk inline.
void BM_BaselineWriter(benchmark::State& state) {
  const Workload& w = workload();
  mcap::WriterOptions options;
  options.compression = mcap::Compression::kZstd;
  options.compression_level = 1;
  options.chunk_size = kChunkSize;

  Measurement m;
  uint64_t iterations = 0;
  uint64_t messages = 0;
  uint64_t file_bytes = 0;
  for (auto _ : state) {
    if (iterations == 1) {
      m.alloc_mark = g_allocations.load();
      m.messages_at_mark = messages;
    }
    auto opened = mcap::Writer::open(std::make_unique<CountingSink>(), options);
    if (!opened) {
      state.SkipWithError(opened.error().to_string().c_str());
      return;
    }
    mcap::Writer& writer = **opened;
    mcap::Status status = bench::declare_topics(writer, w.topics);
    for (const Workload::Item& item : w.items) {
      if (!status.ok()) break;
      status = writer.write_message({static_cast<uint16_t>(item.topic + 1), item.sequence,
                                     item.log_time, item.log_time, payload_of(w, item)});
    }
    if (status.ok()) status = writer.close();
    if (!status.ok()) {
      state.SkipWithError(status.error().to_string().c_str());
      return;
    }
    file_bytes = writer.bytes_written();
    messages += w.items.size();
    ++iterations;
  }
  const uint64_t alloc_end = g_allocations.load();
  state.counters["file_ratio"] = double(file_bytes) / double(w.payload_bytes);
  m.report(state, iterations, alloc_end, messages, process_cpu_seconds() - m.cpu_start,
           wall_seconds() - m.wall_start);
}

// One pipeline for the whole benchmark, fed the workload again and again from this thread.
// stop() (draining what is still queued) is inside the measured time.
void BM_Pipeline(benchmark::State& state) {
  const Workload& w = workload();
  pipeline::PipelineOptions options;
  options.output_path = "/tmp/mcaprec_pipeline_bench_" + std::to_string(getpid()) + ".mcap";
  options.compression = mcap::Compression::kZstd;
  options.compression_level = 1;
  options.chunk_size = kChunkSize;
  options.compressor_threads = static_cast<unsigned>(state.range(0));
  options.memory_budget = kMemoryBudget;
  options.default_overflow = pipeline::OverflowPolicy::kBlock;
  options.open_sink = counting_sink_factory();

  Measurement m;
  auto started = pipeline::Pipeline::start(options);
  if (!started) {
    state.SkipWithError(started.error().to_string().c_str());
    return;
  }
  pipeline::Pipeline& pipe = **started;
  std::vector<pipeline::ChannelHandle> channels;
  for (const synth::TopicSpec& t : w.topics) {
    pipeline::ChannelSpec spec;
    spec.topic = t.topic;
    spec.message_encoding = t.message_encoding;
    if (!t.schema_name.empty()) {
      spec.schema = pipeline::SchemaSpec{t.schema_name, t.schema_encoding,
                                         mcap::Bytes(t.schema_data.begin(), t.schema_data.end())};
    }
    auto handle = pipe.declare_channel(spec);
    if (!handle) {
      state.SkipWithError(handle.error().to_string().c_str());
      return;
    }
    channels.push_back(*handle);
  }

  uint64_t iterations = 0;
  uint64_t messages = 0;
  uint64_t refused = 0;
  // Recycled chunks (and their buffers) keep growing in number over the first passes, while
  // new highs of chunks in flight at once occur: steady state is counted over the second half
  // of the passes.
  const uint64_t steady_from = std::max<uint64_t>(1, state.max_iterations / 2);
  uint64_t steady_alloc_mark = 0;
  uint64_t steady_messages_mark = 0;
  for (auto _ : state) {
    if (iterations == 1) {
      m.alloc_mark = g_allocations.load();
      m.messages_at_mark = messages;
    }
    if (iterations == steady_from) {
      steady_alloc_mark = g_allocations.load();
      steady_messages_mark = messages;
      if (const char* n = std::getenv("MCAPREC_BENCH_TRACE_ALLOCS")) g_traces_left = std::atoi(n);
    }
    for (const Workload::Item& item : w.items) {
      if (!pipe.push(channels[item.topic], item.log_time, item.log_time, item.sequence,
                     payload_of(w, item))
               .ok()) {
        ++refused;
      }
    }
    messages += w.items.size();
    ++iterations;
  }
  const uint64_t alloc_end = g_allocations.load();
  g_traces_left = 0;
  const mcap::Status stopped = pipe.stop();
  const double cpu_seconds = process_cpu_seconds() - m.cpu_start;
  const double wall = wall_seconds() - m.wall_start;
  if (!stopped) state.SkipWithError(stopped.error().to_string().c_str());
  const pipeline::PipelineStats stats = pipe.stats();
  uint64_t dropped = 0;
  for (const pipeline::ChannelStats& c : stats.channels) dropped += c.dropped_total();
  m.report(state, iterations, alloc_end, messages, cpu_seconds, wall);
  state.counters["steady_allocs_per_msg"] =
      messages > steady_messages_mark && iterations > steady_from
          ? double(alloc_end - steady_alloc_mark) / double(messages - steady_messages_mark)
          : -1;
  state.counters["writer_share"] =
      std::chrono::duration<double>(stats.writer.cpu_time).count() / cpu_seconds;
  state.counters["compressor_share"] =
      std::chrono::duration<double>(stats.compression.cpu_time).count() / cpu_seconds;
  state.counters["budget_MiB"] = static_cast<double>(stats.memory.budget) / (1 << 20);
  // Chunks the pipeline stored raw without trying zstd (a run of incompressible chunks), and
  // what compression achieved: both explain CPU figures below the baseline's.
  state.counters["skipped_share"] =
      stats.writer.chunks_written
          ? double(stats.compression.chunks_skipped) / double(stats.writer.chunks_written)
          : 0;
  state.counters["zstd_ratio"] = stats.compression.uncompressed_bytes
                                     ? double(stats.compression.compressed_bytes) /
                                           double(stats.compression.uncompressed_bytes)
                                     : 0;
  state.counters["dropped"] = static_cast<double>(dropped);
  state.counters["refused"] = static_cast<double>(refused);
  std::remove(options.output_path.c_str());
}

BENCHMARK(BM_BaselineWriter)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Pipeline)
    ->ArgName("K")
    ->Arg(1)
    ->Arg(2)
    ->Arg(4)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
