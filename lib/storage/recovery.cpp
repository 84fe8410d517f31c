#include "storage/recovery.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>
#include <utility>

#include "mcap/reader.hpp"
#include "mcap/writer.hpp"
#include "storage/file_naming.hpp"
#include "storage/output_file.hpp"
#include "storage/recovery_tail.hpp"

namespace mcaprec::storage {

namespace {

base::Error os_error(uint64_t offset, const std::string& what, const std::string& path, int err) {
  return base::Error{offset, what + " " + path + ": " + std::strerror(err)};
}

// Closes the descriptor on every path out of recover_file. Every call that changes the file
// goes through its file system.
class FileDescriptor {
 public:
  FileDescriptor(FileSystem& file_system, int fd) : fs_(file_system), fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) fs_.close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  FileSystem& fs() const { return fs_; }
  // close(2) can report a deferred write error: it is returned, not ignored.
  int close() {
    const int rc = fs_.close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  FileSystem& fs_;
  int fd_;
};

// A read-only view of the file for the scan. It must be gone before the file is truncated,
// since touching mapped pages past the new end would fault.
class ReadOnlyMapping {
 public:
  static base::Result<ReadOnlyMapping> map(int fd, uint64_t size, const std::string& path) {
    ReadOnlyMapping mapping;
    if (size == 0) return mapping;
    void* data = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (data == MAP_FAILED) return os_error(0, "cannot map", path, errno);
    // The scan reads once, front to back.
    (void)::madvise(data, size, MADV_SEQUENTIAL);
    mapping.data_ = static_cast<const uint8_t*>(data);
    mapping.size_ = size;
    return mapping;
  }
  ReadOnlyMapping() = default;
  ReadOnlyMapping(ReadOnlyMapping&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  ReadOnlyMapping& operator=(ReadOnlyMapping&&) = delete;
  ~ReadOnlyMapping() {
    if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
  }
  mcap::ByteView bytes() const { return {data_, size_}; }

 private:
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string base_name(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string utc_now_iso() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

base::Status write_all(const FileDescriptor& fd, mcap::ByteView bytes, uint64_t offset,
                       const std::string& path) {
  uint64_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n =
        fd.fs().pwrite(fd.get(), bytes.data() + done, bytes.size() - done, offset + done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error(offset + done, "cannot write", path, errno);
    }
    done += static_cast<uint64_t>(n);
  }
  return {};
}

base::Status sync_data(const FileDescriptor& fd, const std::string& path) {
  int rc = 0;
  do {
    rc = fd.fs().fdatasync(fd.get());
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return os_error(0, "cannot sync", path, errno);
  return {};
}

// Renames without ever replacing an existing file.
base::Status rename_no_replace(FileSystem& file_system, const std::string& from,
                               const std::string& to) {
  if (file_system.rename_no_replace(from, to) == 0) return {};
  const int err = errno;
  if (err == EEXIST) {
    return base::Error{
        0, "cannot rename " + from + " to " + to + ": that file exists and is not overwritten"};
  }
  return os_error(0, "cannot rename " + from + " to", to, err);
}

mcap::Metadata recovery_record(const RecoveryReport& report) {
  mcap::Metadata record;
  record.name = "mcaprec.recovery";
  record.metadata = {
      {"recovered_at", utc_now_iso()},
      {"recovered_by", mcap::default_library_name()},
      {"original_size", std::to_string(report.original_size)},
      {"kept_bytes", std::to_string(report.kept_bytes)},
      {"cut_bytes", std::to_string(report.cut_bytes)},
      {"cut_reason", report.cut_reason},
  };
  return record;
}

void describe_contents(const mcap::ScanReport& scan, RecoveryReport& report) {
  report.chunks = scan.chunk_indexes.size();
  report.messages = scan.statistics.message_count;
  report.message_start_time = scan.statistics.message_start_time;
  report.message_end_time = scan.statistics.message_end_time;
  report.schemas = scan.schemas.size();
  report.channels = scan.channels.size();
  report.attachments = scan.attachment_indexes.size();
  report.metadata = scan.metadata_indexes.size();
}

// Durability and the final name, once the content is complete.
base::Status finish(FileDescriptor& fd, const RecoverOptions& options, RecoveryReport& report) {
  if (options.sync) {
    if (base::Status s = sync_data(fd, report.path); !s) return s;
  }
  FileSystem& file_system = fd.fs();
  if (fd.close() != 0) return os_error(0, "cannot close", report.path, errno);
  if (report.final_path == report.path) return {};
  if (base::Status s = rename_no_replace(file_system, report.path, report.final_path); !s) {
    return s;
  }
  report.renamed = true;
  if (options.sync) return sync_directory(parent_directory(report.final_path), file_system);
  return {};
}

// Scans through a mapping that is gone before anything changes the file.
base::Result<mcap::ScanReport> scan_file(int fd, uint64_t size, const std::string& path,
                                         const RecoverOptions& options) {
  auto mapping = ReadOnlyMapping::map(fd, size, path);
  if (!mapping) return mapping.error();
  mcap::ReadOptions read;
  read.max_chunk_bytes = options.max_chunk_bytes;
  const unsigned threads = options.threads > 0
                               ? options.threads
                               : std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  return mcap::scan(mapping->bytes(), read, threads);
}

// A file whose content is complete keeps it; only its size and name may change.
base::Status keep_complete_file(FileDescriptor& fd, const mcap::ScanReport& scan,
                                const RecoverOptions& options, RecoveryReport& report) {
  report.already_complete = true;
  report.kept_bytes = report.original_size;
  report.final_size = report.original_size;
  describe_contents(scan, report);
  if (options.dry_run) {
    report.renamed = report.final_path != report.path;
    return {};
  }
  // An unfinished name: the writer may have died before giving back its reserved room.
  if (report.final_path != report.path && fd.fs().ftruncate(fd.get(), report.original_size) != 0) {
    return os_error(report.original_size, "cannot truncate", report.path, errno);
  }
  return finish(fd, options, report);
}

// Cuts the file after its last valid record and appends what completes it.
base::Status cut_and_complete(FileDescriptor& fd, mcap::ScanReport& scan,
                              const RecoverOptions& options, RecoveryReport& report) {
  report.kept_bytes = scan.valid_end;
  report.cut_bytes = report.original_size - scan.valid_end;
  report.cut_reason = scan.stopped ? scan.stopped->message : "the scan stopped";
  report.rebuilt_message_indexes = scan.missing_message_indexes.size();
  const mcap::Bytes tail = build_recovery_tail(scan, recovery_record(report));
  report.appended_bytes = tail.size();
  report.final_size = scan.valid_end + tail.size();
  describe_contents(scan, report);
  if (options.dry_run) {
    report.renamed = report.final_path != report.path;
    return {};
  }
  // Also when nothing is cut: truncating drops the room the writer reserved past the end
  // (fallocate KEEP_SIZE), which a crash never gave back.
  if (fd.fs().ftruncate(fd.get(), scan.valid_end) != 0) {
    return os_error(scan.valid_end, "cannot truncate", report.path, errno);
  }
  if (base::Status s = write_all(fd, tail, scan.valid_end, report.path); !s) return s;
  return finish(fd, options, report);
}

// What a power cut leaves of a file whose start was never made durable: empty, zeros where the
// magic belongs, or (some of) the magic without a valid Header record after it. None of it holds
// a record to recover. Anything else (not MCAP, say) is left for a person to look at.
bool holds_nothing(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  mcap::Bytes start(64 << 10);
  in.read(reinterpret_cast<char*>(start.data()), std::streamsize(start.size()));
  start.resize(static_cast<size_t>(in.gcount()));
  const size_t magic_bytes = std::min(start.size(), sizeof(mcap::kMagic));
  const auto magic_start = start.begin() + std::ptrdiff_t(magic_bytes);
  if (std::all_of(start.begin(), magic_start, [](uint8_t b) { return b == 0; })) return true;
  if (!std::equal(start.begin(), magic_start, std::begin(mcap::kMagic))) return false;
  return mcap::scan(start).valid_end <= sizeof(mcap::kMagic);
}

}  // namespace

std::string describe(const RecoveryReport& report) {
  std::string text = base_name(report.final_path) + ": ";
  if (report.already_complete) {
    text += "already complete (" + std::to_string(report.chunks) + " chunks, " +
            std::to_string(report.messages) + " messages)";
  } else {
    text += "kept " + std::to_string(report.chunks) + " chunks, " +
            std::to_string(report.messages) + " messages, " + std::to_string(report.kept_bytes) +
            " bytes; ";
    if (report.cut_bytes > 0) {
      text += "cut " + std::to_string(report.cut_bytes) + " bytes at offset " +
              std::to_string(report.kept_bytes) + " (" + report.cut_reason + ")";
    } else {
      text += "nothing cut (" + report.cut_reason + ")";
    }
    if (report.rebuilt_message_indexes > 0) {
      text += "; rebuilt " + std::to_string(report.rebuilt_message_indexes) +
              " message indexes of the last chunk";
    }
  }
  if (report.renamed) {
    text += report.dry_run ? "; would rename from " : "; renamed from ";
    text += base_name(report.path);
  }
  return text;
}

base::Result<RecoveryReport> recover_file(const std::string& path, const RecoverOptions& options) {
  FileSystem& file_system = *or_posix(options.file_system);
  int raw_fd = -1;
  do {
    raw_fd = file_system.open(path, (options.dry_run ? O_RDONLY : O_RDWR) | O_CLOEXEC, 0);
  } while (raw_fd < 0 && errno == EINTR);
  if (raw_fd < 0) return os_error(0, "cannot open", path, errno);
  FileDescriptor fd(file_system, raw_fd);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return os_error(0, "cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) return base::Error{0, "cannot recover " + path + ": not a file"};

  RecoveryReport report;
  report.path = path;
  report.dry_run = options.dry_run;
  report.original_size = static_cast<uint64_t>(st.st_size);
  const bool active = options.rename_active && ends_with(path, kActiveSuffix);
  report.final_path = active ? path.substr(0, path.size() - kActiveSuffix.size()) : path;

  auto scan = scan_file(fd.get(), report.original_size, path, options);
  if (!scan) return scan.error();
  if (scan->valid_end <= sizeof(mcap::kMagic)) {
    const std::string why = scan->stopped ? scan->stopped->message : "no Header record";
    return base::Error{scan->stopped ? scan->stopped->offset : 0,
                       "cannot recover " + path + ": no valid MCAP header (" + why + ")"};
  }
  const base::Status done = scan->complete ? keep_complete_file(fd, *scan, options, report)
                                           : cut_and_complete(fd, *scan, options, report);
  if (!done) return done.error();
  return report;
}

base::Result<DirectoryRecovery> recover_directory(const std::string& directory,
                                                  const RecoverOptions& options) {
  DirectoryRecovery result;
  DIR* dir = ::opendir(directory.c_str());
  if (dir == nullptr) {
    // No directory yet (or a path through a file): nothing was recorded there to recover.
    if (errno == ENOENT || errno == ENOTDIR) return result;
    return os_error(0, "cannot list", directory, errno);
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (ends_with(name, std::string(".mcap") + std::string(kActiveSuffix))) names.push_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());

  const std::string prefix =
      directory.empty() || directory.back() == '/' ? directory : directory + "/";
  for (const std::string& name : names) {
    const std::string path = prefix + name;
    auto recovered = recover_file(path, options);
    if (recovered) {
      result.recovered.push_back(std::move(*recovered));
    } else if (!options.dry_run && holds_nothing(path) &&
               or_posix(options.file_system)->unlink(path) == 0) {
      result.removed.push_back(path);
    } else {
      result.failed.push_back(FailedRecovery{path, recovered.error()});
    }
  }
  return result;
}

}  // namespace mcaprec::storage
