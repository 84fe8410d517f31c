#include "daemon/http_server.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <filesystem>
#include <list>
#include <type_traits>

namespace mcaprec::daemon {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using Stream = asio::generic::stream_protocol;

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

// HTTP/1.0 with Content-Type, Content-Length, Allow (on 405), Cache-Control and Connection.
http::response<http::string_body> to_message(HttpResponse response) {
  http::response<http::string_body> message;
  message.version(10);
  message.result(static_cast<unsigned>(response.status));
  message.set(http::field::content_type, response.content_type);
  message.body() = std::move(response.body);
  message.prepare_payload();
  if (!response.allow.empty()) message.set(http::field::allow, response.allow);
  message.set(http::field::cache_control, "no-store");
  message.set(http::field::connection, "close");
  return message;
}

HttpHandler get_only(HttpGetHandler handler) {
  return [handler = std::move(handler)](HttpRequest request, HttpReply reply) {
    if (request.method != "GET") {
      HttpResponse refused = plain(405, "only GET is supported\n");
      refused.allow = "GET";
      return reply(std::move(refused));
    }
    std::optional<HttpResponse> answer = handler(request.path);
    reply(answer ? std::move(*answer) : plain(404, "not found; try /metrics or /status\n"));
  };
}

}  // namespace

std::optional<HttpRequestHead> parse_request_head(std::string_view head) {
  const std::string normalized = with_crlf_line_ends(head);
  http::request_parser<http::empty_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(normalized.size()));
  beast::error_code error;
  parser.put(asio::buffer(normalized), error);
  // A request that announces a body is complete enough once its head is: the body is read
  // separately, if at all.
  if (!parser.is_header_done() || (error && error != http::error::need_more)) return std::nullopt;
  const auto& request = parser.get();
  const std::string_view method(request.method_string().data(), request.method_string().size());
  const std::string_view target(request.target().data(), request.target().size());
  if (request.version() / 10 != 1 || !is_upper_case_word(method) || !target.starts_with('/')) {
    return std::nullopt;
  }
  HttpRequestHead parsed;
  parsed.method = std::string(method);
  parsed.path = std::string(target.substr(0, target.find('?')));
  if (parser.content_length()) parsed.content_length = *parser.content_length();
  parsed.chunked = parser.chunked();
  const auto authorization = request.find(http::field::authorization);
  if (authorization != request.end()) {
    parsed.authorization = std::string(authorization->value());
  }
  return parsed;
}

struct HttpServer::Impl {
  Impl(HttpLimits server_limits, std::string server_name)
      : limits(server_limits), name(std::move(server_name)), acceptor(io) {}

  class Session;

  void accept_next() {
    acceptor.async_accept([this](boost::system::error_code error, Stream::socket socket) {
      if (error == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!error) admit(std::move(socket));
      accept_next();
    });
  }

  // At the cap, the oldest connection that has not sent a whole request yet makes room; only
  // when every connection is busy answering is the new one refused.
  void admit(Stream::socket socket);

  const HttpLimits limits;
  const std::string name;
  HttpHandler handler;
  size_t open_sessions = 0;     // only touched on the server thread (or after it ended)
  std::list<Session*> waiting;  // sessions reading their request, oldest first
  std::string unix_path;        // removed by stop()
  // Destroyed before the members above: pending handlers hold sessions, which refer to them.
  asio::io_context io;
  asio::basic_socket_acceptor<Stream> acceptor;
  std::thread thread;
  bool stopped = false;
};

