#include "storage/syncer.hpp"

#include <pthread.h>

#include <algorithm>

namespace mcaprec::storage {

Syncer::Syncer(std::chrono::nanoseconds interval, std::function<void()> on_failure)
    : interval_(interval), on_failure_(std::move(on_failure)) {
  if (enabled()) thread_ = std::thread([this] { run(); });
}

Syncer::~Syncer() {
  stop();
}

void Syncer::track(std::shared_ptr<mcap::SyncHandle> handle, uint64_t file_id) {
  std::lock_guard lock(mu_);
  handle_ = std::move(handle);
  file_id_ = file_id;
  file_failed_ = false;
  // Nothing of the new file is known to be synced: the next tick syncs it if it was written.
  synced_up_to_ = 0;
  written_.store(handle_ ? 1 : 0, std::memory_order_release);
}

std::optional<SyncFailure> Syncer::take_failure() {
  std::lock_guard lock(mu_);
  std::optional<SyncFailure> failure = std::move(failure_);
  failure_.reset();
  return failure;
}

void Syncer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

SyncerStats Syncer::stats() const {
  SyncerStats stats;
  stats.syncs = syncs_.load(std::memory_order_relaxed);
  stats.sync_errors = sync_errors_.load(std::memory_order_relaxed);
  stats.sync_time = std::chrono::nanoseconds(sync_ns_.load(std::memory_order_relaxed));
  stats.max_sync_time = std::chrono::nanoseconds(max_sync_ns_.load(std::memory_order_relaxed));
  return stats;
}

void Syncer::run() {
  ::pthread_setname_np(::pthread_self(), "mcaprec-sync");
  using Clock = std::chrono::steady_clock;
  std::unique_lock lock(mu_);
  // Ticks are a fixed `interval_` apart from their starts, so a slow sync does not stretch the
  // time between two syncs beyond what the policy promises.
  Clock::time_point next = Clock::now() + interval_;
  for (;;) {
    wake_.wait_until(lock, next, [this] { return stopping_; });
    if (stopping_) return;
    const Clock::time_point start = Clock::now();
    next = std::max(next + interval_, start);
    const uint64_t written = written_.load(std::memory_order_acquire);
    if (!handle_ || file_failed_ || written == synced_up_to_) continue;
    const std::shared_ptr<mcap::SyncHandle> handle = handle_;
    const uint64_t file_id = file_id_;
    lock.unlock();
    const base::Status status = handle->sync();
    const int64_t took = std::chrono::nanoseconds(Clock::now() - start).count();
    sync_ns_.fetch_add(took, std::memory_order_relaxed);
    if (took > max_sync_ns_.load(std::memory_order_relaxed)) {
      max_sync_ns_.store(took, std::memory_order_relaxed);  // only this thread writes it
    }
    lock.lock();
    if (status) {
      syncs_.fetch_add(1, std::memory_order_relaxed);
      if (file_id == file_id_) synced_up_to_ = written;
      continue;
    }
    sync_errors_.fetch_add(1, std::memory_order_relaxed);
    if (file_id == file_id_) file_failed_ = true;
    failure_ = SyncFailure{file_id, status.error()};
    if (on_failure_) {
      lock.unlock();
      on_failure_();
      lock.lock();
    }
  }
}

}  // namespace mcaprec::storage
