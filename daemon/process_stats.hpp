#pragma once
// The standard `process_*` figures of a Prometheus exporter, read from /proc for this process,
// and the free space of the output file system.
#include <cstdint>
#include <optional>
#include <string>

namespace mcaprec::daemon {

struct ProcessStats {
  double cpu_seconds = 0;           // user + system
  uint64_t resident_bytes = 0;      // resident set size
  uint64_t virtual_bytes = 0;       // address space size
  uint64_t open_fds = 0;            // entries of /proc/self/fd
  uint64_t max_fds = 0;             // soft RLIMIT_NOFILE
  uint64_t start_time_seconds = 0;  // Unix time the process started, whole seconds
};

// What /proc says about this process now; a figure that cannot be read stays 0.
ProcessStats read_process_stats();

// Bytes an unprivileged writer can still use on the file system holding `directory`, or none
// when it cannot be asked (the directory does not exist yet).
std::optional<uint64_t> free_bytes(const std::string& directory);

}  // namespace mcaprec::daemon
