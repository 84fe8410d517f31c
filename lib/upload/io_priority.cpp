#include "upload/io_priority.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mcaprec::upload {

namespace {

// From linux/ioprio.h, which not every libc exposes: the class sits above 13 bits of data.
constexpr int kIoprioClassShift = 13;
constexpr int kIoprioWhoProcess = 1;  // with a thread id: that thread only

pid_t this_thread_id() {
  return static_cast<pid_t>(::syscall(SYS_gettid));
}

base::Error errno_error(const char* call) {
  return base::Error{0, std::string(call) + ": " + std::strerror(errno)};
}

}  // namespace

std::string ThreadPriority::to_string() const {
  static constexpr const char* kClasses[] = {"none", "realtime", "best-effort", "idle"};
  const char* name = io_class >= 0 && io_class <= 3 ? kClasses[io_class] : "unknown";
  return std::string("I/O ") + name + " " + std::to_string(io_level) + ", nice " +
         std::to_string(nice);
}

base::Result<ThreadPriority> priority_of_this_thread() {
  const pid_t tid = this_thread_id();
  const long io = ::syscall(SYS_ioprio_get, kIoprioWhoProcess, tid);
  if (io < 0) return errno_error("ioprio_get");
  errno = 0;
  const int nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
  if (nice == -1 && errno != 0) return errno_error("getpriority");
  ThreadPriority priority;
  priority.io_class = static_cast<int>(io >> kIoprioClassShift);
  priority.io_level = static_cast<int>(io & ((1 << kIoprioClassShift) - 1));
  priority.nice = nice;
  return priority;
}

base::Result<ThreadPriority> lower_io_priority_of_this_thread() {
  const pid_t tid = this_thread_id();
  const int io = (kUploadIoClass << kIoprioClassShift) | kUploadIoLevel;
  if (::syscall(SYS_ioprio_set, kIoprioWhoProcess, tid, io) != 0) {
    return errno_error("ioprio_set");
  }
  // On Linux, nice applies to the one thread named by its id.
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), kUploadNice) != 0) {
    return errno_error("setpriority");
  }
  return priority_of_this_thread();
}

}  // namespace mcaprec::upload
