#pragma once
// Power cuts, simulated in process (docs/ARCHITECTURE.md §10).
//
// PowerCutFileSystem sits under the recorder as its storage::FileSystem: it makes every call for
// real (so the recorder runs normally, in a scratch directory) and records each one that changes
// the disk, in the order they happened, with the bytes written. PowerCutReplay then walks that
// record and, at any operation index, writes out the disk as it could be after a power cut just
// before that operation:
//   - what a completed fdatasync/fsync made durable is kept, byte for byte, with its size;
//   - every 4 KiB page written since its file's last sync is, at random, kept (the new bytes),
//     lost (the old bytes, zeros where the file had none) or torn (each 512-byte sector old or
//     new); a file whose size changed since its last sync keeps the old size, the new one or one
//     in between;
//   - the operation in flight, when it is a write, may have reached some of its pages;
//   - creates, renames and unlinks are kept in the order they were made, up to the last fsync of
//     their directory at least; the ones after it are kept as a random prefix (often none),
//     as a journaling filesystem commits them in order.
// The choices come from the seed alone: the same record, index and seed give the same image.
// The model assumes that the recorder writes into one directory and never reads a file back
// through a descriptor this layer opened (reads, stat and mmap go to the real files).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "storage/file_system.hpp"

namespace mcaprec::test_support {

constexpr uint64_t kPageBytes = 4096;
constexpr uint64_t kSectorBytes = 512;

struct FsOperation {
  enum class Kind {
    kCreate,         // `path` names the new file `file`
    kAdopt,          // `path` existed before: `data` is its content, already durable
    kWrite,          // `data` at `offset` of `file`
    kTruncate,       // `file` cut or extended to `offset` bytes
    kReserve,        // fallocate KEEP_SIZE: no change to the content
    kSyncFile,       // fdatasync or fsync of `file`
    kRename,         // `path` -> `to`
    kUnlink,         // `path`
    kSyncDirectory,  // fsync of the directory `path`
  };
  Kind kind = Kind::kCreate;
  uint64_t file = 0;
  std::string path;
  std::string to;
  uint64_t offset = 0;
  std::vector<uint8_t> data;
};

// Records the recorder's operations while doing them for real.
class PowerCutFileSystem final : public storage::FileSystem {
 public:
  int open(const std::string& path, int flags, mode_t mode) override {
    std::lock_guard lock(mu_);
    const std::string name = normal(path);
    const bool existed = ::access(name.c_str(), F_OK) == 0;
    const int fd = ::open(path.c_str(), flags, mode);
    if (fd < 0) return fd;
    if ((flags & O_DIRECTORY) != 0) {
      directories_[fd] = name;
      return fd;
    }
    auto known = names_.find(name);
    if (known == names_.end() || !existed) {
      const uint64_t file = ++last_file_;
      if (existed) {
        record(FsOperation::Kind::kAdopt, file, name, {}, 0, read_file(name));
      } else {
        record(FsOperation::Kind::kCreate, file, name);
      }
      known = names_.insert_or_assign(name, file).first;
    }
    if ((flags & O_TRUNC) != 0 && existed) {
      record(FsOperation::Kind::kTruncate, known->second);
    }
    files_[fd] = known->second;
    return fd;
  }
  int close(int fd) override {
    std::lock_guard lock(mu_);
    files_.erase(fd);
    directories_.erase(fd);
    return ::close(fd);
  }
  int duplicate(int fd) override {
    std::lock_guard lock(mu_);
    const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy >= 0 && files_.contains(fd)) files_[copy] = files_[fd];
    return copy;
  }
  ssize_t write(int fd, const void* data, size_t size) override {
    std::lock_guard lock(mu_);
    const off_t at = ::lseek(fd, 0, SEEK_CUR);
    const ssize_t n = ::write(fd, data, size);
    if (n > 0) record_write(fd, static_cast<uint64_t>(at), data, static_cast<size_t>(n));
    return n;
  }
  ssize_t pwrite(int fd, const void* data, size_t size, uint64_t offset) override {
    std::lock_guard lock(mu_);
    const ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n > 0) record_write(fd, offset, data, static_cast<size_t>(n));
    return n;
  }
  int fallocate(int fd, int mode, uint64_t offset, uint64_t length) override {
    std::lock_guard lock(mu_);
    const int rc = ::fallocate(fd, mode, static_cast<off_t>(offset), static_cast<off_t>(length));
    if (rc == 0) record(FsOperation::Kind::kReserve, file_of(fd));
    return rc;
  }
  int ftruncate(int fd, uint64_t size) override {
    std::lock_guard lock(mu_);
    const int rc = ::ftruncate(fd, static_cast<off_t>(size));
    if (rc == 0) {
      record(FsOperation::Kind::kTruncate, file_of(fd), {}, {}, size);
    }
    return rc;
  }
  int fdatasync(int fd) override { return sync(fd, ::fdatasync); }
  int fsync(int fd) override { return sync(fd, ::fsync); }
  int rename_no_replace(const std::string& from, const std::string& to) override {
    std::lock_guard lock(mu_);
    const int rc = ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE);
    if (rc == 0) record_rename(from, to);
    return rc;
  }
  int rename(const std::string& from, const std::string& to) override {
    std::lock_guard lock(mu_);
    const int rc = ::rename(from.c_str(), to.c_str());
    if (rc == 0) record_rename(from, to);
    return rc;
  }
  int unlink(const std::string& path) override {
    std::lock_guard lock(mu_);
    const int rc = ::unlink(path.c_str());
    if (rc == 0) {
      names_.erase(normal(path));
      record(FsOperation::Kind::kUnlink, 0, normal(path));
    }
    return rc;
  }

  std::vector<FsOperation> operations() const {
    std::lock_guard lock(mu_);
    return operations_;
  }

  static std::string normal(const std::string& path) {
    return std::filesystem::path(path).lexically_normal().string();
  }

 private:
  using SyncCall = int (*)(int);
  int sync(int fd, SyncCall call) {
    std::lock_guard lock(mu_);
    const int rc = call(fd);
    if (rc != 0) return rc;
    if (auto dir = directories_.find(fd); dir != directories_.end()) {
      record(FsOperation::Kind::kSyncDirectory, 0, dir->second);
    } else {
      record(FsOperation::Kind::kSyncFile, file_of(fd));
    }
    return rc;
  }
  void record_write(int fd, uint64_t offset, const void* data, size_t size) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    record(FsOperation::Kind::kWrite, file_of(fd), {}, {}, offset,
           std::vector<uint8_t>(bytes, bytes + size));
  }
  void record_rename(const std::string& from, const std::string& to) {
    const std::string old_name = normal(from);
    const std::string new_name = normal(to);
    if (auto known = names_.find(old_name); known != names_.end()) {
      names_[new_name] = known->second;
      names_.erase(old_name);
    }
    record(FsOperation::Kind::kRename, 0, old_name, new_name);
  }
  uint64_t file_of(int fd) const {
    auto found = files_.find(fd);
    return found == files_.end() ? 0 : found->second;
  }
  void record(FsOperation::Kind kind, uint64_t file, std::string path = {}, std::string to = {},
              uint64_t offset = 0, std::vector<uint8_t> data = {}) {
    operations_.push_back(
        FsOperation{kind, file, std::move(path), std::move(to), offset, std::move(data)});
  }
  static std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
  }

  mutable std::mutex mu_;
  std::vector<FsOperation> operations_;
  std::map<int, uint64_t> files_;           // descriptor -> file
  std::map<int, std::string> directories_;  // descriptor -> directory
  std::map<std::string, uint64_t> names_;   // path -> file, as the recorder sees it now
  uint64_t last_file_ = 0;
};

