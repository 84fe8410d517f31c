#pragma once
// The look-back ring's file: compressed chunks that do not fit the ring's memory bound, written
// round robin into one file of at most `capacity` bytes in the output directory. Positions are
// logical (they only grow); the bytes of the last `capacity` logical bytes are on disk, older
// ones are overwritten. Not thread-safe: the event thread alone writes and reads it.
#include <cstdint>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "mcap/records.hpp"

namespace mcaprec::events {

class Spool {
 public:
  // Creates (or truncates) the file. A spool left by an earlier run holds chunks of a session
  // that is over and no event refers to: it is discarded, and the log says so.
  static base::Result<std::unique_ptr<Spool>> open(const std::string& path, uint64_t capacity);
  ~Spool();  // closes and removes the file
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Appends `bytes`; returns its logical position. Fails for a chunk larger than the capacity
  // or a write error.
  base::Result<uint64_t> write(mcap::ByteView bytes);
  // Reads `size` bytes written at logical `position` into `out` (resized).
  base::Status read(uint64_t position, uint64_t size, mcap::Bytes& out) const;
  // Data written before this logical position has been overwritten.
  uint64_t oldest_kept() const { return head_ > capacity_ ? head_ - capacity_ : 0; }
  uint64_t capacity() const { return capacity_; }
  const std::string& path() const { return path_; }

 private:
  Spool(std::string path, int fd, uint64_t capacity);

  const std::string path_;
  const int fd_;
  const uint64_t capacity_;
  uint64_t head_ = 0;  // logical position of the next write
};

}  // namespace mcaprec::events
