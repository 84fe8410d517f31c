#include "ingest/mcap_stream_decoder.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

#include "ingest/record_decoding.hpp"
#include "mcap/bytes.hpp"
#include "mcap/serialize.hpp"

namespace mcaprec::ingest {

namespace {

using mcap::Opcode;

std::string byte_hex(uint8_t byte) {
  char text[8];
  std::snprintf(text, sizeof(text), "0x%02x", byte);
  return text;
}

// Wraps an error found inside a chunk: same reason, placed at the chunk, saying where in it.
DecodeError in_chunk(DecodeError error, uint64_t chunk_offset, uint64_t pos) {
  error.offset = chunk_offset;
  error.message =
      "in the Chunk, record at chunk offset " + std::to_string(pos) + ": " + error.message;
  return error;
}

}  // namespace

McapStreamDecoder::McapStreamDecoder(DecoderEvents& events, const DecoderLimits& limits,
                                     size_t read_bytes, size_t hand_off_bytes)
    : ByteStreamDecoder(read_bytes, hand_off_bytes),
      events_(events),
      limits_(limits),
      channels_(limits),
      chunks_(limits) {}

DecodeResult<size_t> McapStreamDecoder::decode(mcap::ByteView bytes) {
  size_t pos = 0;
  while (!paused()) {
    const size_t before = pos;
    const Phase phase = phase_;
    DecodeResult<size_t> next = pos;
    switch (phase_) {
      case Phase::kDone:
        if (pos == bytes.size()) return pos;
        return DecodeError{DecodeReason::kGarbage, offset_,
                           "data after the end of the MCAP stream (its Footer and trailing magic)"};
      case Phase::kStart:
        if (pos == bytes.size()) return pos;
        if (bytes[pos] == mcap::kMagic[0]) {
          phase_ = Phase::kLeadingMagic;
        } else if (detail::is_spec_opcode(bytes[pos])) {
          phase_ = Phase::kData;
        } else {
          return DecodeError{DecodeReason::kGarbage, offset_,
                             "stream starts with byte " + byte_hex(bytes[pos]) +
                                 ", which is neither the MCAP magic nor a record opcode"};
        }
        continue;
      case Phase::kLeadingMagic:
      case Phase::kTrailingMagic:
        next = consume_magic(bytes, pos);
        break;
      case Phase::kData:
      case Phase::kSummary:
        next = consume_records(bytes, pos);
        break;
    }
    if (!next.ok()) return next.error();
    pos = *next;
    if (pos == before && phase_ == phase) break;  // the rest is an incomplete record
  }
  return pos;
}

size_t McapStreamDecoder::wanted() const {
  if (phase_ != Phase::kData && phase_ != Phase::kSummary) return 1;  // the magic: bytewise
  if (!in_record_) return mcap::kRecordPrefixSize;
  // Skipped content is consumed as it comes; decoded content is needed whole (its length
  // passed the limits in begin_record()).
  return action_ == Action::kSkip ? 1 : static_cast<size_t>(content_length_);
}

DecodeStatus McapStreamDecoder::end_of_stream(size_t unconsumed) {
  if ((phase_ == Phase::kLeadingMagic || phase_ == Phase::kTrailingMagic) && magic_bytes_ > 0) {
    return DecodeError{
        DecodeReason::kTruncated, offset_ - magic_bytes_,
        "stream ends after " + std::to_string(magic_bytes_) + " of the 8 bytes of the magic"};
  }
  if (in_record_) {
    const uint64_t received = action_ == Action::kSkip ? content_skipped_ : unconsumed;
    return DecodeError{DecodeReason::kTruncated, record_offset_,
                       "stream ends inside a " + detail::opcode_label(opcode_) + " record of " +
                           std::to_string(content_length_) + " content bytes, after " +
                           std::to_string(received)};
  }
  if (unconsumed > 0) {
    return DecodeError{
        DecodeReason::kTruncated, offset_,
        "stream ends inside a record prefix (" + std::to_string(unconsumed) + " of 9 bytes)"};
  }
  phase_ = Phase::kDone;
  return {};
}

DecodeResult<size_t> McapStreamDecoder::consume_magic(mcap::ByteView bytes, size_t pos) {
  while (pos < bytes.size() && magic_bytes_ < sizeof(mcap::kMagic)) {
    const uint8_t expected = mcap::kMagic[magic_bytes_];
    if (bytes[pos] != expected) {
      const std::string where = phase_ == Phase::kLeadingMagic ? "leading" : "trailing";
      // Byte 5 is the major version: say so, it is the likeliest honest mismatch.
      const std::string what = magic_bytes_ == 5
                                   ? "unsupported MCAP major version " + byte_hex(bytes[pos])
                                   : "byte " + std::to_string(magic_bytes_) + " is " +
                                         byte_hex(bytes[pos]) + ", expected " + byte_hex(expected);
      return DecodeError{DecodeReason::kBadMagic, offset_ - magic_bytes_,
                         "bad " + where + " magic: " + what};
    }
    ++magic_bytes_;
    ++pos;
    ++offset_;
  }
  if (magic_bytes_ == sizeof(mcap::kMagic)) {
    magic_bytes_ = 0;
    phase_ = phase_ == Phase::kLeadingMagic ? Phase::kData : Phase::kDone;
  }
  return pos;
}

DecodeResult<size_t> McapStreamDecoder::consume_records(mcap::ByteView bytes, size_t pos) {
  while ((phase_ == Phase::kData || phase_ == Phase::kSummary) && !paused()) {
    if (!in_record_) {
      // The 9-byte prefix decides, before any content is buffered, what becomes of the record.
      if (bytes.size() - pos < mcap::kRecordPrefixSize) break;
      const uint8_t* prefix = bytes.data() + pos;
      record_offset_ = offset_;
      pos += mcap::kRecordPrefixSize;
      offset_ += mcap::kRecordPrefixSize;
      opcode_ = prefix[0];
      content_length_ = mcap::load_le<uint64_t>(prefix + 1);
      DecodeResult<Action> action = begin_record(opcode_, content_length_, record_offset_);
      if (!action.ok()) return action.error();
      action_ = *action;
      in_record_ = true;
      content_skipped_ = 0;
    }
    if (action_ == Action::kSkip) {
      const size_t n = static_cast<size_t>(
          std::min<uint64_t>(content_length_ - content_skipped_, bytes.size() - pos));
      pos += n;
      offset_ += n;
      content_skipped_ += n;
      if (content_skipped_ < content_length_) break;
      in_record_ = false;
      continue;
    }
    if (bytes.size() - pos < content_length_) {
      // Waits, whole, in the receive buffer, unless its handler takes its payload.
      pos += offer_large_message(bytes, pos);
      break;
    }
    const mcap::ByteView content = bytes.subspan(pos, static_cast<size_t>(content_length_));
    pos += content.size();
    offset_ += content.size();
    in_record_ = false;
    DecodeStatus st = handle_record(opcode_, content, record_offset_);
    if (!st.ok()) return st.error();
  }
  return pos;
}

size_t McapStreamDecoder::offer_large_message(mcap::ByteView bytes, size_t pos) {
  const mcap::ByteView received = bytes.subspan(pos);
  if (opcode_ != static_cast<uint8_t>(Opcode::kMessage) ||
      content_length_ < mcap::kMessageHeaderSize ||
      !may_hand_off(content_length_ - mcap::kMessageHeaderSize) ||
      received.size() < mcap::kMessageHeaderSize) {
    return 0;
  }
  // Its length passed the limits in begin_record(). A record that fails the other checks is
  // not offered: it is reported once whole (or truncated), so the error is the same whatever
  // the reads were.
  DecodeResult<mcap::Message> message =
      detail::decode_message(received, record_offset_, channels_, limits_);
  if (!message.ok()) return 0;
  if (!events_.on_large_message(*message, content_length_ - mcap::kMessageHeaderSize)) return 0;
  offset_ += received.size();
  action_ = Action::kSkip;
  content_skipped_ = received.size();
  hand_off(content_length_ - received.size());
  return received.size();
}

void McapStreamDecoder::consumed_by_handler(size_t size) {
  offset_ += size;
  content_skipped_ += size;
  if (content_skipped_ == content_length_) in_record_ = false;
}

DecodeResult<McapStreamDecoder::Action> McapStreamDecoder::begin_record(uint8_t opcode,
                                                                        uint64_t length,
                                                                        uint64_t offset) {
  if (opcode == 0) {
    return DecodeError{DecodeReason::kGarbage, offset, "invalid opcode 0x00: not an MCAP record"};
  }
  const bool first = first_record_;
  first_record_ = false;
  if (DecodeStatus st = detail::check_content_length(opcode, length, offset, limits_); !st.ok()) {
    return st.error();
  }
  if (!detail::is_spec_opcode(opcode)) return Action::kSkip;  // future or private records

  if (phase_ == Phase::kSummary) {
    switch (static_cast<Opcode>(opcode)) {
      case Opcode::kFooter:
        return Action::kDecode;
      case Opcode::kSchema:  // repeats of the data section's definitions
      case Opcode::kChannel:
      case Opcode::kChunkIndex:
      case Opcode::kAttachmentIndex:
      case Opcode::kMetadataIndex:
      case Opcode::kStatistics:
      case Opcode::kSummaryOffset:
        return Action::kSkip;
      default:
        return DecodeError{DecodeReason::kGarbage, offset,
                           detail::opcode_label(opcode) + " record after Data End"};
    }
  }
  switch (static_cast<Opcode>(opcode)) {
    case Opcode::kHeader:
      if (!first) {
        return DecodeError{DecodeReason::kGarbage, offset, "Header record after the first record"};
      }
      return Action::kDecode;
    case Opcode::kMessageIndex:
    case Opcode::kChunkIndex:
    case Opcode::kAttachmentIndex:
    case Opcode::kMetadataIndex:
    case Opcode::kStatistics:
    case Opcode::kSummaryOffset:
      return Action::kSkip;  // indexes of the sender's file: nothing to record
    default:
      return Action::kDecode;
  }
}

DecodeStatus McapStreamDecoder::handle_record(uint8_t opcode, mcap::ByteView content,
                                              uint64_t offset) {
  switch (static_cast<Opcode>(opcode)) {
    case Opcode::kMessage: {
      DecodeResult<mcap::Message> message =
          detail::decode_message(content, offset, channels_, limits_);
      if (!message.ok()) return message.error();
      events_.on_message(*message);
      return {};
    }
    case Opcode::kSchema: {
      auto schema = detail::decode_schema(content, offset, channels_);
      if (!schema.ok()) return schema.error();
      if (schema->has_value()) events_.on_schema(**schema);
      return {};
    }
    case Opcode::kChannel: {
      auto id = detail::decode_channel(content, offset, channels_);
      if (!id.ok()) return id.error();
      if (id->has_value()) events_.on_channel(**id, *channels_.channel(**id));
      return {};
    }
    case Opcode::kChunk:
      return handle_chunk(content, offset);
    case Opcode::kHeader: {
      DecodeResult<mcap::Header> header = detail::decode_header(content, offset);
      if (!header.ok()) return header.error();
      events_.on_header(*header);
      return {};
    }
    case Opcode::kAttachment: {
      DecodeResult<mcap::Attachment> attachment = detail::decode_attachment(content, offset);
      if (!attachment.ok()) return attachment.error();
      events_.on_attachment(*attachment);
      return {};
    }
    case Opcode::kMetadata: {
      DecodeResult<mcap::Metadata> metadata = detail::decode_metadata(content, offset);
      if (!metadata.ok()) return metadata.error();
      events_.on_metadata(*metadata);
      return {};
    }
    case Opcode::kDataEnd:
    case Opcode::kFooter: {
      base::Result<mcap::Record> parsed = mcap::parse_record(opcode, content, offset);
      if (!parsed.ok()) {
        return DecodeError{DecodeReason::kMalformed, offset, parsed.error().message};
      }
      phase_ =
          opcode == static_cast<uint8_t>(Opcode::kFooter) ? Phase::kTrailingMagic : Phase::kSummary;
      report_end();
      return {};
    }
    default:
      // begin_record() sends no other opcode here.
      return DecodeError{DecodeReason::kGarbage, offset,
                         detail::opcode_label(opcode) + " record is not expected here"};
  }
}

DecodeStatus McapStreamDecoder::handle_chunk(mcap::ByteView content, uint64_t offset) {
  DecodeResult<mcap::ByteView> records = chunks_.unpack(content, offset);
  if (!records.ok()) return records.error();
  uint64_t pos = 0;
  while (pos < records->size()) {
    base::Result<mcap::RecordFrame> frame = mcap::read_frame(*records, pos);
    if (!frame.ok()) {
      return in_chunk(DecodeError{DecodeReason::kBadChunk, offset, frame.error().message}, offset,
                      pos);
    }
    const mcap::ByteView body = frame->content;
    switch (static_cast<Opcode>(frame->opcode)) {
      case Opcode::kMessage: {
        DecodeResult<mcap::Message> message =
            detail::decode_message(body, offset, channels_, limits_);
        if (!message.ok()) return in_chunk(message.error(), offset, pos);
        events_.on_message(*message);
        break;
      }
      case Opcode::kSchema: {
        auto schema = detail::decode_schema(body, offset, channels_);
        if (!schema.ok()) return in_chunk(schema.error(), offset, pos);
        if (schema->has_value()) events_.on_schema(**schema);
        break;
      }
      case Opcode::kChannel: {
        auto id = detail::decode_channel(body, offset, channels_);
        if (!id.ok()) return in_chunk(id.error(), offset, pos);
        if (id->has_value()) events_.on_channel(**id, *channels_.channel(**id));
        break;
      }
      default:
        if (detail::is_spec_opcode(frame->opcode)) {
          return in_chunk(DecodeError{DecodeReason::kBadChunk, offset,
                                      detail::opcode_label(frame->opcode) +
                                          " record is not allowed inside a chunk"},
                          offset, pos);
        }
        break;  // future or private records pass through unread
    }
    pos += frame->size();
  }
  return {};
}

void McapStreamDecoder::report_end() {
  if (end_reported_) return;
  end_reported_ = true;
  events_.on_end();
}

}  // namespace mcaprec::ingest
