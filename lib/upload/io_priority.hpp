#pragma once
// Upload reads finished files while the recorder writes new ones; the recorder must win. The
// uploading thread lowers its own disk and CPU priority (Linux: per thread).
#include <string>

#include "base/result.hpp"

namespace mcaprec::upload {

// The lowest best-effort I/O priority (the idle class could starve the upload for as long as the
// recorder keeps the disk busy, i.e. forever on a recording vehicle).
inline constexpr int kUploadIoClass = 2;  // IOPRIO_CLASS_BE
inline constexpr int kUploadIoLevel = 7;  // 0 (first) .. 7 (last)
inline constexpr int kUploadNice = 10;    // nice(1)'s default: yields to the recorder, not starved

struct ThreadPriority {
  int io_class = 0;  // IOPRIO_CLASS_*: 0 none (follows nice), 1 realtime, 2 best-effort, 3 idle
  int io_level = 0;
  int nice = 0;

  // "I/O best-effort 7, nice 10", for the log.
  std::string to_string() const;
};

// Sets the calling thread's I/O priority to best-effort 7 and its nice value to 10, and returns
// what it reads back. An error names the call that failed (then nothing after it was tried).
base::Result<ThreadPriority> lower_io_priority_of_this_thread();

// The calling thread's priorities as the kernel reports them.
base::Result<ThreadPriority> priority_of_this_thread();

}  // namespace mcaprec::upload
