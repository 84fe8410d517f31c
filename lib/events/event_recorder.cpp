#include "events/event_recorder.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <time.h>

#include <algorithm>
#include <filesystem>
#include <unordered_set>

#include "base/event_file_name.hpp"
#include "storage/file_naming.hpp"
#include "storage/file_system.hpp"

namespace mcaprec::events {

namespace {

constexpr size_t kRecentEvents = 256;  // states kept for event(id) and events()
// What the event thread spills or writes into event files in one turn before it looks at
// everything else again: a 5 GB look-back must not keep new events or the spill waiting.
constexpr uint64_t kStepBytes = uint64_t{64} << 20;
constexpr uint64_t kNoLimit = ~uint64_t{0};

int64_t this_thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

mcap::Timestamp wall_now_ns() {
  return static_cast<mcap::Timestamp>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

bool file_exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

}  // namespace

const char* event_trigger_name(EventTrigger trigger) {
  switch (trigger) {
    case EventTrigger::kControl:
      return "control";
    case EventTrigger::kSignal:
      return "signal";
    case EventTrigger::kRule:
      return "rule";
  }
  return "control";
}

const char* event_phase_name(EventPhase phase) {
  switch (phase) {
    case EventPhase::kWaiting:
      return "waiting";
    case EventPhase::kWriting:
      return "writing";
    case EventPhase::kFinalized:
      return "finalized";
    case EventPhase::kFailed:
      return "failed";
  }
  return "failed";
}

bool valid_event_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

// An event file being written: its window (the union of its events'), what it has of the ring.
struct EventRecorder::OpenFile {
  std::unique_ptr<storage::RecordingFile> file;
  std::string final_path;
  mcap::Timestamp start = 0;
  mcap::Timestamp end = 0;
  uint64_t scanned_to = 0;  // ring chunks below this number were looked at for this window
  std::unordered_set<uint64_t> written;  // or to be written, or known missing
  std::deque<uint64_t> backlog;          // ring chunks of the window still to write, in order
  uint64_t chunks_missing = 0;
  std::vector<uint64_t> ids;
};

EventRecorder::EventRecorder(EventOptions options, EventFileOptions files,
                             const storage::RecordingSource& source)
    : options_(std::move(options)),
      files_(std::move(files)),
      source_(source),
      finalizer_(files_.on_file_finished) {}

EventRecorder::~EventRecorder() {
  finish();
}

base::Status EventRecorder::start() {
  if (options_.spool_bytes > 0) {
    const std::string path =
        (std::filesystem::path(files_.directory) / (files_.prefix + "_lookback.spool")).string();
    base::Result<std::unique_ptr<Spool>> spool = Spool::open(path, options_.spool_bytes);
    if (!spool) return spool.error();
    spool_ = std::move(*spool);
  }
  ring_ = std::make_unique<LookBackRing>(RingLimits{options_.look_back, options_.memory_bytes},
                                         spool_.get());
  thread_ = std::thread([this] { run(); });
  return {};
}

void EventRecorder::keep(const mcap::EncodedChunk& chunk, bool on_event) {
  if (!ring_) return;
  ring_->add(chunk, on_event);
  arrived_.fetch_add(1, std::memory_order_release);
  wake_.notify_one();
}

base::Result<EventState> EventRecorder::mark(EventRequest request, mcap::Timestamp trigger_time) {
  if (!valid_event_name(request.name)) {
    return base::Error{0, "invalid event name '" + request.name +
                              "': use 1 to 64 letters, digits, '_', '-' or '.'"};
  }
  const std::chrono::nanoseconds before = request.before.value_or(options_.default_before);
  const std::chrono::nanoseconds after = request.after.value_or(options_.default_after);
  if (before.count() < 0 || after.count() < 0) {
    return base::Error{0, "an event's before and after must not be negative"};
  }
  EventState state;
  state.trigger_time = trigger_time;
  state.window_start = trigger_time - std::min<mcap::Timestamp>(trigger_time, before.count());
  state.window_end = trigger_time + static_cast<mcap::Timestamp>(after.count());
  state.request = std::move(request);
  {
    std::lock_guard lock(mu_);
    if (finishing_) return base::Error{0, "recording is stopping: no more events"};
    state.id = next_id_++;
    states_.push_back(state);
    if (states_.size() > kRecentEvents) states_.pop_front();
    pending_.push_back(state.id);
    // At once, not when the event thread gets to it: it may be busy for seconds.
    keep_from_ = std::min(keep_from_, state.window_start);
    if (ring_) ring_->keep_from(keep_from_);
  }
  marked_.fetch_add(1, std::memory_order_relaxed);
  spdlog::info("event {} '{}' marked ({}{}{})", state.id, state.request.name,
               event_trigger_name(state.request.trigger),
               state.request.trigger_detail.empty() ? "" : " ", state.request.trigger_detail);
  wake_.notify_one();
  return state;
}

std::optional<EventState> EventRecorder::event(uint64_t id) const {
  std::lock_guard lock(mu_);
  for (const EventState& state : states_) {
    if (state.id == id) return state;
  }
  return std::nullopt;
}

std::vector<EventState> EventRecorder::events() const {
  std::lock_guard lock(mu_);
  return {states_.begin(), states_.end()};
}

void EventRecorder::finish() {
  {
    std::lock_guard lock(mu_);
    finishing_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  // Nothing reads the spool any more (the writer is done, and so is the event thread): its file
  // goes now rather than with the recorder.
  spool_.reset();
  finalizer_.finish();
  note_finalized();
}

EventStats EventRecorder::stats() const {
  EventStats stats;
  if (ring_) stats.ring = ring_->stats();
  stats.events_marked = marked_.load(std::memory_order_relaxed);
  stats.events_merged = merged_.load(std::memory_order_relaxed);
  stats.files_started = started_.load(std::memory_order_relaxed);
  const storage::FinalizerStats final_stats = finalizer_.stats();
  stats.files_finalized = final_stats.files_finalized;
  stats.files_failed = final_stats.files_failed;
  stats.chunks_written = chunks_written_.load(std::memory_order_relaxed);
  stats.bytes_written = bytes_written_.load(std::memory_order_relaxed);
  stats.chunks_missed = chunks_missed_.load(std::memory_order_relaxed);
  stats.files_deleted = deleted_.load(std::memory_order_relaxed);
  stats.bytes_deleted = bytes_deleted_.load(std::memory_order_relaxed);
  stats.cpu_time = std::chrono::nanoseconds(cpu_ns_.load(std::memory_order_relaxed));
  return stats;
}

mcap::Metadata EventRecorder::event_record(const EventState& state) {
  mcap::Metadata record;
  record.name = "mcaprec.event";
  for (const auto& [key, value] : state.request.fields) record.metadata["field." + key] = value;
  record.metadata["id"] = std::to_string(state.id);
  record.metadata["name"] = state.request.name;
  record.metadata["trigger"] = event_trigger_name(state.request.trigger);
  record.metadata["trigger_detail"] = state.request.trigger_detail;
  record.metadata["trigger_time"] = std::to_string(state.trigger_time);
  record.metadata["window_start"] = std::to_string(state.window_start);
  record.metadata["window_end"] = std::to_string(state.window_end);
  return record;
}

// ---- The event thread

// Each turn spills and writes at most kStepBytes each (all of it when finishing), and comes
// back at once while either has more to do.
void EventRecorder::run() {
  ::pthread_setname_np(::pthread_self(), "mcaprec-events");
  uint64_t seen = 0;
  bool behind = false;
  for (;;) {
    std::vector<uint64_t> placing;
    bool finishing;
    {
      std::unique_lock lock(mu_);
      // Woken by a mark or a chunk; a missed chunk wake-up costs at most the timeout.
      wake_.wait_for(lock, std::chrono::milliseconds(50), [&] {
        return behind || finishing_ || !pending_.empty() ||
               arrived_.load(std::memory_order_acquire) != seen;
      });
      placing.swap(pending_);
      finishing = finishing_;
    }
    seen = arrived_.load(std::memory_order_acquire);
    behind = ring_->spill(kStepBytes);
    for (uint64_t id : placing) place(id);
    if (sync_failed_.exchange(false)) {
      for (auto& file : open_) file->file->check_sync_failure();
    }
    for (auto& file : open_) {
      if (append_new(*file, finishing ? kNoLimit : kStepBytes)) behind = true;
    }
    close_due(wall_now_ns(), finishing);
    keep_windows();
    note_finalized();
    cpu_ns_.store(this_thread_cpu_ns(), std::memory_order_relaxed);
    if (finishing) return;
  }
}

// Extends the open file whose window overlaps the event's, or opens a file for it.
void EventRecorder::place(uint64_t id) {
  std::optional<EventState> state = event(id);
  if (!state) return;
  for (auto& file : open_) {
    if (state->window_start > file->end || state->window_end < file->start) continue;
    file->start = std::min(file->start, state->window_start);
    file->end = std::max(file->end, state->window_end);
    file->scanned_to = 0;  // look at the whole ring again for the wider window
    file->ids.push_back(id);
    file->file->write_metadata(event_record(*state));
    merged_.fetch_add(1, std::memory_order_relaxed);
    set_phase({id}, EventPhase::kWaiting, file->final_path + std::string(storage::kActiveSuffix));
    return;
  }
  open_file(*state);
}

void EventRecorder::open_file(EventState& state) {
  enforce_quota();
  auto file = std::make_unique<OpenFile>();
  file->final_path = event_path(state);
  storage::RecordingFileOptions options = files_.file;
  options.single_path = file->final_path;
  options.max_total_bytes = 0;  // event files have their own quota (enforce_quota)
  options.min_free_bytes = 0;
  file->file = std::make_unique<storage::RecordingFile>(options, source_, finalizer_, [this] {
    sync_failed_.store(true);
    wake_.notify_one();
  });
  if (!file->file->open()) {
    const std::optional<base::Error> error = file->file->stats().first_error;
    const std::string why = error ? error->message : "cannot create the event file";
    spdlog::error("event {} '{}': {}", state.id, state.request.name, why);
    set_phase({state.id}, EventPhase::kFailed, "", why);
    return;
  }
  started_.fetch_add(1, std::memory_order_relaxed);
  file->start = state.window_start;
  file->end = state.window_end;
  file->ids.push_back(state.id);
  file->file->write_metadata(event_record(state));
  set_phase({state.id}, EventPhase::kWaiting,
            file->final_path + std::string(storage::kActiveSuffix));
  open_.push_back(std::move(file));
}

// Queues the ring's chunks that overlap the file's window and that it does not have yet, then
// writes the oldest queued ones, about `max_bytes` of them. Each chunk is looked up again when
// its turn comes (in memory, spooled meanwhile, or let go), so the queue holds no chunk's bytes.
// Returns true while chunks are still queued.
bool EventRecorder::append_new(OpenFile& file, uint64_t max_bytes) {
  std::vector<RingChunk> chunks;
  std::vector<uint64_t> not_held;
  file.scanned_to = ring_->collect(file.scanned_to, file.start, file.end, chunks, &not_held);
  uint64_t missing = 0;
  for (uint64_t seq : not_held) missing += file.written.insert(seq).second;
  for (const RingChunk& chunk : chunks) {
    if (file.written.insert(chunk.seq).second) file.backlog.push_back(chunk.seq);
  }
  for (uint64_t bytes = 0; !file.backlog.empty() && bytes < max_bytes;) {
    RingChunk chunk;
    const bool held = ring_->find(file.backlog.front(), chunk);
    file.backlog.pop_front();
    base::Result<std::shared_ptr<const mcap::EncodedChunk>> whole =
        held ? ring_->load(chunk) : base::Error{0, "not held"};
    if (!whole || file.file->append(**whole) != storage::RecordingFile::Appended::kWritten) {
      ++missing;
      continue;
    }
    bytes += chunk.size;
    chunks_written_.fetch_add(1, std::memory_order_relaxed);
    bytes_written_.fetch_add(chunk.size, std::memory_order_relaxed);
  }
  note_missing(file, missing);
  file.file->flush();
  return !file.backlog.empty();
}

// Counts chunks of the file's window that it will not have, in the events' states too.
void EventRecorder::note_missing(OpenFile& file, uint64_t chunks) {
  if (chunks == 0) return;
  file.chunks_missing += chunks;
  chunks_missed_.fetch_add(chunks, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  for (EventState& state : states_) {
    if (std::find(file.ids.begin(), file.ids.end(), state.id) != file.ids.end()) {
      state.chunks_missing = file.chunks_missing;
    }
  }
}

// The ring keeps what the open files and the events not yet placed still need.
void EventRecorder::keep_windows() {
  std::lock_guard lock(mu_);
  keep_from_ = LookBackRing::kKeepNothing;
  for (const auto& file : open_) keep_from_ = std::min(keep_from_, file->start);
  for (const EventState& state : states_) {
    if (std::find(pending_.begin(), pending_.end(), state.id) != pending_.end()) {
      keep_from_ = std::min(keep_from_, state.window_start);
    }
  }
  ring_->keep_from(keep_from_);
}

// Closes the files whose look-ahead (and the delay for chunks on their way) is over; `all`
// closes every one (stop). Over means: the wall clock is `close_delay` past the window and so is
// the log time of the newest chunk the ring has, so that a writer running seconds behind (its
// queues full at a high rate) still brings the end of the window; or, when no chunk comes (a
// quiet stream), four times `close_delay` past it.
void EventRecorder::close_due(mcap::Timestamp now, bool all) {
  const auto delay = static_cast<mcap::Timestamp>(files_.close_delay.count());
  const mcap::Timestamp newest = ring_->newest_end();
  for (auto it = open_.begin(); it != open_.end();) {
    OpenFile& file = **it;
    const bool over =
        now >= file.end + delay && (newest >= file.end + delay || now >= file.end + 4 * delay);
    if (!all && (!over || !file.backlog.empty())) {
      if (now >= file.end) {
        set_phase(file.ids, EventPhase::kWriting,
                  file.final_path + std::string(storage::kActiveSuffix));
      }
      ++it;
      continue;
    }
    if (file.chunks_missing > 0) {
      // The file says itself that its window is incomplete, not only the event's state.
      mcap::Metadata record;
      record.name = "mcaprec.event_incomplete";
      record.metadata["chunks_missing"] = std::to_string(file.chunks_missing);
      file.file->write_metadata(record);
      spdlog::warn("event file {}: {} chunks of its window were not held by the look-back ring",
                   file.final_path, file.chunks_missing);
    }
    file.file->close();
    file.file->stop_syncing();
    closing_.push_back(Closing{++submitted_, file.ids, file.final_path});
    set_phase(file.ids, EventPhase::kWriting,
              file.final_path + std::string(storage::kActiveSuffix));
    it = open_.erase(it);
  }
}

// The finalizer works in submission order: the first `done` files handed to it are finished.
void EventRecorder::note_finalized() {
  const storage::FinalizerStats stats = finalizer_.stats();
  const uint64_t done = stats.files_finalized + stats.files_failed;
  bool any = false;
  while (!closing_.empty() && closing_.front().submitted <= done) {
    const Closing& closed = closing_.front();
    if (file_exists(closed.final_path)) {
      set_phase(closed.ids, EventPhase::kFinalized, closed.final_path);
      spdlog::info("event file {} finalized", closed.final_path);
    } else {
      set_phase(closed.ids, EventPhase::kFailed,
                closed.final_path + std::string(storage::kActiveSuffix),
                "the event file could not be finalized; recovery completes it at the next start");
    }
    closing_.pop_front();
    any = true;
  }
  if (any) enforce_quota();
}

void EventRecorder::set_phase(const std::vector<uint64_t>& ids, EventPhase phase,
                              const std::string& file, const std::string& error) {
  std::lock_guard lock(mu_);
  for (EventState& state : states_) {
    if (std::find(ids.begin(), ids.end(), state.id) == ids.end()) continue;
    state.phase = phase;
    state.file = file;
    if (!error.empty()) state.error = error;
  }
}

std::string EventRecorder::event_path(const EventState& state) const {
  const auto trigger = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(state.trigger_time)));
  const std::string stem = base::event_file_start(files_.prefix) + state.request.name + "_" +
                           storage::utc_stamp(trigger);
  const std::filesystem::path directory(files_.directory);
  std::string path = (directory / (stem + ".mcap")).string();
  // Two events of one name in one second: never overwrite.
  for (int n = 2; file_exists(path) || file_exists(path + std::string(storage::kActiveSuffix));
       ++n) {
    path = (directory / (stem + "_" + std::to_string(n) + ".mcap")).string();
  }
  return path;
}

// Deletes the oldest finished event files while they take more than events.max_total_bytes
// (the newest one is always kept), except those still waiting for upload. Continuous files are
// never touched here, nor event files by output retention.
void EventRecorder::enforce_quota() {
  if (options_.max_total_bytes == 0) return;
  struct Found {
    std::filesystem::file_time_type time;
    uint64_t size;
    std::filesystem::path path;
  };
  std::vector<Found> found;
  uint64_t total = 0;
  const std::string start = base::event_file_start(files_.prefix);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(files_.directory, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(start, 0) != 0 || !name.ends_with(".mcap")) continue;
    std::error_code entry_ec;
    const uint64_t size = entry.file_size(entry_ec);
    const auto time = entry.last_write_time(entry_ec);
    if (entry_ec) continue;
    found.push_back({time, size, entry.path()});
    total += size;
  }
  std::sort(found.begin(), found.end(),
            [](const Found& a, const Found& b) { return a.time < b.time; });
  const storage::UploadPending& pending = files_.file.upload_pending;
  bool kept_for_upload = false;
  for (size_t i = 0; i + 1 < found.size() && total > options_.max_total_bytes; ++i) {
    if (pending && pending(found[i].path.string())) {
      kept_for_upload = true;
      continue;
    }
    // Through the recorder's file system, like every other change to the disk.
    if (storage::or_posix(files_.file.file_system)->unlink(found[i].path.string()) != 0) continue;
    spdlog::info("events.max_total_bytes: deleted {} ({} bytes)", found[i].path.string(),
                 found[i].size);
    total -= found[i].size;
    deleted_.fetch_add(1, std::memory_order_relaxed);
    bytes_deleted_.fetch_add(found[i].size, std::memory_order_relaxed);
    if (files_.file.on_file_deleted) files_.file.on_file_deleted(found[i].path.string());
  }
  // The quota yields to "never delete what was not uploaded"; said once until it is met again.
  const bool yields = kept_for_upload && total > options_.max_total_bytes;
  if (yields && !quota_yielding_) {
    spdlog::warn(
        "events.max_total_bytes: event files take {} bytes, above the quota of {}, and the "
        "oldest wait for upload: kept until they are uploaded",
        total, options_.max_total_bytes);
  }
  quota_yielding_ = yields;
}

}  // namespace mcaprec::events
