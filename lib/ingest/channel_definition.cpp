#include "ingest/channel_definition.hpp"

namespace mcaprec::ingest {

bool ChannelDefinition::operator==(const ChannelDefinition& other) const {
  if (topic != other.topic || message_encoding != other.message_encoding ||
      metadata != other.metadata) {
    return false;
  }
  if (schema == other.schema) return true;
  if (schema == nullptr || other.schema == nullptr) return false;
  return *schema == *other.schema;
}

pipeline::ChannelSpec to_channel_spec(const ChannelDefinition& definition) {
  pipeline::ChannelSpec spec;
  spec.topic = definition.topic;
  spec.message_encoding = definition.message_encoding;
  spec.metadata = definition.metadata;
  if (definition.schema != nullptr) spec.schema = *definition.schema;
  return spec;
}

}  // namespace mcaprec::ingest
