#pragma once
// Decoder of the `mcap` format over UDP: each datagram holds whole MCAP records, ids scoped to
// the sender address (one ChannelRegistry per sender, kept by the listener).
//
// A datagram is all or nothing: every record is checked first (framing, limits, definitions
// against the sender's registry and against each other), and only then are the events
// reported. When any record is bad, nothing of the datagram is reported and the registry is as
// it was before it.
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

#include "ingest/channel_registry.hpp"
#include "ingest/decode_error.hpp"
#include "ingest/decoder_events.hpp"
#include "ingest/decoder_limits.hpp"
#include "mcap/records.hpp"

namespace mcaprec::ingest {

class McapDatagramDecoder {
 public:
  explicit McapDatagramDecoder(const DecoderLimits& limits = {}) : limits_(limits) {}

  // Decodes one datagram from the sender whose ids `registry` holds. Offsets in errors are
  // within the datagram. Views passed to `events` point into `datagram`.
  DecodeStatus decode(mcap::ByteView datagram, ChannelRegistry& registry, DecoderEvents& events);

 private:
  struct NewChannel {
    uint16_t id = 0;
  };
  using Pending = std::variant<mcap::Schema, NewChannel, mcap::Message>;

  DecodeStatus check(mcap::ByteView datagram, ChannelRegistry& registry);

  DecoderLimits limits_;
  std::vector<Pending> pending_;  // what the datagram will report once it is all checked
};

}  // namespace mcaprec::ingest
