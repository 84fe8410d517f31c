#include "ctl_client.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace mcaprec::tool {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// Blocking reads and writes that give up after `timeout` (a daemon that hangs must not hang us).
template <class Socket>
void set_timeouts(Socket& socket, std::chrono::seconds timeout) {
  timeval limit{};
  limit.tv_sec = static_cast<time_t>(timeout.count());
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
}

std::string unix_connect_error(const std::string& path, const boost::system::error_code& error) {
  if (error == asio::error::access_denied) {
    return "permission denied on " + path +
           ": the control socket is open to root and the service user's group only "
           "(e.g. sudo usermod -aG mcaprec $USER, then log in again)";
  }
  if (error == asio::error::connection_refused || error == asio::error::not_found ||
      error.value() == ENOENT) {
    return "no daemon listening at " + path +
           " (is mcaprecd running? Its control.socket setting names the path; use --socket)";
  }
  return "cannot connect to " + path + ": " + error.message();
}

template <class Socket>
std::optional<ControlAnswer> exchange(Socket& socket, const ControlTarget& to,
                                      const std::string& method, const std::string& target,
                                      const std::string& body, std::string& error) {
  http::request<http::string_body> request(http::string_to_verb(method), target, 11);
  request.set(http::field::host, to.socket_path.empty() ? to.host : "localhost");
  request.set(http::field::user_agent, "mcaprec-ctl/" MCAPREC_VERSION);
  if (!to.token.empty()) request.set(http::field::authorization, "Bearer " + to.token);
  if (!body.empty()) request.set(http::field::content_type, "application/json");
  request.body() = body;
  request.prepare_payload();
  boost::system::error_code failure;
  http::write(socket, request, failure);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  if (!failure) http::read(socket, buffer, response, failure);
  if (failure && failure != http::error::end_of_stream) {
    error = "no answer from the daemon: " + failure.message();
    return std::nullopt;
  }
  return ControlAnswer{static_cast<int>(response.result_int()), response.body()};
}

}  // namespace

std::optional<ControlAnswer> control_request(const ControlTarget& to, const std::string& method,
                                             const std::string& target, const std::string& body,
                                             std::chrono::seconds timeout, std::string& error) {
  asio::io_context io;
  boost::system::error_code failure;
  if (!to.socket_path.empty()) {
    asio::local::stream_protocol::socket socket(io);
    socket.connect(asio::local::stream_protocol::endpoint(to.socket_path), failure);
    if (failure) {
      error = unix_connect_error(to.socket_path, failure);
      return std::nullopt;
    }
    set_timeouts(socket, timeout);
    return exchange(socket, to, method, target, body, error);
  }
  asio::ip::tcp::resolver resolver(io);
  const auto endpoints = resolver.resolve(to.host, to.port, failure);
  asio::ip::tcp::socket socket(io);
  if (!failure) asio::connect(socket, endpoints, failure);
  if (failure) {
    error = "cannot connect to " + to.host + ":" + to.port + ": " + failure.message() +
            " (is mcaprecd running with control.bind?)";
    return std::nullopt;
  }
  set_timeouts(socket, timeout);
  return exchange(socket, to, method, target, body, error);
}

}  // namespace mcaprec::tool
