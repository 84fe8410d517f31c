#include "pipeline/pause_table.hpp"

#include <thread>

namespace mcaprec::pipeline {

void PauseWindow::open(mcap::Timestamp at) {
  if (active()) return;
  since_.store(at, std::memory_order_relaxed);
  until_.store(kOpen, std::memory_order_relaxed);
}

void PauseWindow::close(mcap::Timestamp at) {
  if (!active()) return;
  until_.store(at, std::memory_order_relaxed);
}

PauseWindow* PauseTable::window_locked(Windows& windows, const std::string& name) {
  auto found = windows.find(name);
  if (found == windows.end()) {
    found = windows.emplace(name, std::make_unique<PauseWindow>()).first;
  }
  return found->second.get();
}

const PauseWindow* PauseTable::topic(const std::string& name) {
  std::lock_guard lock(mu_);
  return window_locked(topics_, name);
}

const PauseWindow* PauseTable::source(const std::string& name) {
  std::lock_guard lock(mu_);
  return window_locked(sources_, name);
}

template <typename Change>
mcap::Timestamp PauseTable::change_locked(Change&& change) {
  // The fence orders the mark before the bounds' stores (a reader that sees a new bound sees the
  // mark) and, as a full barrier, makes the mark visible to every pusher before the clock is read.
  changes_.fetch_add(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const mcap::Timestamp at = now_();
  change(at);
  changes_.fetch_add(1, std::memory_order_release);
  return at;
}

mcap::Timestamp PauseTable::pause(const PauseSelector& selector) {
  std::lock_guard lock(mu_);
  ever_paused_.store(true, std::memory_order_seq_cst);
  return change_locked([&](mcap::Timestamp at) {
    if (selector.everything()) {
      everything_.open(at);
      return;
    }
    for (const std::string& name : selector.topics) window_locked(topics_, name)->open(at);
    for (const std::string& name : selector.sources) window_locked(sources_, name)->open(at);
  });
}

mcap::Timestamp PauseTable::resume(const PauseSelector& selector) {
  std::lock_guard lock(mu_);
  return change_locked([&](mcap::Timestamp at) {
    if (selector.everything()) {
      everything_.close(at);
      for (auto& [name, window] : topics_) window->close(at);
      for (auto& [name, window] : sources_) window->close(at);
      return;
    }
    for (const std::string& name : selector.topics) window_locked(topics_, name)->close(at);
    for (const std::string& name : selector.sources) window_locked(sources_, name)->close(at);
  });
}

bool PauseTable::paused(const PauseWindow* topic, const PauseWindow* source,
                        mcap::Timestamp log_time) const {
  for (unsigned attempt = 0;; ++attempt) {
    const uint64_t before = changes_.load(std::memory_order_acquire);
    if (before % 2 == 0) {
      const bool covered = everything_.covers(log_time) ||
                           (topic != nullptr && topic->covers(log_time)) ||
                           (source != nullptr && source->covers(log_time));
      std::atomic_thread_fence(std::memory_order_acquire);
      if (changes_.load(std::memory_order_relaxed) == before) return covered;
    }
    // The changer holds the mark for one clock reading; yield in case it was preempted.
    if (attempt > 64) std::this_thread::yield();
  }
}

void PauseTable::collect_locked(const Windows& windows, std::vector<PausedScope>& out) {
  for (const auto& [name, window] : windows) {
    if (window->active()) out.push_back({name, window->since()});
  }
}

PauseState PauseTable::state() const {
  std::lock_guard lock(mu_);
  PauseState state;
  state.everything = everything_.active();
  if (state.everything) state.everything_since = everything_.since();
  collect_locked(topics_, state.topics);
  collect_locked(sources_, state.sources);
  return state;
}

}  // namespace mcaprec::pipeline
