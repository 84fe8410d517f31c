#pragma once
// Whether the daemon deserves its next systemd watchdog ping. A live main loop is not enough:
// if the disk hangs, the writer stops while everything else keeps running, and only a restart
// (by systemd, when the pings stop) gets the recorder going again. So the daemon pings only
// while the pipeline makes progress: the writer's counters advanced since the last look, or
// nothing is waiting for the writer. Work that waits longer than `stall_after` without the
// writer moving is a stall, and the pings stop until it moves again.
#include <chrono>
#include <cstdint>

#include "pipeline/pipeline.hpp"

namespace mcaprec::daemon {

struct WriterProgress {
  uint64_t chunks_written = 0;
  uint64_t bytes_written = 0;
  uint64_t files_started = 0;
  uint64_t files_finalized = 0;
  uint64_t pending_bytes = 0;  // work the writer still has to do

  // Sealed chunks not yet written are pending; so are queued messages when `count_queued`
  // (the pipeline seals by age, so queued messages must reach the writer in bounded time).
  static WriterProgress from(const pipeline::PipelineStats& stats, bool count_queued);
  bool same_counters(const WriterProgress& other) const;
};

class ProgressWatchdog {
 public:
  using Clock = std::chrono::steady_clock;

  struct Verdict {
    bool ping = false;         // send WATCHDOG=1
    bool stall_began = false;  // first look at which the stall exceeded stall_after
    bool stall_ended = false;  // first look with progress after a stall
  };

  ProgressWatchdog(std::chrono::nanoseconds stall_after, Clock::time_point now);

  Verdict observe(const WriterProgress& progress, Clock::time_point now);
  bool stalled() const { return stalled_; }
  // How long the writer has been idle with work pending (zero when making progress).
  std::chrono::nanoseconds stalled_for(Clock::time_point now) const;

 private:
  std::chrono::nanoseconds stall_after_;
  WriterProgress last_;
  bool have_last_ = false;
  Clock::time_point last_progress_;
  bool stalled_ = false;
};

}  // namespace mcaprec::daemon
