#include "send_transport.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "mcap/bytes.hpp"
#include "mcap/serialize.hpp"
#include "mcap/sink.hpp"
#include "mcap/writer.hpp"
#include "synth/datagram_packer.hpp"

namespace mcaprec::tool::send {
namespace {

using base::Error;
using base::Result;
using base::Status;

constexpr size_t kSocketBufferBytes = 256 << 10;  // user-space batching of TCP writes
constexpr size_t kDatagramBatch = 64;             // datagrams per sendmmsg
constexpr auto kChunkMaxAge = std::chrono::milliseconds(100);

std::string errno_text(int error) {
  return std::strerror(error);
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

Result<addrinfo*> resolve(const Endpoint& endpoint, int socket_type) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socket_type;
  addrinfo* found = nullptr;
  const int error = ::getaddrinfo(endpoint.host.c_str(), endpoint.port.c_str(), &hints, &found);
  if (error != 0) {
    return Error{0, "cannot resolve " + endpoint.text + ": " + ::gai_strerror(error)};
  }
  return found;
}

// Connects with a time limit, trying each address in turn; the socket ends up blocking.
Result<Fd> connect_tcp(const Endpoint& endpoint, int timeout_ms) {
  auto found = resolve(endpoint, SOCK_STREAM);
  if (!found) return found.error();
  std::string last_error = "no address";
  for (addrinfo* address = *found; address != nullptr; address = address->ai_next) {
    Fd fd(::socket(address->ai_family, address->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                   address->ai_protocol));
    if (fd.get() < 0) {
      last_error = errno_text(errno);
      continue;
    }
    int error = 0;
    if (::connect(fd.get(), address->ai_addr, address->ai_addrlen) != 0) {
      error = errno;
      if (error == EINPROGRESS) {
        pollfd waiting{fd.get(), POLLOUT, 0};
        const int ready = ::poll(&waiting, 1, timeout_ms);
        if (ready == 0) {
          error = ETIMEDOUT;
        } else {
          socklen_t length = sizeof(error);
          ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
        }
      }
    }
    if (error != 0) {
      last_error = errno_text(error);
      continue;
    }
    const int flags = ::fcntl(fd.get(), F_GETFL);
    ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
    ::freeaddrinfo(*found);
    return fd;
  }
  ::freeaddrinfo(*found);
  return Error{0, "cannot connect to " + endpoint.text + ": " + last_error};
}

// A TCP connection with a write buffer. Also the ByteSink the MCAP writer writes into.
class TcpStream : public mcap::ByteSink {
 public:
  TcpStream(Fd fd, std::string peer) : fd_(std::move(fd)), peer_(std::move(peer)) {
    buffer_.reserve(kSocketBufferBytes);
  }

  Status write(mcap::ByteView data) override {
    if (buffer_.size() + data.size() > kSocketBufferBytes) {
      if (Status s = flush(); !s) return s;
    }
    if (data.size() >= kSocketBufferBytes) return send_all(data);
    buffer_.insert(buffer_.end(), data.begin(), data.end());
    return {};
  }

  Status flush() override {
    Status status = send_all(buffer_);
    buffer_.clear();
    return status;
  }

  size_t buffered() const { return buffer_.size(); }
  uint64_t sent_bytes() const { return sent_; }

  // shutdown(SHUT_WR), then waits for the peer to close its side, so that it has read it all.
  Status close_cleanly(int timeout_ms) {
    if (Status s = flush(); !s) return s;
    if (::shutdown(fd_.get(), SHUT_WR) != 0) return failure("shutdown", errno);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    uint8_t scratch[4096];
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      pollfd waiting{fd_.get(), POLLIN, 0};
      const int ready = ::poll(&waiting, 1, static_cast<int>(std::max<int64_t>(left, 0)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) {
        return Error{sent_, "the receiver at " + peer_ + " did not close the connection within " +
                                std::to_string(timeout_ms) + " ms after the stream ended"};
      }
      const ssize_t n = ::recv(fd_.get(), scratch, sizeof(scratch), 0);
      if (n == 0) return {};
      if (n < 0 && errno != EINTR) return failure("waiting for the receiver to close", errno);
    }
  }

