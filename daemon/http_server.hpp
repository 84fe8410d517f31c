#pragma once
// A deliberately small HTTP server on Boost.Beast, for /metrics and /status and for the control
// endpoint: one request per connection, answered in HTTP/1.0 and closed after the response. It
// listens on a TCP address or a Unix domain socket. Each connection is a session object that owns
// its buffer, bounded in size (head, and body when the server takes bodies); a client that sends
// too much or too slowly is answered (431, 413, 408) or dropped. Connections at once are capped;
// at the cap the oldest connection still waiting for its request is closed to make room, so idle
// or half-open clients can never lock out a scrape or a control request. It runs on its own
// thread with its own io_context, so a slow client never delays recording.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "base/result.hpp"
#include "config/address.hpp"

namespace mcaprec::daemon {

struct HttpResponse {
  HttpResponse() = default;
  HttpResponse(int status_code, std::string type, std::string text, std::string allowed = "")
      : status(status_code),
        content_type(std::move(type)),
        body(std::move(text)),
        allow(std::move(allowed)) {}

  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string allow;  // the Allow header of a 405; "" = none
};

struct HttpRequest {
  std::string method;
  std::string path;           // without the query string
  std::string authorization;  // the Authorization header, "" when absent
  std::string body;           // empty unless the server takes bodies
};

// Sends the answer to one request. Any thread; call it exactly once.
using HttpReply = std::function<void(HttpResponse)>;
// Runs on the server thread for each complete request; may keep `reply` and answer later from
// another thread (e.g. after waiting for a file to be finalized).
using HttpHandler = std::function<void(HttpRequest request, HttpReply reply)>;
// The answer for a GET of `path` (the query string removed), or nullopt for 404.
using HttpGetHandler = std::function<std::optional<HttpResponse>(std::string_view path)>;

struct HttpRequestHead {
  std::string method;
  std::string path;  // without the query string
  std::optional<uint64_t> content_length;
  bool chunked = false;  // Transfer-Encoding: chunked
  std::string authorization;
};

// Parses a complete request head (up to and including the blank line) with Beast, bare LF line
// ends accepted: "GET /metrics HTTP/1.1". Nullopt for anything else than an HTTP/1.x request
// with an upper-case method and an origin-form target.
std::optional<HttpRequestHead> parse_request_head(std::string_view head);

struct HttpLimits {
  size_t max_request_bytes = 8 * 1024;      // request line and headers
  size_t max_body_bytes = 0;                // 0: bodies are not read (GET-only servers)
  std::chrono::milliseconds timeout{2000};  // to receive the request, and again to answer
  size_t max_connections = 32;
};

class HttpServer {
 public:
  // Binds and listens now (so that an address in use is a start-up error), but serves only after
  // serve(). `what` names the server in errors ("metrics", "control").
  static base::Result<std::unique_ptr<HttpServer>> listen(const config::Endpoint& endpoint,
                                                          HttpLimits limits = {},
                                                          std::string_view what = "metrics");
  // A Unix domain socket at `path`, mode 0660. A stale socket file (nobody accepting) is
  // replaced; a live one is an error. The file is removed again by stop().
  static base::Result<std::unique_ptr<HttpServer>> listen_unix(const std::string& path,
                                                               HttpLimits limits = {},
                                                               std::string_view what = "control");
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;  // the bound TCP port (useful with port 0); 0 for a Unix socket
  // Starts the server thread; `handler` runs there.
  void serve(HttpHandler handler);
  // GET only: 405 for other methods, 404 where `handler` answers nullopt.
  void serve(HttpGetHandler handler);
  // Closes the listener and every connection and joins the thread. Idempotent.
  void stop();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mcaprec::daemon
