#include "pipeline/reserved_record.hpp"

#include <algorithm>
#include <cstring>

#include "mcap/crc32.hpp"
#include "pipeline/channel_queue.hpp"

namespace mcaprec::pipeline {

void ReservedRecord::write(size_t at, mcap::ByteView bytes) {
  const size_t end = at + bytes.size();
  for_each_piece_from(at, [&bytes](std::span<uint8_t> room) {
    const size_t part = std::min(bytes.size(), room.size());
    if (part > 0) std::memcpy(room.data(), bytes.data(), part);
    bytes = bytes.subspan(part);
  });
  if (at < checksummed_) crc_known_ = false;
  filled(end);
}

void ReservedRecord::filled(size_t end) {
  size_t piece_begin = 0;
  for (size_t i = 0; i < pieces_.size() && checksummed_ < end; ++i) {
    const size_t piece_end = piece_begin + pieces_[i].size();
    if (checksummed_ < piece_end) {
      const size_t from = checksummed_ - piece_begin;
      const size_t to = std::min(end, piece_end) - piece_begin;
      piece_crcs_[i] =
          mcap::crc32_update(piece_crcs_[i], mcap::ByteView(pieces_[i]).subspan(from, to - from));
      checksummed_ = piece_begin + to;
    }
    piece_begin = piece_end;
  }
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
  piece_crcs_.clear();
  checksummed_ = 0;
  crc_known_ = true;
}

}  // namespace mcaprec::pipeline
