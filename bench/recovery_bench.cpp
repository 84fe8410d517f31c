// Recovery speed: how fast `recover_file` brings back a large recording whose end was lost, with
// the file in the page cache (the state after a daemon crash; after a power cut the first read
// comes from the disk instead, at the disk's speed).
//
//   recovery_bench WORK_FILE [ITERATIONS] [--cut summary|mid-chunk] [--threads N]
//
// WORK_FILE is a complete recording that the bench may damage (a copy: it is cut, recovered,
// and cut again each iteration; it ends as a valid recovered file). Each iteration truncates it
// (after the last chunk's message indexes for `summary`, the default; in the middle of the last
// chunk for `mid-chunk`), fdatasyncs that state outside the timing, renames it `.active`, and
// times recover_file with its fdatasync, rename and directory fsync. A dry run (the scan alone)
// is timed too. Prints wall time, GB/s over the bytes scanned, and CPU-seconds per GB.
// --threads sets RecoverOptions::threads (default 0: one per CPU, at most 4).
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "mcap/reader.hpp"
#include "storage/recovery.hpp"

using namespace mcaprec;

namespace {

double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

bool cut_file(const std::string& path, uint64_t length) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::ftruncate(fd, static_cast<off_t>(length)) == 0 && ::fdatasync(fd) == 0;
  ::close(fd);
  return ok;
}

struct Timing {
  double wall = 0;
  double cpu = 0;
};

template <class F>
Timing timed(F&& work) {
  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  work();
  const auto t1 = std::chrono::steady_clock::now();
  return {std::chrono::duration<double>(t1 - t0).count(), cpu_seconds() - cpu0};
}

void print_line(const char* what, const Timing& t, uint64_t bytes) {
  const double gb = double(bytes) / 1e9;
  std::printf("%-28s %8.3f s wall  %6.2f GB/s  %6.3f CPU-s  %6.3f CPU-s/GB\n", what, t.wall,
              gb / t.wall, t.cpu, t.cpu / gb);
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  int iterations = 3;
  std::string cut_mode = "summary";
  unsigned threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--cut" && i + 1 < argc) {
      cut_mode = argv[++i];
    } else if (arg == "--threads" && i + 1 < argc) {
      threads = static_cast<unsigned>(std::atoi(argv[++i]));
    } else if (path.empty()) {
      path = arg;
    } else {
      iterations = std::atoi(arg.c_str());
    }
  }
  if (path.empty() || iterations < 1 || (cut_mode != "summary" && cut_mode != "mid-chunk")) {
    std::fprintf(
        stderr,
        "usage: recovery_bench WORK_FILE [ITERATIONS] [--cut summary|mid-chunk] [--threads N]\n");
    return 2;
  }

  uint64_t cut = 0;
  {
    auto file = mcap::MappedFile::open(path);
    if (!file) {
      std::fprintf(stderr, "recovery_bench: %s\n", file.error().to_string().c_str());
      return 1;
    }
    auto summary = mcap::read_summary(file->bytes());
    if (!summary || summary->chunk_indexes.empty()) {
      std::fprintf(stderr, "recovery_bench: %s needs a summary and chunks\n", path.c_str());
      return 1;
    }
    std::map<std::string, uint64_t> by_codec;
    uint64_t chunk_bytes = 0;
    for (const mcap::ChunkIndex& c : summary->chunk_indexes) {
      by_codec[c.compression.empty() ? "none" : c.compression] += c.chunk_length;
      chunk_bytes += c.chunk_length;
    }
    const mcap::ChunkIndex& last = summary->chunk_indexes.back();
    cut = cut_mode == "summary" ? summary->footer.summary_start - mcap::kDataEndRecordSize
                                : last.chunk_start_offset + last.chunk_length / 2;
    std::printf("%s: %.3f GB, %zu chunks", path.c_str(), double(file->bytes().size()) / 1e9,
                summary->chunk_indexes.size());
    for (const auto& [codec, bytes] : by_codec) {
      std::printf(", %s %.1f %%", codec.c_str(), 100.0 * double(bytes) / double(chunk_bytes));
    }
    std::printf(" of chunk bytes; cut at %llu (%s)\n", static_cast<unsigned long long>(cut),
                cut_mode.c_str());
  }

  const std::string active = path + ".active";
  for (int i = 0; i < iterations; ++i) {
    if (!cut_file(path, cut) || std::rename(path.c_str(), active.c_str()) != 0) {
      std::fprintf(stderr, "recovery_bench: cannot prepare %s: %s\n", active.c_str(),
                   std::strerror(errno));
      return 1;
    }
    storage::RecoverOptions options;
    options.threads = threads;
    storage::RecoverOptions dry = options;
    dry.dry_run = true;
    mcap::Result<storage::RecoveryReport> report = mcap::Error{};
    const Timing scan_only = timed([&] { report = storage::recover_file(active, dry); });
    if (!report) {
      std::fprintf(stderr, "recovery_bench: %s\n", report.error().to_string().c_str());
      return 1;
    }
    const Timing full = timed([&] { report = storage::recover_file(active, options); });
    if (!report) {
      std::fprintf(stderr, "recovery_bench: %s\n", report.error().to_string().c_str());
      return 1;
    }
    if (i == 0) std::printf("%s\n", storage::describe(*report).c_str());
    std::printf("iteration %d\n", i + 1);
    print_line("  scan only (--dry-run)", scan_only, report->original_size);
    print_line("  recover (synced, renamed)", full, report->original_size);
  }
  return 0;
}
