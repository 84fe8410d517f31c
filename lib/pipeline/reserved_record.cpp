#include "pipeline/reserved_record.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "pipeline/channel_queue.hpp"

namespace mcaprec::pipeline {

ReservedRecord& ReservedRecord::operator=(ReservedRecord&& other) noexcept {
  if (this == &other) return *this;
  cancel();
  queue_ = std::exchange(other.queue_, nullptr);
  payload_size_ = std::exchange(other.payload_size_, 0);
  segments_ = std::move(other.segments_);
  pieces_ = std::move(other.pieces_);
  other.segments_.clear();
  other.pieces_.clear();
  return *this;
}

void ReservedRecord::write(size_t at, mcap::ByteView bytes) {
  for (const std::span<uint8_t> piece : pieces_) {
    if (bytes.empty()) return;
    if (at >= piece.size()) {
      at -= piece.size();
      continue;
    }
    const size_t part = std::min(bytes.size(), piece.size() - at);
    std::memcpy(piece.data() + at, bytes.data(), part);
    bytes = bytes.subspan(part);
    at = 0;
  }
}

void ReservedRecord::cancel() {
  if (queue_ == nullptr) return;
  queue_->cancel(*this);
  queue_ = nullptr;
  payload_size_ = 0;
  segments_.clear();
  pieces_.clear();
}

}  // namespace mcaprec::pipeline
