#include "ingest/length_prefixed_decoder.hpp"

#include <string>

#include "mcap/bytes.hpp"

namespace mcaprec::ingest {

LengthPrefixedDecoder::LengthPrefixedDecoder(FrameEvents& events, uint64_t max_frame_size,
                                             size_t read_bytes, size_t hand_off_bytes)
    : ByteStreamDecoder(read_bytes, hand_off_bytes),
      events_(events),
      max_frame_size_(max_frame_size) {}

DecodeResult<size_t> LengthPrefixedDecoder::decode(mcap::ByteView bytes) {
  if (finished_ && !bytes.empty()) {
    return DecodeError{DecodeReason::kGarbage, offset_, "data after the end of the stream"};
  }
  size_t pos = 0;
  while (!paused()) {
    if (!in_frame_) {
      if (bytes.size() - pos < kPrefixSize) break;
      frame_offset_ = offset_;
      frame_size_ = mcap::load_le<uint32_t>(bytes.data() + pos);
      pos += kPrefixSize;
      offset_ += kPrefixSize;
      if (frame_size_ > max_frame_size_) {
        return DecodeError{DecodeReason::kOversized, frame_offset_,
                           "frame of " + std::to_string(frame_size_) +
                               " bytes exceeds max_message_size " +
                               std::to_string(max_frame_size_)};
      }
      in_frame_ = true;
    }
    if (bytes.size() - pos < frame_size_) {
      const mcap::ByteView received = bytes.subspan(pos);
      if (may_hand_off(frame_size_) && events_.on_large_frame(received, frame_size_)) {
        pos += received.size();
        offset_ += received.size();
        frame_handed_ = static_cast<uint32_t>(received.size());
        hand_off(frame_size_ - received.size());
      }
      break;
    }
    in_frame_ = false;
    events_.on_frame(bytes.subspan(pos, frame_size_));
    pos += frame_size_;
    offset_ += frame_size_;
  }
  return pos;
}

void LengthPrefixedDecoder::consumed_by_handler(size_t size) {
  offset_ += size;
  frame_handed_ += static_cast<uint32_t>(size);
  if (frame_handed_ == frame_size_) {
    in_frame_ = false;
    frame_handed_ = 0;
  }
}

DecodeStatus LengthPrefixedDecoder::end_of_stream(size_t unconsumed) {
  if (in_frame_) {
    const size_t received = frame_handed_ > 0 ? frame_handed_ : unconsumed;
    return DecodeError{DecodeReason::kTruncated, frame_offset_,
                       "stream ends inside a frame of " + std::to_string(frame_size_) +
                           " bytes, after " + std::to_string(received)};
  }
  if (unconsumed > 0) {
    return DecodeError{
        DecodeReason::kTruncated, offset_,
        "stream ends inside a length prefix (" + std::to_string(unconsumed) + " of 4 bytes)"};
  }
  finished_ = true;
  return {};
}

}  // namespace mcaprec::ingest
