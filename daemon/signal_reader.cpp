#include "daemon/signal_reader.hpp"

#include <sys/signalfd.h>
#include <unistd.h>

#include <boost/asio/posix/descriptor_base.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>

namespace mcaprec::daemon {

base::Result<std::unique_ptr<SignalReader>> SignalReader::open(boost::asio::io_context& io,
                                                               std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int number : signals) sigaddset(&set, number);
  if (const int error = pthread_sigmask(SIG_BLOCK, &set, nullptr); error != 0) {
    return base::Error{0, std::string("cannot block the signals: ") + std::strerror(error)};
  }
  const int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) {
    return base::Error{0, std::string("cannot open a signalfd: ") + std::strerror(errno)};
  }
  return std::unique_ptr<SignalReader>(
      new SignalReader(boost::asio::posix::stream_descriptor(io, fd)));
}

SignalReader::SignalReader(boost::asio::posix::stream_descriptor descriptor)
    : descriptor_(std::move(descriptor)) {}

void SignalReader::async_wait(std::function<void(int signal_number)> handler) {
  descriptor_.async_wait(
      boost::asio::posix::descriptor_base::wait_read,
      [this, handler = std::move(handler)](boost::system::error_code error) mutable {
        if (error) return;  // cancelled
        signalfd_siginfo info;
        const ssize_t got = ::read(descriptor_.native_handle(), &info, sizeof(info));
        if (got != static_cast<ssize_t>(sizeof(info))) {
          async_wait(std::move(handler));  // another reader was first, or EINTR: wait again
          return;
        }
        handler(static_cast<int>(info.ssi_signo));
      });
}

void SignalReader::cancel() {
  boost::system::error_code ignored;
  descriptor_.cancel(ignored);
}

}  // namespace mcaprec::daemon
