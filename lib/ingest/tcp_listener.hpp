#pragma once
// One TCP source: an acceptor on its home io_context that hands each accepted connection to the
// next ingest context (round robin), so that many connections of one source spread over the
// threads. Refuses connections from senders outside allowed_senders and beyond max_connections
// (closed at once, counted).
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <mutex>
#include <vector>

#include "base/result.hpp"
#include "ingest/source_context.hpp"
#include "ingest/tcp_session.hpp"

namespace mcaprec::ingest {

class TcpListener {
 public:
  // Binds and listens; `contexts` are where sessions run (they must outlive the listener).
  static base::Result<std::unique_ptr<TcpListener>> open(
      boost::asio::io_context& home, std::vector<boost::asio::io_context*> contexts,
      SourceContext& source);

  void start();
  // Closes the acceptor and every session. Only once the contexts' threads have stopped.
  void close();

 private:
  TcpListener(boost::asio::io_context& home, std::vector<boost::asio::io_context*> contexts,
              SourceContext& source);
  base::Status bind();
  void accept();
  void on_accept(boost::asio::ip::tcp::socket socket);

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;  // after a failed accept (e.g. out of descriptors)
  std::vector<boost::asio::io_context*> contexts_;
  size_t next_context_ = 0;
  SourceContext& source_;
  pipeline::ChannelHandle fixed_channel_;
  bool closed_ = false;

  std::mutex mu_;
  std::vector<std::weak_ptr<TcpSession>> sessions_;  // guarded by mu_
};

}  // namespace mcaprec::ingest
