#pragma once
// Helpers for the daemon's tests: a notify socket like systemd's, a notifier that records what
// the service said, a plain HTTP GET, and an ingest stand-in that pushes numbered messages.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/notifier.hpp"
#include "ingest/ingest_server.hpp"
#include "mcap/bytes.hpp"
#include "payload.hpp"
#include "pipeline/pipeline.hpp"

namespace mcaprec::daemon::testing {

// A unix datagram socket at `path`, as systemd creates for NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(std::string path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
    ::unlink(path_.c_str());
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  bool bound() const { return bound_; }
  const std::string& path() const { return path_; }

  // The next datagram, or "" after `timeout`.
  std::string receive(std::chrono::milliseconds timeout) {
    pollfd poll_fd{fd_, POLLIN, 0};
    if (::poll(&poll_fd, 1, static_cast<int>(timeout.count())) <= 0) return "";
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
    return n > 0 ? std::string(buffer, size_t(n)) : std::string();
  }

  // Datagrams until one contains `needle` (returned), or "" when `timeout` passes.
  std::string wait_for(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      std::string message = receive(left);
      if (message.find(needle) != std::string::npos) return message;
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

// Remembers every notification, in order.
class RecordingNotifier : public Notifier {
 public:
  void notify(std::string_view state) override {
    {
      std::lock_guard lock(mu_);
      messages_.emplace_back(state);
    }
    cv_.notify_all();
  }
  std::vector<std::string> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }
  size_t count(const std::string& needle) const {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const std::string& message : messages_) n += message.find(needle) != std::string::npos;
    return n;
  }
  // Waits until `count(needle) >= at_least`.
  bool wait_for(const std::string& needle, size_t at_least, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      size_t n = 0;
      for (const std::string& message : messages_) {
        n += message.find(needle) != std::string::npos;
      }
      return n >= at_least;
    });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> messages_;
};

struct HttpReply {
  int status = 0;  // 0 when the connection failed or the reply was not HTTP
  std::string head;
  std::string body;
};

// Sends `request` verbatim to 127.0.0.1:`port` and reads until the server closes.
inline HttpReply http_exchange(uint16_t port, const std::string& request,
                               std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  HttpReply reply;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return reply;
  }
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += size_t(n);
  }
  std::string received;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    received.append(buffer, size_t(n));
  }
  ::close(fd);
  const size_t split = received.find("\r\n\r\n");
  if (!received.starts_with("HTTP/1.") || split == std::string::npos) return reply;
  reply.head = received.substr(0, split);
  reply.body = received.substr(split + 4);
  reply.status = std::atoi(received.c_str() + received.find(' ') + 1);
  return reply;
}

inline HttpReply http_get(uint16_t port, const std::string& path) {
  return http_exchange(port, "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
}

// Stands in for the network listeners: one source that pushes `total` numbered messages (the
// payload holds the sequence) on topic /fake, one every `interval`.
class FakeIngest : public ingest::IngestServer {
 public:
  struct Plan {
    uint32_t total = 100;
    std::chrono::microseconds interval{200};
    size_t payload_bytes = 64;
  };

  FakeIngest(pipeline::Pipeline& pipeline, Plan plan) : pipeline_(pipeline), plan_(plan) {
    pipeline::ChannelSpec spec;
    spec.topic = "/fake";
    spec.message_encoding = "raw";
    spec.overflow = pipeline::OverflowPolicy::kBlock;
    channel_ = *pipeline_.declare_channel(spec);
    thread_ = std::thread([this] { produce(); });
  }
  ~FakeIngest() override { stop(); }

  void stop() override {
    stopping_.store(true);
    if (thread_.joinable()) thread_.join();
  }

  std::vector<ingest::SourceStats> stats() const override {
    ingest::SourceStats source;
    source.name = "fake";
    source.transport = "tcp";
    source.bind = "127.0.0.1:1";
    source.messages = pushed_.load();
    source.bytes = pushed_.load() * plan_.payload_bytes;
    source.connections_open = 1;
    source.peers = {"127.0.0.1:50000"};
    source.errors["truncated"] = 2;
    return {source};
  }

  uint32_t pushed() const { return pushed_.load(); }
  uint32_t accepted() const { return accepted_.load(); }

 private:
  void produce() {
    for (uint32_t sequence = 0; sequence < plan_.total && !stopping_.load(); ++sequence) {
      const mcap::Bytes payload = test_support::payload(sequence, plan_.payload_bytes);
      const uint64_t now = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
      if (pipeline_.push(channel_, now, now, sequence, payload).ok()) accepted_.fetch_add(1);
      pushed_.fetch_add(1);
      if (plan_.interval.count() > 0) std::this_thread::sleep_for(plan_.interval);
    }
  }

  pipeline::Pipeline& pipeline_;
  Plan plan_;
  pipeline::ChannelHandle channel_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint32_t> pushed_{0};
  std::atomic<uint32_t> accepted_{0};
  std::thread thread_;
};

}  // namespace mcaprec::daemon::testing
