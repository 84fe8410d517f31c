#include "ingest/tcp_listener.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <cstdint>
#include <utility>

#include "ingest/peer_address.hpp"

namespace mcaprec::ingest {

namespace asio = boost::asio;

base::Result<std::unique_ptr<TcpListener>> TcpListener::open(
    asio::io_context& home, std::vector<asio::io_context*> contexts, SourceContext& source) {
  std::unique_ptr<TcpListener> listener(new TcpListener(home, std::move(contexts), source));
  if (base::Status s = listener->bind(); !s) return s.error();
  return listener;
}

TcpListener::TcpListener(asio::io_context& home, std::vector<asio::io_context*> contexts,
                         SourceContext& source)
    : acceptor_(home), retry_timer_(home), contexts_(std::move(contexts)), source_(source) {}

base::Status TcpListener::bind() {
  const config::Source& config = source_.source();
  const std::string where = "source " + config.name + ": tcp " + config.bind.to_string();
  boost::system::error_code error;
  const asio::ip::address address = asio::ip::make_address(config.bind.address(), error);
  if (error) return base::Error{0, where + ": bad address: " + error.message()};
  const asio::ip::tcp::endpoint endpoint(address, config.bind.port);
  acceptor_.open(endpoint.protocol(), error);
  if (error) return base::Error{0, where + ": cannot open a socket: " + error.message()};
  // A restarted daemon must not wait for the old connections' TIME_WAIT to end.
  acceptor_.set_option(asio::socket_base::reuse_address(true), error);
  if (config.receive_buffer != 0) {
    // Accepted sockets inherit it; set before listen() so that the window scale fits it.
    acceptor_.set_option(asio::socket_base::receive_buffer_size(static_cast<int>(
                             std::min<uint64_t>(config.receive_buffer, INT32_MAX / 2))),
                         error);
  }
  acceptor_.bind(endpoint, error);
  if (error) return base::Error{0, where + ": cannot bind: " + error.message()};
  acceptor_.listen(asio::socket_base::max_listen_connections, error);
  if (error) return base::Error{0, where + ": cannot listen: " + error.message()};
  const asio::ip::tcp::endpoint bound = acceptor_.local_endpoint(error);
  source_.set_bind(config::Endpoint{config.bind.host, bound.port()}.to_string());

  if (config.format == config::SourceFormat::kLengthPrefixed) {
    base::Result<pipeline::ChannelHandle> handle = source_.declare(source_.configured_channel());
    if (!handle) {
      return base::Error{
          0, where + ": cannot declare " + config.topic + ": " + handle.error().message};
    }
    fixed_channel_ = *handle;
  }
  return {};
}

void TcpListener::start() {
  accept();
}

void TcpListener::accept() {
  asio::io_context& target = *contexts_[next_context_];
  next_context_ = (next_context_ + 1) % contexts_.size();
  acceptor_.async_accept(target,
                         [this](boost::system::error_code error, asio::ip::tcp::socket socket) {
                           if (closed_ || error == asio::error::operation_aborted) return;
                           if (!error) {
                             on_accept(std::move(socket));
                             accept();
                             return;
                           }
                           // Out of descriptors or memory: retrying at once would spin.
                           source_.report_error(kAcceptError, "-", error.message());
                           retry_timer_.expires_after(std::chrono::milliseconds(100));
                           retry_timer_.async_wait([this](boost::system::error_code timer_error) {
                             if (!timer_error && !closed_) accept();
                           });
                         });
}

void TcpListener::on_accept(asio::ip::tcp::socket socket) {
  boost::system::error_code error;
  const asio::ip::tcp::endpoint remote = socket.remote_endpoint(error);
  if (error) return;  // already gone
  PeerKey key;
  key.port = remote.port();
  key.ipv6 = remote.address().is_v6();
  if (key.ipv6) {
    const auto bytes = remote.address().to_v6().to_bytes();
    std::copy(bytes.begin(), bytes.end(), key.address.begin());
  } else {
    const auto bytes = remote.address().to_v4().to_bytes();
    std::copy(bytes.begin(), bytes.end(), key.address.begin());
  }
  const std::string peer = peer_text(key);
  if (!source_.allowed(key.address.data(), key.ipv6)) {
    source_.connections_refused.fetch_add(1, std::memory_order_relaxed);
    source_.report_error(kNotAllowed, peer, "sender is not in allowed_senders; refused");
    socket.close(error);
    return;
  }
  if (source_.connections_open.load(std::memory_order_relaxed) >=
      source_.source().max_connections) {
    source_.connections_refused.fetch_add(1, std::memory_order_relaxed);
    source_.report_error(kTooManyConnections, peer,
                         "already " + std::to_string(source_.source().max_connections) +
                             " connections (max_connections); refused");
    socket.close(error);
    return;
  }
  source_.connections_accepted.fetch_add(1, std::memory_order_relaxed);
  auto session = std::make_shared<TcpSession>(std::move(socket), source_, fixed_channel_, peer);
  {
    std::lock_guard lock(mu_);
    sessions_.erase(std::remove_if(sessions_.begin(), sessions_.end(),
                                   [](const std::weak_ptr<TcpSession>& s) { return s.expired(); }),
                    sessions_.end());
    sessions_.push_back(session);
  }
  // The session runs on its own context: start it there.
  asio::post(session->executor(), [session] { session->start(); });
}

void TcpListener::close() {
  closed_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  retry_timer_.cancel();
  std::lock_guard lock(mu_);
  for (const std::weak_ptr<TcpSession>& weak : sessions_) {
    if (std::shared_ptr<TcpSession> session = weak.lock()) session->close();
  }
  sessions_.clear();
}

}  // namespace mcaprec::ingest
