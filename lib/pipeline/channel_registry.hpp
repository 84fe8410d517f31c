#pragma once
// The channels and chunk groups declared so far, with their file-wide ids. A declaration that
// is identical to an earlier one in everything a file records (topic, message encoding,
// metadata, schema) gets the earlier channel, so that producers on several connections share
// one file channel; its queue settings stay those of the first declaration. Identical schemas
// share one schema id. Nothing is ever removed, so entries can be used without the lock.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "base/result.hpp"
#include "mcap/records.hpp"
#include "pipeline/buffer_pool.hpp"
#include "pipeline/channel_counters.hpp"
#include "pipeline/channel_queue.hpp"
#include "pipeline/channel_spec.hpp"
#include "pipeline/chunk_assembler.hpp"
#include "pipeline/rate_limiter.hpp"
#include "pipeline/space_signal.hpp"

namespace mcaprec::pipeline {

// A declared channel: the mcap::Channel and Schema records the files get (ids file-wide, the
// ChannelSpec's content) with the group and queue its messages go through.
struct ChannelEntry {
  mcap::Channel channel;               // id and schema_id are file-wide
  std::optional<mcap::Schema> schema;  // present when channel.schema_id != 0
  std::string group_name;
  bool on_event = false;  // its chunks go to the look-back ring only
  std::unique_ptr<ChannelQueue> queue;
  bool latch = false;                       // the first declaration's ChannelSpec::latch
  std::unique_ptr<RateLimiter> rate_limit;  // null: no max_rate
};

struct ChannelDefaults {
  uint64_t queue_bytes = 0;
  OverflowPolicy overflow = OverflowPolicy::kDropNewest;
  // How channels of the default group decide on compression; `enabled` false (or no codec):
  // the default group decides as a whole, like a configured group.
  CompressionLearning compression_learning{};
};

class ChannelRegistry {
 public:
  static constexpr std::string_view kDefaultGroup = "default";

  // Each channel declared gets its slot in `written`, the writer's counts.
  ChannelRegistry(ChannelDefaults defaults, BufferPool& pool, SpaceSignal& space,
                  const std::atomic<bool>& accepting, SealContext& seal_context,
                  WrittenCounts& written);
  ~ChannelRegistry();

  base::Result<ChannelEntry*> declare(const ChannelSpec& spec);
  // nullptr for an id never handed out.
  ChannelEntry* find(uint16_t id) const;
  // Snapshots, into caller-owned vectors (their capacity is reused).
  void entries(std::vector<ChannelEntry*>& out) const;
  void groups(std::vector<ChunkAssembler*>& out) const;

 private:
  using ChannelKey = std::tuple<std::string, std::string, mcap::KeyValueMap, bool, std::string,
                                std::string, mcap::Bytes>;
  using SchemaKey = std::tuple<std::string, std::string, mcap::Bytes>;

  // A group holds always or on-event channels, never both: a chunk is one or the other. Only
  // the default group learns per channel: a configured group is the user's choice.
  ChunkAssembler* group_locked(const std::string& name, bool on_event);

  const ChannelDefaults defaults_;
  BufferPool& pool_;
  SpaceSignal& space_;
  const std::atomic<bool>& accepting_;
  SealContext& seal_context_;
  WrittenCounts& written_;

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<ChannelEntry>> channels_;  // index = id - 1
  std::map<ChannelKey, ChannelEntry*> by_key_;
  std::map<SchemaKey, uint16_t> schema_ids_;
  std::vector<std::unique_ptr<ChunkAssembler>> groups_;
};

}  // namespace mcaprec::pipeline