// One connection: read the request head (and body) into its own bounded buffer, hand it to the
// handler, write the answer, close. The request must arrive within the timeout (else 408); the
// answer and the client's close must happen within one more timeout, or the socket is closed.
class HttpServer::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Impl& server, Stream::socket socket)
      : server_(server), socket_(std::move(socket)), deadline_(server.io) {
    ++server_.open_sessions;
    waiting_at_ = server_.waiting.insert(server_.waiting.end(), this);
  }
  ~Session() { close(); }

  void start() {
    arm_deadline(std::chrono::steady_clock::now() + server_.limits.timeout);
    asio::async_read_until(
        socket_, asio::dynamic_buffer(received_, server_.limits.max_request_bytes), EndOfHead{},
        [self = shared_from_this()](boost::system::error_code error, size_t head_bytes) {
          self->on_head(error, head_bytes);
        });
  }

  // Closes the connection without an answer (to make room for a newer one).
  void evict() { close(); }

 private:
  void arm_deadline(std::chrono::steady_clock::time_point at) {
    deadline_.expires_at(at);
    deadline_.async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (!error) self->on_deadline();
    });
  }

  void on_deadline() {
    if (closed_) return;
    if (!reading_) return close();  // the answer or the client's close took too long
    timed_out_ = true;
    boost::system::error_code ignored;
    socket_.cancel(ignored);  // the read ends with operation_aborted: answered 408
  }

  bool read_failed(boost::system::error_code error) {
    if (closed_) return true;
    if (timed_out_ && error == asio::error::operation_aborted) {
      answer(plain(408, "request timeout\n"));
      return true;
    }
    if (error) {
      close();  // the client closed or went away before its request was complete
      return true;
    }
    return false;
  }

  void on_head(boost::system::error_code error, size_t head_bytes) {
    if (error == asio::error::not_found && !closed_) {  // filled up without a blank line
      return answer(plain(431, "request too large\n"));
    }
    if (read_failed(error)) return;
    std::optional<HttpRequestHead> head =
        parse_request_head(std::string_view(received_.data(), head_bytes));
    if (!head) return answer(plain(400, "bad request\n"));
    request_.method = std::move(head->method);
    request_.path = std::move(head->path);
    request_.authorization = std::move(head->authorization);
    const size_t body_limit = server_.limits.max_body_bytes;
    if (body_limit == 0) return dispatch();  // bodies are not read here
    if (head->chunked) return answer(plain(411, "send the body with a Content-Length\n"));
    const uint64_t length = head->content_length.value_or(0);
    if (length > body_limit) {
      return answer(
          plain(413, "request body larger than " + std::to_string(body_limit) + " bytes\n"));
    }
    received_.erase(0, head_bytes);  // what was read past the head starts the body
    if (received_.size() >= length) {
      received_.resize(length);
      return on_body();
    }
    asio::async_read(socket_, asio::dynamic_buffer(received_),
                     asio::transfer_exactly(length - received_.size()),
                     [self = shared_from_this()](boost::system::error_code read_error, size_t) {
                       if (!self->read_failed(read_error)) self->on_body();
                     });
  }

  void on_body() {
    request_.body = std::move(received_);
    dispatch();
  }

  // The request is complete: it no longer counts as waiting, and the handler answers.
  void dispatch() {
    leave_waiting();
    reading_ = false;
    deadline_.cancel();
    HttpReply reply = [self = shared_from_this()](HttpResponse response) {
      asio::post(self->server_.io, [self, response = std::move(response)]() mutable {
        self->answer(std::move(response));
      });
    };
    server_.handler(std::move(request_), std::move(reply));
  }

  void answer(HttpResponse response) {
    if (closed_) return;
    leave_waiting();
    reading_ = false;
    deadline_.cancel();
    arm_deadline(std::chrono::steady_clock::now() + server_.limits.timeout);
    response_ = to_message(std::move(response));
    http::async_write(socket_, response_,
                      [self = shared_from_this()](boost::system::error_code error, size_t) {
                        if (error) return self->close();
                        self->close_after_client();
                      });
  }

  // Closing with unread request bytes would reset the connection, which can destroy the
  // response before the client reads it. So half-close and read until the client closes,
  // within the deadline.
  void close_after_client() {
    boost::system::error_code ignored;
    socket_.shutdown(Stream::socket::shutdown_send, ignored);
    drain();
  }

  void drain() {
    socket_.async_read_some(asio::buffer(drained_),
                            [self = shared_from_this()](boost::system::error_code error, size_t) {
                              if (error) return self->close();
                              self->drain();
                            });
  }

  void leave_waiting() {
    if (waiting_at_ == server_.waiting.end()) return;
    server_.waiting.erase(waiting_at_);
    waiting_at_ = server_.waiting.end();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    leave_waiting();
    --server_.open_sessions;
    deadline_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  Impl& server_;
  Stream::socket socket_;
  asio::steady_timer deadline_;
  std::list<Session*>::iterator waiting_at_;
  std::string received_;  // the head (at most max_request_bytes), then the body
  HttpRequest request_;
  std::array<char, 512> drained_{};
  http::response<http::string_body> response_;
  bool reading_ = true;     // the request is not complete yet
  bool timed_out_ = false;  // the request deadline passed; the read is being cancelled
  bool closed_ = false;
};

