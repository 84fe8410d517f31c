#pragma once
// Incremental decoder of an MCAP byte stream (the `mcap` format over TCP). Bytes arrive in
// pieces of any size, split anywhere; records are reported to DecoderEvents as soon as they are
// complete.
//
// What the stream may hold:
// - optionally the magic, then optionally a Header (only as the first record);
// - Schema, Channel and Message records (ids scoped to this stream, see ChannelRegistry);
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
// Copies: a record that lies wholly inside one piece is reported with views into that piece;
// only a record split across pieces is gathered in a buffer, and only after its length has
// been checked against the limits (records that are skipped are never buffered).
//
// Errors: the first bad byte ends the stream for good. feed() returns the error (reason code,
// stream offset of the offending record, message) and every later call returns it again; the
// caller closes the connection. Records before the error have been reported.
#include <cstddef>
#include <cstdint>

#include "ingest/channel_registry.hpp"
#include "ingest/chunk_unpacker.hpp"
#include "ingest/decode_error.hpp"
#include "ingest/decoder_events.hpp"
#include "ingest/decoder_limits.hpp"
#include "mcap/records.hpp"

namespace mcaprec::ingest {

class McapStreamDecoder {
 public:
  // `events` must outlive the decoder.
  explicit McapStreamDecoder(DecoderEvents& events, const DecoderLimits& limits = {});

  // Decodes the next piece of the stream. Events fire from inside this call.
  DecodeStatus feed(mcap::ByteView piece);
  // The peer closed the stream: an error when it stopped inside the magic or a record.
  // Ending between records is fine, with or without Data End and Footer.
  DecodeStatus finish();

  // The Footer and its trailing magic arrived, or finish() was called: nothing more may come.
  bool done() const { return phase_ == Phase::kDone; }
  bool failed() const { return phase_ == Phase::kFailed; }
  // Bytes consumed so far (the whole stream until an error).
  uint64_t offset() const { return offset_; }
  const ChannelRegistry& registry() const { return registry_; }

 private:
  enum class Phase : uint8_t {
    kStart,          // nothing received yet
    kLeadingMagic,   // inside the leading magic
    kData,           // data section records
    kSummary,        // after Data End: summary records until the Footer
    kTrailingMagic,  // after the Footer
    kDone,
    kFailed,
  };
  // What happens to the record whose prefix was just read.
  enum class Action : uint8_t { kDecode, kSkip };

  DecodeStatus fail(DecodeError error);
  // Consumes from `piece` starting at `pos`; returns the new position.
  DecodeResult<size_t> consume_magic(mcap::ByteView piece, size_t pos);
  DecodeResult<size_t> consume_records(mcap::ByteView piece, size_t pos);
  // Decides from the prefix alone what to do with the record: checks the opcode against the
  // phase and the length against the limits.
  DecodeResult<Action> begin_record(uint8_t opcode, uint64_t length, uint64_t offset);
  // Handles a complete record whose content is `content`.
  DecodeStatus handle_record(uint8_t opcode, mcap::ByteView content, uint64_t offset);
  DecodeStatus handle_chunk(mcap::ByteView content, uint64_t offset);
  void report_end();

  DecoderEvents& events_;
  DecoderLimits limits_;
  ChannelRegistry registry_;
  detail::ChunkUnpacker chunks_;

  Phase phase_ = Phase::kStart;
  DecodeError error_;
  uint64_t offset_ = 0;       // stream offset of the next byte to consume
  size_t magic_bytes_ = 0;    // bytes of the current magic matched so far
  bool first_record_ = true;  // no record seen yet (a Header may only come first)
  bool end_reported_ = false;

  // The record in progress across pieces.
  uint8_t prefix_[mcap::kRecordPrefixSize] = {};
  size_t prefix_bytes_ = 0;  // gathered prefix bytes (0 at a record boundary)
  bool in_record_ = false;   // the prefix is complete and the content is still arriving
  Action action_ = Action::kDecode;
  uint8_t opcode_ = 0;
  uint64_t record_offset_ = 0;
  uint64_t content_length_ = 0;
  uint64_t content_received_ = 0;  // bytes of content received (buffered or skipped)
  mcap::Bytes content_;            // the gathered content of a split record to decode
};

}  // namespace mcaprec::ingest
