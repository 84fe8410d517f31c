#pragma once
// CPU seconds of the whole process, every thread included: the benches report CPU-s/GB from it,
// since wall time on these shared 2-vCPU machines says little.
#include <ctime>

namespace mcaprec::bench {

inline double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace mcaprec::bench
