#pragma once
// Retention: keeps a recorder's directory within `max_total_bytes` and its disk above
// `min_free_bytes` by deleting this recorder's oldest finalized files (`<prefix>_*.mcap`, never
// an `.active` file, never another prefix's or another program's files). When deleting is not
// enough, it says so, and the ordered writer pauses recording until make_room() succeeds again.
//
// Owned by the ordered writer's thread: every call comes from that one thread.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mcap/error.hpp"

namespace mcaprec::storage {

// Free bytes on the filesystem holding `directory` (statvfs: f_bavail * f_frsize). Tests
// substitute their own.
using FreeSpaceProbe = std::function<mcap::Result<uint64_t>(const std::string& directory)>;
FreeSpaceProbe statvfs_free_space();

struct RetentionOptions {
  std::string directory;         // the recorder's output directory
  std::string prefix;            // only files named `<prefix>_….mcap` are ever deleted
  uint64_t max_total_bytes = 0;  // this recorder's files in the directory; 0 = no limit
  uint64_t min_free_bytes = 0;   // free space to keep on the disk; 0 = don't check
  FreeSpaceProbe free_space;     // empty = statvfs_free_space()
};

struct RetentionDecision {
  bool may_write = true;             // false: even after deleting, the limits would be broken
  std::vector<std::string> deleted;  // final paths deleted by this call, oldest first
  std::string reason;                // when !may_write: which limit, with the numbers
};

struct RetentionStats {
  uint64_t files_deleted = 0;
  uint64_t bytes_deleted = 0;
  uint64_t delete_errors = 0;  // unlink failures (logged by the caller through `reason`)
  bool paused = false;         // the last make_room() refused
};

class Retention {
 public:
  explicit Retention(RetentionOptions options);

  // Before appending `incoming_bytes` to the file being written (`current_bytes` long so far):
  // deletes the oldest finalized files until the write keeps both limits, and says whether it
  // may proceed. Cheap when nothing needs deleting (one statvfs at most every call; the
  // directory is listed only when a limit would be broken or after note_finalized()).
  RetentionDecision make_room(uint64_t current_bytes, uint64_t incoming_bytes);

  // A file of this recorder was finalized (its final path and size), so that the running total
  // stays right without listing the directory again.
  void note_finalized(const std::string& final_path, uint64_t bytes);

  const RetentionStats& stats() const { return stats_; }

 private:
  RetentionOptions options_;
  RetentionStats stats_;
  // Implementation state (known finalized files, oldest first, with sizes; their total; when the
  // directory was last listed) is the implementer's to add.
};

}  // namespace mcaprec::storage
