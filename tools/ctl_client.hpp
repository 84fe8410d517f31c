#pragma once
// The HTTP client of `mcaprec ctl`: one request to the daemon's control endpoint over its Unix
// socket or loopback TCP (Boost.Beast), one answer.
#include <chrono>
#include <optional>
#include <string>

namespace mcaprec::tool {

struct ControlTarget {
  std::string socket_path;  // a Unix socket, or:
  std::string host;         // TCP, with a bearer token
  std::string port;
  std::string token;
};

struct ControlAnswer {
  int status = 0;
  std::string body;
};

// Sends `method target` with `body` (JSON, may be empty). On a transport failure returns
// nullopt and sets `error` to a sentence for the user (socket missing, permission denied, ...).
std::optional<ControlAnswer> control_request(const ControlTarget& to, const std::string& method,
                                             const std::string& target, const std::string& body,
                                             std::chrono::seconds timeout, std::string& error);

}  // namespace mcaprec::tool
