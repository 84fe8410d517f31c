#pragma once
// A Message record whose payload the caller writes in place before it is queued: a TCP session
// reads a large payload from the socket straight into these segments, so the payload is not
// copied in user space at all (Pipeline::reserve_payload, commit_payload).
//
// Its room was counted against the channel's queue_bytes and the memory budget when it was
// reserved, so committing never waits and never drops for room. Until then it is invisible to
// sealing. Destroying it uncommitted gives the room back (nothing is counted).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "mcap/records.hpp"

namespace mcaprec::pipeline {

class ChannelQueue;
struct Segment;

class ReservedRecord {
 public:
  ReservedRecord() = default;
  ~ReservedRecord() { cancel(); }
  ReservedRecord(const ReservedRecord&) = delete;
  ReservedRecord& operator=(const ReservedRecord&) = delete;

  bool active() const { return queue_ != nullptr; }
  size_t payload_size() const { return payload_size_; }
  // Where the payload goes, in order: after the record's header in the first segment, then
  // each further segment of the chain. Together exactly payload_size() bytes.
  std::span<const std::span<uint8_t>> pieces() const { return pieces_; }
  // Calls `visit(room)` for each piece's part from payload byte `at` on, in order.
  template <class Visit>
  void for_each_piece_from(size_t at, Visit&& visit) const {
    for (const std::span<uint8_t> piece : pieces_) {
      if (at >= piece.size()) {
        at -= piece.size();
        continue;
      }
      visit(piece.subspan(at));
      at = 0;
    }
  }

  // Copies `bytes` into the payload from its byte `at` on (must fit in payload_size()).
  void write(size_t at, mcap::ByteView bytes);
  // Gives the room back; nothing is counted. No-op when not active.
  void cancel();

 private:
  friend class ChannelQueue;
  // Not active any more: the segments went to the queue's runs or back to the pool.
  void reset();

  ChannelQueue* queue_ = nullptr;
  size_t payload_size_ = 0;
  std::vector<Segment*> segments_;  // the chain, head first; one ref each
  std::vector<std::span<uint8_t>> pieces_;
};

}  // namespace mcaprec::pipeline
