#pragma once
// Where `mcaprec send` puts its messages: an MCAP byte stream or length-prefixed frames over
// TCP, MCAP records packed into datagrams or raw datagrams over UDP. Plain POSIX sockets.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "mcap/records.hpp"

namespace mcaprec::tool::send {

struct Endpoint {
  enum class Protocol { kTcp, kUdp };
  Protocol protocol = Protocol::kTcp;
  std::string host;
  std::string port;
  std::string text;  // as given, for messages
};

// "tcp://HOST:PORT" or "udp://HOST:PORT" (HOST may be "[v6]"); nullopt for anything else.
std::optional<Endpoint> parse_endpoint(std::string_view text);

class Transport {
 public:
  virtual ~Transport() = default;
  // Whether the transport can carry the channel's definition (and its schema's, when given).
  // Over UDP a definition must fit in one datagram; channels that do not are skipped.
  virtual bool can_define(const mcap::Schema* /*schema*/, const mcap::Channel& /*channel*/) const {
    return true;
  }
  virtual base::Status add_schema(const mcap::Schema& schema) = 0;
  virtual base::Status add_channel(const mcap::Channel& channel) = 0;
  // Largest message payload this transport can carry.
  virtual uint64_t max_payload() const = 0;
  virtual base::Status send_message(const mcap::Message& message) = 0;
  // Hands everything buffered to the kernel; called before the sender sleeps.
  virtual base::Status flush() = 0;
  // Ends the stream: for TCP the closing records, then shutdown and waiting for the peer's close.
  virtual base::Status finish() = 0;

  // Messages whose bytes the kernel has accepted: a lower bound of what was sent, read by the
  // progress thread while the sender runs.
  uint64_t messages_handed_over() const { return handed_over_.load(std::memory_order_relaxed); }
  uint64_t wire_bytes() const { return wire_bytes_; }
  uint64_t datagrams() const { return datagrams_; }

 protected:
  void hand_over(uint64_t messages) { handed_over_.fetch_add(messages, std::memory_order_relaxed); }

  uint64_t wire_bytes_ = 0;
  uint64_t datagrams_ = 0;

 private:
  std::atomic<uint64_t> handed_over_{0};
};

struct TcpOptions {
  bool chunked = false;             // zstd chunks instead of bare records
  uint64_t chunk_size = 1 << 20;    // uncompressed bytes per chunk
  int connect_timeout_ms = 10'000;  // to establish the connection
  int close_timeout_ms = 10'000;    // for the peer to close after our shutdown
};

// An MCAP stream: magic, Header, records, Data End, Footer, magic.
base::Result<std::unique_ptr<Transport>> open_mcap_tcp(const Endpoint& endpoint,
                                                       const TcpOptions& options);
// Frames of u32 little-endian length + payload (the `length_prefixed` format).
base::Result<std::unique_ptr<Transport>> open_length_prefixed_tcp(const Endpoint& endpoint,
                                                                  const TcpOptions& options);
// MCAP records packed into datagrams of at most `mtu` bytes (see synth/datagram_packer.hpp).
base::Result<std::unique_ptr<Transport>> open_mcap_udp(const Endpoint& endpoint, size_t mtu,
                                                       uint64_t definitions_every);
// One datagram per message payload (the `raw` format). `segmented`: equal-size datagrams in a
// row are handed to the kernel together with UDP generic segmentation offload (UDP_SEGMENT),
// which still delivers them as separate datagrams but costs the sender far less per datagram.
base::Result<std::unique_ptr<Transport>> open_raw_udp(const Endpoint& endpoint,
                                                      bool segmented = false);

inline constexpr uint64_t kMaxUdpPayload = 65'507;

}  // namespace mcaprec::tool::send
