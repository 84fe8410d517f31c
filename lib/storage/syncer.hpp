#pragma once
// The sync policy: makes the file being written durable (fdatasync) at least every
// `interval`, on a thread of its own, so that neither ingest nor the ordered writer ever waits
// for the disk to confirm. After a power cut, what reached the OS more than `interval` before
// is on disk.
//
// The syncer syncs through a mcap::SyncHandle, which owns a duplicate of the file's descriptor:
// a sync that races a rotation touches the old file (harmless), never a closed or reused
// descriptor. A failed sync is not retried: it is counted, reported once through take_failure()
// and the on_failure callback, and the file is not synced here again; the recording file closes
// it as it can and goes on in a new file.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "base/result.hpp"
#include "mcap/sink.hpp"

namespace mcaprec::storage {

struct SyncFailure {
  uint64_t file_id = 0;  // as given to track()
  base::Error error;
};

struct SyncerStats {
  uint64_t syncs = 0;                         // fdatasync calls that succeeded
  uint64_t sync_errors = 0;                   // ... and that failed
  std::chrono::nanoseconds sync_time{0};      // time spent in fdatasync, all calls
  std::chrono::nanoseconds max_sync_time{0};  // the longest call
};

class Syncer {
 public:
  // `interval` 0 = no periodic syncing (no thread; files are still synced when finalized).
  // `on_failure` is called from the syncer thread after a sync failed; it must not block.
  Syncer(std::chrono::nanoseconds interval, std::function<void()> on_failure);
  ~Syncer();  // stop()
  Syncer(const Syncer&) = delete;
  Syncer& operator=(const Syncer&) = delete;

  // From now on, sync `handle`, the file numbered `file_id` (null: no file). From the writer.
  void track(std::shared_ptr<mcap::SyncHandle> handle, uint64_t file_id);
  // The tracked file was given new bytes: the next tick syncs it. Cheap.
  void note_written() { written_.fetch_add(1, std::memory_order_release); }
  // The last failed sync not taken yet, once.
  std::optional<SyncFailure> take_failure();

  void stop();
  bool enabled() const { return interval_.count() > 0; }
  SyncerStats stats() const;

 private:
  void run();

  const std::chrono::nanoseconds interval_;
  const std::function<void()> on_failure_;
  std::atomic<uint64_t> written_{0};  // bumped by note_written()

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::shared_ptr<mcap::SyncHandle> handle_;  // guarded by mu_
  uint64_t file_id_ = 0;                      // guarded by mu_
  uint64_t synced_up_to_ = 0;                 // guarded by mu_: written_ at the last sync
  bool file_failed_ = false;                  // guarded by mu_: the tracked file failed a sync
  std::optional<SyncFailure> failure_;        // guarded by mu_: not yet taken
  bool stopping_ = false;                     // guarded by mu_

  std::atomic<uint64_t> syncs_{0};
  std::atomic<uint64_t> sync_errors_{0};
  std::atomic<int64_t> sync_ns_{0};
  std::atomic<int64_t> max_sync_ns_{0};

  std::thread thread_;  // last: starts after every member above exists
};

}  // namespace mcaprec::storage
