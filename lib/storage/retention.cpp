// How retention decides, where the contract leaves room:
// - Age is read from the name (`<stamp>_<index>`, index compared as a number), not from mtime:
//   the name is what the recorder wrote at the file's start, while mtimes change when files are
//   copied back or touched.
// - Free space is measured at most once per call, and only when the estimate (last measurement
//   minus what was written since) could be wrong in a way that matters: near min_free_bytes,
//   after 4 MiB written or recheck_interval elapsed, after deleting, and on every call while
//   paused.
// - Recordings are deleted only if deleting them all would be enough; otherwise they are kept
//   and recording pauses, since deleting them would lose data without letting anything be written.
// - If free space cannot be measured, min_free_bytes is not enforced (the decision says so):
//   a real disk-full still ends the file cleanly through the writer's ENOSPC handling.
#include "storage/retention.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>
#include <tuple>
#include <utility>

#include "base/byte_size_text.hpp"
#include "storage/file_naming.hpp"

namespace mcaprec::storage {

namespace {

using base::byte_size_text;

// Below this distance from min_free_bytes, and after writing this much since the last
// measurement, free space is measured again instead of estimated.
constexpr uint64_t kEstimateFreeSpaceFor = 4ull << 20;
// How many unlink failures a reason names before it only counts them.
constexpr size_t kFailuresNamed = 3;

uint64_t saturating_add(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}
uint64_t saturating_sub(uint64_t a, uint64_t b) {
  return a > b ? a - b : 0;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// The stamp utc_stamp() writes: "2026-11-21T10-15-00Z".
bool is_utc_stamp(std::string_view text) {
  constexpr std::string_view kShape = "dddd-dd-ddTdd-dd-ddZ";
  if (text.size() != kShape.size()) return false;
  for (size_t i = 0; i < kShape.size(); ++i) {
    if (kShape[i] == 'd' ? !is_digit(text[i]) : text[i] != kShape[i]) return false;
  }
  return true;
}

struct RecordingName {
  std::string stamp;
  uint64_t index = 0;
};

// `<prefix>_<stamp>_<index>.mcap` exactly as recording_file_name() writes it, or nothing. The
// strict shape is what keeps `rec_front_…` out when the prefix is `rec`, and `….mcap.active`,
// copies and other programs' files out always.
std::optional<RecordingName> parse_recording_name(std::string_view name, std::string_view prefix) {
  constexpr std::string_view kExtension = ".mcap";
  if (name.size() <= prefix.size() + 1 || name.substr(0, prefix.size()) != prefix ||
      name[prefix.size()] != '_') {
    return std::nullopt;
  }
  std::string_view rest = name.substr(prefix.size() + 1);
  if (rest.size() <= kExtension.size() ||
      rest.substr(rest.size() - kExtension.size()) != kExtension) {
    return std::nullopt;
  }
  rest.remove_suffix(kExtension.size());
  const size_t underscore = rest.find('_');
  if (underscore == std::string_view::npos || !is_utc_stamp(rest.substr(0, underscore))) {
    return std::nullopt;
  }
  const std::string_view digits = rest.substr(underscore + 1);
  if (digits.empty() || digits.size() > 19) return std::nullopt;  // 19 digits fit in uint64_t
  RecordingName parsed;
  for (char c : digits) {
    if (!is_digit(c)) return std::nullopt;
    parsed.index = parsed.index * 10 + static_cast<uint64_t>(c - '0');
  }
  parsed.stamp = std::string(rest.substr(0, underscore));
  return parsed;
}

std::string errno_text(int error) {
  return std::strerror(error);
}

// Joins the sentences of a reason.
void add_sentence(std::string& reason, const std::string& sentence) {
  if (!reason.empty()) reason += "; ";
  reason += sentence;
}

}  // namespace

FreeSpaceProbe statvfs_free_space() {
  return [](const std::string& directory) -> base::Result<uint64_t> {
    struct statvfs fs {};
    if (::statvfs(directory.c_str(), &fs) != 0) {
      return base::Error{0, "statvfs " + directory + ": " + errno_text(errno)};
    }
    return static_cast<uint64_t>(fs.f_bavail) * static_cast<uint64_t>(fs.f_frsize);
  };
}

Retention::Retention(RetentionOptions options) : options_(std::move(options)) {
  if (options_.directory.empty()) options_.directory = ".";
  if (!options_.free_space) options_.free_space = statvfs_free_space();
  // Without limits nothing is ever deleted, so there is nothing to know about the directory.
  if (options_.max_total_bytes != 0 || options_.min_free_bytes != 0) list_directory();
}

std::string Retention::path_of(const std::string& name) const {
  return options_.directory + "/" + name;
}

void Retention::insert_sorted(KnownFile file) {
  auto older = [](const KnownFile& a, const KnownFile& b) {
    return std::tie(a.stamp, a.index, a.name) < std::tie(b.stamp, b.index, b.name);
  };
  // New files are the newest, so the place is almost always the end.
  auto place = std::upper_bound(files_.begin(), files_.end(), file, older);
  finished_bytes_ += file.bytes;
  files_.insert(place, std::move(file));
}

void Retention::list_directory() {
  listed_at_ = std::chrono::steady_clock::now();
  std::vector<KnownFile> previous = std::move(files_);
  files_.clear();
  finished_bytes_ = 0;
  DIR* dir = ::opendir(options_.directory.c_str());
  listing_failed_ = dir == nullptr;
  if (dir == nullptr) return;  // not created yet, or unreadable: nothing of ours to delete
  const int dir_fd = ::dirfd(dir);
  std::vector<std::string> being_finalized;  // final names of this recorder's `.active` files
  while (const dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name.ends_with(kActiveSuffix)) {
      name.remove_suffix(kActiveSuffix.size());
      if (parse_recording_name(name, options_.prefix)) being_finalized.emplace_back(name);
      continue;
    }
    std::optional<RecordingName> parsed = parse_recording_name(name, options_.prefix);
    if (!parsed) continue;
    // Only regular files: deleting a symlink frees nothing, a directory is not a recording.
    struct stat st {};
    if (::fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
      continue;
    }
    insert_sorted(KnownFile{std::string(name), std::move(parsed->stamp), parsed->index,
                            static_cast<uint64_t>(st.st_size)});
  }
  ::closedir(dir);
  // A file noted as finalized may still wait for its rename on the finalizer's thread: it keeps
  // its place, or it would be forgotten until the next listing.
  for (KnownFile& known : previous) {
    if (std::find(being_finalized.begin(), being_finalized.end(), known.name) !=
        being_finalized.end()) {
      known.undeletable = false;
      known.finalizing = false;
      insert_sorted(std::move(known));
    }
  }
}

void Retention::note_finalized(const std::string& final_path, uint64_t bytes) {
  const size_t slash = final_path.rfind('/');
  const std::string name = slash == std::string::npos ? final_path : final_path.substr(slash + 1);
  std::optional<RecordingName> parsed = parse_recording_name(name, options_.prefix);
  if (!parsed) return;  // not a name retention may ever delete
  // A listing after the rename may already know the file; newest files sit at the end.
  for (auto it = files_.rbegin(); it != files_.rend(); ++it) {
    if (it->name == name) {
      finished_bytes_ = finished_bytes_ - it->bytes + bytes;
      it->bytes = bytes;
      return;
    }
  }
  insert_sorted(KnownFile{name, std::move(parsed->stamp), parsed->index, bytes});
}

bool Retention::should_probe(uint64_t incoming_bytes,
                             std::chrono::steady_clock::time_point now) const {
  if (!have_free_ || stats_.paused || probe_next_call_) return true;
  if (now - probed_at_ >= options_.recheck_interval) return true;
  const uint64_t written = saturating_add(written_since_probe_, incoming_bytes);
  if (written >= kEstimateFreeSpaceFor) return true;
  // Close to the limit the estimate is not good enough: other programs write to the disk too.
  const uint64_t estimated_after = saturating_sub(probed_free_, written);
  return estimated_after < saturating_add(options_.min_free_bytes, kEstimateFreeSpaceFor);
}

// What one make_room() call knows and has done so far: its steps are member functions that
// share this instead of a handful of captured locals.
struct Retention::RoomRequest {
  uint64_t current_bytes = 0;
  uint64_t incoming_bytes = 0;
  std::optional<uint64_t> free_bytes;  // free space now, measured or estimated
  std::string probe_error;
  std::vector<std::string> deleted;       // final paths, oldest first
  std::vector<std::string> failures;      // "<name>: <why>" of unlinks that failed in this call
  std::vector<std::string> failed_names;  // kept undeletable across a listing in this call
  bool relisted = false;
  bool finalizing_marked = false;
  bool total_yields = false;  // over max_total_bytes, and only files waiting for upload are left
  std::vector<std::string> lost;  // deleted before their upload (emergency)
  std::chrono::steady_clock::time_point now{};
};

RetentionDecision Retention::make_room(uint64_t current_bytes, uint64_t incoming_bytes) {
  RetentionDecision decision;
  if (options_.max_total_bytes == 0 && options_.min_free_bytes == 0) return decision;
  const auto now = std::chrono::steady_clock::now();
  RoomRequest request;
  request.current_bytes = current_bytes;
  request.incoming_bytes = incoming_bytes;
  request.now = now;
  if (options_.min_free_bytes != 0) estimate_free_space(request, now);

  bool within_limits = delete_until_within_limits(request);
  // Before refusing, make sure the refusal is not based on a stale list (files removed by
  // someone else, an unlink that failed for a passing reason), but not on every call.
  if (!within_limits && !request.relisted &&
      (listing_failed_ || now - listed_at_ >= options_.recheck_interval)) {
    relist(request);
    within_limits = delete_until_within_limits(request);
  }
  decision.may_write = within_limits;
  stats_.paused = !within_limits;
  note_total_yield(request, within_limits, decision);
  decision.lost_before_upload = std::move(request.lost);
  if (within_limits) written_since_probe_ = saturating_add(written_since_probe_, incoming_bytes);
  decision.deleted = std::move(request.deleted);
  // Explained while the files still being finalized are marked: they are not "left to delete".
  decision.reason = explain(request, within_limits);
  if (request.finalizing_marked) {
    for (KnownFile& f : files_) f.finalizing = false;
  }
  return decision;
}

void Retention::estimate_free_space(RoomRequest& request,
                                    std::chrono::steady_clock::time_point now) {
  if (should_probe(request.incoming_bytes, now)) {
    base::Result<uint64_t> measured = options_.free_space(options_.directory);
    probe_next_call_ = false;
    have_free_ = measured.ok();
    if (measured.ok()) {
      probed_free_ = *measured;
      written_since_probe_ = 0;
      probed_at_ = now;
    } else {
      request.probe_error = measured.error().message;
    }
  }
  if (have_free_) request.free_bytes = saturating_sub(probed_free_, written_since_probe_);
}

uint64_t Retention::total_after(const RoomRequest& request) const {
  return saturating_add(saturating_add(finished_bytes_, request.current_bytes),
                        request.incoming_bytes);
}

bool Retention::over_total(const RoomRequest& request) const {
  return options_.max_total_bytes != 0 && total_after(request) > options_.max_total_bytes;
}

bool Retention::under_free(const RoomRequest& request) const {
  return request.free_bytes &&
         *request.free_bytes < saturating_add(options_.min_free_bytes, request.incoming_bytes);
}

uint64_t Retention::deletable_bytes() const {
  uint64_t sum = 0;
  for (const KnownFile& f : files_) sum += f.deletable() ? f.bytes : 0;
  return sum;
}

// Deleting recordings is only worth it when it makes room: if even deleting every one would
// not, they are kept and recording pauses until space comes back some other way.
bool Retention::enough_if_all_deleted(const RoomRequest& request) const {
  const uint64_t freeable = deletable_bytes();
  const bool total_ok = options_.max_total_bytes == 0 ||
                        saturating_sub(total_after(request), freeable) <= options_.max_total_bytes;
  const bool free_ok =
      !request.free_bytes || saturating_add(*request.free_bytes, freeable) >=
                                 saturating_add(options_.min_free_bytes, request.incoming_bytes);
  return total_ok && free_ok;
}

// Deletes the oldest deletable files until both limits hold; false when that cannot work. Files
// waiting for upload go last, and only to keep min_free_bytes: for max_total_bytes alone they
// stay and the total yields (request.total_yields).
bool Retention::delete_until_within_limits(RoomRequest& request) {
  while (over_total(request) || under_free(request)) {
    if (!enough_if_all_deleted(request)) return false;
    const bool emergency = under_free(request);
    if (!emergency && stats_.total_yielding &&
        request.now - yield_checked_at_ < options_.recheck_interval) {
      request.total_yields = true;  // asked recently: nothing was uploaded that could go
      return true;
    }
    auto oldest = oldest_to_delete(emergency);
    if (oldest == files_.end()) {
      request.total_yields = true;
      yield_checked_at_ = request.now;
      return true;
    }
    delete_oldest(request, oldest);
  }
  return true;
}

bool Retention::pending(const KnownFile& file) const {
  return options_.upload_pending && options_.upload_pending(path_of(file.name));
}

// The oldest file already uploaded; in an emergency, else the oldest file at all.
std::vector<Retention::KnownFile>::iterator Retention::oldest_to_delete(bool emergency) {
  auto uploaded = std::ranges::find_if(
      files_, [this](const KnownFile& f) { return f.deletable() && !pending(f); });
  if (uploaded != files_.end() || !emergency) return uploaded;
  return std::ranges::find_if(files_, &KnownFile::deletable);
}

void Retention::note_total_yield(const RoomRequest& request, bool within_limits,
                                 RetentionDecision& decision) {
  const bool yields = within_limits && request.total_yields;
  if (yields && !stats_.total_yielding) {
    decision.total_yields =
        "this recorder's files take " + byte_size_text(total_after(request)) +
        ", above output.max_total_bytes " + byte_size_text(options_.max_total_bytes) +
        ", and every finished recording left waits for upload: kept (only output.min_free_bytes "
        "may delete them); recording goes on";
  }
  if (within_limits) stats_.total_yielding = yields;
}

void Retention::delete_oldest(RoomRequest& request, std::vector<KnownFile>::iterator oldest) {
  const std::string path = path_of(oldest->name);
  const bool unuploaded = pending(*oldest);
  if (or_posix(options_.file_system)->unlink(path) == 0) {
    ++stats_.files_deleted;
    stats_.bytes_deleted += oldest->bytes;
    if (unuploaded) {
      ++stats_.files_lost_before_upload;
      request.lost.push_back(path);
    }
    if (request.free_bytes)
      *request.free_bytes = saturating_add(*request.free_bytes, oldest->bytes);
    forget(oldest);
    request.deleted.push_back(path);
    probe_next_call_ = true;
    return;
  }
  const int error = errno;
  struct stat st {};
  if (error == ENOENT && ::lstat((path + std::string(kActiveSuffix)).c_str(), &st) == 0) {
    // Noted as finalized, not renamed yet: the finalizer is on it. Next call, perhaps.
    oldest->finalizing = true;
    request.finalizing_marked = true;
  } else if (error == ENOENT) {
    // Someone else removed it, so the cached list is stale: look again, once per call.
    forget(oldest);
    if (!request.relisted) relist(request);
  } else {
    ++stats_.delete_errors;
    request.failures.push_back(oldest->name + ": " + errno_text(error));
    request.failed_names.push_back(oldest->name);
    oldest->undeletable = true;
  }
}

void Retention::forget(std::vector<KnownFile>::iterator file) {
  finished_bytes_ -= file->bytes;
  files_.erase(file);
}

// A fresh listing, in which the files whose unlink failed in this call stay undeletable so that
// the same call does not try them again.
void Retention::relist(RoomRequest& request) {
  list_directory();
  request.relisted = true;
  for (KnownFile& f : files_) {
    f.undeletable = std::ranges::find(request.failed_names, f.name) != request.failed_names.end();
  }
}

// Which limit stops the write, with the numbers, and why deleting did not help.
std::string Retention::refusal_reason(const RoomRequest& request) const {
  std::string reason;
  if (under_free(request)) {
    const std::string limit = "output.min_free_bytes " + byte_size_text(options_.min_free_bytes);
    const uint64_t free_bytes = *request.free_bytes;
    if (free_bytes < options_.min_free_bytes) {
      add_sentence(reason, "disk has " + byte_size_text(free_bytes) + " free, below " + limit);
    } else {
      add_sentence(reason, "disk has " + byte_size_text(free_bytes) + " free, and writing " +
                               byte_size_text(request.incoming_bytes) + " more would go below " +
                               limit);
    }
  }
  if (over_total(request)) {
    add_sentence(reason,
                 "this recorder's files would take " + byte_size_text(total_after(request)) +
                     " (finished " + byte_size_text(finished_bytes_) + ", current file " +
                     byte_size_text(request.current_bytes) + ", next write " +
                     byte_size_text(request.incoming_bytes) + "), above output.max_total_bytes " +
                     byte_size_text(options_.max_total_bytes));
  }
  const auto left = static_cast<size_t>(std::ranges::count_if(files_, &KnownFile::deletable));
  const auto stuck = static_cast<size_t>(std::ranges::count_if(files_, &KnownFile::undeletable));
  if (left == 0) {
    reason += ", and no finished recording is left to delete";
  } else {
    reason += ", and deleting all " + std::to_string(left) + " finished recording(s) left (" +
              byte_size_text(deletable_bytes()) + ") would not be enough, so they are kept";
  }
  if (stuck != 0) reason += " (" + std::to_string(stuck) + " could not be deleted)";
  uint64_t finalizing_bytes = 0;
  size_t finalizing = 0;
  for (const KnownFile& f : files_) {
    if (f.finalizing && !f.undeletable) {
      ++finalizing;
      finalizing_bytes += f.bytes;
    }
  }
  if (finalizing != 0) {
    reason += " (" + std::to_string(finalizing) + " more, " + byte_size_text(finalizing_bytes) +
              ", still being finalized: deletable once renamed)";
  }
  return reason;
}

std::string Retention::explain(const RoomRequest& request, bool within_limits) const {
  std::string reason = within_limits ? std::string() : refusal_reason(request);
  if (!request.failures.empty()) {
    std::string sentence =
        "could not delete " + std::to_string(request.failures.size()) + " file(s): ";
    for (size_t i = 0; i < request.failures.size() && i < kFailuresNamed; ++i) {
      sentence += (i == 0 ? "" : ", ") + request.failures[i];
    }
    if (request.failures.size() > kFailuresNamed) sentence += ", ...";
    add_sentence(reason, sentence);
  }
  if (!request.probe_error.empty()) {
    add_sentence(reason,
                 "free space unknown, output.min_free_bytes not checked: " + request.probe_error);
  }
  return reason;
}

}  // namespace mcaprec::storage
