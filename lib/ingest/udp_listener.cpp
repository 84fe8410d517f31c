#include "ingest/udp_listener.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

namespace mcaprec::ingest {

namespace asio = boost::asio;

namespace {

// Largest UDP payload plus one, so that a datagram filling a slot was not cut (MSG_TRUNC is the
// authority, this only keeps the slots aligned).
constexpr size_t kSlotBytes = 65536;
// Slots start this far apart: a multiple of 4 KiB would put the start of every slot (where
// short datagrams land) in the same cache sets, evicting each other within one batch.
constexpr size_t kSlotStride = kSlotBytes + 5 * 64;
// Room for SCM_TIMESTAMPNS, SO_RXQ_OVFL and UDP_GRO control messages.
constexpr size_t kControlBytes = 128;
// Batches read per wake-up before yielding to the other sources on the same thread.
constexpr int kBatchesPerWakeup = 8;
// A busy source waits this long at most between reads, so that each read finds many
// datagrams (this is the latency it adds)...
constexpr std::chrono::microseconds kLongestPause{500};
// ...and never longer than it takes this many bytes per second to fill an eighth of the
// socket's receive buffer (the kernel's accounting of it, overhead included).
constexpr uint64_t kPauseFillRate = uint64_t{8} << 30;
// A wake-up is busy when it read at least this many datagrams, or came within a pause of the
// previous one.
constexpr uint64_t kBusyDatagrams = 2;

uint64_t realtime_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

std::string errno_text(int error) {
  return std::strerror(error);
}

int socket_buffer(int fd) {
  int value = 0;
  socklen_t length = sizeof(value);
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, &length) != 0) return -1;
  return value;
}

}  // namespace

base::Result<std::unique_ptr<UdpListener>> UdpListener::open(asio::io_context& io,
                                                             SourceContext& source,
                                                             const IngestOptions& options) {
  std::unique_ptr<UdpListener> listener(new UdpListener(io, source, options));
  if (base::Status s = listener->configure(source.source()); !s) return s.error();
  return listener;
}

UdpListener::UdpListener(asio::io_context& io, SourceContext& source, const IngestOptions& options)
    : socket_(io),
      pause_timer_(io),
      source_(source),
      raw_(source.source().format == config::SourceFormat::kRaw),
      batch_(options.batched_receive ? std::max(1u, source.source().receive_batch) : 1u),
      batched_(batch_ > 1),
      decoder_(source.limits()),
      events_(*this) {
  buffers_.resize(size_t{batch_} * kSlotStride);
  headers_.resize(batch_);
  iovecs_.resize(batch_);
  addresses_.resize(batch_);
  controls_.resize(size_t{batch_} * kControlBytes);
  if (raw_) raw_batch_.reserve(size_t{batch_} * 64);  // grows if coalesced buffers hold more
  // Only the lengths the kernel writes back change between calls: receive() resets those.
  for (unsigned i = 0; i < batch_; ++i) {
    iovecs_[i] = iovec{buffers_.data() + size_t{i} * kSlotStride, kSlotBytes};
    msghdr& header = headers_[i].msg_hdr;
    header = msghdr{};
    header.msg_name = &addresses_[i];
    header.msg_iov = &iovecs_[i];
    header.msg_iovlen = 1;
    header.msg_control = controls_.data() + size_t{i} * kControlBytes;
  }
}

UdpListener::~UdpListener() {
  close();
}