inline const char* kind_name(FsOperation::Kind kind) {
  switch (kind) {
    case FsOperation::Kind::kCreate:
      return "create";
    case FsOperation::Kind::kAdopt:
      return "adopt";
    case FsOperation::Kind::kWrite:
      return "write";
    case FsOperation::Kind::kTruncate:
      return "truncate";
    case FsOperation::Kind::kReserve:
      return "reserve";
    case FsOperation::Kind::kSyncFile:
      return "sync";
    case FsOperation::Kind::kRename:
      return "rename";
    case FsOperation::Kind::kUnlink:
      return "unlink";
    case FsOperation::Kind::kSyncDirectory:
      return "sync-directory";
  }
  return "?";
}

// How the pages that were not durable fare in one image.
enum class PageFate { kMixed, kAllKept, kAllLost };

// Walks a record of operations forward and writes the disk as a power cut would leave it.
class PowerCutReplay {
 public:
  explicit PowerCutReplay(const std::vector<FsOperation>& operations) : operations_(operations) {}

  // Applies the operations before `index` (indexes only grow).
  void advance_to(size_t index) {
    for (; applied_ < std::min(index, operations_.size()); ++applied_) {
      apply(operations_[applied_], applied_);
    }
  }
  size_t applied() const { return applied_; }

