#include "pipeline/channel_registry.hpp"

#include <limits>

namespace mcaprec::pipeline {

ChannelRegistry::ChannelRegistry(ChannelDefaults defaults, BufferPool& pool, SpaceSignal& space,
                                 const std::atomic<bool>& accepting, SealContext& seal_context,
                                 WrittenCounts& written)
    : defaults_(defaults),
      pool_(pool),
      space_(space),
      accepting_(accepting),
      seal_context_(seal_context),
      written_(written) {}

ChannelRegistry::~ChannelRegistry() = default;

base::Result<ChannelEntry*> ChannelRegistry::declare(const ChannelSpec& spec) {
  if (spec.topic.empty()) return base::Error{0, "channel declared without a topic"};
  const bool has_schema = spec.schema.has_value();
  ChannelKey key{spec.topic,
                 spec.message_encoding,
                 spec.metadata,
                 has_schema,
                 has_schema ? spec.schema->name : std::string(),
                 has_schema ? spec.schema->encoding : std::string(),
                 has_schema ? spec.schema->data : mcap::Bytes()};

  std::lock_guard lock(mu_);
  if (auto found = by_key_.find(key); found != by_key_.end()) return found->second;
  if (channels_.size() >= std::numeric_limits<uint16_t>::max()) {
    return base::Error{0,
                       "too many channels: a file holds at most 65535 (topic " + spec.topic + ")"};
  }

  auto entry = std::make_unique<ChannelEntry>();
  entry->channel.id = static_cast<uint16_t>(channels_.size() + 1);
  entry->channel.topic = spec.topic;
  entry->channel.message_encoding = spec.message_encoding;
  entry->channel.metadata = spec.metadata;
  if (has_schema) {
    SchemaKey schema_key{spec.schema->name, spec.schema->encoding, spec.schema->data};
    auto [it, added] = schema_ids_.try_emplace(schema_key, 0);
    if (added) {
      if (schema_ids_.size() > std::numeric_limits<uint16_t>::max()) {
        schema_ids_.erase(it);
        return base::Error{0, "too many schemas: a file holds at most 65535"};
      }
      it->second = static_cast<uint16_t>(schema_ids_.size());
    }
    entry->channel.schema_id = it->second;
    entry->schema =
        mcap::Schema{it->second, spec.schema->name, spec.schema->encoding, spec.schema->data};
  }
  if (spec.max_rate_millihertz != 0) {
    entry->rate_limit = std::make_unique<RateLimiter>(spec.max_rate_millihertz);
  }
  entry->group_name = spec.chunk_group.empty() ? std::string(kDefaultGroup) : spec.chunk_group;
  entry->on_event = spec.on_event;
  ChunkAssembler* group = group_locked(entry->group_name, spec.on_event);
  written_.add(entry->channel.id);

  ChannelQueueConfig config;
  config.channel_id = entry->channel.id;
  config.queue_bytes = spec.queue_bytes != 0 ? spec.queue_bytes : defaults_.queue_bytes;
  config.overflow = spec.overflow.value_or(defaults_.overflow);
  // A latched queue must hand every accepted message to the writer (latch_table.hpp).
  if (spec.latch && config.overflow == OverflowPolicy::kDropOldest) {
    config.overflow = OverflowPolicy::kDropNewest;
  }
  entry->latch = spec.latch;
  entry->queue = std::make_unique<ChannelQueue>(config, pool_, space_, accepting_, *group,
                                                defaults_.compression_learning, group->learns());
  group->add_channel(entry->queue.get());

  ChannelEntry* result = entry.get();
  channels_.push_back(std::move(entry));
  by_key_.emplace(std::move(key), result);
  return result;
}

ChunkAssembler* ChannelRegistry::group_locked(const std::string& name, bool on_event) {
  for (const std::unique_ptr<ChunkAssembler>& group : groups_) {
    if (group->name() == name && group->on_event() == on_event) return group.get();
  }
  const bool learns = defaults_.compression_learning.enabled && name == kDefaultGroup;
  groups_.push_back(std::make_unique<ChunkAssembler>(name, seal_context_, on_event, learns));
  return groups_.back().get();
}

ChannelEntry* ChannelRegistry::find(uint16_t id) const {
  std::lock_guard lock(mu_);
  if (id == 0 || id > channels_.size()) return nullptr;
  return channels_[id - 1].get();
}

void ChannelRegistry::entries(std::vector<ChannelEntry*>& out) const {
  out.clear();
  std::lock_guard lock(mu_);
  for (const std::unique_ptr<ChannelEntry>& entry : channels_) out.push_back(entry.get());
}

void ChannelRegistry::groups(std::vector<ChunkAssembler*>& out) const {
  out.clear();
  std::lock_guard lock(mu_);
  for (const std::unique_ptr<ChunkAssembler>& group : groups_) out.push_back(group.get());
}

}  // namespace mcaprec::pipeline
