#pragma once
// Pausing by request: everything, listed topics or listed sources stop being recorded from the
// instant the pause takes effect until the resume. What is paused is decided by log time, not by
// when a message happens to be pushed: a message is not recorded when a window that applies to
// it (everything, its topic, its source) covers its log time, [since, until). So a message
// stamped before the pause that is still on its way is recorded, and one stamped inside the
// pause that arrives after the resume is not. `since` and `until` are read from the log-time
// clock (system time, ns since the epoch) when the request is made and returned to the caller.
//
// Each window is two atomics read on every push (relaxed loads, no lock). Windows are made for
// each topic and source when first named, kept for the pipeline's life (their addresses are in
// ChannelHandles), and only the last pause of each is remembered.
#include <atomic>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mcap/records.hpp"

namespace mcaprec::pipeline {

class PauseWindow {
 public:
  static constexpr mcap::Timestamp kOpen = std::numeric_limits<mcap::Timestamp>::max();

  bool covers(mcap::Timestamp log_time) const {
    return since_.load(std::memory_order_acquire) <= log_time &&
           log_time < until_.load(std::memory_order_acquire);
  }
  bool active() const { return until_.load(std::memory_order_acquire) == kOpen; }
  mcap::Timestamp since() const { return since_.load(std::memory_order_acquire); }

  // Starts covering at `at` (a pause already in effect keeps its start). Returns the start.
  mcap::Timestamp open(mcap::Timestamp at);
  // Stops covering log times from `at` on; those inside the closed window stay covered, so
  // that messages of the pause arriving late are still not recorded.
  void close(mcap::Timestamp at);

 private:
  std::atomic<mcap::Timestamp> since_{kOpen};
  std::atomic<mcap::Timestamp> until_{0};
};

// What a pause or resume applies to: both lists empty means everything.
struct PauseSelector {
  std::vector<std::string> topics;   // exact topic names
  std::vector<std::string> sources;  // source names (config `sources[].name`)

  bool everything() const { return topics.empty() && sources.empty(); }
};

struct PausedScope {
  std::string name;
  mcap::Timestamp since = 0;
};

// What is paused now.
struct PauseState {
  bool everything = false;
  mcap::Timestamp everything_since = 0;
  std::vector<PausedScope> topics;  // by name
  std::vector<PausedScope> sources;
  bool any() const { return everything || !topics.empty() || !sources.empty(); }
};

class PauseTable {
 public:
  // The window of a topic or source, made if new. Stable for the table's life.
  const PauseWindow* topic(const std::string& name);
  const PauseWindow* source(const std::string& name);
  const PauseWindow& everything() const { return everything_; }

  // Pauses or resumes what `selector` names at log-time `at`. Resuming everything also resumes
  // every topic and source; resuming a topic leaves a pause of everything in place.
  void pause(const PauseSelector& selector, mcap::Timestamp at);
  void resume(const PauseSelector& selector, mcap::Timestamp at);
  PauseState state() const;
  // False until the first pause: lets batches skip the per-message check.
  bool ever_paused() const { return ever_paused_.load(std::memory_order_acquire); }

 private:
  using Windows = std::map<std::string, std::unique_ptr<PauseWindow>, std::less<>>;
  static PauseWindow* window_locked(Windows& windows, const std::string& name);
  static void collect_locked(const Windows& windows, std::vector<PausedScope>& out);

  mutable std::mutex mu_;  // serializes changes and the making of windows
  PauseWindow everything_;
  std::atomic<bool> ever_paused_{false};
  Windows topics_;
  Windows sources_;
};

// True when the message must not be recorded. `topic` and `source` may be null.
inline bool is_paused(const PauseWindow& everything, const PauseWindow* topic,
                      const PauseWindow* source, mcap::Timestamp log_time) {
  return everything.covers(log_time) || (topic != nullptr && topic->covers(log_time)) ||
         (source != nullptr && source->covers(log_time));
}

}  // namespace mcaprec::pipeline
