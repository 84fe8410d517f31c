#pragma once
// Wakes producers that wait for room (overflow policy `block`) when room may have appeared:
// a chunk was sealed (queue bytes freed), a buffer was recycled (memory freed), or the pipeline
// is stopping.
//
// Protocol, so that no wake-up is lost without making the common path pay for a mutex:
//   waiter:   enter() ; g = generation() ; check for room ; if none: wait(g) ; ... ; leave()
//   notifier: make room (any atomic or locked update) ; notify()
// enter() and notify() use sequentially consistent operations on waiters_: either notify() sees
// the waiter and bumps the generation, or the waiter's check sees the room that was made.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace mcaprec::pipeline {

class SpaceSignal {
 public:
  void enter() { waiters_.fetch_add(1, std::memory_order_seq_cst); }
  void leave() { waiters_.fetch_sub(1, std::memory_order_seq_cst); }
  uint64_t generation() const { return generation_.load(std::memory_order_seq_cst); }

  // Waits until the generation moves past `seen` or `timeout` elapses (a safety net only).
  void wait(uint64_t seen, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout,
                 [&] { return generation_.load(std::memory_order_seq_cst) != seen; });
  }

  void notify() {
    if (waiters_.load(std::memory_order_seq_cst) == 0) return;
    {
      std::lock_guard lock(mu_);
      generation_.fetch_add(1, std::memory_order_seq_cst);
    }
    cv_.notify_all();
  }

 private:
  std::atomic<int> waiters_{0};
  std::atomic<uint64_t> generation_{0};  // bumped under mu_ so that wait() cannot miss it
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace mcaprec::pipeline
