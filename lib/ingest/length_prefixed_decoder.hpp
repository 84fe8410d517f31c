#pragma once
// Incremental decoder of the `length_prefixed` format over TCP: frames of a u32 little-endian
// payload length followed by the payload; each payload is one message on the source's topic.
// Empty payloads are valid messages.
//
// Buffering, pause and errors: see ByteStreamDecoder. A frame's length is checked against the
// limit as soon as its 4 bytes are there, before any of its payload is buffered.
#include <cstddef>
#include <cstdint>

#include "ingest/byte_stream_decoder.hpp"
#include "ingest/decode_error.hpp"
#include "mcap/records.hpp"

namespace mcaprec::ingest {

class FrameEvents {
 public:
  virtual ~FrameEvents() = default;
  // One frame's payload. The view is valid during the call, and after it as long as
  // ByteStreamDecoder says (until the bytes after a pause() are decoded).
  virtual void on_frame(mcap::ByteView payload) = 0;
  // A large frame not all received (`received` is what is there), as
  // DecoderEvents::on_large_message: true takes the rest (hand-off); false must change nothing.
  virtual bool on_large_frame(mcap::ByteView /*received*/, uint64_t /*frame_size*/) {
    return false;
  }
};

class LengthPrefixedDecoder : public ByteStreamDecoder {
 public:
  // `events` must outlive the decoder. Frames longer than `max_frame_size` are refused; frames
  // of `hand_off_bytes` or more may be handed off.
  LengthPrefixedDecoder(FrameEvents& events, uint64_t max_frame_size,
                        size_t read_bytes = kDefaultReadBytes,
                        size_t hand_off_bytes = kHandOffBytes);

  uint64_t offset() const { return offset_; }  // bytes consumed so far

 private:
  static constexpr size_t kPrefixSize = 4;

  DecodeResult<size_t> decode(mcap::ByteView bytes) override;
  size_t wanted() const override { return in_frame_ ? frame_size_ : kPrefixSize; }
  DecodeStatus end_of_stream(size_t unconsumed) override;
  void consumed_by_handler(size_t size) override;

  FrameEvents& events_;
  uint64_t max_frame_size_;
  bool finished_ = false;
  uint64_t offset_ = 0;
  uint64_t frame_offset_ = 0;  // of the frame in progress
  bool in_frame_ = false;      // its prefix was consumed, its payload is still arriving
  uint32_t frame_size_ = 0;
  uint32_t frame_handed_ = 0;  // bytes of a handed-off frame consumed so far (0: not handed off)
};

}  // namespace mcaprec::ingest
