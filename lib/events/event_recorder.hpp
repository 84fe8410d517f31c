#pragma once
// Event recording: the look-back ring, the events marked, and the event files written from the
// ring on a thread of its own ("mcaprec-events"), so that neither the spool nor an event file
// ever makes the ordered writer wait.
//
// An event marked at time t (log-time clock) asks for every chunk that overlaps
// [t - before, t + after]. Its file `<prefix>_event_<name>_<UTC of t>.mcap` (`.active` while
// open) gets the matching chunks the ring holds at once, then the matching chunks that arrive
// during the look-ahead, and is closed `close_delay` after the window ends: the chunk edges
// make the file's span at most one chunk_max_age wider on each side. An event whose window
// overlaps an open file's extends that file (one `mcaprec.event` record per event, no chunk
// twice). Each file is a storage::RecordingFile in single-path mode with a Finalizer of its
// own: declarations before first use, disk room reserved, `.active` then rename; recovery at
// start treats it like any other `.active` file.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/result.hpp"
#include "events/event_options.hpp"
#include "events/event_request.hpp"
#include "events/look_back_ring.hpp"
#include "events/spool.hpp"
#include "storage/finalizer.hpp"
#include "storage/recording_file.hpp"

namespace mcaprec::events {

struct EventStats {
  RingStats ring;
  uint64_t events_marked = 0;
  uint64_t events_merged = 0;  // extended an open event file instead of starting one
  uint64_t files_started = 0;
  uint64_t files_finalized = 0;
  uint64_t files_failed = 0;
  uint64_t chunks_written = 0;
  uint64_t bytes_written = 0;
  uint64_t chunks_missed = 0;  // overlapped a window, yet its event file lacks them
  uint64_t files_deleted = 0;  // by events.max_total_bytes
  uint64_t bytes_deleted = 0;
  std::chrono::nanoseconds cpu_time{0};  // the event thread's
};

// Letters, digits, '_', '-', '.'; 1 to 64 characters.
bool valid_event_name(std::string_view name);

class EventRecorder {
 public:
  // `source` answers the event files' questions about channels (from the event thread only).
  EventRecorder(EventOptions options, EventFileOptions files,
                const storage::RecordingSource& source);
  ~EventRecorder();  // finish()
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // Opens the spool (discarding one an earlier run left) and starts the thread.
  base::Status start();
  // Writer thread: a chunk the writer handled (written to the continuous file, or, for
  // on-event channels, only kept here).
  void keep(const mcap::EncodedChunk& chunk, bool on_event);
  // Any thread: marks an event at `trigger_time`.
  base::Result<EventState> mark(EventRequest request, mcap::Timestamp trigger_time);
  std::optional<EventState> event(uint64_t id) const;
  std::vector<EventState> events() const;  // the most recent ones, oldest first
  // After the writer's last chunk: writes what the open files still lack, closes and
  // finalizes them, stops the thread. Idempotent.
  void finish();

  EventStats stats() const;
  const EventOptions& options() const { return options_; }

  // The `mcaprec.event` record of an event.
  static mcap::Metadata event_record(const EventState& state);

 private:
  struct OpenFile;
  struct Closing {
    uint64_t submitted = 0;  // its number among the files handed to the finalizer
    std::vector<uint64_t> ids;
    std::string final_path;
  };

  void run();
  void place(uint64_t id);
  void open_file(EventState& state);
  bool append_new(OpenFile& file, uint64_t max_bytes);
  void note_missing(OpenFile& file, uint64_t chunks);
  void close_due(mcap::Timestamp now, bool all);
  void keep_windows();
  void note_finalized();
  void enforce_quota();
  void set_phase(const std::vector<uint64_t>& ids, EventPhase phase, const std::string& file,
                 const std::string& error = {});
  std::string event_path(const EventState& state) const;

  const EventOptions options_;
  const EventFileOptions files_;
  const storage::RecordingSource& source_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<LookBackRing> ring_;
  storage::Finalizer finalizer_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<uint64_t> pending_;  // marked, not yet placed; guarded by mu_
  // The oldest window start of the events marked and not yet closed (the ring keeps what they
  // need); guarded by mu_.
  mcap::Timestamp keep_from_ = LookBackRing::kKeepNothing;
  std::deque<EventState> states_;  // recent events; guarded by mu_
  uint64_t next_id_ = 1;           // guarded by mu_
  bool finishing_ = false;         // guarded by mu_
  std::atomic<uint64_t> arrived_{0};

  // The event thread's own.
  std::vector<std::unique_ptr<OpenFile>> open_;
  std::deque<Closing> closing_;
  uint64_t submitted_ = 0;
  std::atomic<bool> sync_failed_{false};

  std::atomic<uint64_t> marked_{0};
  std::atomic<uint64_t> merged_{0};
  std::atomic<uint64_t> started_{0};
  std::atomic<uint64_t> chunks_written_{0};
  std::atomic<uint64_t> bytes_written_{0};
  std::atomic<uint64_t> chunks_missed_{0};
  std::atomic<uint64_t> deleted_{0};
  std::atomic<uint64_t> bytes_deleted_{0};
  bool quota_yielding_ = false;  // enforce_quota's thread only: over quota for pending uploads
  std::atomic<int64_t> cpu_ns_{0};

  std::thread thread_;
};

}  // namespace mcaprec::events
