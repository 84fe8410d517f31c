#include "pipeline/pause_table.hpp"

namespace mcaprec::pipeline {

mcap::Timestamp PauseWindow::open(mcap::Timestamp at) {
  if (active()) return since();
  // Cover nothing while the bounds change, so that no reader sees an old start with an open end.
  since_.store(kOpen, std::memory_order_release);
  until_.store(kOpen, std::memory_order_release);
  since_.store(at, std::memory_order_release);
  return at;
}

void PauseWindow::close(mcap::Timestamp at) {
  if (!active()) return;
  until_.store(at, std::memory_order_release);
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

void PauseTable::pause(const PauseSelector& selector, mcap::Timestamp at) {
  std::lock_guard lock(mu_);
  ever_paused_.store(true, std::memory_order_release);
  if (selector.everything()) {
    everything_.open(at);
    return;
  }
  for (const std::string& name : selector.topics) window_locked(topics_, name)->open(at);
  for (const std::string& name : selector.sources) window_locked(sources_, name)->open(at);
}

void PauseTable::resume(const PauseSelector& selector, mcap::Timestamp at) {
  std::lock_guard lock(mu_);
  if (selector.everything()) {
    everything_.close(at);
    for (auto& [name, window] : topics_) window->close(at);
    for (auto& [name, window] : sources_) window->close(at);
    return;
  }
  for (const std::string& name : selector.topics) window_locked(topics_, name)->close(at);
  for (const std::string& name : selector.sources) window_locked(sources_, name)->close(at);
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
