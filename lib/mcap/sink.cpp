#include "mcap/sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mcaprec::mcap {

namespace {

Error os_error(uint64_t offset, const std::string& what, const std::string& path, int err) {
  return Error{offset, what + " " + path + ": " + std::strerror(err)};
}

}  // namespace

Result<std::unique_ptr<FileSink>> FileSink::create(const std::string& path, size_t buffer_bytes) {
  int fd = -1;
  do {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return os_error(0, "cannot create", path, errno);
  return std::unique_ptr<FileSink>(new FileSink(fd, path, buffer_bytes));
}

FileSink::FileSink(int fd, std::string path, size_t buffer_bytes)
    : fd_(fd), path_(std::move(path)), buffer_limit_(buffer_bytes) {
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

Status FileSink::flush() {
  if (buffer_.empty()) return {};
  if (fd_ < 0) return Error{offset_, "flush of closed file " + path_};
  Status s = write_all(buffer_);
  buffer_.clear();
  return s;
}

Status FileSink::sync() {
  if (Status s = flush(); !s) return s;
  if (fd_ < 0) return Error{offset_, "sync of closed file " + path_};
  int rc = 0;
  do {
    rc = ::fdatasync(fd_);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return os_error(offset_, "cannot sync", path_, errno);
  return {};
}

Status FileSink::close() {
  if (fd_ < 0) return {};
  Status flushed = flush();
  // close(2) must not be retried on EINTR: the descriptor is gone either way.
  const int rc = ::close(fd_);
  const int err = errno;
  fd_ = -1;
  if (!flushed) return flushed;
  if (rc != 0 && err != EINTR) return os_error(offset_, "cannot close", path_, err);
  return {};
}

Status FileSink::write_all(ByteView data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
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

}  // namespace mcaprec::mcap
