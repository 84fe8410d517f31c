#include "ingest/peer_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace mcaprec::ingest {

bool peer_key_from(const sockaddr_storage& address, PeerKey& key) {
  key = PeerKey{};
  if (address.ss_family == AF_INET) {
    sockaddr_in v4;
    std::memcpy(&v4, &address, sizeof(v4));
    std::memcpy(key.address.data(), &v4.sin_addr, 4);
    key.port = ntohs(v4.sin_port);
    return true;
  }
  if (address.ss_family == AF_INET6) {
    sockaddr_in6 v6;
    std::memcpy(&v6, &address, sizeof(v6));
    std::memcpy(key.address.data(), &v6.sin6_addr, 16);
    key.port = ntohs(v6.sin6_port);
    key.ipv6 = true;
    return true;
  }
  return false;
}

std::string peer_text(const PeerKey& key) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(key.ipv6 ? AF_INET6 : AF_INET, key.address.data(), text, sizeof(text));
  return key.ipv6 ? "[" + std::string(text) + "]:" + std::to_string(key.port)
                  : std::string(text) + ":" + std::to_string(key.port);
}

size_t PeerKeyHash::operator()(const PeerKey& key) const {
  // FNV-1a over the address bytes, then the port and family.
  uint64_t hash = 1469598103934665603ULL;
  for (uint8_t byte : key.address) hash = (hash ^ byte) * 1099511628211ULL;
  hash = (hash ^ key.port) * 1099511628211ULL;
  hash = (hash ^ (key.ipv6 ? 1u : 0u)) * 1099511628211ULL;
  return static_cast<size_t>(hash);
}

}  // namespace mcaprec::ingest
