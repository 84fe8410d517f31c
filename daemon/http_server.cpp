#include "daemon/http_server.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <vector>

namespace mcaprec::daemon {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Internal Server Error";
  }
}

HttpResponse plain(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

// Where the request head ends (after the blank line), or npos while it is incomplete.
size_t head_end(std::string_view received) {
  const size_t crlf = received.find("\r\n\r\n");
  const size_t lf = received.find("\n\n");
  if (crlf != std::string_view::npos && (lf == std::string_view::npos || crlf < lf)) {
    return crlf + 4;
  }
  if (lf != std::string_view::npos) return lf + 2;
  return std::string_view::npos;
}

}  // namespace

std::optional<HttpRequestHead> parse_request_head(std::string_view head) {
  const size_t line_end = head.find('\n');
  std::string_view line = head.substr(0, line_end);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const size_t first_space = line.find(' ');
  if (first_space == std::string_view::npos || first_space == 0) return std::nullopt;
  const size_t second_space = line.find(' ', first_space + 1);
  if (second_space == std::string_view::npos) return std::nullopt;
  const std::string_view method = line.substr(0, first_space);
  const std::string_view target = line.substr(first_space + 1, second_space - first_space - 1);
  const std::string_view version = line.substr(second_space + 1);
  if (!version.starts_with("HTTP/1.") || target.empty() || target.front() != '/') {
    return std::nullopt;
  }
  const bool token =
      std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  if (!token) return std::nullopt;
  HttpRequestHead request;
  request.method = std::string(method);
  request.path = std::string(target.substr(0, target.find('?')));
  return request;
}

std::string format_response(const HttpResponse& response, bool include_allow) {
  std::string out =
      "HTTP/1.0 " + std::to_string(response.status) + " " + reason_phrase(response.status) + "\r\n";
  out += "Content-Type: " + response.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  if (include_allow) out += "Allow: GET\r\n";
  out += "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
  out += response.body;
  return out;
}

HttpResponse respond(std::string_view head, const HttpHandler& handler) {
  const std::optional<HttpRequestHead> request = parse_request_head(head);
  if (!request) return plain(400, "bad request\n");
  if (request->method != "GET") return plain(405, "only GET is supported\n");
  std::optional<HttpResponse> answer = handler(request->path);
  if (!answer) return plain(404, "not found; try /metrics or /status\n");
  return std::move(*answer);
}

struct HttpServer::Impl {
  Impl(HttpLimits server_limits) : limits(server_limits), acceptor(io) {}

  void accept_next() {
    acceptor.async_accept([this](boost::system::error_code error, tcp::socket socket) {
      if (error == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!error) {
        if (open_sessions >= limits.max_connections) {
          boost::system::error_code ignored;
          socket.close(ignored);  // over the limit: refuse by closing at once
        } else {
          std::make_shared<Session>(*this, std::move(socket))->start();
        }
      }
      accept_next();
    });
  }

  // One connection: read the request head into its own bounded buffer, answer, close.
  class Session : public std::enable_shared_from_this<Session> {
   public:
    Session(Impl& server, tcp::socket socket)
        : server_(server),
          socket_(std::move(socket)),
          timer_(server.io),
          buffer_(server.limits.max_request_bytes) {
      ++server_.open_sessions;
    }
    ~Session() { --server_.open_sessions; }

    void start() {
      timer_.expires_after(server_.limits.timeout);
      timer_.async_wait([self = shared_from_this()](boost::system::error_code error) {
        if (error) return;  // cancelled: the session finished in time
        if (!self->responding_) {
          self->answer(plain(408, "request timeout\n"));
        } else {
          boost::system::error_code ignored;
          self->socket_.close(ignored);
        }
      });
      read_more();
    }

   private:
    void read_more() {
      reading_ = true;
      // Once answering, further bytes are only drained: read them over the whole buffer.
      const size_t offset = responding_ ? 0 : received_;
      socket_.async_read_some(
          asio::buffer(buffer_.data() + offset, buffer_.size() - offset),
          [self = shared_from_this()](boost::system::error_code error, size_t bytes) {
            self->on_read(error, bytes);
          });
    }

