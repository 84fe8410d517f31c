#include "ingest/length_prefixed_decoder.hpp"

#include <algorithm>
#include <string>

#include "mcap/bytes.hpp"

namespace mcaprec::ingest {

namespace {
// A buffer that grew past this for one unusually large frame is given back afterwards.
constexpr size_t kRetainedBufferBytes = 4 << 20;
}  // namespace

LengthPrefixedDecoder::LengthPrefixedDecoder(FrameEvents& events, uint64_t max_frame_size)
    : events_(events), max_frame_size_(max_frame_size) {}

DecodeStatus LengthPrefixedDecoder::fail(DecodeError error) {
  failed_ = true;
  error_ = std::move(error);
  return error_;
}

DecodeStatus LengthPrefixedDecoder::feed(mcap::ByteView piece) {
  if (failed_) return error_;
  if (finished_ && !piece.empty()) {
    return fail(DecodeError{DecodeReason::kGarbage, offset_, "data after the end of the stream"});
  }
  size_t pos = 0;
  while (pos < piece.size()) {
    if (in_frame_) {
      const size_t n = std::min<size_t>(frame_size_ - payload_.size(), piece.size() - pos);
      payload_.insert(payload_.end(), piece.begin() + pos, piece.begin() + pos + n);
      pos += n;
      offset_ += n;
      if (payload_.size() < frame_size_) break;
      in_frame_ = false;
      events_.on_frame(payload_);
      payload_.clear();
      if (payload_.capacity() > kRetainedBufferBytes) mcap::Bytes().swap(payload_);
      continue;
    }
    const uint8_t* prefix = nullptr;
    if (prefix_bytes_ == 0 && piece.size() - pos >= kPrefixSize) {
      prefix = piece.data() + pos;
      frame_offset_ = offset_;
      pos += kPrefixSize;
      offset_ += kPrefixSize;
    } else {
      if (prefix_bytes_ == 0) frame_offset_ = offset_;
      const size_t n = std::min(kPrefixSize - prefix_bytes_, piece.size() - pos);
      std::copy_n(piece.begin() + pos, n, prefix_ + prefix_bytes_);
      prefix_bytes_ += n;
      pos += n;
      offset_ += n;
      if (prefix_bytes_ < kPrefixSize) break;
      prefix_bytes_ = 0;
      prefix = prefix_;
    }
    frame_size_ = mcap::load_le<uint32_t>(prefix);
    if (frame_size_ > max_frame_size_) {
      return fail(DecodeError{DecodeReason::kOversized, frame_offset_,
                              "frame of " + std::to_string(frame_size_) +
                                  " bytes exceeds max_message_size " +
                                  std::to_string(max_frame_size_)});
    }
    if (frame_size_ <= piece.size() - pos) {
      events_.on_frame(piece.subspan(pos, frame_size_));
      pos += frame_size_;
      offset_ += frame_size_;
      continue;
    }
    in_frame_ = true;
    payload_.reserve(frame_size_);  // bounded by max_frame_size_, checked above
  }
  return {};
}

DecodeStatus LengthPrefixedDecoder::finish() {
  if (failed_) return error_;
  if (prefix_bytes_ > 0) {
    return fail(DecodeError{
        DecodeReason::kTruncated, frame_offset_,
        "stream ends inside a length prefix (" + std::to_string(prefix_bytes_) + " of 4 bytes)"});
  }
  if (in_frame_) {
    return fail(DecodeError{DecodeReason::kTruncated, frame_offset_,
                            "stream ends inside a frame of " + std::to_string(frame_size_) +
                                " bytes, after " + std::to_string(payload_.size())});
  }
  finished_ = true;
  return {};
}

}  // namespace mcaprec::ingest
