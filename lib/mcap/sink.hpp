#pragma once
// Where a writer's bytes go. The file sink is the only one that touches the disk; tests and
// the storage layer substitute their own (in memory, or failing on demand).
#include <memory>
#include <string>

#include "mcap/error.hpp"
#include "mcap/records.hpp"

namespace mcaprec::mcap {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Appends all of `data` or fails. After a failure the sink is not used again.
  virtual Status write(ByteView data) = 0;
  // Hands buffered bytes to the operating system.
  virtual Status flush() { return {}; }
  // Makes written bytes durable (fdatasync for files).
  virtual Status sync() { return flush(); }
};

// Appends to a growing byte vector. Used by tests and in-memory conversions.
class MemorySink : public ByteSink {
 public:
  Status write(ByteView data) override {
    bytes_.insert(bytes_.end(), data.begin(), data.end());
    return {};
  }
  const Bytes& bytes() const { return bytes_; }
  Bytes take() { return std::move(bytes_); }

 private:
  Bytes bytes_;
};

// Writes to a file through a buffer of `buffer_bytes`; large writes bypass the buffer.
class FileSink : public ByteSink {
 public:
  // Creates or truncates `path`.
  static Result<std::unique_ptr<FileSink>> create(const std::string& path,
                                                  size_t buffer_bytes = 1 << 20);
  ~FileSink() override;

  Status write(ByteView data) override;
  Status flush() override;
  Status sync() override;  // flush + fdatasync
  Status close();          // flush + close; called by the destructor if not before
  int fd() const { return fd_; }

 private:
  FileSink(int fd, std::string path, size_t buffer_bytes);
  Status write_all(ByteView data);

  int fd_ = -1;
  std::string path_;
  Bytes buffer_;
  size_t buffer_limit_;
  uint64_t offset_ = 0;  // bytes handed to the OS so far, to place errors
};

}  // namespace mcaprec::mcap