 private:
  Status send_all(mcap::ByteView data) {
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::send(fd_.get(), data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return failure("send", errno);
      }
      done += static_cast<size_t>(n);
      sent_ += static_cast<uint64_t>(n);
    }
    return {};
  }

  Error failure(const char* what, int error) const {
    return Error{sent_, std::string(what) + " to " + peer_ + " failed after " +
                            std::to_string(sent_) + " bytes: " + errno_text(error)};
  }

  Fd fd_;
  std::string peer_;
  mcap::Bytes buffer_;
  uint64_t sent_ = 0;
};

class McapTcpTransport : public Transport {
 public:
  McapTcpTransport(std::unique_ptr<mcap::Writer> writer, TcpStream* stream, TcpOptions options)
      : writer_(std::move(writer)), stream_(stream), options_(options) {}

  Status add_schema(const mcap::Schema& schema) override { return writer_->add_schema(schema); }
  Status add_channel(const mcap::Channel& channel) override {
    return writer_->add_channel(channel);
  }
  uint64_t max_payload() const override { return UINT64_MAX; }

  Status send_message(const mcap::Message& message) override {
    if (Status s = writer_->write_message(message); !s) return s;
    ++pending_;
    if (!options_.chunked) {
      return stream_->buffered() >= kSocketBufferBytes / 2 ? commit() : Status{};
    }
    if (chunk_bytes_ == 0) chunk_opened_ = std::chrono::steady_clock::now();
    chunk_bytes_ += mcap::kRecordPrefixSize + mcap::kMessageHeaderSize + message.data.size();
    return chunk_bytes_ >= options_.chunk_size ? commit() : Status{};
  }

  Status flush() override {
    // A chunk stays open across short pauses so that paced streams still get real chunks.
    if (options_.chunked && chunk_bytes_ > 0 &&
        std::chrono::steady_clock::now() - chunk_opened_ < kChunkMaxAge) {
      return {};
    }
    return commit();
  }

  Status finish() override {
    if (Status s = commit(); !s) return s;
    if (Status s = writer_->close(); !s) return s;
    Status status = stream_->close_cleanly(options_.close_timeout_ms);
    wire_bytes_ = stream_->sent_bytes();
    return status;
  }

 private:
  // Everything written so far goes to the kernel; only then does it count as handed over.
  Status commit() {
    if (options_.chunked && chunk_bytes_ > 0) {
      if (Status s = writer_->flush_chunk(); !s) return s;
      chunk_bytes_ = 0;
    }
    if (Status s = stream_->flush(); !s) return s;
    wire_bytes_ = stream_->sent_bytes();
    hand_over(pending_);
    pending_ = 0;
    return {};
  }

  std::unique_ptr<mcap::Writer> writer_;
  TcpStream* stream_;  // owned by writer_
  TcpOptions options_;
  uint64_t pending_ = 0;
  uint64_t chunk_bytes_ = 0;
  std::chrono::steady_clock::time_point chunk_opened_;
};

class LengthPrefixedTcpTransport : public Transport {
 public:
  LengthPrefixedTcpTransport(TcpStream stream, int close_timeout_ms)
      : stream_(std::move(stream)), close_timeout_ms_(close_timeout_ms) {}

  Status add_schema(const mcap::Schema&) override { return {}; }
  Status add_channel(const mcap::Channel&) override { return {}; }
  uint64_t max_payload() const override { return UINT32_MAX; }

  Status send_message(const mcap::Message& message) override {
    uint8_t length[4];
    mcap::store_le<uint32_t>(length, static_cast<uint32_t>(message.data.size()));
    if (Status s = stream_.write(length); !s) return s;
    if (Status s = stream_.write(message.data); !s) return s;
    ++pending_;
    return stream_.buffered() >= kSocketBufferBytes / 2 ? flush() : Status{};
  }

  Status flush() override {
    if (Status s = stream_.flush(); !s) return s;
    wire_bytes_ = stream_.sent_bytes();
    hand_over(pending_);
    pending_ = 0;
    return {};
  }

  Status finish() override {
    if (Status s = flush(); !s) return s;
    return stream_.close_cleanly(close_timeout_ms_);
  }

