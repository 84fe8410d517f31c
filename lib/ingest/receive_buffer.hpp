#pragma once
// The bytes of a TCP stream that were received but not yet decoded, in one contiguous block, so
// that a decoder sees every record whole and reports it as a view into the block, with no copy.
//
// Reads land after the pending bytes (space(), then commit()). An incomplete record stays where
// it is while the block has room for the rest of it; it is moved to the front only when it
// would not fit, or when the room left for the next read has become small, and the block grows
// only when the record is larger than the block. A block grown for one large record is given
// back once the records are small again. The caller bounds `wanted` (the decoders check record
// lengths against their limits first), so the block never exceeds max(read_bytes, largest
// record accepted).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "mcap/records.hpp"

namespace mcaprec::ingest {

class ReceiveBuffer {
 public:
  // `read_bytes`: the block's usual size, the room a read gets when no record needs more.
  explicit ReceiveBuffer(size_t read_bytes);

  mcap::ByteView pending() const { return {data_.get() + begin_, end_ - begin_}; }
  bool empty() const { return begin_ == end_; }
  size_t capacity() const { return capacity_; }
  // Drops the first `size` pending bytes (decoded). Views into the block stay valid.
  void consume(size_t size);

  // Room for the next read, right after the pending bytes; together they hold at least
  // `wanted` bytes (and the room is never empty). May move or reallocate the pending bytes:
  // views into the block end here.
  std::span<uint8_t> space(size_t wanted);
  // `size` bytes were written at the start of the last space().
  void commit(size_t size) { end_ += size; }
  // Copies `bytes` after the pending bytes, making room for `wanted` bytes in all.
  void append(mcap::ByteView bytes, size_t wanted = 0);

 private:
  void reallocate(size_t capacity);
  void move_to_front();

  size_t read_bytes_;
  std::unique_ptr<uint8_t[]> data_;  // not zeroed: reads overwrite it
  size_t capacity_ = 0;
  size_t begin_ = 0;  // first pending byte
  size_t end_ = 0;    // one past the last pending byte
};

}  // namespace mcaprec::ingest
