#include "storage/recording_pause.hpp"

#include <spdlog/spdlog.h>

namespace mcaprec::storage {

void RecordingPause::pause(const std::string& reason) {
  holding_ = true;
  retry_at_ = Clock::now() + recheck_;
  if (!paused()) {
    paused_at_ = Clock::now();
    spdlog::error(
        "RECORDING PAUSED: {}. Incoming data is held, then dropped per channel policy, "
        "until there is room again (checked every {} ms).",
        reason, std::chrono::duration_cast<std::chrono::milliseconds>(recheck_).count());
    paused_.store(true, std::memory_order_relaxed);
  }
  std::lock_guard lock(mu_);
  reason_ = reason;
}

void RecordingPause::note_written(const std::string& path) {
  if (!paused()) return;
  paused_.store(false, std::memory_order_relaxed);
  spdlog::warn("recording resumed in {} after {:.1f} s paused", path,
               std::chrono::duration<double>(Clock::now() - paused_at_).count());
}

std::string RecordingPause::reason() const {
  std::lock_guard lock(mu_);
  return reason_;
}

}  // namespace mcaprec::storage