base::Status UdpListener::configure(const config::Source& config) {
  const std::string where = "source " + config.name + ": udp " + config.bind.to_string();
  boost::system::error_code error;
  const asio::ip::address address = asio::ip::make_address(config.bind.address(), error);
  if (error) return base::Error{0, where + ": bad address: " + error.message()};
  const asio::ip::udp::endpoint endpoint(address, config.bind.port);
  socket_.open(endpoint.protocol(), error);
  protocol_ = endpoint.protocol();
  if (error) return base::Error{0, where + ": cannot open a socket: " + error.message()};
  const int fd = socket_.native_handle();

  // Several receivers of one multicast group on a host is the normal case.
  if (config.multicast) socket_.set_option(asio::socket_base::reuse_address(true), error);

  const uint64_t wanted = config.receive_buffer != 0 ? config.receive_buffer : 8 * config::kMiB;
  const int wanted_int = static_cast<int>(std::min<uint64_t>(wanted, INT32_MAX / 2));
  // SO_RCVBUFFORCE passes rmem_max when we have CAP_NET_ADMIN; otherwise the kernel caps it.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &wanted_int, sizeof(wanted_int)) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &wanted_int, sizeof(wanted_int));
  }
  const int effective = socket_buffer(fd);
  if (effective > 0) {
    pause_ = std::min<std::chrono::microseconds>(
        kLongestPause,
        std::chrono::microseconds(uint64_t(effective) / 8 * 1000000 / kPauseFillRate));
  }
  const int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) != 0) {
    spdlog::warn("{}: no kernel receive timestamps: {}", where, errno_text(errno));
  }
  if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on)) != 0) {
    spdlog::warn("{}: kernel drops will not be counted: {}", where, errno_text(errno));
  }
  // One buffer per burst of a sender instead of one per datagram: far fewer system calls and
  // kernel work per datagram. Optional: without it every datagram arrives on its own.
  if (config.coalesce && setsockopt(fd, IPPROTO_UDP, UDP_GRO, &on, sizeof(on)) != 0) {
    spdlog::info("{}: datagrams will not be coalesced: {}", where, errno_text(errno));
  }

  socket_.bind(endpoint, error);
  if (error) return base::Error{0, where + ": cannot bind: " + error.message()};
  if (config.multicast) {
    if (base::Status s = join_multicast(config); !s) return s;
  }
  socket_.non_blocking(true, error);
  if (error) return base::Error{0, where + ": cannot make the socket non-blocking"};
  fd_ = fd;

  const asio::ip::udp::endpoint bound = socket_.local_endpoint(error);
  config::Endpoint bound_endpoint{config.bind.host, bound.port()};
  source_.set_bind(bound_endpoint.to_string());
  // The kernel reports twice the size asked for (it counts its own bookkeeping).
  const std::string receiving = "source " + config.name + ": udp " + bound_endpoint.to_string();
  if (effective >= 0 && static_cast<uint64_t>(effective) / 2 < wanted) {
    spdlog::warn(
        "{}: receive buffer is {} bytes, less than the {} asked for (raise net.core.rmem_max "
        "or give the daemon CAP_NET_ADMIN)",
        receiving, effective / 2, wanted);
  } else {
    spdlog::info("{}: receive buffer {} bytes", receiving, effective / 2);
  }

  if (raw_) {
    base::Result<pipeline::ChannelHandle> handle = source_.declare(source_.configured_channel());
    if (!handle) {
      return base::Error{
          0, where + ": cannot declare " + config.topic + ": " + handle.error().message};
    }
    raw_channel_ = *handle;
  }
  return {};
}

base::Status UdpListener::join_multicast(const config::Source& config) {
  const std::string where =
      "source " + config.name + ": multicast group " + config.multicast->group;
  const std::string& interface = config.multicast->interface;
  const int fd = socket_.native_handle();
  boost::system::error_code error;
  const asio::ip::address group = asio::ip::make_address(config.multicast->group, error);
  if (error) return base::Error{0, where + ": bad address"};
  // The interface is an address or a name; a name is looked up, an address used as given.
  boost::system::error_code not_address;
  const asio::ip::address interface_address =
      interface.empty() ? asio::ip::address() : asio::ip::make_address(interface, not_address);
  unsigned index = 0;
  if (!interface.empty() && not_address) {
    index = if_nametoindex(interface.c_str());
    if (index == 0) return base::Error{0, where + ": no interface named " + interface};
  }
  if (group.is_v4()) {
    ip_mreqn request{};
    const auto bytes = group.to_v4().to_bytes();
    std::memcpy(&request.imr_multiaddr, bytes.data(), 4);
    if (!interface.empty() && !not_address && interface_address.is_v4()) {
      const auto local = interface_address.to_v4().to_bytes();
      std::memcpy(&request.imr_address, local.data(), 4);
    }
    request.imr_ifindex = static_cast<int>(index);
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &request, sizeof(request)) != 0) {
      return base::Error{0, where + ": cannot join: " + errno_text(errno)};
    }
  } else {
    ipv6_mreq request{};
    const auto bytes = group.to_v6().to_bytes();
    std::memcpy(&request.ipv6mr_multiaddr, bytes.data(), 16);
    request.ipv6mr_interface = index;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &request, sizeof(request)) != 0) {
      return base::Error{0, where + ": cannot join: " + errno_text(errno)};
    }
  }
  spdlog::info("{}: joined{}", where, interface.empty() ? "" : " on " + interface);
  return {};
}

void UdpListener::start() {
  arm();
}

void UdpListener::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  pause_timer_.cancel();
  if (watched_) {
    socket_.close(ignored);
  } else if (fd_ >= 0) {
    ::close(fd_);  // released from the reactor during a pause
  }
  fd_ = -1;
}

void UdpListener::arm() {
  if (!watched_) {
    boost::system::error_code error;
    socket_.assign(protocol_, fd_, error);
    if (error) {
      // Keep reading, by pausing and polling, rather than stop.
      source_.report_error(kReceiveError, "-", "cannot watch the socket again: " + error.message());
      pause();
      return;
    }
    watched_ = true;
  }
  socket_.async_wait(asio::ip::udp::socket::wait_read, [this](boost::system::error_code error) {
    if (error || closed_) return;  // closed
    on_readable();
  });
}

