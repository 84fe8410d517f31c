#pragma once
// The signals the daemon acts on, read as data on its event loop through a signalfd.
//
// They are blocked in the thread that opens the reader and in every thread started after it
// (threads inherit the mask), so no handler ever runs: a worker's system call is never
// interrupted, a signal sent during start-up waits in the kernel until the loop reads it, and
// nothing depends on how a runtime (ThreadSanitizer defers handlers to a later call of the
// receiving thread, and lost a SIGTERM that way) delivers asynchronous handlers.
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <initializer_list>
#include <memory>

#include "base/result.hpp"

namespace mcaprec::daemon {

class SignalReader {
 public:
  // Blocks `signals` in the calling thread; open it before starting any other thread.
  static base::Result<std::unique_ptr<SignalReader>> open(boost::asio::io_context& io,
                                                          std::initializer_list<int> signals);

  // Calls `handler` with the next signal, on the loop. One wait at a time.
  void async_wait(std::function<void(int signal_number)> handler);
  void cancel();

 private:
  explicit SignalReader(boost::asio::posix::stream_descriptor descriptor);
  boost::asio::posix::stream_descriptor descriptor_;
};

}  // namespace mcaprec::daemon
