#pragma once
// What defines a channel independently of the ids a sender chose for it: topic, message
// encoding, metadata and schema (name, encoding, data). The pipeline gives equal definitions
// from different senders one channel in the file (pipeline::ChannelRegistry::declare).
#include <memory>
#include <string>

#include "mcap/records.hpp"
#include "pipeline/channel_spec.hpp"

namespace mcaprec::ingest {

struct SchemaDefinition {
  std::string name;
  std::string encoding;
  mcap::Bytes data;

  bool operator==(const SchemaDefinition&) const = default;
};

struct ChannelDefinition {
  std::string topic;
  std::string message_encoding;
  mcap::KeyValueMap metadata;
  // Null when the channel has no schema (schema id 0). Shared: a sender's channels usually
  // refer to a handful of schemas, which can be large.
  std::shared_ptr<const SchemaDefinition> schema;

  // Compares the schemas by content, not by pointer.
  bool operator==(const ChannelDefinition& other) const;
};

// The declaration the pipeline takes, with the queue settings left to the caller (they come
// from the configuration of the topic, not from the sender).
pipeline::ChannelSpec to_channel_spec(const ChannelDefinition& definition);

}  // namespace mcaprec::ingest
