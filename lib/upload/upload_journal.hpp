#pragma once
// The upload queue's memory on disk: an append-only file of JSON lines, one fact per line
// (a file enqueued, a multipart upload started, a part stored, a file uploaded, a file gone),
// each made durable (fdatasync) before the call returns. So a file enqueued before its
// finalization counts as done is never forgotten, and an interrupted multipart upload resumes
// with its upload id after a restart or a kill -9. A torn last line (a crash mid-append) is
// ignored. Opening the journal rewrites it with only what is still needed (compaction), and so
// does an append once the lines about settled files (forgotten, or facts an upload made stale)
// outnumber the live ones by far: a daemon that runs for months keeps a small journal.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "upload/file_upload.hpp"

namespace mcaprec::upload {

enum class FileKind { continuous, event };
const char* file_kind_name(FileKind kind);

// One file as the journal knows it.
struct JournalFile {
  std::string name;  // file name in the recording directory
  uint64_t size = 0;
  FileKind kind = FileKind::continuous;
  int64_t enqueued_unix_ns = 0;
  bool uploaded = false;
  std::string key;           // uploaded: the object's key; otherwise the multipart upload's
  std::string etag;          // uploaded: the object's ETag
  MultipartState multipart;  // an upload in progress (empty upload_id: none)
};

struct JournalContents {
  std::vector<JournalFile> files;  // in the order they were first enqueued
  size_t ignored_lines = 0;        // torn or unreadable lines
};

// What a journal's text says, line by line (pure, for tests).
JournalContents parse_journal(std::string_view text);

class UploadJournal {
 public:
  using Keep = std::function<bool(const JournalFile&)>;

  // Reads the journal at `path` (none yet: empty) into `contents`, then replaces it, atomically,
  // with the facts of the files `keep` keeps (all when empty); `contents` holds those only.
  static base::Result<std::unique_ptr<UploadJournal>> open(const std::string& path,
                                                           JournalContents& contents,
                                                           const Keep& keep = {});
  ~UploadJournal();
  UploadJournal(const UploadJournal&) = delete;
  UploadJournal& operator=(const UploadJournal&) = delete;

  // Each appends one line and fdatasyncs it; thread-safe.
  base::Status enqueued(const JournalFile& file);
  base::Status multipart_started(const std::string& name, const std::string& key,
                                 const std::string& upload_id);
  base::Status part_uploaded(const std::string& name, const std::string& upload_id,
                             const UploadedPart& part);
  base::Status uploaded(const std::string& name, const std::string& key, const std::string& etag);
  // The file left the directory (deleted after its upload, or lost): the journal forgets it.
  // Not synced: retention calls it on the writer's thread, and a forgotten line lost in a crash
  // costs nothing, since opening forgets every file no longer on disk anyway.
  base::Status forgotten(const std::string& name);

  const std::string& path() const { return path_; }
  // Lines in the file now (for tests: the journal's size is bounded).
  size_t lines() const;

 private:
  UploadJournal(std::string path, int fd, JournalContents contents, size_t lines);
  // A synced append may compact the journal afterwards; the unsynced one (forgotten, from the
  // writer's thread) never does, so that it never waits for a rewrite.
  base::Status append(const std::string& line, bool sync = true);
  bool compaction_due() const;  // under mu_
  void compact();               // under mu_; on failure the journal goes on growing, unharmed

  const std::string path_;
  mutable std::mutex mu_;
  int fd_;                  // O_APPEND; guarded by mu_ (replaced by compaction)
  JournalContents live_;    // guarded by mu_: what the file says, as parse_journal() reads it
  size_t lines_ = 0;        // guarded by mu_: lines in the file
  size_t next_compaction_;  // guarded by mu_: no compaction before the file has this many lines
};

}  // namespace mcaprec::upload
