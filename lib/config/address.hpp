#pragma once
// Network addresses in the configuration: bind addresses ("127.0.0.1:9410", "[::1]:9410",
// "localhost:9410", "0.0.0.0:2368") and sender filters in CIDR form ("10.0.0.0/8", "fd00::/8").
// Host names other than localhost are refused so that the daemon never waits on DNS to start
// and so that what it binds is exactly what the file says.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/units.hpp"

namespace mcaprec::config {

struct Endpoint {
  std::string host;   // an IPv4 or IPv6 literal (without brackets), or "localhost"
  uint16_t port = 0;  // 0 lets the kernel choose a free port

  // The literal to bind: "localhost" means 127.0.0.1.
  std::string address() const { return host == "localhost" ? "127.0.0.1" : host; }
  bool is_ipv6() const { return host.find(':') != std::string::npos; }
  // 0.0.0.0 or ::, which bind every interface.
  bool is_wildcard() const { return host == "0.0.0.0" || host == "::"; }
  // "host:port", with the IPv6 host in brackets.
  std::string to_string() const;

  bool operator==(const Endpoint&) const = default;
};

// "host:port" as described above.
Parsed<Endpoint> parse_endpoint(std::string_view text);

// An IPv4 or IPv6 address literal, canonicalized ("::0001" -> "::1").
Parsed<std::string> parse_ip_literal(std::string_view text);
bool is_multicast_ip(std::string_view literal);

struct Cidr {
  bool ipv6 = false;
  std::array<uint8_t, 16> address{};  // network byte order; the first 4 bytes for IPv4
  uint8_t prefix_length = 0;          // 0..32 for IPv4, 0..128 for IPv6

  // IPv4 addresses (in network byte order, as in sockaddr_in) and IPv6 addresses, including
  // IPv4-mapped ones (::ffff:a.b.c.d) as a dual-stack socket reports IPv4 senders.
  bool contains_ipv4(std::array<uint8_t, 4> address) const;
  bool contains_ipv6(const std::array<uint8_t, 16>& address) const;
  // "a.b.c.d/n" or "x::/n"; a single address prints as "a.b.c.d/32".
  std::string to_string() const;

  bool operator==(const Cidr&) const = default;
};

// "10.0.0.0/8", "192.168.1.7" (one host), "fd00::/8". Host bits below the prefix must be zero,
// so that "10.0.0.1/8" is reported (it usually means a mistyped prefix) instead of widened.
Parsed<Cidr> parse_cidr(std::string_view text);

}  // namespace mcaprec::config
