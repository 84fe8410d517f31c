#pragma once
// Pausing by request: everything, listed topics or listed sources stop being recorded from the
// instant the pause takes effect until the resume. What is paused is decided by log time, not by
// when a message happens to be pushed: a message is not recorded when a window that applies to
// it (everything, its topic, its source) covers its log time, [since, until). So a message
// stamped before the pause that is still on its way is recorded, and one stamped inside the
// pause that arrives after the resume is not. `since` and `until` are read from the log-time
// clock (system time, ns since the epoch) when the request is made and returned to the caller.
//
// Exactness: the clock is read *while* the change is marked in progress (an odd `changes_`), and
// a push that checks during a change waits for it to end. So a message stamped at or after the
// clock reading can never pass a check made before the new bounds are visible: it was stamped
// after the mark, so its check sees the mark (or the bounds). Without that, a pause read the
// clock, and a message stamped just after it slipped through before the window was stored.
//
// Windows are made for each topic and source when first named, kept for the table's life (their
// addresses are in ChannelHandles), and only the last pause of each is remembered.
#include <atomic>
#include <cstdint>
#include <functional>
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
    return since_.load(std::memory_order_relaxed) <= log_time &&
           log_time < until_.load(std::memory_order_relaxed);
  }
  bool active() const { return until_.load(std::memory_order_relaxed) == kOpen; }
  mcap::Timestamp since() const { return since_.load(std::memory_order_relaxed); }

  // Starts covering at `at` (a pause already in effect keeps its start).
  void open(mcap::Timestamp at);
  // Stops covering log times from `at` on; those inside the closed window stay covered, so
  // that messages of the pause arriving late are still not recorded.
  void close(mcap::Timestamp at);

 private:
  // Relaxed: every reader orders its loads through PauseTable::changes_.
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
  using Clock = std::function<mcap::Timestamp()>;  // the log-time clock
  explicit PauseTable(Clock now) : now_(std::move(now)) {}

  // The window of a topic or source, made if new. Stable for the table's life.
  const PauseWindow* topic(const std::string& name);
  const PauseWindow* source(const std::string& name);

  // Pauses or resumes what `selector` names from now on; returns that instant (log time).
  // Resuming everything also resumes every topic and source; resuming a topic leaves a pause of
  // everything in place.
  mcap::Timestamp pause(const PauseSelector& selector);
  mcap::Timestamp resume(const PauseSelector& selector);
  PauseState state() const;
  // False until the first pause: lets batches skip the per-message check. Set before the first
  // pause reads the clock, so a batch that saw false holds only messages stamped before it.
  bool ever_paused() const { return ever_paused_.load(std::memory_order_seq_cst); }

  // True when a message with `log_time` must not be recorded. `topic` and `source` may be null.
  // Waits while a pause or resume is being made (nanoseconds, the time of one clock reading).
  bool paused(const PauseWindow* topic, const PauseWindow* source, mcap::Timestamp log_time) const;

 private:
  using Windows = std::map<std::string, std::unique_ptr<PauseWindow>, std::less<>>;
  static PauseWindow* window_locked(Windows& windows, const std::string& name);
  static void collect_locked(const Windows& windows, std::vector<PausedScope>& out);
  // Marks a change in progress, reads the clock, lets `change` set the bounds, ends the mark.
  template <typename Change>
  mcap::Timestamp change_locked(Change&& change);

  Clock now_;
  mutable std::mutex mu_;  // serializes changes and the making of windows
  // Odd while a change is being made; readers retry when it moved under them (a seqlock).
  std::atomic<uint64_t> changes_{0};
  std::atomic<bool> ever_paused_{false};
  PauseWindow everything_;
  Windows topics_;
  Windows sources_;
};

}  // namespace mcaprec::pipeline
