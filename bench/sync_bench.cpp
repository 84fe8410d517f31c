// What the sync policy costs: the recording pipeline writes the synthetic sensor mix to a real
// file as fast as it is fed, with output.sync_interval off, 1 s, 100 ms and 10 ms, and reports
// the throughput until the data is durable (stop() included: the finalizer's fdatasync is what
// "off" pays at the end), how many periodic syncs ran and how long they took.
//
//   sync_bench [directory (default /tmp)] [payload MB per run (default 1000)] [rounds (default 2)]
//
// Modes run interleaved, `rounds` times each, so that a disk or a neighbour that slows down for
// a while does not land on one mode only. The directory must be on the disk being measured
// (not tmpfs).
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/pipeline.hpp"
#include "synth/sensor_mix.hpp"

namespace {

using namespace mcaprec;
using Clock = std::chrono::steady_clock;

struct Workload {
  std::vector<synth::TopicSpec> topics;
  struct Item {
    uint16_t topic;
    uint32_t sequence;
    mcap::Timestamp log_time;
    mcap::Bytes payload;
  };
  std::vector<Item> items;
  uint64_t payload_bytes = 0;
};

// Two seconds of the default mix (seed 1), generated before any timing.
Workload make_workload() {
  Workload out;
  synth::SensorMix mix;
  out.topics = mix.topics();
  const synth::SyntheticMessage first = mix.next();
  const mcap::Timestamp end = first.log_time + 2'000'000'000ULL;
  for (synth::SyntheticMessage m = first; m.log_time < end; m = mix.next()) {
    out.items.push_back({static_cast<uint16_t>(m.topic_index), m.sequence, m.log_time,
                         mcap::Bytes(m.payload.begin(), m.payload.end())});
    out.payload_bytes += m.payload.size();
  }
  return out;
}

struct Result {
  double seconds = 0;
  uint64_t payload_bytes = 0;
  uint64_t file_bytes = 0;
  uint64_t syncs = 0;
  double sync_seconds = 0;
  double max_sync_ms = 0;
  uint64_t dropped = 0;
};

bool run(const Workload& w, const std::string& directory, std::chrono::nanoseconds interval,
         uint64_t payload_target, Result& out) {
  const std::string dir = directory + "/mcaprec_sync_bench_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  pipeline::PipelineOptions options;
  options.directory = dir;
  options.max_bytes = 0;  // one file
  options.compression = mcap::Compression::kZstd;
  options.compression_level = 1;
  options.compressor_threads = 2;
  options.memory_budget = uint64_t{256} << 20;
  options.default_overflow = pipeline::OverflowPolicy::kBlock;
  options.sync_interval = interval;
  const Clock::time_point start = Clock::now();
  auto started = pipeline::Pipeline::start(options);
  if (!started) {
    std::fprintf(stderr, "%s\n", started.error().to_string().c_str());
    return false;
  }
  pipeline::Pipeline& pipe = **started;
  std::vector<pipeline::ChannelHandle> channels;
  for (const synth::TopicSpec& t : w.topics) {
    pipeline::ChannelSpec spec;
    spec.topic = t.topic;
    spec.message_encoding = t.message_encoding;
    auto handle = pipe.declare_channel(spec);
    if (!handle) return false;
    channels.push_back(*handle);
  }
  uint64_t pushed = 0;
  uint64_t offset = 0;  // log time shift per pass, so times keep increasing
  while (pushed < payload_target) {
    for (const Workload::Item& item : w.items) {
      (void)pipe.push(channels[item.topic], item.log_time + offset, item.log_time + offset,
                      item.sequence, item.payload);
    }
    pushed += w.payload_bytes;
    offset += 2'000'000'000ULL;
  }
  if (mcap::Status s = pipe.stop(); !s) {
    std::fprintf(stderr, "%s\n", s.error().to_string().c_str());
    return false;
  }
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const pipeline::PipelineStats stats = pipe.stats();
  out.payload_bytes = pushed;
  out.file_bytes = stats.writer.bytes_written;
  out.syncs = stats.file.sync.syncs;
  out.sync_seconds = std::chrono::duration<double>(stats.file.sync.sync_time).count();
  out.max_sync_ms =
      std::chrono::duration<double, std::milli>(stats.file.sync.max_sync_time).count();
  for (const pipeline::ChannelStats& c : stats.channels) out.dropped += c.dropped_total();
  std::filesystem::remove_all(dir);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string directory = argc > 1 ? argv[1] : "/tmp";
  const uint64_t megabytes = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 2;
  const Workload w = make_workload();
  struct Mode {
    const char* name;
    std::chrono::nanoseconds interval;
  };
  const std::vector<Mode> modes = {{"off", std::chrono::nanoseconds(0)},
                                   {"1 s", std::chrono::seconds(1)},
                                   {"100 ms", std::chrono::milliseconds(100)},
                                   {"10 ms", std::chrono::milliseconds(10)}};
  std::printf("payload %llu MB per run into %s, zstd-1, 2 compressor threads\n",
              static_cast<unsigned long long>(megabytes), directory.c_str());
  std::printf("%-7s %5s %9s %9s %7s %9s %10s %8s\n", "sync", "round", "seconds", "MB/s", "syncs",
              "sync_s", "max_ms", "dropped");
  for (int round = 0; round < rounds; ++round) {
    for (const Mode& mode : modes) {
      Result r;
      if (!run(w, directory, mode.interval, megabytes * 1'000'000, r)) return 1;
      std::printf("%-7s %5d %9.2f %9.1f %7llu %9.3f %10.1f %8llu\n", mode.name, round + 1,
                  r.seconds, double(r.payload_bytes) / r.seconds / 1e6,
                  static_cast<unsigned long long>(r.syncs), r.sync_seconds, r.max_sync_ms,
                  static_cast<unsigned long long>(r.dropped));
      std::fflush(stdout);
    }
  }
  return 0;
}
