#pragma once
// The one sink that touches the disk: buffered writes, fdatasync (also from another thread through
// a SyncHandle on a duplicate descriptor), ftruncate for cutting a file back, and fallocate for
// reserving room. It lives in storage because it is disk I/O; the format layer only knows
// mcap::ByteSink.
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "mcap/sink.hpp"
#include "mcap/writer.hpp"
#include "storage/file_system.hpp"

namespace mcaprec::storage {

// Writes to a file through a buffer of `buffer_bytes`; large writes bypass the buffer. The first
// sync (through the sink or a SyncHandle) fsyncs the directory before the file's data: bytes made
// durable under a name that a power cut can take away would be lost with it.
class FileSink : public mcap::ByteSink {
 public:
  // Creates or truncates `path`; every call that changes the file goes through `file_system`
  // (null = POSIX).
  static base::Result<std::unique_ptr<FileSink>> create(
      const std::string& path, size_t buffer_bytes = 1 << 20,
      std::shared_ptr<FileSystem> file_system = nullptr);
  ~FileSink() override;

  base::Status write(mcap::ByteView data) override;
  // Pieces that fit the buffer join it; from the first that does not, the buffer and the rest
  // go to the file in gathering writes (writev), without being copied together.
  base::Status write_gathered(std::span<const mcap::ByteView> pieces) override;
  base::Status flush() override;
  base::Status sync() override;  // flush + fdatasync
  base::Result<std::shared_ptr<mcap::SyncHandle>> sync_handle()
      override;                                   // on a dup() of the descriptor
  base::Status truncate(uint64_t size) override;  // ftruncate, or the buffer
  // fallocate(FALLOC_FL_KEEP_SIZE) past the end; a no-op where the filesystem cannot. The room
  // left over is given back by close().
  base::Status reserve(uint64_t bytes) override;
  // flush, give back reserved room, close; called by the destructor if not before
  base::Status close();
  int fd() const { return fd_; }

  struct NewName;  // whether the file's directory entry is durable yet, shared with SyncHandles

 private:
  FileSink(std::shared_ptr<FileSystem> file_system, int fd, std::string path, size_t buffer_bytes);
  base::Status write_all(mcap::ByteView data);
  // Writes every byte the iovecs in gather_ point to, continuing after short writes.
  base::Status write_all_gathered();
  base::Status release_reserve();

  const std::shared_ptr<FileSystem> fs_;
  std::shared_ptr<NewName> new_name_;
  int fd_ = -1;
  std::string path_;
  mcap::Bytes buffer_;
  std::vector<struct iovec> gather_;  // reused by write_gathered()
  size_t buffer_limit_;
  uint64_t offset_ = 0;        // bytes handed to the OS so far; the buffer holds those after them
  uint64_t reserved_end_ = 0;  // end of the room set aside by reserve(), 0 = none
  bool reserve_supported_ = true;  // false once the filesystem said it cannot
};

// A writer on a new (or truncated) file at `path`: mcap::Writer::open over a FileSink.
base::Result<std::unique_ptr<mcap::Writer>> create_file_writer(const std::string& path,
                                                               mcap::WriterOptions options);

}  // namespace mcaprec::storage
