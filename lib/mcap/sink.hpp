#pragma once
// Where a writer's bytes go. The format layer never touches the disk itself: the file sink lives
// in lib/storage (storage/file_sink.hpp); tests substitute their own (in memory, or failing on
// demand).
#include <memory>
#include <span>
#include <string>

#include "mcap/error.hpp"
#include "mcap/records.hpp"

namespace mcaprec::mcap {

// Makes the bytes a sink has handed to the operating system durable, from a thread other than
// the writer's. It owns what it needs (a duplicate descriptor for files), so a sync that races
// the sink's close never touches a closed or reused descriptor.
class SyncHandle {
 public:
  virtual ~SyncHandle() = default;
  virtual Status sync() = 0;  // fdatasync; any thread, any time
};

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Appends all of `data` or fails. After a failure the sink is only used again after a
  // successful truncate().
  virtual Status write(ByteView data) = 0;
  // Appends the pieces in order, as write() of each would (a file sink gathers them into one
  // system call instead of copying them together first).
  virtual Status write_gathered(std::span<const ByteView> pieces) {
    for (const ByteView piece : pieces) {
      if (Status s = write(piece); !s) return s;
    }
    return {};
  }
  // Hands buffered bytes to the operating system.
  virtual Status flush() { return {}; }
  // Makes written bytes durable (fdatasync for files).
  virtual Status sync() { return flush(); }
  // For syncing from another thread (see SyncHandle); null when there is nothing to sync.
  virtual Result<std::shared_ptr<SyncHandle>> sync_handle() {
    return std::shared_ptr<SyncHandle>();
  }
  // Keeps the first `size` bytes written and discards the rest, wherever they are (buffer or
  // file), so that a file whose last write failed can be completed after its last whole record.
  virtual Status truncate(uint64_t size) {
    return Error{size, "this sink cannot discard what it was given"};
  }
  // Sets disk space aside for `bytes` more bytes after those written, so that writing them
  // cannot fail for lack of space (fallocate). A sink that cannot reserve does nothing.
  virtual Status reserve(uint64_t bytes) {
    (void)bytes;
    return {};
  }
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

}  // namespace mcaprec::mcap
