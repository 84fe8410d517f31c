#pragma once
// The schemas and channels one sender defined (one TCP connection or one UDP sender address),
// by their in-band ids, checked against each other and the limits. The MCAP spec scopes ids to
// a file; here they are scoped to the sender, and ChannelMapping maps them to file channels.
//
// Rules:
// - a schema or channel id may be defined again only with identical content (senders repeat
//   definitions, e.g. in the summary or in every UDP datagram); different content is a
//   conflict, because messages already received were meant for the first definition;
// - a Channel must name a schema defined before it, or schema id 0 (no schema);
// - at most `max_channels` channels and as many schemas, holding at most
//   `max_definition_bytes` together.
// A Message on an undefined channel id is refused by the decoders: over TCP it is a protocol
// error that closes the connection (the sender's ids can no longer be trusted); over UDP it
// drops the datagram (the datagram defining the channel may simply have been lost).
#include <bitset>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "ingest/channel_definition.hpp"
#include "ingest/decode_error.hpp"
#include "ingest/decoder_limits.hpp"
#include "ingest/in_band_channel_id.hpp"
#include "mcap/records.hpp"

namespace mcaprec::ingest {

class SenderChannels {
 public:
  explicit SenderChannels(const DecoderLimits& limits = {});

  enum class Added : uint8_t {
    kNew,     // first definition of the id: report it
    kRepeat,  // identical to what the id already holds: nothing to do
  };

  // Schema id 0 is not a schema (the spec tells readers to ignore such records); callers skip
  // those records instead of passing them here. `offset` only places errors.
  DecodeResult<Added> add_schema(const mcap::Schema& schema, uint64_t offset);
  DecodeResult<Added> add_channel(const mcap::Channel& channel, uint64_t offset);

  bool has_channel(InBandChannelId id) const { return known_channels_.test(record_id(id)); }
  // Null when the id is not defined.
  const ChannelDefinition* channel(InBandChannelId id) const;

  size_t channel_count() const { return channels_.size(); }
  size_t schema_count() const { return schemas_.size(); }
  uint64_t definition_bytes() const { return definition_bytes_; }

  // All-or-nothing updates (one UDP datagram): after begin(), rollback() forgets every
  // definition added since; commit() keeps them.
  void begin();
  void commit();
  void rollback();

 private:
  struct DefinedChannel {
    uint16_t schema_id = 0;
    ChannelDefinition definition;
  };
  struct JournalEntry {
    bool is_channel = false;
    uint16_t id = 0;
    uint64_t bytes = 0;  // what the definition added to definition_bytes_
  };
  DecodeStatus check_room(uint64_t bytes, bool is_channel, uint64_t offset) const;

  DecoderLimits limits_;
  std::unordered_map<uint16_t, std::shared_ptr<const pipeline::SchemaSpec>> schemas_;
  std::unordered_map<uint16_t, DefinedChannel> channels_;
  std::bitset<65536> known_channels_;  // has_channel() without hashing, once per message
  uint64_t definition_bytes_ = 0;
  bool in_transaction_ = false;
  std::vector<JournalEntry> journal_;  // what begin() .. rollback() must forget
};

}  // namespace mcaprec::ingest
