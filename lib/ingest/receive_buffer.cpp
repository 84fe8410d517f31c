#include "ingest/receive_buffer.hpp"

#include <algorithm>
#include <cstring>

namespace mcaprec::ingest {

namespace {
// A block that grew past this (and past read_bytes) for one large record is given back when
// the next record fits the usual size again; smaller growth is kept to avoid reallocating.
constexpr size_t kRetainedBytes = 4 << 20;
}  // namespace

ReceiveBuffer::ReceiveBuffer(size_t read_bytes) : read_bytes_(std::max<size_t>(read_bytes, 16)) {}

void ReceiveBuffer::consume(size_t size) {
  begin_ += size;
  // Empty: the next read starts at the front again, with nothing to move.
  if (begin_ == end_) begin_ = end_ = 0;
}

std::span<uint8_t> ReceiveBuffer::space(size_t wanted) {
  const size_t pending = end_ - begin_;
  const size_t need = std::max(wanted, pending + 1);
  // Below this much room a read would be a wasted system call: move the pending bytes instead.
  const size_t min_read = read_bytes_ / 8;
  if (capacity_ < need) {
    reallocate(std::max(read_bytes_, need));
  } else if (capacity_ > std::max(read_bytes_, kRetainedBytes) && need <= read_bytes_) {
    reallocate(read_bytes_);
  } else if (begin_ > 0 && (begin_ + need > capacity_ || capacity_ - end_ < min_read)) {
    move_to_front();
  }
  return {data_.get() + end_, capacity_ - end_};
}

void ReceiveBuffer::append(mcap::ByteView bytes, size_t wanted) {
  if (bytes.empty()) return;
  const std::span<uint8_t> room = space(std::max(wanted, end_ - begin_ + bytes.size()));
  std::memcpy(room.data(), bytes.data(), bytes.size());
  commit(bytes.size());
}

void ReceiveBuffer::reallocate(size_t capacity) {
  std::unique_ptr<uint8_t[]> block(new uint8_t[capacity]);
  const size_t pending = end_ - begin_;
  if (pending > 0) std::memcpy(block.get(), data_.get() + begin_, pending);
  data_ = std::move(block);
  capacity_ = capacity;
  begin_ = 0;
  end_ = pending;
}

void ReceiveBuffer::move_to_front() {
  const size_t pending = end_ - begin_;
  std::memmove(data_.get(), data_.get() + begin_, pending);
  begin_ = 0;
  end_ = pending;
}

}  // namespace mcaprec::ingest
