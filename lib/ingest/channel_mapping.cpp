#include "ingest/channel_mapping.hpp"

namespace mcaprec::ingest {

mcap::Status ChannelMapping::declare(InBandChannelId id, const ChannelDefinition& definition) {
  mcap::Result<pipeline::ChannelHandle> handle = source_.declare(definition);
  if (!handle) return handle.error();
  channels_[id] = *handle;
  return {};
}

}  // namespace mcaprec::ingest
