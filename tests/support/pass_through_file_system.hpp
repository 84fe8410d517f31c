#pragma once
// A FileSystem whose every call is the real one. Tests derive from it and override only the
// calls they count or hold back. writev is left to the interface's default (one write() per
// call), so a test that watches write() sees gathered writes too.

#include <string>

#include "storage/file_system.hpp"

namespace mcaprec::test_support {

class PassThroughFileSystem : public storage::FileSystem {
 public:
  int open(const std::string& path, int flags, mode_t mode) override {
    return posix().open(path, flags, mode);
  }
  int close(int fd) override { return posix().close(fd); }
  int duplicate(int fd) override { return posix().duplicate(fd); }
  ssize_t write(int fd, const void* data, size_t size) override {
    return posix().write(fd, data, size);
  }
  ssize_t pwrite(int fd, const void* data, size_t size, uint64_t offset) override {
    return posix().pwrite(fd, data, size, offset);
  }
  int fallocate(int fd, int mode, uint64_t offset, uint64_t length) override {
    return posix().fallocate(fd, mode, offset, length);
  }
  int ftruncate(int fd, uint64_t size) override { return posix().ftruncate(fd, size); }
  int fdatasync(int fd) override { return posix().fdatasync(fd); }
  int fsync(int fd) override { return posix().fsync(fd); }
  int rename_no_replace(const std::string& from, const std::string& to) override {
    return posix().rename_no_replace(from, to);
  }
  int rename(const std::string& from, const std::string& to) override {
    return posix().rename(from, to);
  }
  int unlink(const std::string& path) override { return posix().unlink(path); }

 protected:
  static storage::FileSystem& posix() { return *storage::posix_file_system(); }
};

}  // namespace mcaprec::test_support
