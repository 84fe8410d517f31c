#pragma once
// The recorder's file operations that change what is on disk, behind one interface: creating,
// writing, reserving, truncating, syncing, renaming and deleting files, and syncing directories.
// Every such call of lib/storage goes through a FileSystem, so that tests can put a layer under
// the recorder that records each operation and simulates a power cut at any point of it
// (tests/support/power_cut_file_system.hpp). The default is the POSIX calls themselves.
//
// The calls keep the POSIX contract (a result < 0 with errno set; EINTR handled by the caller)
// and work on real descriptors, so the callers' error handling stays as it is. Operations that
// only read (stat, lseek, mmap, listing a directory) are made directly.
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/result.hpp"

namespace mcaprec::storage {

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  virtual int open(const std::string& path, int flags, mode_t mode) = 0;
  virtual int close(int fd) = 0;
  // A second descriptor on the same open file (F_DUPFD_CLOEXEC).
  virtual int duplicate(int fd) = 0;
  virtual ssize_t write(int fd, const void* data, size_t size) = 0;
  // writev(2). By default a write() of the first piece that is not empty: a short write, which
  // the caller continues like any other, so a layer that sees writes sees these too.
  virtual ssize_t writev(int fd, const struct iovec* pieces, int count);
  virtual ssize_t pwrite(int fd, const void* data, size_t size, uint64_t offset) = 0;
  virtual int fallocate(int fd, int mode, uint64_t offset, uint64_t length) = 0;
  virtual int ftruncate(int fd, uint64_t size) = 0;
  virtual int fdatasync(int fd) = 0;
  // On a file or, opened with O_DIRECTORY, on a directory (making its entries durable).
  virtual int fsync(int fd) = 0;
  // Never replaces an existing `to` (EEXIST).
  virtual int rename_no_replace(const std::string& from, const std::string& to) = 0;
  virtual int rename(const std::string& from, const std::string& to) = 0;
  virtual int unlink(const std::string& path) = 0;
};

// The POSIX calls; shared, never null.
const std::shared_ptr<FileSystem>& posix_file_system();
// `file_system` or, when null, posix_file_system().
const std::shared_ptr<FileSystem>& or_posix(const std::shared_ptr<FileSystem>& file_system);

// fsync of a directory, so that entries created or renamed in it are durable.
base::Status sync_directory(const std::string& directory, FileSystem& file_system);
// The directory part of `path` ("." when there is none).
std::string parent_directory(const std::string& path);

}  // namespace mcaprec::storage