void UdpListener::on_readable() {
  const auto now = std::chrono::steady_clock::now();
  const bool soon_after_previous = now - last_wakeup_ < pause_;
  last_wakeup_ = now;
  wakeup_datagrams_ = 0;
  bool more = false;
  for (int round = 0; round < kBatchesPerWakeup; ++round) {
    const int received = receive();
    more = received == static_cast<int>(batch_);
    if (!more) break;  // the socket is (very likely) empty
  }
  if (closed_) return;
  const bool busy =
      wakeup_datagrams_ >= kBusyDatagrams || (wakeup_datagrams_ > 0 && soon_after_previous);
  if (more || !busy || pause_.count() == 0) {
    arm();
    return;
  }
  // A busy source: let datagrams gather in the socket's buffer for a moment rather than wake up
  // for every few of them. The reactor wakes the thread on every arrival while it watches the
  // socket (edge-triggered), so the socket leaves it for the pause.
  if (watched_) {
    boost::system::error_code error;
    socket_.release(error);
    if (error) {
      arm();
      return;
    }
    watched_ = false;
  }
  pause();
}

void UdpListener::pause() {
  pause_timer_.expires_after(pause_);
  pause_timer_.async_wait([this](boost::system::error_code error) {
    if (error || closed_) return;
    on_readable();
  });
}

int UdpListener::receive() {
  const int fd = fd_;
  for (unsigned i = 0; i < batch_; ++i) {
    headers_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    headers_[i].msg_hdr.msg_controllen = kControlBytes;
    headers_[i].msg_len = 0;
  }
  int count = 0;
  if (batched_) {
    count = recvmmsg(fd, headers_.data(), batch_, MSG_DONTWAIT, nullptr);
  } else {
    const ssize_t size = recvmsg(fd, &headers_[0].msg_hdr, MSG_DONTWAIT);
    if (size >= 0) headers_[0].msg_len = static_cast<unsigned>(size);
    count = size >= 0 ? 1 : -1;
  }
  if (count < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      source_.report_error(kReceiveError, "-", errno_text(errno));
    }
    return 0;
  }
  uint64_t datagrams = 0;
  for (int i = 0; i < count; ++i) {
    msghdr& header = headers_[i].msg_hdr;
    uint64_t receive_ns = 0;
    size_t segment = 0;
    uint32_t newly_dropped = 0;  // buffers the kernel dropped since the previous receive
    for (cmsghdr* control = CMSG_FIRSTHDR(&header); control != nullptr;
         control = CMSG_NXTHDR(&header, control)) {
      if (control->cmsg_level == IPPROTO_UDP && control->cmsg_type == UDP_GRO) {
        int size = 0;
        std::memcpy(&size, CMSG_DATA(control), sizeof(size));
        if (size > 0) segment = static_cast<size_t>(size);
        continue;
      }
      if (control->cmsg_level != SOL_SOCKET) continue;
      if (control->cmsg_type == SCM_TIMESTAMPNS) {
        timespec stamp;
        std::memcpy(&stamp, CMSG_DATA(control), sizeof(stamp));
        receive_ns = uint64_t(stamp.tv_sec) * 1000000000ULL + uint64_t(stamp.tv_nsec);
      } else if (control->cmsg_type == SO_RXQ_OVFL) {
        uint32_t drops = 0;
        std::memcpy(&drops, CMSG_DATA(control), sizeof(drops));
        // The kernel's counter for the socket's lifetime (unsigned: the difference survives
        // its wrap).
        newly_dropped = drops - kernel_drops_seen_;
        kernel_drops_seen_ = drops;
        source_.kernel_drops.store(drops, std::memory_order_relaxed);
      }
    }
    if (receive_ns == 0) receive_ns = realtime_ns();
    const uint64_t in_buffer =
        handle_buffer(buffers_.data() + size_t(i) * kSlotStride, headers_[i].msg_len, segment,
                      (header.msg_flags & MSG_TRUNC) != 0, addresses_[i], receive_ns);
    datagrams += in_buffer;
    if (newly_dropped != 0) {
      source_.kernel_dropped_datagrams.fetch_add(uint64_t{newly_dropped} * in_buffer,
                                                 std::memory_order_relaxed);
    }
  }
  push_raw_batch();
  publish_counts(datagrams);
  wakeup_datagrams_ += datagrams;
  return count;
}

void UdpListener::publish_counts(uint64_t datagrams) {
  if (pending_messages_ != 0) {
    source_.messages.fetch_add(pending_messages_, std::memory_order_relaxed);
    source_.bytes.fetch_add(pending_bytes_, std::memory_order_relaxed);
    pending_messages_ = 0;
    pending_bytes_ = 0;
  }
  // Counted last, so that whoever sees N datagrams also sees the messages and errors they made.
  source_.datagrams.fetch_add(datagrams, std::memory_order_release);
}

