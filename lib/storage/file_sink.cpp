#include "storage/file_sink.hpp"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace mcaprec::storage {

using base::Error;
using base::Result;
using base::Status;
using mcap::ByteView;
using mcap::SyncHandle;

namespace {

Error os_error(uint64_t offset, const std::string& what, const std::string& path, int err) {
  return Error{offset, what + " " + path + ": " + std::strerror(err)};
}

Status sync_data(FileSystem& fs, int fd, const std::string& path, uint64_t offset) {
  int rc = 0;
  do {
    rc = fs.fdatasync(fd);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return os_error(offset, "cannot sync", path, errno);
  return {};
}

}  // namespace

// A file created by create() is named in its directory, and that entry is only durable once the
// directory is synced. Whoever syncs the file first syncs the directory before (a race makes it
// twice, which is harmless).
struct FileSink::NewName {
  std::string directory;
  std::atomic<bool> durable{false};

  Status make_durable(FileSystem& fs) {
    if (durable.load(std::memory_order_acquire)) return {};
    if (Status s = sync_directory(directory, fs); !s) return s;
    durable.store(true, std::memory_order_release);
    return {};
  }
};

namespace {

// Syncs through its own descriptor, which refers to the same open file as the sink's.
class FdSyncHandle : public SyncHandle {
 public:
  FdSyncHandle(std::shared_ptr<FileSystem> file_system, std::shared_ptr<FileSink::NewName> name,
               int fd, std::string path)
      : fs_(std::move(file_system)), name_(std::move(name)), fd_(fd), path_(std::move(path)) {}
  ~FdSyncHandle() override { fs_->close(fd_); }
  FdSyncHandle(const FdSyncHandle&) = delete;
  FdSyncHandle& operator=(const FdSyncHandle&) = delete;

  Status sync() override {
    if (Status s = name_->make_durable(*fs_); !s) return s;
    return sync_data(*fs_, fd_, path_, 0);
  }

 private:
  const std::shared_ptr<FileSystem> fs_;
  const std::shared_ptr<FileSink::NewName> name_;
  const int fd_;
  const std::string path_;
};

}  // namespace

Result<std::unique_ptr<FileSink>> FileSink::create(const std::string& path, size_t buffer_bytes,
                                                   std::shared_ptr<FileSystem> file_system) {
  std::shared_ptr<FileSystem> fs = or_posix(file_system);
  int fd = -1;
  do {
    fd = fs->open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return os_error(0, "cannot create", path, errno);
  return std::unique_ptr<FileSink>(new FileSink(std::move(fs), fd, path, buffer_bytes));
}

FileSink::FileSink(std::shared_ptr<FileSystem> file_system, int fd, std::string path,
                   size_t buffer_bytes)
    : fs_(std::move(file_system)),
      new_name_(std::make_shared<NewName>()),
      fd_(fd),
      path_(std::move(path)),
      buffer_limit_(buffer_bytes) {
  new_name_->directory = parent_directory(path_);
  buffer_.reserve(buffer_limit_);
}

FileSink::~FileSink() {
  (void)close();
}

Status FileSink::write(ByteView data) {
  if (fd_ < 0) return Error{offset_ + buffer_.size(), "write to closed file " + path_};
  if (buffer_.size() + data.size() <= buffer_limit_) {
    buffer_.insert(buffer_.end(), data.begin(), data.end());
    return {};
  }
  if (Status s = flush(); !s) return s;
  if (data.size() >= buffer_limit_) return write_all(data);
  buffer_.insert(buffer_.end(), data.begin(), data.end());
  return {};
}

Status FileSink::write_gathered(std::span<const ByteView> pieces) {
  if (fd_ < 0) return Error{offset_ + buffer_.size(), "write to closed file " + path_};
  size_t next = 0;
  for (; next < pieces.size() && buffer_.size() + pieces[next].size() <= buffer_limit_; ++next) {
    buffer_.insert(buffer_.end(), pieces[next].begin(), pieces[next].end());
  }
  if (next == pieces.size()) return {};
  gather_.clear();
  if (!buffer_.empty()) gather_.push_back({buffer_.data(), buffer_.size()});
  for (; next < pieces.size(); ++next) {
    // iovec takes a mutable pointer; writev only reads through it.
    auto* data = const_cast<uint8_t*>(pieces[next].data());
    if (!pieces[next].empty()) gather_.push_back({data, pieces[next].size()});
  }
  const uint64_t start = offset_;
  Status s = write_all_gathered();
  // As flush(): what of the buffer did not reach the OS stays buffered.
  const auto sent = static_cast<size_t>(std::min<uint64_t>(offset_ - start, buffer_.size()));
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(sent));
  return s;
}

Status FileSink::write_all_gathered() {
  size_t first = 0;
  while (first < gather_.size()) {
    const int count = static_cast<int>(std::min<size_t>(gather_.size() - first, IOV_MAX));
    const ssize_t n = fs_->writev(fd_, gather_.data() + first, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error(offset_, "cannot write to", path_, errno);
    }
    if (n == 0) return Error{offset_, "write to " + path_ + " made no progress"};
    offset_ += static_cast<uint64_t>(n);
    auto left = static_cast<size_t>(n);
    while (first < gather_.size() && left >= gather_[first].iov_len) {
      left -= gather_[first].iov_len;
      ++first;
    }
    if (left > 0) {
      gather_[first].iov_base = static_cast<uint8_t*>(gather_[first].iov_base) + left;
      gather_[first].iov_len -= left;
    }
  }
  return {};
}

Status FileSink::flush() {
  if (buffer_.empty()) return {};
  if (fd_ < 0) return Error{offset_, "flush of closed file " + path_};
  const uint64_t start = offset_;
  Status s = write_all(buffer_);
  // What did not reach the OS stays buffered, so that truncate() can still keep it.
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(offset_ - start));
  return s;
}

