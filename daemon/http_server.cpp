#include "daemon/http_server.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <type_traits>

namespace mcaprec::daemon {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

// The request head ends after its first blank line, CRLF or bare LF (an Asio match condition).
struct EndOfHead {
  template <class Iterator>
  std::pair<Iterator, bool> operator()(Iterator begin, Iterator end) const {
    static constexpr std::string_view kCrlf = "\r\n\r\n";
    static constexpr std::string_view kLf = "\n\n";
    const Iterator crlf = std::search(begin, end, kCrlf.begin(), kCrlf.end());
    const Iterator lf = std::search(begin, end, kLf.begin(), kLf.end());
    if (crlf != end && (lf == end || crlf < lf)) return {crlf + kCrlf.size(), true};
    if (lf != end) return {lf + kLf.size(), true};
    return {begin, false};
  }
};

}  // namespace
}  // namespace mcaprec::daemon

template <>
struct boost::asio::is_match_condition<mcaprec::daemon::EndOfHead> : std::true_type {};

namespace mcaprec::daemon {
namespace {

// Beast reads CRLF line ends only; a bare LF, which a server may accept (RFC 9112 section 2.2),
// gets its CR added.
std::string with_crlf_line_ends(std::string_view head) {
  std::string out;
  out.reserve(head.size() + 32);
  for (size_t i = 0; i < head.size(); ++i) {
    if (head[i] == '\n' && (i == 0 || head[i - 1] != '\r')) out += '\r';
    out += head[i];
  }
  return out;
}

bool is_upper_case_word(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

HttpResponse plain(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

// The response to a complete request head: 400 for garbage, 405 for methods other than GET,
// 404 for paths the handler does not know.
HttpResponse respond(std::string_view head, const HttpHandler& handler) {
  const std::optional<HttpRequestHead> request = parse_request_head(head);
  if (!request) return plain(400, "bad request\n");
  if (request->method != "GET") return plain(405, "only GET is supported\n");
  std::optional<HttpResponse> answer = handler(request->path);
  if (!answer) return plain(404, "not found; try /metrics or /status\n");
  return std::move(*answer);
}

// HTTP/1.0 with Content-Type, Content-Length, Allow (on 405), Cache-Control and Connection.
http::response<http::string_body> to_message(HttpResponse response) {
  http::response<http::string_body> message;
  message.version(10);
  message.result(static_cast<unsigned>(response.status));
  message.set(http::field::content_type, response.content_type);
  message.body() = std::move(response.body);
  message.prepare_payload();
  if (response.status == 405) message.set(http::field::allow, "GET");
  message.set(http::field::cache_control, "no-store");
  message.set(http::field::connection, "close");
  return message;
}

}  // namespace

std::optional<HttpRequestHead> parse_request_head(std::string_view head) {
  const std::string normalized = with_crlf_line_ends(head);
  http::request_parser<http::empty_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(normalized.size()));
  beast::error_code error;
  parser.put(asio::buffer(normalized), error);
  // A request that announces a body is complete enough once its head is: the body is not read.
  if (!parser.is_header_done() || (error && error != http::error::need_more)) return std::nullopt;
  const auto& request = parser.get();
  const std::string_view method(request.method_string().data(), request.method_string().size());
  const std::string_view target(request.target().data(), request.target().size());
  if (request.version() / 10 != 1 || !is_upper_case_word(method) || !target.starts_with('/')) {
    return std::nullopt;
  }
  return HttpRequestHead{std::string(method), std::string(target.substr(0, target.find('?')))};
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

  // One connection: read the request head into its own bounded buffer, answer, close. The
  // request must arrive before `request_deadline_` (else 408: the stream's own expiry would close
  // the socket with no answer); the answer and the client's close are bounded by the stream's
  // expiry, which drops the connection.
  class Session : public std::enable_shared_from_this<Session> {
   public:
    Session(Impl& server, tcp::socket socket)
        : server_(server), stream_(std::move(socket)), request_deadline_(server.io) {
      ++server_.open_sessions;
    }
    ~Session() { --server_.open_sessions; }

    void start() {
      request_deadline_.expires_after(server_.limits.timeout);
      request_deadline_.async_wait([self = shared_from_this()](boost::system::error_code error) {
        if (!error) self->on_request_deadline();
      });
      asio::async_read_until(
          stream_, asio::dynamic_buffer(received_, server_.limits.max_request_bytes), EndOfHead{},
          [self = shared_from_this()](boost::system::error_code error, size_t head_bytes) {
            self->on_head(error, head_bytes);
          });
    }

   private:
    void on_head(boost::system::error_code error, size_t head_bytes) {
      // The answer and the client's close must happen by the request's deadline, or, once that
      // has passed, within one more timeout (for the 408 to get out).
      const auto deadline = timed_out_ ? std::chrono::steady_clock::now() + server_.limits.timeout
                                       : request_deadline_.expiry();
      if (timed_out_ && error == asio::error::operation_aborted) {
        answer(plain(408, "request timeout\n"), deadline);
      } else if (error == asio::error::not_found) {  // the buffer filled up without a blank line
        answer(plain(431, "request too large\n"), deadline);
      } else if (error) {
        finish();  // the client closed or went away before its request was complete
      } else {
        const std::string_view head(received_.data(), head_bytes);
        answer(respond(head, server_.handler), deadline);
      }
    }

    // Stops the read; on_head answers 408.
    void on_request_deadline() {
      if (answered_) return;  // the timer fired just as the answer began
      timed_out_ = true;
      stream_.cancel();
    }

    void answer(HttpResponse response, std::chrono::steady_clock::time_point deadline) {
      answered_ = true;
      request_deadline_.cancel();
      response_ = to_message(std::move(response));
      stream_.expires_at(deadline);
      http::async_write(stream_, response_,
                        [self = shared_from_this()](boost::system::error_code error, size_t) {
                          if (error) return self->finish();
                          self->close_after_client();
                        });
    }

    // Closing with unread request bytes would reset the connection, which can destroy the
    // response before the client reads it. So half-close and read until the client closes,
    // within the stream's expiry.
    void close_after_client() {
      boost::system::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      drain();
    }

    void drain() {
      stream_.async_read_some(asio::buffer(drained_),
                              [self = shared_from_this()](boost::system::error_code error, size_t) {
                                if (error) return self->finish();
                                self->drain();
                              });
    }

    void finish() {
      request_deadline_.cancel();
      stream_.close();
    }

    Impl& server_;
    beast::tcp_stream stream_;
    asio::steady_timer request_deadline_;
    std::string received_;  // the request, at most limits.max_request_bytes
    std::array<char, 512> drained_{};
    http::response<http::string_body> response_;
    bool answered_ = false;
    bool timed_out_ = false;  // the request deadline passed; the read is being cancelled
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
base::Result<std::unique_ptr<HttpServer>> HttpServer::listen(const config::Endpoint& endpoint,
                                                             HttpLimits limits) {
  auto impl = std::make_unique<Impl>(limits);
  const std::string where = endpoint.to_string();
  boost::system::error_code error;
  const asio::ip::address address = asio::ip::make_address(endpoint.address(), error);
  if (error) return base::Error{0, "metrics: bad address " + where + ": " + error.message()};
  const tcp::endpoint bind_to(address, endpoint.port);
  auto fail = [&](const char* step) {
    return base::Error{
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
