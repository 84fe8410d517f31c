#pragma once
// A sender's socket address as the listeners use it: a fixed-size key for per-sender state
// (no allocation per datagram) and the "address:port" text for logs and stats.
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace mcaprec::ingest {

struct PeerKey {
  std::array<uint8_t, 16> address{};  // network byte order; the first 4 bytes for IPv4
  uint16_t port = 0;                  // host byte order
  bool ipv6 = false;

  bool operator==(const PeerKey&) const = default;
};

// False for an address family that is neither IPv4 nor IPv6.
bool peer_key_from(const sockaddr_storage& address, PeerKey& key);
// "192.0.2.7:5000", "[2001:db8::1]:5000".
std::string peer_text(const PeerKey& key);

struct PeerKeyHash {
  size_t operator()(const PeerKey& key) const;
};

}  // namespace mcaprec::ingest
