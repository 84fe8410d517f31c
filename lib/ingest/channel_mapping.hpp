#pragma once
// One sender's in-band channel ids mapped to the file channels they were declared as: kept per
// UDP sender address by UdpListener and per connection by TcpSession. SenderChannels checks and
// holds what the sender defined; this turns each new channel into a pipeline channel and each
// message into a push.
#include <cstdint>
#include <optional>
#include <unordered_map>

#include "base/result.hpp"
#include "ingest/channel_definition.hpp"
#include "ingest/in_band_channel_id.hpp"
#include "ingest/source_context.hpp"
#include "mcap/records.hpp"
#include "pipeline/pipeline.hpp"

namespace mcaprec::ingest {

class ChannelMapping {
 public:
  explicit ChannelMapping(SourceContext& source)
      : source_(source), receive_time_(source.receive_timestamps()), publisher_(next_publisher()) {}

  // Declares the channel to the pipeline with the queue settings the configuration gives its
  // topic, and maps `id` to it. On error `id` stays unmapped (route() skips its messages) and
  // the caller reports it: over UDP the sender goes on, over TCP the connection closes.
  base::Status declare(InBandChannelId id, const ChannelDefinition& definition);

  // Where a message goes: its file channel, and its log time (the receive time when the
  // source records that instead of the sender's).
  struct Route {
    pipeline::ChannelHandle channel;
    mcap::Timestamp log_time = 0;
  };
  // Nothing for a message whose channel could not be declared. Once per message: one lookup.
  std::optional<Route> route(const mcap::Message& message, uint64_t receive_ns) const {
    auto it = channels_.find(InBandChannelId{message.channel_id});
    if (it == channels_.end()) return std::nullopt;
    return Route{it->second, receive_time_ ? receive_ns : message.log_time};
  }

 private:
  // Each sender is a publisher of its own, for latched channels: ids never repeat in a process.
  static uint64_t next_publisher();

  SourceContext& source_;
  const bool receive_time_;
  const uint64_t publisher_;
  std::unordered_map<InBandChannelId, pipeline::ChannelHandle> channels_;
};

}  // namespace mcaprec::ingest
