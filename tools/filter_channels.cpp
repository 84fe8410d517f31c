#include "filter_channels.hpp"

namespace mcaprec::tool {
namespace {

constexpr uint16_t kMaxId = UINT16_MAX;

void append_field(std::string& key, std::string_view field) {
  key += std::to_string(field.size());
  key += ':';
  key += field;
}

std::string schema_key(const mcap::Schema& schema) {
  std::string key;
  append_field(key, schema.name);
  append_field(key, schema.encoding);
  append_field(
      key, std::string_view(reinterpret_cast<const char*>(schema.data.data()), schema.data.size()));
  return key;
}

// `preferred` when it is free, else the lowest free id from 1; nullopt when all are taken.
std::optional<uint16_t> free_id(uint16_t preferred, const std::set<uint16_t>& used) {
  if (preferred != 0 && !used.contains(preferred)) return preferred;
  for (uint32_t id = 1; id <= kMaxId; ++id) {
    if (!used.contains(static_cast<uint16_t>(id))) return static_cast<uint16_t>(id);
  }
  return std::nullopt;
}

}  // namespace

mcap::Result<uint16_t> OutputIds::schema(const mcap::Schema& schema) {
  const std::string key = schema_key(schema);
  if (auto it = schema_ids_.find(key); it != schema_ids_.end()) return it->second;
  const auto id = free_id(schema.id, schemas_used_);
  if (!id) return mcap::Error{0, "more than 65535 different schemas"};
  mcap::Schema out = schema;
  out.id = *id;
  if (mcap::Status s = writer_.add_schema(out); !s) return s.error();
  schemas_used_.insert(*id);
  schema_ids_.emplace(key, *id);
  return *id;
}

mcap::Result<uint16_t> OutputIds::channel(const mcap::Channel& channel,
                                          const mcap::Schema* schema) {
  mcap::Channel out = channel;
  out.schema_id = 0;
  if (schema != nullptr) {
    auto schema_id = this->schema(*schema);
    if (!schema_id) return schema_id.error();
    out.schema_id = *schema_id;
  }
  std::string key = schema != nullptr ? schema_key(*schema) : "-";
  append_field(key, channel.topic);
  append_field(key, channel.message_encoding);
  for (const auto& [name, value] : channel.metadata) {
    append_field(key, name);
    append_field(key, value);
  }
  if (auto it = channel_ids_.find(key); it != channel_ids_.end()) return it->second;
  const auto id = free_id(channel.id, channels_used_);
  if (!id) return mcap::Error{0, "more than 65535 different channels"};
  out.id = *id;
  if (mcap::Status s = writer_.add_channel(out); !s) return s.error();
  channels_used_.insert(*id);
  channel_ids_.emplace(key, *id);
  return *id;
}

void InputChannels::add_schema(const mcap::Schema& schema) {
  // Id 0 means "no schema"; readers ignore such records.
  if (schema.id != 0) schemas_.try_emplace(schema.id, schema);
}

mcap::Result<InputChannels::Mapped> InputChannels::map(uint16_t channel_id,
                                                       const Selection& selection, OutputIds& ids) {
  if (auto it = mapped_.find(channel_id); it != mapped_.end()) return it->second;
  auto channel = channels_.find(channel_id);
  if (channel == channels_.end()) {
    return mcap::Error{0, "message on channel " + std::to_string(channel_id) +
                              ", which is not declared before it"};
  }
  Mapped mapped;
  if (selection.keeps_topic(channel->second.topic)) {
    const mcap::Schema* schema = nullptr;
    if (const uint16_t schema_id = channel->second.schema_id; schema_id != 0) {
      auto it = schemas_.find(schema_id);
      if (it == schemas_.end()) {
        return mcap::Error{0, "channel " + std::to_string(channel_id) + " refers to schema " +
                                  std::to_string(schema_id) + ", which comes nowhere before it"};
      }
      schema = &it->second;
    }
    auto out_id = ids.channel(channel->second, schema);
    if (!out_id) return out_id.error();
    mapped.out_id = *out_id;
    // A copied chunk holds only messages, which name their channel: an equal channel under
    // the same id is all it needs (schema ids live in the Channel records written anew).
    mapped.same_ids = *out_id == channel_id;
  }
  mapped_.emplace(channel_id, mapped);
  return mapped;
}

}  // namespace mcaprec::tool
