#pragma once
// Test producers for the end-to-end tests, one per ingest format: an MCAP stream written by
// mcap::Writer into a TCP socket, MCAP records in UDP datagrams, raw UDP datagrams and
// length-prefixed TCP frames. Payloads start with the message's number so that the reader can
// check each arrived exactly once (test_support::payload). Loopback only.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include "ingest_test_support.hpp"
#include "mcap/bytes.hpp"
#include "mcap/serialize.hpp"
#include "mcap/writer.hpp"
#include "payload.hpp"
#include "tcp_client.hpp"

namespace mcaprec::e2e {

using test_support::loopback;

// A port that was free a moment ago on 127.0.0.1 (SOCK_STREAM or SOCK_DGRAM).
inline uint16_t free_port(int type) {
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in address = loopback(0);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

using test_support::Filler;
using test_support::payload;

inline uint64_t now_ns() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count());
}

using test_support::TcpClient;

// mcap::Writer's bytes, straight into a TCP connection.
class SocketSink : public mcap::ByteSink {
 public:
  explicit SocketSink(TcpClient& client) : client_(client) {}
  mcap::Status write(mcap::ByteView data) override {
    if (!client_.send(data)) return mcap::Error{0, "send failed"};
    return {};
  }

 private:
  TcpClient& client_;
};

// Writes `count` messages on `topic` as an MCAP stream into a connection to `port`, numbered
// from `first`, and ends the stream (Data End, summary, footer).
inline bool send_mcap_stream(uint16_t port, const std::string& topic, uint32_t first,
                             uint32_t count, size_t payload_size,
                             mcap::Compression compression = mcap::Compression::kZstd,
                             bool noise = false) {
  TcpClient client(port);
  if (!client.connected()) return false;
  mcap::WriterOptions options;
  options.compression = compression;
  options.chunk_size = 16 * 1024;
  auto writer = mcap::Writer::open(std::make_unique<SocketSink>(client), options);
  if (!writer) return false;
  mcap::Schema schema{1, "test/Numbered", "jsonschema", {}};
  const std::string schema_text = R"({"type":"object"})";
  schema.data.assign(schema_text.begin(), schema_text.end());
  if (!(*writer)->add_schema(schema)) return false;
  if (!(*writer)->add_channel(mcap::Channel{1, 1, topic, "json", {}})) return false;
  for (uint32_t i = first; i < first + count; ++i) {
    const mcap::Bytes data = payload(i, payload_size, noise ? Filler::kNoise : Filler::kRuns);
    const uint64_t time = now_ns();
    if (!(*writer)->write_message(mcap::Message{1, i, time, time, data})) return false;
  }
  if (!(*writer)->close()) return false;
  client.finish();
  return true;
}

class UdpClient {
 public:
  explicit UdpClient(uint16_t port) : address_(loopback(port)) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  }
  ~UdpClient() { ::close(fd_); }
  bool send(mcap::ByteView datagram) {
    return ::sendto(fd_, datagram.data(), datagram.size(), 0,
                    reinterpret_cast<const sockaddr*>(&address_),
                    sizeof(address_)) == ssize_t(datagram.size());
  }

 private:
  int fd_ = -1;
  sockaddr_in address_;
};

// One datagram of the `mcap` UDP format: the channel's definition, then one message.
inline mcap::Bytes mcap_datagram(const std::string& topic, uint32_t number, size_t payload_size) {
  mcap::Bytes out;
  mcap::append_record(out, mcap::Channel{7, 0, topic, "raw", {}});
  const mcap::Bytes data = payload(number, payload_size);
  const uint64_t time = now_ns();
  mcap::append_record(out, mcap::Message{7, number, time, time, data});
  return out;
}

// A `length_prefixed` frame: u32 little-endian length, then the payload.
inline mcap::Bytes length_prefixed_frame(uint32_t number, size_t payload_size) {
  const mcap::Bytes data = payload(number, payload_size);
  mcap::Bytes out;
  mcap::put_le(out, uint32_t(data.size()));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

}  // namespace mcaprec::e2e
