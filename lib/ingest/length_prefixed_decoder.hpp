#pragma once
// Incremental decoder of the `length_prefixed` format over TCP: frames of a u32 little-endian
// payload length followed by the payload; each payload is one message on the source's topic.
// Empty payloads are valid messages.
//
// A frame wholly inside a fed piece is reported as a view into it; only a frame split across
// pieces is gathered, after its length has been checked against the limit. The first error
// ends the stream for good (every later call returns it); the caller closes the connection.
#include <cstddef>
#include <cstdint>

#include "ingest/decode_error.hpp"
#include "mcap/records.hpp"

namespace mcaprec::ingest {

class FrameEvents {
 public:
  virtual ~FrameEvents() = default;
  // One frame's payload; the view is valid only during the call.
  virtual void on_frame(mcap::ByteView payload) = 0;
};

class LengthPrefixedDecoder {
 public:
  // `events` must outlive the decoder. Frames longer than `max_frame_size` are refused.
  LengthPrefixedDecoder(FrameEvents& events, uint64_t max_frame_size);

  DecodeStatus feed(mcap::ByteView piece);
  // The peer closed the stream: an error when it stopped inside a frame.
  DecodeStatus finish();

  bool failed() const { return failed_; }
  uint64_t offset() const { return offset_; }  // bytes consumed so far

 private:
  static constexpr size_t kPrefixSize = 4;
  DecodeStatus fail(DecodeError error);

  FrameEvents& events_;
  uint64_t max_frame_size_;
  bool failed_ = false;
  bool finished_ = false;
  DecodeError error_;
  uint64_t offset_ = 0;
  uint64_t frame_offset_ = 0;  // of the frame in progress
  uint8_t prefix_[kPrefixSize] = {};
  size_t prefix_bytes_ = 0;  // gathered prefix bytes (0 at a frame boundary)
  bool in_frame_ = false;    // prefix complete, payload still arriving
  uint32_t frame_size_ = 0;
  mcap::Bytes payload_;  // the gathered payload of a split frame
};

}  // namespace mcaprec::ingest