uint64_t UdpListener::handle_buffer(const uint8_t* data, size_t size, size_t segment,
                                    bool truncated, const sockaddr_storage& from,
                                    uint64_t receive_ns) {
  // A coalesced buffer holds whole datagrams of `segment` bytes, the last one possibly shorter.
  const size_t step = segment != 0 && segment < size ? segment : std::max<size_t>(size, 1);
  const uint64_t datagrams = (std::max<size_t>(size, 1) + step - 1) / step;
  PeerKey peer;
  if (!peer_key_from(from, peer)) return datagrams;
  if (!source_.allowed(peer.address.data(), peer.ipv6)) {
    for (uint64_t i = 0; i < datagrams; ++i) {
      source_.report_error(kNotAllowed, peer_text(peer), "sender is not in allowed_senders");
    }
    return datagrams;
  }
  note_sender(peer);
  if (truncated) {
    // Cut by the kernel (it did not fit a slot): what is there is not whole.
    for (uint64_t i = 0; i < datagrams; ++i) report_oversized(peer);
    return datagrams;
  }
  for (uint64_t i = 0; i < datagrams; ++i) {
    const size_t offset = size_t(i) * step;
    handle_datagram(data + offset, std::min(step, size - offset), peer, receive_ns);
  }
  return datagrams;
}

void UdpListener::handle_datagram(const uint8_t* data, size_t size, const PeerKey& peer,
                                  uint64_t receive_ns) {
  if (raw_ && size > source_.max_message_size()) {
    report_oversized(peer);
    return;
  }
  if (raw_) {
    handle_raw(data, size, receive_ns);
  } else {
    handle_mcap(data, size, peer, receive_ns);
  }
}

void UdpListener::report_oversized(const PeerKey& peer) {
  source_.report_error(decode_reason_name(DecodeReason::kOversized), peer_text(peer),
                       "datagram larger than max_message_size (" +
                           std::to_string(source_.max_message_size()) + " bytes)");
}

void UdpListener::note_sender(const PeerKey& peer) {
  if (any_seen_ && peer == last_seen_) return;
  last_seen_ = peer;
  any_seen_ = true;
  if (seen_.count(peer) != 0) return;
  if (seen_.size() < kMaxSenders) seen_.insert(peer);
  source_.add_peer(peer_text(peer));
}

void UdpListener::handle_raw(const uint8_t* data, size_t size, uint64_t receive_ns) {
  raw_batch_.push_back(
      pipeline::OutgoingMessage{receive_ns, receive_ns, raw_sequence_++, {data, size}});
}

void UdpListener::push_raw_batch() {
  if (raw_batch_.empty()) return;
  const pipeline::BatchPushResult result = source_.pipeline().push_batch(raw_channel_, raw_batch_);
  pending_messages_ += result.accepted;
  pending_bytes_ += result.accepted_bytes;
  raw_batch_.clear();
}

void UdpListener::handle_mcap(const uint8_t* data, size_t size, const PeerKey& peer,
                              uint64_t receive_ns) {
  auto it = senders_.find(peer);
  if (it == senders_.end()) {
    if (senders_.size() >= kMaxSenders) {
      source_.report_error(kTooManySenders, peer_text(peer),
                           "more than " + std::to_string(kMaxSenders) + " senders");
      return;
    }
    it = senders_.emplace(peer, std::make_unique<Sender>(source_)).first;
  }
  events_.sender = it->second.get();
  events_.peer = &peer;
  events_.receive_ns = receive_ns;
  const DecodeStatus status = decoder_.decode({data, size}, it->second->definitions, events_);
  if (!status) {
    source_.report_error(decode_reason_name(status.error().reason), peer_text(peer),
                         status.error().to_string());
  }
}

void UdpListener::Events::on_channel(InBandChannelId id, const ChannelDefinition& definition) {
  if (base::Status declared = sender->channels.declare(id, definition); !declared) {
    // Its messages are skipped by route() below.
    listener_.source_.report_error(kDeclareFailed, peer_text(*peer), declared.error().message);
  }
}

void UdpListener::Events::on_message(const mcap::Message& message) {
  const std::optional<ChannelMapping::Route> route = sender->channels.route(message, receive_ns);
  if (!route) return;  // its declaration failed (counted)
  const pipeline::PushResult result = listener_.source_.pipeline().push(
      route->channel, route->log_time, message.publish_time, message.sequence, message.data);
  if (result.ok()) {
    ++listener_.pending_messages_;
    listener_.pending_bytes_ += message.data.size();
  }
}

}  // namespace mcaprec::ingest