  // Writes the image after a power cut before operation applied() into `directory` (which
  // must exist and be empty), each file under its own name. `seed` makes every choice.
  void write_image(const std::string& directory, uint64_t seed, PageFate fate) const {
    std::mt19937_64 random(seed);
    const std::map<std::string, uint64_t> names = names_after_cut(random);
    const std::optional<FsOperation> in_flight = partial_write_in_flight(random);
    for (const auto& [path, file] : names) {
      const Content* content = &files_.at(file);
      Content torn;
      if (in_flight && in_flight->file == file) {
        torn = *content;
        write_into(torn, in_flight->offset, in_flight->data);
        content = &torn;
      }
      const std::vector<uint8_t> bytes = after_cut(*content, random, fate);
      const std::string name = std::filesystem::path(path).filename().string();
      std::ofstream out(directory + "/" + name, std::ios::binary);
      out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    }
  }

  // The files the recorder has not deleted, by their current path, with what is durable of
  // each (empty when nothing is).
  std::map<std::string, std::vector<uint8_t>> durable_files() const {
    std::map<std::string, std::vector<uint8_t>> out;
    for (const auto& [path, file] : current_names_) out[path] = files_.at(file).durable;
    return out;
  }
  // Paths whose directory entry is durable and that the recorder has not deleted or renamed
  // since.
  std::vector<std::string> durable_names() const {
    std::vector<std::string> out;
    for (const auto& [path, file] : durable_names_) {
      auto now = current_names_.find(path);
      if (now != current_names_.end() && now->second == file) out.push_back(path);
    }
    return out;
  }

 private:
  struct Content {
    std::vector<uint8_t> current;
    std::vector<uint8_t> durable;
    std::set<uint64_t> dirty_pages;  // written or resized since the last sync
  };

  static void write_into(Content& content, uint64_t offset, const std::vector<uint8_t>& data) {
    const uint64_t end = offset + data.size();
    const uint64_t first_page = std::min<uint64_t>(offset, content.current.size()) / kPageBytes;
    if (content.current.size() < end) content.current.resize(end);
    std::copy(data.begin(), data.end(), content.current.begin() + std::ptrdiff_t(offset));
    for (uint64_t page = first_page; page * kPageBytes < end; ++page) {
      content.dirty_pages.insert(page);
    }
  }
  static void resize(Content& content, uint64_t size) {
    if (size == content.current.size()) return;
    const uint64_t from = std::min<uint64_t>(size, content.current.size());
    const uint64_t to = std::max<uint64_t>(size, content.current.size());
    content.current.resize(size);
    for (uint64_t page = from / kPageBytes; page * kPageBytes < to; ++page) {
      content.dirty_pages.insert(page);
    }
  }

  void apply(const FsOperation& op, size_t index) {
    using Kind = FsOperation::Kind;
    switch (op.kind) {
      case Kind::kCreate:
        files_[op.file] = Content{};
        name_change(index);
        break;
      case Kind::kAdopt:
        files_[op.file] = Content{op.data, op.data, {}};
        current_names_[op.path] = op.file;
        durable_names_[op.path] = op.file;
        break;
      case Kind::kWrite:
        write_into(files_[op.file], op.offset, op.data);
        break;
      case Kind::kTruncate:
        resize(files_[op.file], op.offset);
        break;
      case Kind::kReserve:
        break;
      case Kind::kSyncFile: {
        Content& content = files_[op.file];
        content.durable = content.current;
        content.dirty_pages.clear();
        break;
      }
      case Kind::kRename:
      case Kind::kUnlink:
        name_change(index);
        break;
      case Kind::kSyncDirectory:
        make_durable(op.path);
        break;
    }
  }