 private:
  TcpStream stream_;
  int close_timeout_ms_;
  uint64_t pending_ = 0;
};

// Datagrams to one address with sendmmsg. The socket is connected (the kernel keeps the route
// instead of looking it up for every datagram); an ICMP "port unreachable" from an absent
// receiver then makes one later call fail with ECONNREFUSED, which only reports that error and
// is retried: UDP does not know whether anyone listens.
class UdpTransport : public Transport {
 public:
  UdpTransport(Fd fd, sockaddr_storage address, socklen_t address_length, std::string peer,
               size_t mtu, uint64_t definitions_every, bool raw, bool segmented)
      : fd_(std::move(fd)),
        address_(address),
        address_length_(address_length),
        peer_(std::move(peer)),
        packer_(mtu, definitions_every),
        raw_(raw),
        segmented_(segmented) {
    connected_ =
        ::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&address_), address_length_) == 0;
  }

  bool can_define(const mcap::Schema* schema, const mcap::Channel& channel) const override {
    if (raw_) return true;
    mcap::Bytes record;
    if (schema != nullptr) mcap::append_record(record, *schema);
    const size_t schema_size = record.size();
    record.clear();
    mcap::append_record(record, channel);
    return schema_size <= packer_.max_datagram_bytes() &&
           record.size() <= packer_.max_datagram_bytes();
  }

  Status add_schema(const mcap::Schema& schema) override {
    if (raw_ || packer_.add_schema(schema)) return {};
    return Error{0, "schema '" + schema.name + "' does not fit in one datagram of " +
                        std::to_string(packer_.max_datagram_bytes()) + " bytes (raise --mtu)"};
  }
  Status add_channel(const mcap::Channel& channel) override {
    if (raw_ || packer_.add_channel(channel)) return {};
    return Error{0, "channel '" + channel.topic + "' does not fit in one datagram of " +
                        std::to_string(packer_.max_datagram_bytes()) + " bytes (raise --mtu)"};
  }
  uint64_t max_payload() const override {
    if (raw_) return kMaxUdpPayload;
    const uint64_t overhead = mcap::kRecordPrefixSize + mcap::kMessageHeaderSize;
    return packer_.max_datagram_bytes() > overhead ? packer_.max_datagram_bytes() - overhead : 0;
  }

  Status send_message(const mcap::Message& message) override {
    if (raw_) {
      packer_.add_raw(message.data);
    } else if (!packer_.add_message(message)) {
      return Error{0, "message of " + std::to_string(message.data.size()) +
                          " bytes does not fit in a datagram"};
    }
    return packer_.ready_count() >= kDatagramBatch ? send_ready() : Status{};
  }

  Status flush() override {
    packer_.finish_datagram();
    return send_ready();
  }
  Status finish() override { return flush(); }

 private:
  Status send_ready() { return segmented_ ? send_ready_segmented() : send_ready_one_by_one(); }

  Status send_ready_one_by_one() {
    const size_t count = packer_.ready_count();
    iovecs_.resize(count);
    headers_.resize(count);
    for (size_t i = 0; i < count; ++i) {
      const mcap::ByteView datagram = packer_.ready(i);
      iovecs_[i] = iovec{const_cast<uint8_t*>(datagram.data()), datagram.size()};
      headers_[i] = mmsghdr{};
      headers_[i].msg_hdr.msg_name = connected_ ? nullptr : &address_;
      headers_[i].msg_hdr.msg_namelen = connected_ ? 0 : address_length_;
      headers_[i].msg_hdr.msg_iov = &iovecs_[i];
      headers_[i].msg_hdr.msg_iovlen = 1;
    }
    size_t done = 0;
    while (done < count) {
      const int n =
          ::sendmmsg(fd_.get(), headers_.data() + done, static_cast<unsigned>(count - done), 0);
      if (n < 0) {
        if (errno == EINTR || (connected_ && errno == ECONNREFUSED)) continue;
        return Error{wire_bytes_, "send to " + peer_ + " failed after " +
                                      std::to_string(datagrams_) +
                                      " datagrams: " + errno_text(errno)};
      }
      uint64_t messages = 0;
      for (size_t i = done; i < done + static_cast<size_t>(n); ++i) {
        wire_bytes_ += iovecs_[i].iov_len;
        messages += packer_.ready_messages(i);
      }
      datagrams_ += static_cast<uint64_t>(n);
      hand_over(messages);
      done += static_cast<size_t>(n);
    }
    packer_.clear_ready();
    return {};
  }

  // Equal-size datagrams in a row go as one message with UDP_SEGMENT (generic segmentation
  // offload): the kernel cuts it into datagrams of that size, so one pass through the send path
  // carries up to kMaxSegments of them. The receiver still gets one datagram per payload.
  Status send_ready_segmented() {
    group_equal_datagrams();
    attach_segment_sizes();
    size_t done = 0;
    while (done < headers_.size()) {
      const int n = ::sendmmsg(fd_.get(), headers_.data() + done,
                               static_cast<unsigned>(headers_.size() - done), 0);
      if (n < 0) {
        if (errno == EINTR || (connected_ && errno == ECONNREFUSED)) continue;
        return Error{wire_bytes_, "send to " + peer_ + " failed after " +
                                      std::to_string(datagrams_) +
                                      " datagrams (with --gso): " + errno_text(errno)};
      }
      uint64_t messages = 0;
      for (size_t g = done; g < done + static_cast<size_t>(n); ++g) {
        const size_t first = group_first_[g];
        const size_t segments = headers_[g].msg_hdr.msg_iovlen;
        for (size_t i = first; i < first + segments; ++i) {
          wire_bytes_ += iovecs_[i].iov_len;
          messages += packer_.ready_messages(i);
        }
        datagrams_ += segments;
      }
      hand_over(messages);
      done += static_cast<size_t>(n);
    }
    packer_.clear_ready();
    return {};
  }

  // One message header per run of equal-size ready datagrams (group_first_ holds the first
  // datagram of each), as large as UDP_SEGMENT and a UDP payload allow.
  void group_equal_datagrams() {
    const size_t count = packer_.ready_count();
    iovecs_.resize(count);
    headers_.clear();
    group_first_.clear();
    controls_.resize(count * kControlSpace);
    for (size_t i = 0; i < count; ++i) {
      const mcap::ByteView datagram = packer_.ready(i);
      iovecs_[i] = iovec{const_cast<uint8_t*>(datagram.data()), datagram.size()};
      if (!headers_.empty()) {
        msghdr& open = headers_.back().msg_hdr;
        const size_t segment = iovecs_[group_first_.back()].iov_len;
        const size_t bytes = segment * open.msg_iovlen;
        if (datagram.size() == segment && open.msg_iovlen < kMaxSegments &&
            bytes + segment <= kMaxUdpPayload) {
          ++open.msg_iovlen;
          continue;
        }
      }
      group_first_.push_back(i);
      headers_.push_back(mmsghdr{});
      msghdr& header = headers_.back().msg_hdr;
      header.msg_name = connected_ ? nullptr : &address_;
      header.msg_namelen = connected_ ? 0 : address_length_;
      header.msg_iov = &iovecs_[i];
      header.msg_iovlen = 1;
    }
  }

  // Tells the kernel where to cut each group of more than one datagram.
  void attach_segment_sizes() {
    for (size_t g = 0; g < headers_.size(); ++g) {
      msghdr& header = headers_[g].msg_hdr;
      if (header.msg_iovlen < 2) continue;  // a lone datagram needs no segmentation
      header.msg_control = controls_.data() + g * kControlSpace;
      header.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
      cmsghdr* control = CMSG_FIRSTHDR(&header);
      control->cmsg_level = SOL_UDP;
      control->cmsg_type = UDP_SEGMENT;
      control->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      const auto segment = static_cast<uint16_t>(header.msg_iov[0].iov_len);
      std::memcpy(CMSG_DATA(control), &segment, sizeof(segment));
    }
  }

  // UDP_SEGMENT takes at most 64 segments per message on the kernels we meet.
  static constexpr size_t kMaxSegments = 64;
  static constexpr size_t kControlSpace = CMSG_SPACE(sizeof(uint16_t));

  Fd fd_;
  sockaddr_storage address_;
  socklen_t address_length_;
  std::string peer_;
  synth::DatagramPacker packer_;
  bool raw_;
  bool segmented_;
  bool connected_ = false;
  std::vector<iovec> iovecs_;
  std::vector<mmsghdr> headers_;
  std::vector<size_t> group_first_;  // segmented: first datagram of each message
  std::vector<uint8_t> controls_;    // segmented: the UDP_SEGMENT control of each message
};

