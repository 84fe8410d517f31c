// The bare sink of bench/e2e_bench.sh: receives on loopback and discards, so the bench can
// show how close mcaprecd gets to what the kernel and this machine can deliver at all.
//
//   bare_sink udp PORT [BATCH [gro]]  recvmmsg up to BATCH datagrams per call (1 = recvmsg);
//                                     `gro`: let the kernel coalesce equal-sized datagrams of
//                                     one sender (UDP_GRO), as mcaprecd does by default
//   bare_sink tcp PORT           accepts connections one after the other, reads to EOF
//   bare_sink tcp PORT many      serves any number of connections at once from one thread
//                                (poll), reading each to EOF: the floor for several producers
//
// With BARE_SINK_OUTPUT=FILE in the environment it also appends every byte it receives to FILE
// (write(2) into the page cache, no fsync, no framing): the least any recorder must do, so the
// bench can tell what receiving and writing cost on this machine apart from what mcaprecd adds.
// BARE_SINK_WRAP_BYTES=N empties the file (ftruncate) each time it reaches N bytes.
//
// Prints "listening" on stderr once bound; on SIGTERM or SIGINT prints its counts as one JSON
// line on stdout (datagrams, bytes, kernel drops from SO_RXQ_OVFL, its own CPU seconds).
// Standalone on purpose (libc only): the script compiles it with the system compiler.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

volatile std::sig_atomic_t stop_requested = 0;
void on_stop(int) {
  stop_requested = 1;
}

constexpr size_t kSlotBytes = 65536;
constexpr size_t kSlotStride = kSlotBytes + 5 * 64;  // as mcaprecd: slots not 4 KiB aligned
constexpr int kReceiveBuffer = 64 << 20;  // what the bench gives mcaprecd (receive_buffer)

int output_fd = -1;        // BARE_SINK_OUTPUT, or -1: discard
uint64_t output_wrap = 0;  // BARE_SINK_WRAP_BYTES, or 0: the file only grows
uint64_t output_size = 0;  // bytes in the file since it was last emptied

// Appends what was received to the output file, if any; a failed write stops the sink. With a
// wrap size the file is emptied each time it reaches it, as a recorder's retention would delete
// its oldest file, so that the page cache reuses pages it just freed.
void keep(const uint8_t* data, size_t size) {
  while (output_fd >= 0 && size > 0) {
    const ssize_t written = write(output_fd, data, size);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      std::perror("bare_sink: write");
      stop_requested = 1;
      return;
    }
    data += written;
    size -= static_cast<size_t>(written);
    output_size += static_cast<uint64_t>(written);
    if (output_wrap > 0 && output_size >= output_wrap) {
      if (ftruncate(output_fd, 0) != 0 || lseek(output_fd, 0, SEEK_SET) != 0) {
        std::perror("bare_sink: ftruncate");
        stop_requested = 1;
        return;
      }
      output_size = 0;
    }
  }
}

struct Counts {
  uint64_t datagrams = 0;
  uint64_t bytes = 0;
  uint64_t kernel_drops = 0;
  uint64_t connections = 0;
};

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

#ifndef UDP_GRO
#define UDP_GRO 104  // linux/udp.h; glibc's netinet/udp.h has it from 2.36 on
#endif

int bound_socket(int type, int port, bool gro) {
  const int fd = socket(AF_INET, type, 0);
  if (fd < 0) return -1;
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (type == SOCK_DGRAM) {
    // Same receive buffer as the daemon, so both face the same kernel queue.
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveBuffer, sizeof(kReceiveBuffer)) != 0) {
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kReceiveBuffer, sizeof(kReceiveBuffer));
    }
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on));
    if (gro && setsockopt(fd, IPPROTO_UDP, UDP_GRO, &on, sizeof(on)) != 0) {
      std::perror("bare_sink: UDP_GRO");
    }
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// SO_RXQ_OVFL carries the socket's running drop count; keep the latest. A coalesced buffer
// (UDP_GRO) says the size of the datagrams it holds; returns how many it holds.
uint64_t read_controls(msghdr& header, size_t length, Counts& counts) {
  uint64_t datagrams = 1;
  for (cmsghdr* control = CMSG_FIRSTHDR(&header); control != nullptr;
       control = CMSG_NXTHDR(&header, control)) {
    if (control->cmsg_level == SOL_SOCKET && control->cmsg_type == SO_RXQ_OVFL) {
      uint32_t dropped = 0;
      std::memcpy(&dropped, CMSG_DATA(control), sizeof(dropped));
      counts.kernel_drops = dropped;
    } else if (control->cmsg_level == IPPROTO_UDP && control->cmsg_type == UDP_GRO) {
      int segment = 0;
      std::memcpy(&segment, CMSG_DATA(control), sizeof(segment));
      if (segment > 0) datagrams = (length + size_t(segment) - 1) / size_t(segment);
    }
  }
  return datagrams;
}

