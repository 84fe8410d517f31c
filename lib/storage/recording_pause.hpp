#pragma once
// Whether recording is paused for lack of room (retention refuses, the disk is full, no file
// can be opened), and when to try again. Pausing is loud once: one error when it starts, one
// warning when a chunk is written again, whatever happens in between; the reason is kept for
// the status. Owned by the recording file's thread; paused() and reason() may be read from any
// thread.
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

namespace mcaprec::storage {

class RecordingPause {
 public:
  using Clock = std::chrono::steady_clock;

  // `recheck`: how long chunks are held before the next try.
  explicit RecordingPause(std::chrono::nanoseconds recheck) : recheck_(recheck) {}

  // No room: hold chunks until retry_at().
  void pause(const std::string& reason);
  // A chunk reached a file: ends the pause, if any (`path`: where recording goes on).
  void note_written(const std::string& path);

  // Chunks are held until retry_at().
  bool holding() const { return holding_; }
  Clock::time_point retry_at() const { return retry_at_; }
  // The writer tries again (the retry is due, or it stops): chunks are no longer held.
  void stop_holding() { holding_ = false; }

  // From the first pause() until a chunk is written again.
  bool paused() const { return paused_.load(std::memory_order_relaxed); }
  std::string reason() const;

 private:
  const std::chrono::nanoseconds recheck_;
  bool holding_ = false;
  Clock::time_point retry_at_;
  Clock::time_point paused_at_;
  std::atomic<bool> paused_{false};
  mutable std::mutex mu_;
  std::string reason_;  // guarded by mu_
};

}  // namespace mcaprec::storage
