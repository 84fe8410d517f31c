#pragma once
// Retention: keeps a recorder's directory within `max_total_bytes` and its disk above
// `min_free_bytes` by deleting this recorder's oldest finalized files (`<prefix>_*.mcap`, never
// an `.active` file, never another prefix's or another program's files). When deleting is not
// enough, it says so, and the recording file pauses recording until make_room() succeeds again.
//
// Owned by the recording file, on the writer's thread: every call comes from that one thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "storage/file_system.hpp"

namespace mcaprec::storage {

// Free bytes on the filesystem holding `directory` (statvfs: f_bavail * f_frsize). Tests
// substitute their own.
using FreeSpaceProbe = std::function<base::Result<uint64_t>(const std::string& directory)>;
FreeSpaceProbe statvfs_free_space();

// Whether a finished file (its final path) is not yet confirmed uploaded. Called on the writer's
// thread (and the event recorder's), so it must be thread-safe and cheap. It should answer true
// for a file it has not heard of yet (renamed, but the finished-file listener not yet called),
// else retention may take it for an uploaded one. Empty = nothing ever waits.
using UploadPending = std::function<bool(const std::string& final_path)>;

// Told of each finished file retention deleted (its final path), on the deleting thread, after
// the deletion was logged: the upload queue forgets the file there, so a file lost in the
// min_free_bytes emergency is reported once, where it was lost. Empty = nobody is told.
using DeletedFileListener = std::function<void(const std::string& final_path)>;

struct RetentionOptions {
  std::string directory;                    // the recorder's output directory
  std::string prefix;                       // only files named `<prefix>_….mcap` are ever deleted
  uint64_t max_total_bytes = 0;             // this recorder's files in the directory; 0 = no limit
  uint64_t min_free_bytes = 0;              // free space to keep on the disk; 0 = don't check
  FreeSpaceProbe free_space;                // empty = statvfs_free_space()
  std::shared_ptr<FileSystem> file_system;  // where deletes go; null = POSIX
  // How stale cached knowledge may get: free space is measured again at least this often, and
  // while paused the directory is listed again at most this often (to notice files removed by
  // someone else). Tests use 0 (measure on every call, list on every refusal).
  std::chrono::milliseconds recheck_interval{1000};
  // A file waiting for upload is never deleted to meet max_total_bytes (the limit yields, with a
  // warning in the decision); only the min_free_bytes emergency deletes one, after every
  // uploaded file, and counts it in files_lost_before_upload.
  UploadPending upload_pending;
};

struct RetentionDecision {
  bool may_write = true;             // false: even after deleting, the limits would be broken
  std::vector<std::string> deleted;  // final paths deleted by this call, oldest first
  std::string reason;                // when !may_write: which limit, with the numbers
  // Deleted by the min_free_bytes emergency before their upload: final paths (also in `deleted`).
  std::vector<std::string> lost_before_upload;
  // Set on the first call (and again after the total was met once) that lets the total pass
  // max_total_bytes because only files waiting for upload are left to delete.
  std::string total_yields;
};

struct RetentionStats {
  uint64_t files_deleted = 0;
  uint64_t bytes_deleted = 0;
  uint64_t delete_errors = 0;             // unlink failures (logged by the caller through `reason`)
  uint64_t files_lost_before_upload = 0;  // deleted by the min_free_bytes emergency, unuploaded
  bool total_yielding = false;            // over max_total_bytes because the rest waits for upload
  bool paused = false;                    // the last make_room() refused
};

class Retention {
 public:
  explicit Retention(RetentionOptions options);

  // Before appending `incoming_bytes` to the file being written (`current_bytes` long so far):
  // deletes the oldest finalized files until the write keeps both limits, and says whether it
  // may proceed. Cheap when nothing needs deleting: at most one statvfs per call, and fewer while
  // far from min_free_bytes; the directory is listed once at construction, then only when a
  // file vanished under us or, at most once per recheck_interval, before refusing.
  RetentionDecision make_room(uint64_t current_bytes, uint64_t incoming_bytes);

  // A file of this recorder was finalized (its final path and size), so that the running total
  // stays right without listing the directory again. May come before the finalizer's rename:
  // while only `<final_path>.active` exists, the file counts towards the total but is not deleted.
  void note_finalized(const std::string& final_path, uint64_t bytes);

  const RetentionStats& stats() const { return stats_; }
  // Bytes of this recorder's finalized files in the directory, as far as retention knows.
  uint64_t finished_bytes() const { return finished_bytes_; }

 private:
  struct KnownFile {
    std::string name;   // file name in the directory, `<prefix>_<stamp>_<index>.mcap`
    std::string stamp;  // with index: the age order (names sort by start time)
    uint64_t index = 0;
    uint64_t bytes = 0;
    bool undeletable = false;  // unlink failed; tried again after the next listing
    bool finalizing = false;   // noted, but still `.active`: not deletable in this call
    bool deletable() const { return !undeletable && !finalizing; }
  };
  struct RoomRequest;  // one make_room() call's state, shared by its steps

  void list_directory();
  void insert_sorted(KnownFile file);
  bool should_probe(uint64_t incoming_bytes, std::chrono::steady_clock::time_point now) const;
  std::string path_of(const std::string& name) const;

  // The steps of make_room(), in the order it takes them.
  void estimate_free_space(RoomRequest& request, std::chrono::steady_clock::time_point now);
  uint64_t total_after(const RoomRequest& request) const;
  bool over_total(const RoomRequest& request) const;
  bool under_free(const RoomRequest& request) const;
  uint64_t deletable_bytes() const;
  bool enough_if_all_deleted(const RoomRequest& request) const;
  bool delete_until_within_limits(RoomRequest& request);
  bool pending(const KnownFile& file) const;
  std::vector<KnownFile>::iterator oldest_to_delete(bool emergency);
  void delete_oldest(RoomRequest& request, std::vector<KnownFile>::iterator oldest);
  void forget(std::vector<KnownFile>::iterator file);
  void relist(RoomRequest& request);
  void note_total_yield(const RoomRequest& request, bool within_limits,
                        RetentionDecision& decision);
  std::string refusal_reason(const RoomRequest& request) const;
  std::string explain(const RoomRequest& request, bool within_limits) const;

  RetentionOptions options_;
  RetentionStats stats_;
  std::vector<KnownFile> files_;  // this recorder's finalized files, oldest first
  uint64_t finished_bytes_ = 0;   // sum of files_[i].bytes
  std::chrono::steady_clock::time_point listed_at_{};
  bool listing_failed_ = false;
  // Free space as last measured, and what this recorder has written since (an estimate of the
  // free space now, good enough while far from the limit).
  bool have_free_ = false;
  bool probe_next_call_ = false;  // files were deleted: measure again rather than estimate
  uint64_t probed_free_ = 0;
  uint64_t written_since_probe_ = 0;
  std::chrono::steady_clock::time_point probed_at_{};
  // While the total yields, the files are asked again at most once per recheck_interval.
  std::chrono::steady_clock::time_point yield_checked_at_{};
};

}  // namespace mcaprec::storage