void receive_udp(int fd, unsigned batch, Counts& counts) {
  constexpr size_t kControlBytes = 64;
  std::vector<uint8_t> buffers(batch * kSlotStride);
  std::vector<uint8_t> controls(batch * kControlBytes);
  std::vector<iovec> iovecs(batch);
  std::vector<mmsghdr> headers(batch);
  while (!stop_requested) {
    for (unsigned i = 0; i < batch; ++i) {
      iovecs[i] = {buffers.data() + i * kSlotStride, kSlotBytes};
      headers[i] = {};
      headers[i].msg_hdr.msg_iov = &iovecs[i];
      headers[i].msg_hdr.msg_iovlen = 1;
      headers[i].msg_hdr.msg_control = controls.data() + i * kControlBytes;
      headers[i].msg_hdr.msg_controllen = kControlBytes;
    }
    int received = 0;
    if (batch == 1) {
      const ssize_t size = recvmsg(fd, &headers[0].msg_hdr, 0);
      if (size >= 0) {
        headers[0].msg_len = static_cast<unsigned>(size);
        received = 1;
      } else {
        received = -1;
      }
    } else {
      // Blocks for the first datagram, then takes what is queued without waiting for more.
      received = recvmmsg(fd, headers.data(), batch, MSG_WAITFORONE, nullptr);
    }
    if (received < 0) {
      if (errno == EINTR) continue;
      std::perror("bare_sink: receive");
      return;
    }
    for (int i = 0; i < received; ++i) {
      counts.datagrams += read_controls(headers[i].msg_hdr, headers[i].msg_len, counts);
      counts.bytes += headers[i].msg_len;
      keep(static_cast<const uint8_t*>(iovecs[i].iov_base), headers[i].msg_len);
    }
  }
}

void receive_tcp(int listener, Counts& counts) {
  std::vector<uint8_t> buffer(1 << 20);
  while (!stop_requested) {
    const int fd = accept(listener, nullptr, nullptr);
    if (fd < 0) {
      if (errno == EINTR) continue;
      std::perror("bare_sink: accept");
      return;
    }
    counts.connections++;
    for (;;) {
      const ssize_t size = read(fd, buffer.data(), buffer.size());
      if (size > 0) {
        counts.bytes += static_cast<uint64_t>(size);
        keep(buffer.data(), static_cast<size_t>(size));
        continue;
      }
      if (size < 0 && errno == EINTR && !stop_requested) continue;
      break;  // EOF (the sender waits for our close), an error, or a stop request
    }
    close(fd);
  }
}

// One thread for every connection: poll the listener and the open connections, read what is
// ready (up to 1 MiB per connection per round) and append it to the one output file.
void receive_tcp_many(int listener, Counts& counts) {
  std::vector<uint8_t> buffer(1 << 20);
  std::vector<pollfd> fds{{listener, POLLIN, 0}};
  while (!stop_requested) {
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      std::perror("bare_sink: poll");
      return;
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      const ssize_t size = read(fds[i].fd, buffer.data(), buffer.size());
      if (size > 0) {
        counts.bytes += static_cast<uint64_t>(size);
        keep(buffer.data(), static_cast<size_t>(size));
      } else if (size == 0 || errno != EINTR) {
        close(fds[i].fd);  // EOF (the sender waits for our close) or an error
        fds[i].fd = -1;
      }
    }
    std::erase_if(fds, [](const pollfd& entry) { return entry.fd < 0; });
    if ((fds[0].revents & POLLIN) != 0) {
      const int fd = accept(listener, nullptr, nullptr);
      if (fd >= 0) {
        counts.connections++;
        fds.push_back({fd, POLLIN, 0});
      }
    }
  }
  for (size_t i = 1; i < fds.size(); ++i) close(fds[i].fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || (std::strcmp(argv[1], "udp") != 0 && std::strcmp(argv[1], "tcp") != 0)) {
    std::fprintf(stderr, "usage: bare_sink udp PORT [BATCH [gro]] | bare_sink tcp PORT [many]\n");
    return 2;
  }
  const bool udp = std::strcmp(argv[1], "udp") == 0;
  const int port = std::atoi(argv[2]);
  const unsigned batch = argc > 3 ? static_cast<unsigned>(std::atoi(argv[3])) : 32u;
  const bool gro = argc > 4 && std::strcmp(argv[4], "gro") == 0;
  const bool many = !udp && argc > 3 && std::strcmp(argv[3], "many") == 0;
  if (udp && (batch == 0 || batch > 1024)) {
    std::fprintf(stderr, "bare_sink: BATCH must be 1 to 1024\n");
    return 2;
  }

  // Without SA_RESTART, so that a blocked receive returns EINTR and the loop sees the flag.
  struct sigaction action {};
  action.sa_handler = on_stop;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);

  if (const char* wrap = std::getenv("BARE_SINK_WRAP_BYTES"); wrap != nullptr) {
    output_wrap = std::strtoull(wrap, nullptr, 10);
  }
  if (const char* output = std::getenv("BARE_SINK_OUTPUT"); output != nullptr && *output != 0) {
    output_fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (output_fd < 0) {
      std::fprintf(stderr, "bare_sink: cannot open %s: %s\n", output, std::strerror(errno));
      return 1;
    }
  }

  const int fd = bound_socket(udp ? SOCK_DGRAM : SOCK_STREAM, port, udp && gro);
  if (fd < 0 || (!udp && listen(fd, 16) != 0)) {
    std::fprintf(stderr, "bare_sink: cannot bind 127.0.0.1:%d: %s\n", port, std::strerror(errno));
    return 1;
  }
  std::fprintf(stderr, "listening\n");

  Counts counts;
  if (udp) {
    receive_udp(fd, batch, counts);
  } else if (many) {
    receive_tcp_many(fd, counts);
  } else {
    receive_tcp(fd, counts);
  }
  close(fd);
  if (output_fd >= 0) close(output_fd);
  std::printf(
      "{\"transport\":\"%s\",\"batch\":%u,\"gro\":%s,\"datagrams\":%llu,\"bytes\":%llu,"
      "\"kernel_drops\":%llu,\"connections\":%llu,\"cpu_seconds\":%.3f}\n",
      udp ? "udp" : "tcp", udp ? batch : 0u, gro ? "true" : "false",
      static_cast<unsigned long long>(counts.datagrams),
      static_cast<unsigned long long>(counts.bytes),
      static_cast<unsigned long long>(counts.kernel_drops),
      static_cast<unsigned long long>(counts.connections), cpu_seconds());
  return 0;
}
