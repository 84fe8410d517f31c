#pragma once
// What the MCAP decoders report, in the order the records arrive. The listener implements
// this: it declares channels to the pipeline and pushes messages.
//
// Views (message data, attachment data) point into the piece passed to feed(), into the
// decoder's buffer for a record that was split across pieces, or into an unpacked chunk. They
// are valid only during the call: copy what must outlive it.
#include <cstdint>

#include "ingest/channel_definition.hpp"
#include "ingest/in_band_channel_id.hpp"
#include "mcap/records.hpp"

namespace mcaprec::ingest {

class DecoderEvents {
 public:
  virtual ~DecoderEvents() = default;

  // The stream's Header record, when it has one.
  virtual void on_header(const mcap::Header& /*header*/) {}
  // The first definition of an in-band schema id (repeats of an identical schema are silent).
  virtual void on_schema(const mcap::Schema& /*schema*/) {}
  // The first definition of an in-band channel id, resolved to its full definition.
  virtual void on_channel(InBandChannelId id, const ChannelDefinition& definition) = 0;
  // A message on a channel already reported by on_channel (its channel_id is in-band).
  virtual void on_message(const mcap::Message& message) = 0;
  // A top-level Message whose payload of `payload_size` bytes is large and not all received;
  // `message.data` is the part that is. Return true to read the rest from the stream yourself
  // (hand-off, see byte_stream_decoder.hpp); on_message() then never sees it. Returning false
  // must change nothing: the message is offered again as more arrives, then reported whole.
  virtual bool on_large_message(const mcap::Message& /*message*/, uint64_t /*payload_size*/) {
    return false;
  }
  virtual void on_metadata(const mcap::Metadata& /*metadata*/) {}
  virtual void on_attachment(const mcap::Attachment& /*attachment*/) {}
  // The sender ended its data: a Data End record, or a Footer without one. Called at most once.
  virtual void on_end() {}
};

}  // namespace mcaprec::ingest
