#pragma once
// A thread that runs one round of a test's traffic, waits `period`, and again, until stop() or
// destruction: the stoppable producer behind several event-recording tests.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>

namespace mcaprec::test_support {

class PeriodicThread {
 public:
  // `round` gets 0, 1, 2, ...; it runs on the thread only.
  PeriodicThread(std::chrono::microseconds period, std::function<void(uint32_t)> round)
      : thread_([this, period, round = std::move(round)] {
          for (uint32_t n = 0; !stop_.load(); ++n) {
            round(n);
            std::this_thread::sleep_for(period);
          }
        }) {}
  ~PeriodicThread() { stop(); }
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

  // Returns once the current round has finished; no round starts after.
  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace mcaprec::test_support
