#pragma once
// Decoder of the `mcap` format over UDP: each datagram holds whole MCAP records, ids scoped to
// the sender address (one SenderChannels per sender, kept by the listener).
//
// A datagram is all or nothing: every record is checked first (framing, limits, definitions
// against the sender's channels and against each other), and only then are the events
// reported. When any record is bad, nothing of the datagram is reported and the sender's
// channels are as they were before it.
//
// Records: Schema, Channel and Message are decoded; records that carry nothing to record
// (Header, Data End, Footer, indexes, statistics, summary offsets, future and private opcodes)
// are skipped; Chunk, Attachment and Metadata are refused as "unsupported" so that their loss
// is counted rather than silent. A leading magic is skipped, for senders that cut a stream into
// datagrams. The first record must be one the spec defines, so stray traffic on the port is
// refused as garbage.
#include <cstdint>
#include <variant>
#include <vector>

#include "ingest/decode_error.hpp"
#include "ingest/decoder_events.hpp"
#include "ingest/decoder_limits.hpp"
#include "ingest/sender_channels.hpp"
#include "mcap/records.hpp"

namespace mcaprec::ingest {

class McapDatagramDecoder {
 public:
  explicit McapDatagramDecoder(const DecoderLimits& limits = {}) : limits_(limits) {}

  // Decodes one datagram from the sender whose definitions `channels` holds. Offsets in errors
  // are within the datagram. Views passed to `events` point into `datagram`.
  DecodeStatus decode(mcap::ByteView datagram, SenderChannels& channels, DecoderEvents& events);

 private:
  struct NewChannel {
    InBandChannelId id{};
  };
  using Pending = std::variant<mcap::Schema, NewChannel, mcap::Message>;

  DecodeStatus check(mcap::ByteView datagram, SenderChannels& channels);

  DecoderLimits limits_;
  std::vector<Pending> pending_;  // what the datagram will report once it is all checked
};

}  // namespace mcaprec::ingest
