#pragma once
// A channel as its sender (or the configuration of a raw source) defines it: topic, message
// encoding, metadata and schema, without ids and without queue settings. Unlike mcap::Channel
// (the record, with ids) and pipeline::ChannelSpec (a declaration, with the topic's queue
// settings), its schema is shared by the sender's channels that use it. The pipeline gives
// equal definitions from different senders one channel in the file
// (pipeline::ChannelRegistry::declare).
#include <memory>
#include <string>

#include "mcap/records.hpp"
#include "pipeline/channel_spec.hpp"

namespace mcaprec::ingest {

struct ChannelDefinition {
  std::string topic;
  std::string message_encoding;
  mcap::KeyValueMap metadata;
  // Null when the channel has no schema (schema id 0). Shared: a sender's channels usually
  // refer to a handful of schemas, which can be large.
  std::shared_ptr<const pipeline::SchemaSpec> schema;

  // Compares the schemas by content, not by pointer.
  bool operator==(const ChannelDefinition& other) const;
};

// The declaration the pipeline takes, with the queue settings left to the caller (they come
// from the configuration of the topic, not from the sender).
pipeline::ChannelSpec to_channel_spec(const ChannelDefinition& definition);

}  // namespace mcaprec::ingest
