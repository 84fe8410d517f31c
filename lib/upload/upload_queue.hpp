#pragma once
// The files of one recorder that still have to reach object storage, in the order they should
// go: event files first, then the oldest first. Every change is written to the UploadJournal
// before it takes effect, so the queue is the same after a restart or a kill -9. A file that
// failed waits until its retry time while the others go ahead. Thread-safe: the finalizers
// enqueue, the uploader takes, /status reads.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "upload/upload_journal.hpp"

namespace mcaprec::upload {

struct QueueOptions {
  std::string directory;     // where the recorder's files are
  std::string prefix;        // its files: <prefix>_*.mcap (event files <prefix>_event_*.mcap)
  std::string journal_path;  // "" = default_journal_path(directory, prefix)
};

// <directory>/.mcaprec-upload/<prefix>.journal: beside the files it is about, on the same disk,
// and out of the way of retention and of other recorders' prefixes.
std::string default_journal_path(const std::string& directory, const std::string& prefix);

// Whether `name` is one of this recorder's finished files, and an event file.
bool is_recording_file(const std::string& name, const std::string& prefix);
FileKind kind_of(const std::string& name, const std::string& prefix);

// A file the uploader is given.
struct PendingFile {
  std::string name;
  std::string path;
  uint64_t size = 0;  // as enqueued
  FileKind kind = FileKind::continuous;
  int64_t enqueued_unix_ns = 0;
  std::string key;            // of the multipart upload in progress
  MultipartState multipart;   // empty upload_id: none in progress
  int failures = 0;           // in a row
  bool seen_missing = false;  // found gone from the directory once; lost if still so next time
};

struct QueueTotals {
  uint64_t files = 0;
  uint64_t bytes = 0;
  double oldest_age_seconds = 0;  // since the oldest pending file was enqueued; 0 when none
};

// What opening found, for the log.
struct QueueStartReport {
  size_t pending_from_journal = 0;
  size_t resumable_multipart = 0;
  size_t found_in_directory = 0;  // finished files the journal did not know
  size_t ignored_journal_lines = 0;
  std::vector<std::string> lost;  // pending in the journal but no longer on disk
};

class UploadQueue {
 public:
  using Clock = std::chrono::steady_clock;

  // Opens and compacts the journal, forgets files no longer on disk, and enqueues this
  // recorder's finished files the journal does not show as uploaded (call after recovery).
  static base::Result<std::unique_ptr<UploadQueue>> open(const QueueOptions& options,
                                                         QueueStartReport& report);

  // Durable before it returns (the finalizer's listener calls it). `path` is in the directory.
  base::Status enqueue(const std::string& path);

  // Blocks until a file is due and hands it out (it stays queued until uploaded() or
  // forget()); nullopt once stop() was called.
  std::optional<PendingFile> wait_next();
  // The file handed out failed: it waits until `until`, the others go ahead.
  void defer(const std::string& name, int failures, Clock::time_point until);
  // The file handed out is not on disk: asked again at `until`, in case whoever deleted it is
  // about to forget() it (retention's emergency), so that it is not reported lost twice.
  void defer_missing(const std::string& name, Clock::time_point until);
  // Journal the steps of a multipart upload, so a restart resumes it.
  base::Status multipart_started(const std::string& name, const std::string& key,
                                 const std::string& upload_id);
  base::Status part_uploaded(const std::string& name, const std::string& upload_id,
                             const UploadedPart& part);
  // Confirmed by the server: journaled, then out of the queue.
  base::Status uploaded(const std::string& name, const std::string& key, const std::string& etag);
  // The file is gone from the directory (deleted after its upload, or lost).
  base::Status forget(const std::string& name);
  void stop();

  bool is_uploaded(const std::string& name) const;
  bool is_pending(const std::string& name) const;
  QueueTotals totals() const;
  const std::string& directory() const { return options_.directory; }
  const std::string& journal_path() const { return journal_->path(); }

 private:
  struct Entry {
    PendingFile file;
    Clock::time_point not_before{};
    bool handed_out = false;
  };
  UploadQueue(QueueOptions options, std::unique_ptr<UploadJournal> journal);
  void add_pending(const JournalFile& file);
  std::vector<Entry>::iterator due(Clock::time_point now);  // under mu_
  Entry* find(const std::string& name);                     // under mu_

  const QueueOptions options_;
  std::unique_ptr<UploadJournal> journal_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<Entry> pending_;      // guarded by mu_
  std::set<std::string> uploaded_;  // guarded by mu_; still on disk
  bool stopping_ = false;           // guarded by mu_
};

}  // namespace mcaprec::upload
