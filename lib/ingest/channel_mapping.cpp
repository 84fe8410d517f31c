#include "ingest/channel_mapping.hpp"

#include <atomic>

namespace mcaprec::ingest {

uint64_t ChannelMapping::next_publisher() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

base::Status ChannelMapping::declare(InBandChannelId id, const ChannelDefinition& definition) {
  base::Result<pipeline::ChannelHandle> handle = source_.declare(definition, publisher_);
  if (!handle) return handle.error();
  channels_[id] = *handle;
  return {};
}

}  // namespace mcaprec::ingest
