// Writer throughput on the synthetic sensor mix (lib/synth): one thread serializes, compresses
// every chunk and writes, exactly as mcap::Writer does it. These figures are the single-threaded
// baseline that the recording pipeline (compressor pool + ordered writer) must beat with the
// same codec, level and chunk size.
//
// The workload (two seconds of the default mix, ~19 MB) is generated once, before timing, so
// the figures are the writer's cost only. Bytes processed are message payload bytes.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "declare_topics.hpp"
#include "mcap/sink.hpp"
#include "mcap/writer.hpp"
#include "process_cpu.hpp"
#include "storage/file_sink.hpp"
#include "synth/sensor_mix.hpp"

namespace {

using namespace mcaprec;
using bench::process_cpu_seconds;
using mcap::Compression;

constexpr double kWorkloadSeconds = 2.0;

struct Workload {
  std::vector<synth::TopicSpec> topics;
  mcap::Bytes payloads;  // every payload, back to back
  struct Item {
    uint16_t channel_id;
    uint32_t sequence;
    mcap::Timestamp log_time;
    uint64_t offset;
    uint32_t size;
  };
  std::vector<Item> items;
};

const Workload& workload() {
  static const Workload w = [] {
    Workload out;
    synth::SensorMix mix;
    out.topics = mix.topics();
    const synth::SyntheticMessage first = mix.next();
    const mcap::Timestamp end = first.log_time + static_cast<uint64_t>(kWorkloadSeconds * 1e9);
    for (synth::SyntheticMessage m = first; m.log_time < end; m = mix.next()) {
      out.items.push_back({static_cast<uint16_t>(m.topic_index + 1), m.sequence, m.log_time,
                           out.payloads.size(), static_cast<uint32_t>(m.payload.size())});
      out.payloads.insert(out.payloads.end(), m.payload.begin(), m.payload.end());
    }
    return out;
  }();
  return w;
}

// Appends into a buffer the benchmark owns and keeps between iterations, so that the figures
// measure the writer and not vector growth and page faults (MemorySink grows a fresh vector
// for every file; the kGrowingMemorySink variant shows what that costs).
class ReusedBufferSink : public mcap::ByteSink {
 public:
  explicit ReusedBufferSink(mcap::Bytes& buffer) : buffer_(buffer) { buffer_.clear(); }
  mcap::Status write(mcap::ByteView data) override {
    buffer_.insert(buffer_.end(), data.begin(), data.end());
    return {};
  }

 private:
  mcap::Bytes& buffer_;
};

enum class SinkKind { kReusedMemory, kGrowingMemorySink, kFile };

// Writes the whole workload into one MCAP file; returns the file size.
uint64_t write_workload(const Workload& w, const mcap::WriterOptions& options, SinkKind sink_kind,
                        const std::string& path, mcap::Bytes& buffer, benchmark::State& state) {
  std::unique_ptr<mcap::ByteSink> sink;
  if (sink_kind == SinkKind::kReusedMemory) {
    sink = std::make_unique<ReusedBufferSink>(buffer);
  } else if (sink_kind == SinkKind::kGrowingMemorySink) {
    sink = std::make_unique<mcap::MemorySink>();
  } else {
    auto file = storage::FileSink::create(path);
    if (!file) {
      state.SkipWithError(file.error().to_string().c_str());
      return 0;
    }
    sink = std::move(*file);
  }
  auto opened = mcap::Writer::open(std::move(sink), options);
  if (!opened) {
    state.SkipWithError(opened.error().to_string().c_str());
    return 0;
  }
  mcap::Writer& writer = **opened;
  mcap::Status status = bench::declare_topics(writer, w.topics);
  for (const Workload::Item& item : w.items) {
    if (!status.ok()) break;
    status = writer.write_message({item.channel_id, item.sequence, item.log_time, item.log_time,
                                   mcap::ByteView(w.payloads.data() + item.offset, item.size)});
  }
  if (status.ok()) status = writer.close();
  if (!status.ok()) {
    state.SkipWithError(status.error().to_string().c_str());
    return 0;
  }
  return writer.bytes_written();
}

void BM_Writer(benchmark::State& state, Compression compression, int level, SinkKind sink_kind) {
  const Workload& w = workload();
  mcap::WriterOptions options;
  options.compression = compression;
  options.compression_level = level;
  options.chunk_size = 1 << 20;  // the configuration default
  const std::string path = "/tmp/mcaprec_writer_bench_" + std::to_string(getpid()) + ".mcap";

  mcap::Bytes buffer;
  if (sink_kind == SinkKind::kReusedMemory) {
    // Sized by one untimed run, so that timed runs never grow it.
    buffer.reserve(write_workload(w, options, SinkKind::kGrowingMemorySink, path, buffer, state));
  }

  uint64_t file_bytes = 0;
  const double cpu_start = process_cpu_seconds();
  for (auto _ : state) {
    file_bytes = write_workload(w, options, sink_kind, path, buffer, state);
  }
  const double cpu_seconds = process_cpu_seconds() - cpu_start;
  if (sink_kind == SinkKind::kFile) std::remove(path.c_str());

  const double payload_bytes =
      static_cast<double>(w.payloads.size()) * static_cast<double>(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(payload_bytes));
  state.SetItemsProcessed(static_cast<int64_t>(w.items.size() * state.iterations()));
  state.counters["CPU_s_per_GB"] = cpu_seconds / (payload_bytes / 1e9);
  state.counters["size_ratio"] =
      static_cast<double>(file_bytes) / static_cast<double>(w.payloads.size());
}

BENCHMARK_CAPTURE(BM_Writer, none_memory, Compression::kNone, 0, SinkKind::kReusedMemory)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Writer, lz4_memory, Compression::kLz4, 0, SinkKind::kReusedMemory)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Writer, zstd1_memory, Compression::kZstd, 1, SinkKind::kReusedMemory)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Writer, zstd1_growing_memorysink, Compression::kZstd, 1,
                  SinkKind::kGrowingMemorySink)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Writer, zstd1_file_tmp, Compression::kZstd, 1, SinkKind::kFile)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
