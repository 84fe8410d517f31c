#include "storage/file_system.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace mcaprec::storage {

namespace {

class PosixFileSystem final : public FileSystem {
 public:
  int open(const std::string& path, int flags, mode_t mode) override {
    return ::open(path.c_str(), flags, mode);
  }
  int close(int fd) override { return ::close(fd); }
  int duplicate(int fd) override { return ::fcntl(fd, F_DUPFD_CLOEXEC, 0); }
  ssize_t write(int fd, const void* data, size_t size) override { return ::write(fd, data, size); }
  ssize_t writev(int fd, const struct iovec* pieces, int count) override {
    return ::writev(fd, pieces, count);
  }
  ssize_t pwrite(int fd, const void* data, size_t size, uint64_t offset) override {
    return ::pwrite(fd, data, size, static_cast<off_t>(offset));
  }
  int fallocate(int fd, int mode, uint64_t offset, uint64_t length) override {
    return ::fallocate(fd, mode, static_cast<off_t>(offset), static_cast<off_t>(length));
  }
  int ftruncate(int fd, uint64_t size) override {
    return ::ftruncate(fd, static_cast<off_t>(size));
  }
  int fdatasync(int fd) override { return ::fdatasync(fd); }
  int fsync(int fd) override { return ::fsync(fd); }
  int rename_no_replace(const std::string& from, const std::string& to) override {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
      return 0;
    }
    if (errno != EINVAL && errno != ENOSYS) return -1;
    // A filesystem without RENAME_NOREPLACE: link(2) refuses an existing target as well.
    if (::link(from.c_str(), to.c_str()) != 0) return -1;
    return ::unlink(from.c_str());
  }
  int rename(const std::string& from, const std::string& to) override {
    return std::rename(from.c_str(), to.c_str());
  }
  int unlink(const std::string& path) override { return ::unlink(path.c_str()); }
};

base::Error directory_error(const std::string& what, const std::string& directory, int err) {
  return base::Error{0, what + " " + directory + ": " + std::strerror(err)};
}

}  // namespace

ssize_t FileSystem::writev(int fd, const struct iovec* pieces, int count) {
  for (int i = 0; i < count; ++i) {
    if (pieces[i].iov_len > 0) return write(fd, pieces[i].iov_base, pieces[i].iov_len);
  }
  return 0;
}

const std::shared_ptr<FileSystem>& posix_file_system() {
  static const std::shared_ptr<FileSystem> posix = std::make_shared<PosixFileSystem>();
  return posix;
}

const std::shared_ptr<FileSystem>& or_posix(const std::shared_ptr<FileSystem>& file_system) {
  return file_system ? file_system : posix_file_system();
}

base::Status sync_directory(const std::string& directory, FileSystem& file_system) {
  int fd = -1;
  do {
    fd = file_system.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return directory_error("cannot open directory", directory, errno);
  int rc = 0;
  do {
    rc = file_system.fsync(fd);
  } while (rc != 0 && errno == EINTR);
  const int err = errno;
  file_system.close(fd);
  if (rc != 0) return directory_error("cannot sync directory", directory, err);
  return {};
}

std::string parent_directory(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace mcaprec::storage