void HttpServer::Impl::admit(Stream::socket socket) {
  if (open_sessions >= limits.max_connections) {
    if (waiting.empty()) {
      boost::system::error_code ignored;
      socket.close(ignored);  // everyone is being answered: refuse by closing at once
      return;
    }
    waiting.front()->evict();
  }
  std::make_shared<Session>(*this, std::move(socket))->start();
}

base::Result<std::unique_ptr<HttpServer>> HttpServer::listen(const config::Endpoint& endpoint,
                                                             HttpLimits limits,
                                                             std::string_view what) {
  auto impl = std::make_unique<Impl>(limits, std::string(what));
  const std::string where = endpoint.to_string();
  boost::system::error_code error;
  const asio::ip::address address = asio::ip::make_address(endpoint.address(), error);
  if (error) {
    return base::Error{0, std::string(what) + ": bad address " + where + ": " + error.message()};
  }
  const Stream::endpoint bind_to(tcp::endpoint(address, endpoint.port));
  auto fail = [&](const char* step) {
    return base::Error{
        0, std::string(what) + ": cannot " + step + " " + where + ": " + error.message()};
  };
  if (impl->acceptor.open(bind_to.protocol(), error); error) return fail("open a socket for");
  if (impl->acceptor.set_option(asio::socket_base::reuse_address(true), error); error) {
    return fail("set SO_REUSEADDR on");
  }
  if (impl->acceptor.bind(bind_to, error); error) return fail("listen on");
  if (impl->acceptor.listen(asio::socket_base::max_listen_connections, error); error) {
    return fail("listen on");
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

namespace {

// True when something accepts connections at `path`.
bool someone_listens(const std::string& path) {
  asio::io_context io;
  asio::local::stream_protocol::socket probe(io);
  boost::system::error_code error;
  probe.connect(asio::local::stream_protocol::endpoint(path), error);
  return !error;
}

// A socket file left by a daemon that died is removed; anything else at the path is an error.
base::Status clear_socket_path(const std::string& path, std::string_view what) {
  std::error_code ec;
  const auto status = std::filesystem::symlink_status(path, ec);
  if (ec || !std::filesystem::exists(status)) return {};
  if (!std::filesystem::is_socket(status)) {
    return base::Error{0, std::string(what) + ": " + path + " exists and is not a socket"};
  }
  if (someone_listens(path)) {
    return base::Error{0, std::string(what) + ": another process is already listening at " + path +
                              " (is another mcaprecd running?)"};
  }
  std::filesystem::remove(path, ec);
  return {};
}

}  // namespace

base::Result<std::unique_ptr<HttpServer>> HttpServer::listen_unix(const std::string& path,
                                                                  HttpLimits limits,
                                                                  std::string_view what) {
  if (base::Status cleared = clear_socket_path(path, what); !cleared) return cleared.error();
  auto impl = std::make_unique<Impl>(limits, std::string(what));
  const Stream::endpoint bind_to(asio::local::stream_protocol::endpoint{path});
  boost::system::error_code error;
  auto fail = [&](const char* step) {
    return base::Error{
        0, std::string(what) + ": cannot " + step + " " + path + ": " + error.message()};
  };
  if (impl->acceptor.open(bind_to.protocol(), error); error) return fail("open a socket for");
  if (impl->acceptor.bind(bind_to, error); error) return fail("listen on");
  impl->unix_path = path;
  // Owner and group only (the service user's group), whatever the umask made of it.
  if (::chmod(path.c_str(), 0660) != 0) {
    error.assign(errno, boost::system::system_category());
    return fail("set mode 0660 on");
  }
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
  const Stream::endpoint local = impl_->acceptor.local_endpoint(error);
  if (error) return 0;
  if (local.protocol().family() == AF_INET || local.protocol().family() == AF_INET6) {
    // sin_port and sin6_port sit at the same offset, in network byte order.
    const auto* address = reinterpret_cast<const sockaddr_in*>(local.data());
    return ntohs(address->sin_port);
  }
  return 0;
}

void HttpServer::serve(HttpHandler handler) {
  if (impl_->thread.joinable() || impl_->stopped) return;
  impl_->handler = std::move(handler);
  impl_->accept_next();
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

void HttpServer::serve(HttpGetHandler handler) {
  serve(get_only(std::move(handler)));
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
  if (!impl_->unix_path.empty()) {
    std::error_code ec;
    std::filesystem::remove(impl_->unix_path, ec);
  }
}

}  // namespace mcaprec::daemon
