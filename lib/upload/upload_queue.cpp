#include "upload/upload_queue.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <tuple>

#include "base/event_file_name.hpp"

namespace mcaprec::upload {
namespace {

namespace fs = std::filesystem;

int64_t unix_ns_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct FoundFile {
  std::string name;
  uint64_t size = 0;
  int64_t modified_unix_ns = 0;
};

std::optional<FoundFile> stat_file(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
  return FoundFile{fs::path(path).filename().string(), static_cast<uint64_t>(info.st_size),
                   int64_t{info.st_mtim.tv_sec} * 1'000'000'000 + info.st_mtim.tv_nsec};
}

// This recorder's finished files in the directory, oldest first.
std::vector<FoundFile> finished_files(const std::string& directory, const std::string& prefix) {
  std::vector<FoundFile> found;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory, error)) {
    const std::string name = entry.path().filename().string();
    if (!is_recording_file(name, prefix)) continue;
    if (auto file = stat_file(entry.path().string())) found.push_back(*file);
  }
  std::sort(found.begin(), found.end(), [](const FoundFile& a, const FoundFile& b) {
    return std::tie(a.modified_unix_ns, a.name) < std::tie(b.modified_unix_ns, b.name);
  });
  return found;
}

JournalFile new_file(const FoundFile& found, const std::string& prefix, int64_t enqueued_unix_ns) {
  JournalFile file;
  file.name = found.name;
  file.size = found.size;
  file.kind = kind_of(found.name, prefix);
  file.enqueued_unix_ns = enqueued_unix_ns;
  return file;
}

}  // namespace

std::string default_journal_path(const std::string& directory, const std::string& prefix) {
  return (fs::path(directory) / ".mcaprec-upload" / (prefix + ".journal")).string();
}

bool is_recording_file(const std::string& name, const std::string& prefix) {
  return name.size() > prefix.size() + 6 && name.starts_with(prefix + "_") &&
         name.ends_with(".mcap");
}

FileKind kind_of(const std::string& name, const std::string& prefix) {
  return name.starts_with(base::event_file_start(prefix)) ? FileKind::event : FileKind::continuous;
}

UploadQueue::UploadQueue(QueueOptions options, std::unique_ptr<UploadJournal> journal)
    : options_(std::move(options)), journal_(std::move(journal)) {}

base::Result<std::unique_ptr<UploadQueue>> UploadQueue::open(const QueueOptions& given,
                                                             QueueStartReport& report) {
  QueueOptions options = given;
  if (options.journal_path.empty())
    options.journal_path = default_journal_path(options.directory, options.prefix);
  const auto on_disk = [&](const JournalFile& file) {
    return fs::exists(fs::path(options.directory) / file.name);
  };
  JournalContents contents;
  auto journal = UploadJournal::open(options.journal_path, contents, [&](const JournalFile& file) {
    if (on_disk(file)) return true;
    if (!file.uploaded) report.lost.push_back(file.name);
    return false;
  });
  if (!journal) return journal.error();
  report.ignored_journal_lines = contents.ignored_lines;
  std::unique_ptr<UploadQueue> queue(new UploadQueue(options, std::move(*journal)));
  std::set<std::string> known;
  for (const JournalFile& file : contents.files) {
    known.insert(file.name);
    if (file.uploaded) {
      queue->uploaded_.insert(file.name);
      continue;
    }
    queue->add_pending(file);
    ++report.pending_from_journal;
    if (!file.multipart.upload_id.empty()) ++report.resumable_multipart;
  }
  for (const FoundFile& found : finished_files(options.directory, options.prefix)) {
    if (known.contains(found.name)) continue;
    const JournalFile file = new_file(found, options.prefix, found.modified_unix_ns);
    if (base::Status written = queue->journal_->enqueued(file); !written) return written.error();
    queue->add_pending(file);
    ++report.found_in_directory;
  }
  return queue;
}

void UploadQueue::add_pending(const JournalFile& file) {
  Entry entry;
  entry.file = PendingFile{file.name,
                           (fs::path(options_.directory) / file.name).string(),
                           file.size,
                           file.kind,
                           file.enqueued_unix_ns,
                           file.key,
                           file.multipart,
                           0,
                           false};
  pending_.push_back(std::move(entry));
}

base::Status UploadQueue::enqueue(const std::string& path) {
  auto found = stat_file(path);
  if (!found) return base::Error{0, "cannot enqueue " + path + " for upload: it is not a file"};
  const JournalFile file = new_file(*found, options_.prefix, unix_ns_now());
  if (base::Status written = journal_->enqueued(file); !written) return written;
  {
    std::lock_guard lock(mu_);
    uploaded_.erase(file.name);
    std::erase_if(pending_, [&](const Entry& entry) { return entry.file.name == file.name; });
    add_pending(file);
  }
  wake_.notify_all();
  return {};
}

