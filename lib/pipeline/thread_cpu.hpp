#pragma once
// CPU time of the calling thread (user + system), to report each stage's share of the work.
#include <time.h>

#include <cstdint>

namespace mcaprec::pipeline {

inline int64_t thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace mcaprec::pipeline
