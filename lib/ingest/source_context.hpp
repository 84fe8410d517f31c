#pragma once
// What every listener of one configured source shares, whichever ingest thread it runs on: the
// source's configuration, its counters (read by stats() from any thread), the rate-limited log
// of bad input, and the channel declarations with the queue settings of the configuration.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "config/config.hpp"
#include "ingest/channel_definition.hpp"
#include "ingest/decoder_limits.hpp"
#include "ingest/ingest_server.hpp"
#include "pipeline/pipeline.hpp"

namespace mcaprec::ingest {

// Reason codes of refusals that are not decoder errors (metrics labels, like the decoders').
inline constexpr std::string_view kNotAllowed = "not_allowed";
inline constexpr std::string_view kTooManyConnections = "too_many_connections";
inline constexpr std::string_view kTooManySenders = "too_many_senders";
inline constexpr std::string_view kDeclareFailed = "declare_failed";
inline constexpr std::string_view kReceiveError = "receive_error";
inline constexpr std::string_view kAcceptError = "accept_error";
inline constexpr std::string_view kIdleTimeout = "idle_timeout";

class SourceContext {
 public:
  SourceContext(const config::Config& config, const config::Source& source,
                pipeline::Pipeline& pipeline);

  const config::Source& source() const { return source_; }
  const std::string& name() const { return source_.name; }
  pipeline::Pipeline& pipeline() { return pipeline_; }
  const DecoderLimits& limits() const { return limits_; }
  // The source's max_message_size with its transport's default applied.
  uint64_t max_message_size() const { return limits_.max_message_size; }
  bool receive_timestamps() const;  // log_time is the receive time

  // Declares `definition` with the queue settings the configuration gives its topic.
  // `publisher` tells senders apart for latched channels (ChannelSpec::publisher).
  base::Result<pipeline::ChannelHandle> declare(const ChannelDefinition& definition,
                                                uint64_t publisher = 0);
  // The one channel of a raw or length_prefixed source, from the configuration.
  ChannelDefinition configured_channel() const;

  // Whether `address` (network byte order, 4 or 16 bytes) may send to this source.
  bool allowed(const uint8_t* address, bool ipv6) const;

  // Counts bad input under `reason` and logs it, at most once per second per reason (the
  // lines held back are counted in the next one).
  void report_error(std::string_view reason, std::string_view peer, std::string_view what);

  void set_bind(std::string bind);
  void add_peer(const std::string& peer);     // a TCP connection opened / a new UDP sender
  void remove_peer(const std::string& peer);  // a TCP connection closed
  SourceStats snapshot() const;

  std::atomic<uint64_t> messages{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> datagrams{0};
  std::atomic<uint64_t> kernel_drops{0};
  std::atomic<uint64_t> kernel_dropped_datagrams{0};
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_open{0};
  std::atomic<uint64_t> connections_refused{0};
  std::atomic<uint64_t> direct_bytes{0};

 private:
  struct LogState {
    std::chrono::steady_clock::time_point last{};
    uint64_t suppressed = 0;
  };
  static constexpr size_t kMaxUdpPeers = 16;  // recent senders listed in the stats

  const config::Config& config_;
  const config::Source& source_;
  pipeline::Pipeline& pipeline_;
  DecoderLimits limits_;

  mutable std::mutex mu_;
  std::string bind_;  // guarded by mu_
  // Looked up by string_view: no allocation per refused datagram once a reason was seen.
  std::map<std::string, uint64_t, std::less<>> errors_;  // guarded by mu_
  std::map<std::string, LogState, std::less<>> logged_;  // guarded by mu_
  std::vector<std::string> peers_;                       // guarded by mu_
};

}  // namespace mcaprec::ingest
