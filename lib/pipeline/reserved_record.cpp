#include "pipeline/reserved_record.hpp"

#include <algorithm>
#include <cstring>

#include "pipeline/channel_queue.hpp"

namespace mcaprec::pipeline {

void ReservedRecord::write(size_t at, mcap::ByteView bytes) {
  for_each_piece_from(at, [&bytes](std::span<uint8_t> room) {
    const size_t part = std::min(bytes.size(), room.size());
    if (part > 0) std::memcpy(room.data(), bytes.data(), part);
    bytes = bytes.subspan(part);
  });
}

void ReservedRecord::cancel() {
  if (queue_ == nullptr) return;
  queue_->cancel(*this);
  reset();
}

void ReservedRecord::reset() {
  queue_ = nullptr;
  payload_size_ = 0;
  segments_.clear();
  pieces_.clear();
}

}  // namespace mcaprec::pipeline