Result<std::unique_ptr<Transport>> open_udp(const Endpoint& endpoint, size_t mtu,
                                            uint64_t definitions_every, bool raw, bool segmented) {
  auto found = resolve(endpoint, SOCK_DGRAM);
  if (!found) return found.error();
  const addrinfo* address = *found;
  Fd fd(::socket(address->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    const int error = errno;
    ::freeaddrinfo(*found);
    return Error{0, "cannot open a UDP socket for " + endpoint.text + ": " + errno_text(error)};
  }
  const int send_buffer = 4 << 20;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &send_buffer, sizeof(send_buffer));
  sockaddr_storage storage{};
  std::memcpy(&storage, address->ai_addr, address->ai_addrlen);
  const socklen_t length = address->ai_addrlen;
  ::freeaddrinfo(*found);
  return std::unique_ptr<Transport>(std::make_unique<UdpTransport>(
      std::move(fd), storage, length, endpoint.text, mtu, definitions_every, raw, segmented));
}

}  // namespace

std::optional<Endpoint> parse_endpoint(std::string_view text) {
  Endpoint endpoint;
  endpoint.text = std::string(text);
  std::string_view rest;
  if (text.starts_with("tcp://")) {
    endpoint.protocol = Endpoint::Protocol::kTcp;
  } else if (text.starts_with("udp://")) {
    endpoint.protocol = Endpoint::Protocol::kUdp;
  } else {
    return std::nullopt;
  }
  rest = text.substr(6);
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size()) {
    return std::nullopt;
  }
  std::string_view host = rest.substr(0, colon);
  const std::string_view port = rest.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return std::nullopt;  // a bare IPv6 address is ambiguous without brackets
  }
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  if (port.size() > 5 || std::stoul(std::string(port)) > 65535) return std::nullopt;
  endpoint.host = std::string(host);
  endpoint.port = std::string(port);
  return endpoint;
}

