#pragma once
// What the TCP decoders (McapStreamDecoder, LengthPrefixedDecoder) share: the buffering of a
// byte stream that arrives in pieces split anywhere, and the first error that ends it.
//
// Two ways in:
// - read_space() + commit(): the socket reads straight into the decoder's ReceiveBuffer and the
//   records are decoded in place, so a payload is copied once, by the event handler that keeps
//   it (TcpSession: into the pipeline). Incomplete records wait in the buffer for the next read.
// - feed(piece): for bytes that live elsewhere. Records wholly inside the piece are decoded in
//   place; only a record split across pieces is gathered into the buffer, and only once its
//   length passed the limits.
//
// pause() (from inside an event) stops decoding after the current record; the rest stays in the
// buffer, untouched, until resume(). So views reported before the pause into the buffer (and
// into an unpacked chunk) stay valid until resume(), finish() or the next read_space(): the
// session holds such messages without copying them while the pipeline is full.
//
// Hand-off: a large payload that is not all received yet (kHandOffBytes or more; only for bytes
// that came through commit()) is offered to the event handler with the part that is there
// (DecoderEvents::on_large_message, FrameEvents::on_large_frame). A handler that takes it reads
// the rest from the socket itself, into its own memory (TcpSession: queue segments), and
// reports each read with payload_read(); meanwhile nothing is decoded and read_space() is not
// used. So the rest of the payload is never copied in user space.
//
// Errors: the first bad byte ends the stream for good; every later call returns the same error
// (reason, stream offset, message). The caller closes the connection.
#include <cstddef>
#include <cstdint>
#include <span>

#include "ingest/decode_error.hpp"
#include "ingest/receive_buffer.hpp"
#include "mcap/records.hpp"

namespace mcaprec::ingest {

// The buffer's usual size: a read takes up to this much (several 64 KiB frames at once), and
// a connection holds this much memory plus, while one is in flight, a larger record.
inline constexpr size_t kDefaultReadBytes = 1 << 20;
// Payloads from this size on are offered for hand-off: about a default queue segment (64 KiB
// plus 4 KiB), below which a push shares the channel's current segment where a reservation
// would take a fresh one. Chosen, not tuned by measurement.
inline constexpr size_t kHandOffBytes = 64 << 10;

class ByteStreamDecoder {
 public:
  virtual ~ByteStreamDecoder() = default;
  ByteStreamDecoder(const ByteStreamDecoder&) = delete;
  ByteStreamDecoder& operator=(const ByteStreamDecoder&) = delete;

  // Where the next read should write: after the bytes of an incomplete record, with room for
  // at least the rest of it.
  std::span<uint8_t> read_space();
  // `size` bytes were read into read_space(): decodes every whole record (events fire here).
  DecodeStatus commit(size_t size);
  // Decodes the next piece of the stream.
  DecodeStatus feed(mcap::ByteView piece);
  // The peer closed the stream: decodes what is still buffered (not stopping at pause()), then
  // an error when the stream stopped inside a record.
  DecodeStatus finish();

  void pause() { paused_ = true; }
  bool paused() const { return paused_; }
  // Decodes the bytes that waited since pause() (may pause again).
  DecodeStatus resume();

  // Bytes of a handed-off payload the handler still has to read from the stream itself.
  uint64_t handed_off() const { return handed_off_; }
  // The handler read `size` more bytes of the handed-off payload (at most handed_off()). After
  // the last one, decoding goes on with the next read.
  void payload_read(size_t size);

  bool failed() const { return failed_; }
  size_t buffer_capacity() const { return buffer_.capacity(); }

 protected:
  ByteStreamDecoder(size_t read_bytes, size_t hand_off_bytes)
      : buffer_(read_bytes), hand_off_bytes_(hand_off_bytes) {}

  // For decode(): whether an incomplete payload of `size` bytes is offered for hand-off now.
  bool may_hand_off(uint64_t size) const { return may_hand_off_ && size >= hand_off_bytes_; }
  // decode() handed a payload off, with `remaining` bytes of it still to come; it consumed the
  // rest of its input.
  void hand_off(uint64_t remaining) { handed_off_ = remaining; }
  // The handler read `size` bytes of the handed-off payload: count them as consumed.
  virtual void consumed_by_handler(size_t size) = 0;

  // Decodes whole records from the front of `bytes` until one is incomplete (its prefix may be
  // consumed once checked) or paused() is set; returns how many bytes it consumed.
  virtual DecodeResult<size_t> decode(mcap::ByteView bytes) = 0;
  // How many bytes, from the first unconsumed one, the record in progress needs to be whole.
  virtual size_t wanted() const = 0;
  // The stream ended with `unconsumed` bytes of an incomplete record left.
  virtual DecodeStatus end_of_stream(size_t unconsumed) = 0;

 private:
  DecodeStatus fail(DecodeError error);
  DecodeStatus decode_buffered();
  // decode_buffered() for bytes read from the socket: payloads may be handed off.
  DecodeStatus decode_read();

  ReceiveBuffer buffer_;
  const size_t hand_off_bytes_;
  bool paused_ = false;
  bool may_hand_off_ = false;  // while decoding what commit() or resume() brought
  uint64_t handed_off_ = 0;
  bool failed_ = false;
  DecodeError error_;
};

}  // namespace mcaprec::ingest