// Event files first, then the oldest; among those, any file not waiting for a retry.
std::vector<UploadQueue::Entry>::iterator UploadQueue::due(Clock::time_point now) {
  auto best = pending_.end();
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->handed_out || it->not_before > now) continue;
    if (best == pending_.end() ||
        std::make_tuple(it->file.kind != FileKind::event, it->file.enqueued_unix_ns) <
            std::make_tuple(best->file.kind != FileKind::event, best->file.enqueued_unix_ns)) {
      best = it;
    }
  }
  return best;
}

std::optional<PendingFile> UploadQueue::wait_next() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const Clock::time_point now = Clock::now();
    if (auto next = due(now); next != pending_.end()) {
      next->handed_out = true;
      return next->file;
    }
    std::optional<Clock::time_point> earliest;
    for (const Entry& entry : pending_) {
      if (!entry.handed_out && (!earliest || entry.not_before < *earliest))
        earliest = entry.not_before;
    }
    if (earliest) {
      wake_.wait_until(lock, *earliest);
    } else {
      wake_.wait(lock);
    }
  }
  return std::nullopt;
}

UploadQueue::Entry* UploadQueue::find(const std::string& name) {
  for (Entry& entry : pending_) {
    if (entry.file.name == name) return &entry;
  }
  return nullptr;
}

void UploadQueue::defer(const std::string& name, int failures, Clock::time_point until) {
  std::lock_guard lock(mu_);
  if (Entry* entry = find(name)) {
    entry->handed_out = false;
    entry->not_before = until;
    entry->file.failures = failures;
  }
}

void UploadQueue::defer_missing(const std::string& name, Clock::time_point until) {
  std::lock_guard lock(mu_);
  if (Entry* entry = find(name)) {
    entry->handed_out = false;
    entry->not_before = until;
    entry->file.seen_missing = true;
  }
}

base::Status UploadQueue::multipart_started(const std::string& name, const std::string& key,
                                            const std::string& upload_id) {
  if (base::Status written = journal_->multipart_started(name, key, upload_id); !written)
    return written;
  std::lock_guard lock(mu_);
  if (Entry* entry = find(name)) {
    entry->file.key = key;
    entry->file.multipart = MultipartState{upload_id, {}};
  }
  return {};
}

base::Status UploadQueue::part_uploaded(const std::string& name, const std::string& upload_id,
                                        const UploadedPart& part) {
  if (base::Status written = journal_->part_uploaded(name, upload_id, part); !written)
    return written;
  std::lock_guard lock(mu_);
  if (Entry* entry = find(name); entry && entry->file.multipart.upload_id == upload_id)
    entry->file.multipart.parts.push_back(part);
  return {};
}

base::Status UploadQueue::uploaded(const std::string& name, const std::string& key,
                                   const std::string& etag) {
  if (base::Status written = journal_->uploaded(name, key, etag); !written) return written;
  std::lock_guard lock(mu_);
  std::erase_if(pending_, [&](const Entry& entry) { return entry.file.name == name; });
  uploaded_.insert(name);
  return {};
}

base::Status UploadQueue::forget(const std::string& name) {
  if (base::Status written = journal_->forgotten(name); !written) return written;
  std::lock_guard lock(mu_);
  std::erase_if(pending_, [&](const Entry& entry) { return entry.file.name == name; });
  uploaded_.erase(name);
  return {};
}

void UploadQueue::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
}

bool UploadQueue::is_uploaded(const std::string& name) const {
  std::lock_guard lock(mu_);
  return uploaded_.contains(name);
}

bool UploadQueue::is_pending(const std::string& name) const {
  std::lock_guard lock(mu_);
  return std::any_of(pending_.begin(), pending_.end(),
                     [&](const Entry& entry) { return entry.file.name == name; });
}

QueueTotals UploadQueue::totals() const {
  QueueTotals totals;
  const int64_t now = unix_ns_now();
  std::lock_guard lock(mu_);
  for (const Entry& entry : pending_) {
    ++totals.files;
    totals.bytes += entry.file.size;
    const double age = static_cast<double>(now - entry.file.enqueued_unix_ns) / 1e9;
    totals.oldest_age_seconds = std::max(totals.oldest_age_seconds, age);
  }
  return totals;
}

}  // namespace mcaprec::upload