  void name_change(size_t index) {
    apply_name_change(operations_[index], current_names_);
    pending_.push_back(index);
  }
  static std::string directory_of(const FsOperation& op) {
    return std::filesystem::path(op.path).parent_path().string();
  }
  // The directory's fsync makes each of its earlier creates, renames and unlinks durable.
  void make_durable(const std::string& directory) {
    std::vector<size_t> still_pending;
    for (size_t index : pending_) {
      if (directory_of(operations_[index]) == directory) {
        apply_name_change(operations_[index], durable_names_);
      } else {
        still_pending.push_back(index);
      }
    }
    pending_ = std::move(still_pending);
  }
  static void apply_name_change(const FsOperation& op, std::map<std::string, uint64_t>& names) {
    switch (op.kind) {
      case FsOperation::Kind::kCreate:
        names[op.path] = op.file;
        break;
      case FsOperation::Kind::kRename:
        if (auto found = names.find(op.path); found != names.end()) {
          const uint64_t file = found->second;
          names.erase(found);
          names[op.to] = file;
        }
        break;
      case FsOperation::Kind::kUnlink:
        names.erase(op.path);
        break;
      default:
        break;
    }
  }

  // The durable entries, then a prefix of the pending name changes: none half the time.
  std::map<std::string, uint64_t> names_after_cut(std::mt19937_64& random) const {
    std::map<std::string, uint64_t> names = durable_names_;
    size_t kept = 0;
    if (!pending_.empty() && random() % 2 == 1) kept = 1 + random() % pending_.size();
    for (size_t i = 0; i < kept; ++i) apply_name_change(operations_[pending_[i]], names);
    return names;
  }

  // The write that was going on when the power went, if any: a random part of it reached the
  // page cache (its pages then fare like any other).
  std::optional<FsOperation> partial_write_in_flight(std::mt19937_64& random) const {
    if (applied_ >= operations_.size()) return std::nullopt;
    const FsOperation& next = operations_[applied_];
    if (next.kind != FsOperation::Kind::kWrite || random() % 2 == 0) return std::nullopt;
    FsOperation part = next;
    part.data.resize(random() % (next.data.size() + 1));
    return part;
  }

  static std::vector<uint8_t> after_cut(const Content& content, std::mt19937_64& random,
                                        PageFate fate) {
    const std::vector<uint8_t>& old_bytes = content.durable;
    const std::vector<uint8_t>& new_bytes = content.current;
    uint64_t size = new_bytes.size();
    if (old_bytes.size() != new_bytes.size()) {
      const uint64_t low = std::min(old_bytes.size(), new_bytes.size());
      const uint64_t high = std::max(old_bytes.size(), new_bytes.size());
      const uint64_t choice = random() % 3;
      size = choice == 0   ? old_bytes.size()
             : choice == 1 ? new_bytes.size()
                           : low + random() % (high - low + 1);
    }
    auto old_at = [&](uint64_t i) -> uint8_t { return i < old_bytes.size() ? old_bytes[i] : 0; };
    auto new_at = [&](uint64_t i) -> uint8_t {
      return i < new_bytes.size() ? new_bytes[i] : old_at(i);
    };
    std::vector<uint8_t> out(size);
    for (uint64_t page = 0; page * kPageBytes < size; ++page) {
      const uint64_t begin = page * kPageBytes;
      const uint64_t end = std::min(size, begin + kPageBytes);
      int page_fate = 0;  // 0 kept, 1 lost, 2 torn
      if (content.dirty_pages.contains(page)) {
        page_fate = fate == PageFate::kAllKept   ? 0
                    : fate == PageFate::kAllLost ? 1
                                                 : static_cast<int>(random() % 3);
      }
      for (uint64_t sector = begin; sector < end; sector += kSectorBytes) {
        const bool take_new = page_fate == 0 || (page_fate == 2 && random() % 2 == 0);
        for (uint64_t i = sector; i < std::min(end, sector + kSectorBytes); ++i) {
          out[i] = take_new ? new_at(i) : old_at(i);
        }
      }
    }
    return out;
  }

  const std::vector<FsOperation>& operations_;
  size_t applied_ = 0;
  std::map<uint64_t, Content> files_;
  std::map<std::string, uint64_t> current_names_;  // as the recorder saw them
  std::map<std::string, uint64_t> durable_names_;  // as a directory fsync left them
  std::vector<size_t> pending_;                    // name changes not yet durable, in order
};

}  // namespace mcaprec::test_support
