#pragma once
// The tests' one TCP client: a blocking connection to a port on 127.0.0.1.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>

#include "mcap/records.hpp"

namespace mcaprec::test_support {

inline sockaddr_in loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

class TcpClient {
 public:
  // Connects at once; `send_buffer` > 0 sets SO_SNDBUF first.
  explicit TcpClient(uint16_t port, int send_buffer = 0)
      : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (send_buffer > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &send_buffer, sizeof(send_buffer));
    }
    const sockaddr_in to = loopback(port);
    connected_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&to), sizeof(to)) == 0;
  }
  ~TcpClient() { ::close(fd_); }
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;

  bool connected() const { return connected_; }

  // Writes everything (blocking); false when the peer closed. `progress`, when given, follows
  // the bytes sent so far.
  bool send(mcap::ByteView bytes, std::atomic<uint64_t>* progress = nullptr) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += size_t(n);
      if (progress != nullptr) progress->store(done);
    }
    return true;
  }

  void close_write() { ::shutdown(fd_, SHUT_WR); }

  // True when the server closed the connection within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    pollfd p{fd_, POLLIN, 0};
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::poll(&p, 1, 50) > 0) {
        char byte;
        const ssize_t n = ::recv(fd_, &byte, 1, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
      }
    }
    return false;
  }

  // Half-closes and waits (5 s at most) for the server to close its side: it has read all.
  void finish() {
    close_write();
    (void)closed_by_peer();
  }

 private:
  int fd_;
  bool connected_ = false;
};

}  // namespace mcaprec::test_support
