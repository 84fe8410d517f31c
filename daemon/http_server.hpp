#pragma once
// A deliberately small HTTP server for /metrics and /status on Boost.Beast: GET only, one
// request per connection, answered in HTTP/1.0 and closed after the response. Each connection
// is a session object that owns its buffer, bounded in size; a client that sends too much or too
// slowly is answered (431, 408) or dropped, and the number of connections at once is bounded.
// It runs on its own thread with its own io_context, so a slow scraper never delays recording.
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
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// The answer for a GET of `path` (the query string removed), or nullopt for 404.
using HttpHandler = std::function<std::optional<HttpResponse>(std::string_view path)>;

struct HttpRequestHead {
  std::string method;
  std::string path;  // without the query string
};

// Parses a complete request head (up to and including the blank line) with Beast, bare LF line
// ends accepted: "GET /metrics HTTP/1.1". Nullopt for anything else than an HTTP/1.x request
// with an upper-case method and an origin-form target.
std::optional<HttpRequestHead> parse_request_head(std::string_view head);

struct HttpLimits {
  size_t max_request_bytes = 8 * 1024;      // request line and headers
  std::chrono::milliseconds timeout{5000};  // to receive the request and send the answer
  size_t max_connections = 32;
};

class HttpServer {
 public:
  // Binds and listens on `endpoint` now (so that a port in use is a start-up error), but serves
  // only after serve().
  static base::Result<std::unique_ptr<HttpServer>> listen(const config::Endpoint& endpoint,
                                                          HttpLimits limits = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;  // the bound port (useful with port 0)
  // Starts the server thread; `handler` runs there.
  void serve(HttpHandler handler);
  // Closes the listener and every connection and joins the thread. Idempotent.
  void stop();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mcaprec::daemon