Result<std::unique_ptr<Transport>> open_mcap_tcp(const Endpoint& endpoint,
                                                 const TcpOptions& options) {
  auto fd = connect_tcp(endpoint, options.connect_timeout_ms);
  if (!fd) return fd.error();
  auto stream = std::make_unique<TcpStream>(std::move(*fd), endpoint.text);
  TcpStream* stream_view = stream.get();
  mcap::WriterOptions writer_options;
  writer_options.use_chunks = options.chunked;
  writer_options.compression = mcap::Compression::kZstd;
  // The transport seals chunks itself, to know which messages have left.
  writer_options.chunk_size = UINT64_MAX;
  // A stream needs no index: the receiver writes its own.
  writer_options.message_indexes = false;
  writer_options.chunk_indexes = false;
  writer_options.statistics = false;
  writer_options.repeat_schemas = false;
  writer_options.repeat_channels = false;
  writer_options.attachment_indexes = false;
  writer_options.metadata_indexes = false;
  writer_options.summary_offsets = false;
  auto writer = mcap::Writer::open(std::move(stream), writer_options);
  if (!writer) return writer.error();
  return std::unique_ptr<Transport>(
      std::make_unique<McapTcpTransport>(std::move(*writer), stream_view, options));
}

Result<std::unique_ptr<Transport>> open_length_prefixed_tcp(const Endpoint& endpoint,
                                                            const TcpOptions& options) {
  auto fd = connect_tcp(endpoint, options.connect_timeout_ms);
  if (!fd) return fd.error();
  return std::unique_ptr<Transport>(std::make_unique<LengthPrefixedTcpTransport>(
      TcpStream(std::move(*fd), endpoint.text), options.close_timeout_ms));
}

Result<std::unique_ptr<Transport>> open_mcap_udp(const Endpoint& endpoint, size_t mtu,
                                                 uint64_t definitions_every) {
  return open_udp(endpoint, mtu, definitions_every, false, false);
}

Result<std::unique_ptr<Transport>> open_raw_udp(const Endpoint& endpoint, bool segmented) {
  return open_udp(endpoint, kMaxUdpPayload, 0, true, segmented);
}

}  // namespace mcaprec::tool::send
