#include "events/spool.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mcaprec::events {

namespace {

base::Error system_error(const std::string& what, const std::string& path) {
  return base::Error{0, what + " " + path + ": " + std::strerror(errno)};
}

}  // namespace

base::Result<std::unique_ptr<Spool>> Spool::open(const std::string& path, uint64_t capacity) {
  struct stat existing {};
  if (::stat(path.c_str(), &existing) == 0) {
    spdlog::info("discarding the look-back spool {} ({} bytes) left by an earlier run", path,
                 existing.st_size);
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return system_error("cannot create the look-back spool", path);
  return std::unique_ptr<Spool>(new Spool(path, fd, capacity));
}

Spool::Spool(std::string path, int fd, uint64_t capacity)
    : path_(std::move(path)), fd_(fd), capacity_(capacity) {}

Spool::~Spool() {
  ::close(fd_);
  ::unlink(path_.c_str());
}

base::Result<uint64_t> Spool::write(mcap::ByteView bytes) {
  if (bytes.size() > capacity_) {
    return base::Error{0, "a chunk of " + std::to_string(bytes.size()) +
                              " bytes is larger than the spool (events.spool_bytes)"};
  }
  uint64_t offset = head_ % capacity_;
  if (offset + bytes.size() > capacity_) {
    head_ += capacity_ - offset;  // the chunk starts again at the file's beginning
    offset = 0;
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n =
        ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return system_error("cannot write to the look-back spool", path_);
    done += size_t(n);
  }
  const uint64_t position = head_;
  head_ += bytes.size();
  return position;
}

base::Status Spool::read(uint64_t position, uint64_t size, mcap::Bytes& out) const {
  if (position < oldest_kept() || position + size > head_) {
    return base::Error{position, "spooled chunk was overwritten"};
  }
  out.resize(size);
  const uint64_t offset = position % capacity_;
  size_t done = 0;
  while (done < size) {
    const ssize_t n =
        ::pread(fd_, out.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return system_error("cannot read the look-back spool", path_);
    done += size_t(n);
  }
  return {};
}

}  // namespace mcaprec::events
