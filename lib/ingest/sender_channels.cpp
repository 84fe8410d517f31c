#include "ingest/sender_channels.hpp"

#include <string>

namespace mcaprec::ingest {

namespace {

uint64_t schema_bytes(const mcap::Schema& s) {
  return s.name.size() + s.encoding.size() + s.data.size();
}

uint64_t channel_bytes(const mcap::Channel& c) {
  uint64_t n = c.topic.size() + c.message_encoding.size();
  for (const auto& [key, value] : c.metadata) n += key.size() + value.size();
  return n;
}

std::string quoted(const std::string& text) {
  return "\"" + text + "\"";
}

// Names the first field in which a redefinition differs, so that the log line says why.
std::string schema_difference(const pipeline::SchemaSpec& was, const mcap::Schema& now) {
  if (was.name != now.name) return "name " + quoted(now.name) + ", was " + quoted(was.name);
  if (was.encoding != now.encoding) {
    return "encoding " + quoted(now.encoding) + ", was " + quoted(was.encoding);
  }
  return "data of " + std::to_string(now.data.size()) + " bytes differs from the " +
         std::to_string(was.data.size()) + " bytes defined before";
}

std::string channel_difference(uint16_t was_schema_id, const ChannelDefinition& was,
                               const mcap::Channel& now) {
  if (was.topic != now.topic) return "topic " + quoted(now.topic) + ", was " + quoted(was.topic);
  if (was.message_encoding != now.message_encoding) {
    return "message encoding " + quoted(now.message_encoding) + ", was " +
           quoted(was.message_encoding);
  }
  if (was_schema_id != now.schema_id) {
    return "schema id " + std::to_string(now.schema_id) + ", was " + std::to_string(was_schema_id);
  }
  return "metadata differs";
}

}  // namespace

SenderChannels::SenderChannels(const DecoderLimits& limits) : limits_(limits) {}

DecodeStatus SenderChannels::check_room(uint64_t bytes, bool is_channel, uint64_t offset) const {
  const size_t count = is_channel ? channels_.size() : schemas_.size();
  if (count >= limits_.max_channels) {
    return DecodeError{DecodeReason::kTooManyChannels, offset,
                       std::string(is_channel ? "channel" : "schema") + " limit of " +
                           std::to_string(limits_.max_channels) + " per sender reached"};
  }
  if (bytes > limits_.max_definition_bytes ||
      definition_bytes_ > limits_.max_definition_bytes - bytes) {
    return DecodeError{DecodeReason::kOversized, offset,
                       "schemas and channels of this sender would hold " +
                           std::to_string(definition_bytes_ + bytes) +
                           " bytes, over the limit of " +
                           std::to_string(limits_.max_definition_bytes)};
  }
  return {};
}

DecodeResult<SenderChannels::Added> SenderChannels::add_schema(const mcap::Schema& schema,
                                                               uint64_t offset) {
  if (auto it = schemas_.find(schema.id); it != schemas_.end()) {
    const pipeline::SchemaSpec& was = *it->second;
    if (was.name == schema.name && was.encoding == schema.encoding && was.data == schema.data) {
      return Added::kRepeat;
    }
    return DecodeError{DecodeReason::kConflictingSchema, offset,
                       "schema id " + std::to_string(schema.id) +
                           " redefined with different content: " + schema_difference(was, schema)};
  }
  const uint64_t bytes = schema_bytes(schema);
  if (DecodeStatus room = check_room(bytes, false, offset); !room.ok()) return room.error();
  schemas_.emplace(schema.id, std::make_shared<const pipeline::SchemaSpec>(
                                  pipeline::SchemaSpec{schema.name, schema.encoding, schema.data}));
  definition_bytes_ += bytes;
  if (in_transaction_) journal_.push_back({false, schema.id, bytes});
  return Added::kNew;
}

DecodeResult<SenderChannels::Added> SenderChannels::add_channel(const mcap::Channel& channel,
                                                                uint64_t offset) {
  if (auto it = channels_.find(channel.id); it != channels_.end()) {
    const DefinedChannel& was = it->second;
    if (was.schema_id == channel.schema_id && was.definition.topic == channel.topic &&
        was.definition.message_encoding == channel.message_encoding &&
        was.definition.metadata == channel.metadata) {
      return Added::kRepeat;
    }
    return DecodeError{DecodeReason::kConflictingChannel, offset,
                       "channel id " + std::to_string(channel.id) +
                           " redefined with different content: " +
                           channel_difference(was.schema_id, was.definition, channel)};
  }
  std::shared_ptr<const pipeline::SchemaSpec> schema;
  if (channel.schema_id != 0) {
    auto it = schemas_.find(channel.schema_id);
    if (it == schemas_.end()) {
      return DecodeError{DecodeReason::kUnknownSchema, offset,
                         "channel id " + std::to_string(channel.id) + " (topic " +
                             quoted(channel.topic) + ") refers to schema id " +
                             std::to_string(channel.schema_id) + ", which was never defined"};
    }
    schema = it->second;
  }
  const uint64_t bytes = channel_bytes(channel);
  if (DecodeStatus room = check_room(bytes, true, offset); !room.ok()) return room.error();
  channels_.emplace(
      channel.id,
      DefinedChannel{channel.schema_id, ChannelDefinition{channel.topic, channel.message_encoding,
                                                          channel.metadata, std::move(schema)}});
  known_channels_.set(channel.id);
  definition_bytes_ += bytes;
  if (in_transaction_) journal_.push_back({true, channel.id, bytes});
  return Added::kNew;
}

const ChannelDefinition* SenderChannels::channel(InBandChannelId id) const {
  auto it = channels_.find(record_id(id));
  return it == channels_.end() ? nullptr : &it->second.definition;
}

void SenderChannels::begin() {
  journal_.clear();
  in_transaction_ = true;
}

void SenderChannels::commit() {
  journal_.clear();
  in_transaction_ = false;
}

void SenderChannels::rollback() {
  for (auto it = journal_.rbegin(); it != journal_.rend(); ++it) {
    if (it->is_channel) {
      channels_.erase(it->id);
      known_channels_.reset(it->id);
    } else {
      schemas_.erase(it->id);
    }
    definition_bytes_ -= it->bytes;
  }
  commit();
}

}  // namespace mcaprec::ingest
