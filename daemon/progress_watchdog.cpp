#include "daemon/progress_watchdog.hpp"

namespace mcaprec::daemon {

WriterProgress WriterProgress::from(const pipeline::PipelineStats& stats, bool count_queued) {
  WriterProgress progress;
  progress.chunks_written = stats.writer.chunks_written;
  progress.bytes_written = stats.writer.bytes_written;
  progress.files_started = stats.file.files_started;
  progress.files_finalized = stats.finalizer.files_finalized;
  progress.pending_bytes = stats.in_flight.bytes;
  // Recording paused for lack of room waits on purpose (retention, a full disk): a restart
  // would not make room, so it is not a stall.
  if (stats.file.paused) {
    progress.pending_bytes = 0;
    return progress;
  }
  if (count_queued) {
    for (const pipeline::ChannelStats& channel : stats.channels) {
      progress.pending_bytes += channel.queued_bytes;
    }
  }
  return progress;
}

bool WriterProgress::same_counters(const WriterProgress& other) const {
  return chunks_written == other.chunks_written && bytes_written == other.bytes_written &&
         files_started == other.files_started && files_finalized == other.files_finalized;
}

ProgressWatchdog::ProgressWatchdog(std::chrono::nanoseconds stall_after, Clock::time_point now)
    : stall_after_(stall_after), last_progress_(now) {}

ProgressWatchdog::Verdict ProgressWatchdog::observe(const WriterProgress& progress,
                                                    Clock::time_point now) {
  const bool moved = !have_last_ || !progress.same_counters(last_);
  const bool idle = progress.pending_bytes == 0;
  last_ = progress;
  have_last_ = true;

  Verdict verdict;
  if (moved || idle) {
    last_progress_ = now;
    verdict.stall_ended = stalled_;
    stalled_ = false;
    verdict.ping = true;
    return verdict;
  }
  if (now - last_progress_ < stall_after_) {
    verdict.ping = true;  // waiting, but not for long yet
    return verdict;
  }
  verdict.stall_began = !stalled_;
  stalled_ = true;
  return verdict;
}

std::chrono::nanoseconds ProgressWatchdog::stalled_for(Clock::time_point now) const {
  if (!have_last_ || last_.pending_bytes == 0) return std::chrono::nanoseconds(0);
  return now - last_progress_;
}

}  // namespace mcaprec::daemon
