#pragma once
// CPU time of the calling thread (user + system), to report each stage's share of the work,
// and thread names, so that `top -H` and profilers show which stage is busy.
#include <pthread.h>
#include <time.h>

#include <cstdint>

namespace mcaprec::pipeline {

inline int64_t thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Names the calling thread (at most 15 characters are kept).
inline void name_this_thread(const char* name) {
  ::pthread_setname_np(::pthread_self(), name);
}

}  // namespace mcaprec::pipeline
