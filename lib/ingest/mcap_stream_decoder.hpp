#pragma once
// Incremental decoder of an MCAP byte stream (the `mcap` format over TCP). Bytes arrive in
// pieces of any size, split anywhere; records are reported to DecoderEvents as soon as they are
// complete.
//
// What the stream may hold:
// - optionally the magic, then optionally a Header (only as the first record);
// - Schema, Channel and Message records (ids scoped to this stream, see SenderChannels);
// - Chunk records of any codec ("", "lz4", "zstd"), unpacked, CRC-checked when the CRC is set;
//   inside them Schema, Channel, Message and unknown records;
// - Metadata and Attachment records (reported), Message Index, summary-section and unknown
//   (future or private) records (skipped by their length without being buffered);
// - Data End, after which only summary records and the Footer may follow (skipped); a Footer
//   may be followed by the trailing magic, after which the stream is done.
// A stream that does not start with the magic must start with a record the spec defines, so
// that a client speaking another protocol is refused at once rather than skipped forever.
// The magic starts with 0x89, a private opcode: a stream whose first record is private must
// send the magic first.
//
// Copies and buffering: see ByteStreamDecoder. A record's length is checked against the limits
// from its 9-byte prefix, before any of its content is buffered; records that are skipped are
// consumed as they arrive and never buffered.
//
// Errors: the first bad byte ends the stream for good (reason code, stream offset of the
// offending record, message); the caller closes the connection. Records before the error have
// been reported.
#include <cstddef>
#include <cstdint>

#include "ingest/byte_stream_decoder.hpp"
#include "ingest/chunk_unpacker.hpp"
#include "ingest/decode_error.hpp"
#include "ingest/decoder_events.hpp"
#include "ingest/decoder_limits.hpp"
#include "ingest/sender_channels.hpp"
#include "mcap/records.hpp"

namespace mcaprec::ingest {

class McapStreamDecoder : public ByteStreamDecoder {
 public:
  // `events` must outlive the decoder. Events fire from inside feed(), commit(), resume() and
  // finish(). finish() fails when the stream stopped inside the magic or a record; ending
  // between records is fine, with or without Data End and Footer.
  // Messages whose payload is `hand_off_bytes` or more may be handed off.
  explicit McapStreamDecoder(DecoderEvents& events, const DecoderLimits& limits = {},
                             size_t read_bytes = kDefaultReadBytes,
                             size_t hand_off_bytes = kHandOffBytes);

  // The Footer and its trailing magic arrived, or finish() was called: nothing more may come.
  bool done() const { return phase_ == Phase::kDone; }
  // Bytes consumed so far (the whole stream until an error).
  uint64_t offset() const { return offset_; }

 private:
  enum class Phase : uint8_t {
    kStart,          // nothing received yet
    kLeadingMagic,   // inside the leading magic
    kData,           // data section records
    kSummary,        // after Data End: summary records until the Footer
    kTrailingMagic,  // after the Footer
    kDone,
  };
  // What happens to the record whose prefix was just read.
  enum class Action : uint8_t { kDecode, kSkip };

  DecodeResult<size_t> decode(mcap::ByteView bytes) override;
  size_t wanted() const override;
  DecodeStatus end_of_stream(size_t unconsumed) override;
  // A handed-off Message's payload is consumed like a skipped record's content.
  void consumed_by_handler(size_t size) override;
  // Offers the incomplete Message whose content starts at bytes[pos] for hand-off; returns
  // the bytes it consumed (0: not taken).
  size_t offer_large_message(mcap::ByteView bytes, size_t pos);
  // Consume from `bytes` starting at `pos`; return the new position.
  DecodeResult<size_t> consume_magic(mcap::ByteView bytes, size_t pos);
  DecodeResult<size_t> consume_records(mcap::ByteView bytes, size_t pos);
  // Decides from the prefix alone what to do with the record: checks the opcode against the
  // phase and the length against the limits.
  DecodeResult<Action> begin_record(uint8_t opcode, uint64_t length, uint64_t offset);
  // Handles a complete record whose content is `content`.
  DecodeStatus handle_record(uint8_t opcode, mcap::ByteView content, uint64_t offset);
  DecodeStatus handle_chunk(mcap::ByteView content, uint64_t offset);
  void report_end();

  DecoderEvents& events_;
  DecoderLimits limits_;
  SenderChannels channels_;
  detail::ChunkUnpacker chunks_;

  Phase phase_ = Phase::kStart;
  uint64_t offset_ = 0;       // stream offset of the next byte to consume
  size_t magic_bytes_ = 0;    // bytes of the current magic matched so far
  bool first_record_ = true;  // no record seen yet (a Header may only come first)
  bool end_reported_ = false;

  // The record whose prefix was consumed and whose content is still arriving.
  bool in_record_ = false;
  Action action_ = Action::kDecode;
  uint8_t opcode_ = 0;
  uint64_t record_offset_ = 0;
  uint64_t content_length_ = 0;
  uint64_t content_skipped_ = 0;  // of a record being skipped
};

}  // namespace mcaprec::ingest
