#include "ingest/byte_stream_decoder.hpp"

#include <algorithm>
#include <utility>

namespace mcaprec::ingest {

DecodeStatus ByteStreamDecoder::fail(DecodeError error) {
  failed_ = true;
  error_ = std::move(error);
  return error_;
}

std::span<uint8_t> ByteStreamDecoder::read_space() {
  return buffer_.space(wanted());
}

DecodeStatus ByteStreamDecoder::commit(size_t size) {
  if (failed_) return error_;
  buffer_.commit(size);
  return decode_read();
}

DecodeStatus ByteStreamDecoder::resume() {
  paused_ = false;
  if (failed_) return error_;
  return decode_read();
}

DecodeStatus ByteStreamDecoder::decode_read() {
  may_hand_off_ = true;
  DecodeStatus status = decode_buffered();
  may_hand_off_ = false;
  return status;
}

void ByteStreamDecoder::payload_read(size_t size) {
  handed_off_ -= size;
  consumed_by_handler(size);
}

DecodeStatus ByteStreamDecoder::decode_buffered() {
  if (paused_ || buffer_.empty()) return {};
  DecodeResult<size_t> used = decode(buffer_.pending());
  if (!used.ok()) return fail(used.error());
  buffer_.consume(*used);
  return {};
}

DecodeStatus ByteStreamDecoder::feed(mcap::ByteView piece) {
  if (failed_) return error_;
  while (!piece.empty()) {
    if (paused_) {
      buffer_.append(piece);
      return {};
    }
    if (buffer_.empty()) {
      // Whole records are decoded in place; the start of an incomplete one is kept.
      DecodeResult<size_t> used = decode(piece);
      if (!used.ok()) return fail(used.error());
      buffer_.append(piece.subspan(*used), paused_ ? 0 : wanted());
      return {};
    }
    // A record split across pieces: gather only what completes it, then go on in place.
    const size_t pending = buffer_.pending().size();
    const size_t need = wanted();
    const size_t take = need > pending ? std::min(piece.size(), need - pending) : piece.size();
    buffer_.append(piece.first(take), need);
    piece = piece.subspan(take);
    if (DecodeStatus status = decode_buffered(); !status.ok()) return status;
  }
  return {};
}

DecodeStatus ByteStreamDecoder::finish() {
  if (failed_) return error_;
  // Nothing more will be read: decode all that waits, pause() or not.
  do {
    paused_ = false;
    if (DecodeStatus status = decode_buffered(); !status.ok()) return status;
  } while (paused_);
  if (DecodeStatus status = end_of_stream(buffer_.pending().size()); !status.ok()) {
    return fail(status.error());
  }
  return {};
}

}  // namespace mcaprec::ingest
