#include "ingest/mcap_datagram_decoder.hpp"

#include <cstring>
#include <string>

#include "ingest/record_decoding.hpp"
#include "mcap/serialize.hpp"

namespace mcaprec::ingest {

namespace {

using mcap::Opcode;

bool starts_with_magic(mcap::ByteView datagram) {
  return datagram.size() >= sizeof(mcap::kMagic) &&
         std::memcmp(datagram.data(), mcap::kMagic, sizeof(mcap::kMagic)) == 0;
}

}  // namespace

DecodeStatus McapDatagramDecoder::decode(mcap::ByteView datagram, SenderChannels& channels,
                                         DecoderEvents& events) {
  pending_.clear();
  channels.begin();
  if (DecodeStatus st = check(datagram, channels); !st.ok()) {
    channels.rollback();
    pending_.clear();
    return st;
  }
  channels.commit();
  for (const Pending& event : pending_) {
    if (const auto* message = std::get_if<mcap::Message>(&event)) {
      events.on_message(*message);
    } else if (const auto* channel = std::get_if<NewChannel>(&event)) {
      events.on_channel(channel->id, *channels.channel(channel->id));
    } else {
      events.on_schema(std::get<mcap::Schema>(event));
    }
  }
  pending_.clear();
  return {};
}

DecodeStatus McapDatagramDecoder::check(mcap::ByteView datagram, SenderChannels& channels) {
  uint64_t pos = starts_with_magic(datagram) ? sizeof(mcap::kMagic) : 0;
  if (pos < datagram.size() && !detail::is_spec_opcode(datagram[pos])) {
    return DecodeError{
        DecodeReason::kGarbage, pos,
        "datagram starts with " + detail::opcode_label(datagram[pos]) + ", not an MCAP record"};
  }
  while (pos < datagram.size()) {
    base::Result<mcap::RecordFrame> frame = mcap::read_frame(datagram, pos);
    if (!frame.ok()) {
      const bool zero = datagram[pos] == 0;
      return DecodeError{zero ? DecodeReason::kGarbage : DecodeReason::kTruncated, pos,
                         frame.error().message};
    }
    const uint8_t opcode = frame->opcode;
    if (DecodeStatus st = detail::check_content_length(opcode, frame->content.size(), pos, limits_);
        !st.ok()) {
      return st;
    }
    switch (static_cast<Opcode>(opcode)) {
      case Opcode::kMessage: {
        DecodeResult<mcap::Message> message =
            detail::decode_message(frame->content, pos, channels, limits_);
        if (!message.ok()) return message.error();
        pending_.emplace_back(*message);
        break;
      }
      case Opcode::kSchema: {
        auto schema = detail::decode_schema(frame->content, pos, channels);
        if (!schema.ok()) return schema.error();
        if (schema->has_value()) pending_.emplace_back(std::move(**schema));
        break;
      }
      case Opcode::kChannel: {
        auto id = detail::decode_channel(frame->content, pos, channels);
        if (!id.ok()) return id.error();
        if (id->has_value()) pending_.emplace_back(NewChannel{**id});
        break;
      }
      case Opcode::kChunk:
      case Opcode::kAttachment:
      case Opcode::kMetadata:
        return DecodeError{DecodeReason::kUnsupported, pos,
                           detail::opcode_label(opcode) +
                               " records are not accepted over UDP (send them over TCP)"};
      default:
        break;  // nothing to record
    }
    pos += frame->size();
  }
  return {};
}

}  // namespace mcaprec::ingest
