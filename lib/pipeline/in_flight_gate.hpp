#pragma once
// Bounds the record bytes of chunks sealed but not yet written. While the bound is reached,
// groups do not seal: messages wait in their channel queues, where the overflow policy applies
// (drop_oldest can only discard what is not sealed yet). When the writer frees room after a
// seal was deferred, the seal scheduler is woken to seal what waited.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace mcaprec::pipeline {

class InFlightGate {
 public:
  explicit InFlightGate(uint64_t limit_bytes) : limit_(limit_bytes) {}

  bool open() const { return bytes_.load(std::memory_order_relaxed) < limit_; }
  void add(uint64_t bytes) { bytes_.fetch_add(bytes, std::memory_order_relaxed); }
  // A seal was skipped because the gate was closed.
  void defer() { deferred_.store(true, std::memory_order_relaxed); }

  void remove(uint64_t bytes) {
    bytes_.fetch_sub(bytes, std::memory_order_relaxed);
    if (deferred_.exchange(false, std::memory_order_relaxed)) wake();
  }

  // Wakes the seal scheduler now (a deferral was resolved, or the pipeline is stopping).
  void wake() {
    {
      std::lock_guard lock(mu_);
      woken_ = true;
    }
    cv_.notify_all();
  }

  // For the seal scheduler: returns after wake() or at `deadline`.
  void wait_until(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline, [this] { return woken_; });
    woken_ = false;
  }

  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  uint64_t limit() const { return limit_; }

 private:
  const uint64_t limit_;
  std::atomic<uint64_t> bytes_{0};
  std::atomic<bool> deferred_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;  // guarded by mu_
};

}  // namespace mcaprec::pipeline