Status FileSink::sync() {
  if (Status s = flush(); !s) return s;
  if (fd_ < 0) return Error{offset_, "sync of closed file " + path_};
  if (Status s = new_name_->make_durable(*fs_); !s) return s;
  return sync_data(*fs_, fd_, path_, offset_);
}

Result<std::shared_ptr<SyncHandle>> FileSink::sync_handle() {
  if (fd_ < 0) return Error{offset_, "sync handle of closed file " + path_};
  const int fd = fs_->duplicate(fd_);
  if (fd < 0) return os_error(offset_, "cannot duplicate the descriptor of", path_, errno);
  return std::shared_ptr<SyncHandle>(std::make_shared<FdSyncHandle>(fs_, new_name_, fd, path_));
}

Status FileSink::truncate(uint64_t size) {
  if (fd_ < 0) return Error{size, "truncate of closed file " + path_};
  const uint64_t end = offset_ + buffer_.size();
  if (size > end) {
    return Error{size, "cannot keep " + std::to_string(size) + " bytes of " + path_ + ": only " +
                           std::to_string(end) + " were written"};
  }
  if (size >= offset_) {
    buffer_.resize(size - offset_);
    return {};
  }
  buffer_.clear();
  int rc = 0;
  do {
    rc = fs_->ftruncate(fd_, size);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return os_error(size, "cannot truncate", path_, errno);
  // write(2) continues at the descriptor's position, which must follow the kept bytes.
  if (::lseek(fd_, static_cast<off_t>(size), SEEK_SET) < 0) {
    return os_error(size, "cannot seek in", path_, errno);
  }
  offset_ = size;
  reserved_end_ = 0;  // truncation gave back the blocks past the new end
  return {};
}

Status FileSink::reserve(uint64_t bytes) {
  if (fd_ < 0) return Error{offset_, "reserve in closed file " + path_};
  if (!reserve_supported_) return {};
  const uint64_t end = offset_ + buffer_.size() + bytes;
  if (end <= reserved_end_) return {};
  const uint64_t from = std::max(offset_, reserved_end_);
  int rc = 0;
  do {
    rc = fs_->fallocate(fd_, FALLOC_FL_KEEP_SIZE, from, end - from);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    if (errno == EOPNOTSUPP || errno == ENOSYS) {
      reserve_supported_ = false;
      return {};
    }
    return os_error(offset_, "cannot reserve " + std::to_string(end - from) + " bytes in", path_,
                    errno);
  }
  reserved_end_ = end;
  return {};
}

// Best effort: room set aside and not used only costs disk space until the file is deleted, so
// failing to give it back is no reason to fail the close. (ftruncate to the current size frees
// the blocks past it; punching a hole past the end does not on ext4.)
Status FileSink::release_reserve() {
  if (reserved_end_ <= offset_) return {};
  reserved_end_ = 0;
  if (fs_->ftruncate(fd_, offset_) != 0) {
    return os_error(offset_, "cannot give back reserved room in", path_, errno);
  }
  return {};
}

Status FileSink::close() {
  if (fd_ < 0) return {};
  Status flushed = flush();
  if (flushed) (void)release_reserve();
  // close(2) must not be retried on EINTR: the descriptor is gone either way.
  const int rc = fs_->close(fd_);
  const int err = errno;
  fd_ = -1;
  if (!flushed) return flushed;
  if (rc != 0 && err != EINTR) return os_error(offset_, "cannot close", path_, err);
  return {};
}

Status FileSink::write_all(ByteView data) {
  while (!data.empty()) {
    const ssize_t n = fs_->write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error(offset_, "cannot write to", path_, errno);
    }
    if (n == 0) return Error{offset_, "write to " + path_ + " made no progress"};
    offset_ += static_cast<uint64_t>(n);
    data = data.subspan(static_cast<size_t>(n));
  }
  return {};
}

Result<std::unique_ptr<mcap::Writer>> create_file_writer(const std::string& path,
                                                         mcap::WriterOptions options) {
  Result<std::unique_ptr<FileSink>> sink = FileSink::create(path);
  if (!sink) return sink.error();
  return mcap::Writer::open(std::move(*sink), std::move(options));
}

}  // namespace mcaprec::storage
