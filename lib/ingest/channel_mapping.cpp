#include "ingest/channel_mapping.hpp"

namespace mcaprec::ingest {

base::Status ChannelMapping::declare(InBandChannelId id, const ChannelDefinition& definition) {
  base::Result<pipeline::ChannelHandle> handle = source_.declare(definition);
  if (!handle) return handle.error();
  channels_[id] = *handle;
  return {};
}

}  // namespace mcaprec::ingest
