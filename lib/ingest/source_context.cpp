#include "ingest/source_context.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace mcaprec::ingest {

namespace {

constexpr uint64_t kTcpDefaultMaxMessage = uint64_t{16} << 20;
constexpr auto kLogInterval = std::chrono::seconds(1);

pipeline::OverflowPolicy to_policy(config::Overflow overflow) {
  switch (overflow) {
    case config::Overflow::kDropNewest:
      return pipeline::OverflowPolicy::kDropNewest;
    case config::Overflow::kDropOldest:
      return pipeline::OverflowPolicy::kDropOldest;
    case config::Overflow::kBlock:
      return pipeline::OverflowPolicy::kBlock;
  }
  return pipeline::OverflowPolicy::kDropNewest;
}

DecoderLimits limits_for(const config::Source& source) {
  DecoderLimits limits;
  const bool udp = source.transport == config::Transport::kUdp;
  limits.max_message_size = source.max_message_size != 0
                                ? source.max_message_size
                                : (udp ? config::kMaxDatagramSize : kTcpDefaultMaxMessage);
  limits.max_channels = source.max_channels_per_connection;
  // One maximal message (plus its record header) must fit into a chunk.
  limits.max_chunk_bytes = std::max(limits.max_chunk_bytes, limits.max_message_size + 1024);
  return limits;
}

}  // namespace

SourceContext::SourceContext(const config::Config& config, const config::Source& source,
                             pipeline::Pipeline& pipeline)
    : config_(config), source_(source), pipeline_(pipeline), limits_(limits_for(source)) {}

bool SourceContext::receive_timestamps() const {
  return source_.format != config::SourceFormat::kMcap ||
         source_.timestamp == config::TimestampSource::kReceive;
}

base::Result<pipeline::ChannelHandle> SourceContext::declare(const ChannelDefinition& definition,
                                                             uint64_t publisher) {
  pipeline::ChannelSpec spec = to_channel_spec(definition);
  const config::ChannelSettings settings = config::channel_settings_for(config_, spec.topic);
  spec.chunk_group = settings.chunk_group;
  spec.queue_bytes = settings.queue_bytes;
  spec.overflow = to_policy(config::effective_overflow(settings, source_.transport));
  spec.source = source_.name;  // so that pausing this source reaches its channels
  spec.on_event = settings.record == config::Record::kOnEvent;
  spec.latch = settings.latch;
  spec.publisher = publisher;
  spec.max_rate_millihertz = settings.max_rate_millihertz;
  spec.excluded = !config::topic_selected(source_, spec.topic);
  return pipeline_.declare_channel(spec);
}

ChannelDefinition SourceContext::configured_channel() const {
  ChannelDefinition definition;
  definition.topic = source_.topic;
  definition.message_encoding = source_.message_encoding;
  definition.metadata = mcap::KeyValueMap(source_.metadata.begin(), source_.metadata.end());
  if (source_.schema) {
    auto schema = std::make_shared<pipeline::SchemaSpec>();
    schema->name = source_.schema->name;
    schema->encoding = source_.schema->encoding;
    schema->data.assign(source_.schema->data.begin(), source_.schema->data.end());
    definition.schema = std::move(schema);
  }
  return definition;
}

bool SourceContext::allowed(const uint8_t* address, bool ipv6) const {
  if (source_.allowed_senders.empty()) return true;
  std::array<uint8_t, 4> v4{};
  std::array<uint8_t, 16> v6{};
  if (ipv6) {
    std::memcpy(v6.data(), address, v6.size());
  } else {
    std::memcpy(v4.data(), address, v4.size());
  }
  return std::any_of(source_.allowed_senders.begin(), source_.allowed_senders.end(),
                     [&](const config::Cidr& cidr) {
                       return ipv6 ? cidr.contains_ipv6(v6) : cidr.contains_ipv4(v4);
                     });
}

void SourceContext::report_error(std::string_view reason, std::string_view peer,
                                 std::string_view what) {
  const auto now = std::chrono::steady_clock::now();
  uint64_t suppressed = 0;
  {
    std::lock_guard lock(mu_);
    auto counted = errors_.find(reason);
    if (counted == errors_.end()) counted = errors_.emplace(std::string(reason), 0).first;
    ++counted->second;
    auto logged = logged_.find(reason);
    if (logged == logged_.end()) logged = logged_.emplace(std::string(reason), LogState{}).first;
    LogState& state = logged->second;
    if (state.last != std::chrono::steady_clock::time_point{} && now - state.last < kLogInterval) {
      ++state.suppressed;
      return;
    }
    state.last = now;
    suppressed = state.suppressed;
    state.suppressed = 0;
  }
  if (suppressed == 0) {
    spdlog::warn("source {}: {} from {}: {}", source_.name, reason, peer, what);
  } else {
    spdlog::warn("source {}: {} from {}: {} ({} more like it in the last second)", source_.name,
                 reason, peer, what, suppressed);
  }
}

void SourceContext::set_bind(std::string bind) {
  std::lock_guard lock(mu_);
  bind_ = std::move(bind);
}

void SourceContext::add_peer(const std::string& peer) {
  std::lock_guard lock(mu_);
  if (source_.transport == config::Transport::kUdp) {
    // Most recent first, each sender once.
    peers_.erase(std::remove(peers_.begin(), peers_.end(), peer), peers_.end());
    peers_.insert(peers_.begin(), peer);
    if (peers_.size() > kMaxUdpPeers) peers_.resize(kMaxUdpPeers);
  } else {
    peers_.push_back(peer);
  }
}

void SourceContext::remove_peer(const std::string& peer) {
  std::lock_guard lock(mu_);
  auto it = std::find(peers_.begin(), peers_.end(), peer);
  if (it != peers_.end()) peers_.erase(it);
}

SourceStats SourceContext::snapshot() const {
  SourceStats stats;
  stats.name = source_.name;
  stats.transport = std::string(config::to_string(source_.transport));
  stats.messages = messages.load(std::memory_order_relaxed);
  stats.bytes = bytes.load(std::memory_order_relaxed);
  stats.datagrams = datagrams.load(std::memory_order_relaxed);
  stats.kernel_drops = kernel_drops.load(std::memory_order_relaxed);
  stats.kernel_dropped_datagrams = kernel_dropped_datagrams.load(std::memory_order_relaxed);
  stats.connections_accepted = connections_accepted.load(std::memory_order_relaxed);
  stats.connections_open = connections_open.load(std::memory_order_relaxed);
  stats.connections_refused = connections_refused.load(std::memory_order_relaxed);
  stats.direct_bytes = direct_bytes.load(std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  stats.bind = bind_;
  stats.errors.insert(errors_.begin(), errors_.end());
  stats.peers = peers_;
  return stats;
}

}  // namespace mcaprec::ingest