    void on_read(boost::system::error_code error, size_t bytes) {
      reading_ = false;
      if (error) {
        // The client closed (or went away). While the answer is still being written, its
        // completion closes the session.
        if (!responding_ || written_) finish();
        return;
      }
      if (responding_) {
        if (written_) read_more();  // draining until the client closes
        return;
      }
      received_ += bytes;
      const std::string_view data(buffer_.data(), received_);
      if (const size_t end = head_end(data); end != std::string_view::npos) {
        answer(respond(data.substr(0, end), server_.handler));
      } else if (received_ == buffer_.size()) {
        answer(plain(431, "request too large\n"));
      } else {
        read_more();
      }
    }

    void answer(const HttpResponse& response) {
      responding_ = true;
      response_ = format_response(response, response.status == 405);
      asio::async_write(socket_, asio::buffer(response_),
                        [self = shared_from_this()](boost::system::error_code error, size_t) {
                          self->on_written(error);
                        });
    }

    // Closing with unread request bytes would reset the connection, which can destroy the
    // response before the client reads it. So half-close and read until the client closes,
    // within the session's timeout.
    void on_written(boost::system::error_code error) {
      written_ = true;
      if (error) {
        finish();
        return;
      }
      boost::system::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
      if (!reading_) read_more();
    }

    void finish() {
      boost::system::error_code ignored;
      timer_.cancel();
      socket_.close(ignored);
    }

    Impl& server_;
    tcp::socket socket_;
    asio::steady_timer timer_;
    std::vector<char> buffer_;
    size_t received_ = 0;
    bool reading_ = false;     // a read is outstanding
    bool responding_ = false;  // the answer is chosen (and being written)
    bool written_ = false;     // the answer is written
    std::string response_;
  };

  const HttpLimits limits;
  HttpHandler handler;
  size_t open_sessions = 0;  // only touched on the server thread (or after it ended)
  // Destroyed before the members above: pending handlers hold sessions, which refer to them.
  asio::io_context io;
  tcp::acceptor acceptor;
  std::thread thread;
  bool stopped = false;
};

mcap::Result<std::unique_ptr<HttpServer>> HttpServer::listen(const config::Endpoint& endpoint,
                                                             HttpLimits limits) {
  auto impl = std::make_unique<Impl>(limits);
  const std::string where = endpoint.to_string();
  boost::system::error_code error;
  const asio::ip::address address = asio::ip::make_address(endpoint.address(), error);
  if (error) return mcap::Error{0, "metrics: bad address " + where + ": " + error.message()};
  const tcp::endpoint bind_to(address, endpoint.port);
  auto fail = [&](const char* step) {
    return mcap::Error{
        0, "metrics: cannot " + std::string(step) + " " + where + ": " + error.message()};
  };
  if (impl->acceptor.open(bind_to.protocol(), error); error) return fail("open a socket for");
  if (impl->acceptor.set_option(tcp::acceptor::reuse_address(true), error); error) {
    return fail("set SO_REUSEADDR on");
  }
  if (impl->acceptor.bind(bind_to, error); error) return fail("listen on");
  if (impl->acceptor.listen(asio::socket_base::max_listen_connections, error); error) {
    return fail("listen on");
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  stop();
}

uint16_t HttpServer::port() const {
  boost::system::error_code error;
  const tcp::endpoint local = impl_->acceptor.local_endpoint(error);
  return error ? 0 : local.port();
}

void HttpServer::serve(HttpHandler handler) {
  if (impl_->thread.joinable() || impl_->stopped) return;
  impl_->handler = std::move(handler);
  impl_->accept_next();
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

void HttpServer::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  asio::post(impl_->io, [impl = impl_.get()] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    impl->io.stop();
  });
  if (impl_->thread.joinable()) impl_->thread.join();
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
}

}  // namespace mcaprec::daemon
