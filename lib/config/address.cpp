#include "config/address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace mcaprec::config {
namespace {

std::string in_quotes(std::string_view text) {
  return "'" + std::string(text) + "'";
}

bool parse_unsigned(std::string_view text, unsigned max, unsigned& out) {
  if (text.empty() || text.size() > 5) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out <= max;
}

// Fills `bytes` (16 for IPv6, the first 4 for IPv4); false if `text` is neither literal.
bool to_bytes(std::string_view text, bool& ipv6, std::array<uint8_t, 16>& bytes) {
  const std::string copy(text);
  bytes = {};
  if (inet_pton(AF_INET, copy.c_str(), bytes.data()) == 1) {
    ipv6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, copy.c_str(), bytes.data()) == 1) {
    ipv6 = true;
    return true;
  }
  return false;
}

std::string to_text(bool ipv6, const std::array<uint8_t, 16>& bytes) {
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(ipv6 ? AF_INET6 : AF_INET, bytes.data(), buffer, sizeof(buffer));
  return buffer;
}

bool prefix_matches(const uint8_t* network, const uint8_t* address, unsigned prefix_length) {
  for (unsigned bit = 0; bit < prefix_length; ++bit) {
    const uint8_t mask = static_cast<uint8_t>(0x80u >> (bit % 8));
    if ((network[bit / 8] & mask) != (address[bit / 8] & mask)) return false;
  }
  return true;
}

}  // namespace

std::string Endpoint::to_string() const {
  if (is_ipv6()) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Parsed<std::string> parse_ip_literal(std::string_view text) {
  bool ipv6 = false;
  std::array<uint8_t, 16> bytes;
  if (!to_bytes(text, ipv6, bytes)) {
    return {{}, in_quotes(text) + " is not an IPv4 or IPv6 address"};
  }
  return {to_text(ipv6, bytes), ""};
}

bool is_multicast_ip(std::string_view literal) {
  bool ipv6 = false;
  std::array<uint8_t, 16> bytes;
  if (!to_bytes(literal, ipv6, bytes)) return false;
  return ipv6 ? bytes[0] == 0xff : (bytes[0] & 0xf0) == 0xe0;
}

Parsed<Endpoint> parse_endpoint(std::string_view text) {
  const std::string example = " (for example 127.0.0.1:9410 or [::1]:9410)";
  if (text.empty()) return {{}, "expected host:port" + example + ", found nothing"};
  std::string_view host;
  std::string_view port;
  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return {{}, in_quotes(text) + " is missing the ']'"};
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      return {{}, in_quotes(text) + " has no port; write [" + std::string(host) + "]:PORT"};
    }
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return {{}, in_quotes(text) + " has no port; write host:port" + example};
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return {{},
              "IPv6 addresses need brackets around them: write [" + std::string(host) +
                  "]:" + std::string(port)};
    }
  }
  if (host.empty()) return {{}, in_quotes(text) + " has no host" + example};
  unsigned port_number = 0;
  if (!parse_unsigned(port, 65535, port_number)) {
    return {{}, in_quotes(std::string(port)) + " is not a port number (0 to 65535)"};
  }
  Endpoint endpoint;
  endpoint.port = static_cast<uint16_t>(port_number);
  if (host == "localhost") {
    endpoint.host = "localhost";
    return {endpoint, ""};
  }
  bool ipv6 = false;
  std::array<uint8_t, 16> bytes;
  if (!to_bytes(host, ipv6, bytes)) {
    return {{},
            in_quotes(std::string(host)) +
                " is not an IP address: the host must be an IPv4 or IPv6 literal or "
                "'localhost' (names are not resolved)"};
  }
  if (ipv6 != (text.front() == '[')) {
    return {{}, in_quotes(text) + " puts brackets around an IPv4 address"};
  }
  endpoint.host = to_text(ipv6, bytes);
  return {endpoint, ""};
}

bool Cidr::contains_ipv4(std::array<uint8_t, 4> ipv4) const {
  if (ipv6) {
    std::array<uint8_t, 16> mapped{};
    mapped[10] = mapped[11] = 0xff;
    std::copy(ipv4.begin(), ipv4.end(), mapped.begin() + 12);
    return prefix_matches(address.data(), mapped.data(), prefix_length);
  }
  return prefix_matches(address.data(), ipv4.data(), prefix_length);
}

bool Cidr::contains_ipv6(const std::array<uint8_t, 16>& ipv6_address) const {
  if (!ipv6) {
    static constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0,    0,
                                                              0, 0, 0, 0, 0xff, 0xff};
    if (!std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), ipv6_address.begin())) {
      return false;
    }
    return prefix_matches(address.data(), ipv6_address.data() + 12, prefix_length);
  }
  return prefix_matches(address.data(), ipv6_address.data(), prefix_length);
}

std::string Cidr::to_string() const {
  return to_text(ipv6, address) + "/" + std::to_string(prefix_length);
}

Parsed<Cidr> parse_cidr(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string_view host = text.substr(0, slash);
  Cidr cidr;
  if (!to_bytes(host, cidr.ipv6, cidr.address)) {
    return {{},
            in_quotes(text) +
                " is not an address range: write an IPv4 or IPv6 address with an optional "
                "/prefix, such as 10.0.0.0/8"};
  }
  const unsigned max_prefix = cidr.ipv6 ? 128 : 32;
  unsigned prefix_length = max_prefix;
  if (slash != std::string_view::npos &&
      !parse_unsigned(text.substr(slash + 1), max_prefix, prefix_length)) {
    return {{},
            in_quotes(text) + " has a bad prefix length (0 to " + std::to_string(max_prefix) + ")"};
  }
  cidr.prefix_length = static_cast<uint8_t>(prefix_length);
  Cidr network = cidr;
  for (unsigned bit = prefix_length; bit < max_prefix; ++bit) {
    network.address[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  if (network.address != cidr.address) {
    return {{},
            in_quotes(text) + " has bits set below its /" + std::to_string(prefix_length) +
                " prefix; did you mean " + network.to_string() + "?"};
  }
  return {cidr, ""};
}

}  // namespace mcaprec::config
