#pragma once
// All configured sources, listening: one Boost.Asio io_context per ingest thread, UDP and TCP
// listeners decoding into the pipeline. The daemon's one-line view of ingest:
//
//   auto ingest = IngestServer::start(config, pipeline);  // binds every source or fails
//   ...
//   ingest->stop();                                        // stop listening, close connections
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "config/config.hpp"

namespace mcaprec::pipeline {
class Pipeline;
}

namespace mcaprec::ingest {

struct SourceStats {
  std::string name;           // the source's configured name
  std::string transport;      // "tcp" | "udp"
  std::string bind;           // the bound address, e.g. "127.0.0.1:9410"
  uint64_t messages = 0;      // messages handed to the pipeline
  uint64_t bytes = 0;         // payload bytes handed to the pipeline
  uint64_t datagrams = 0;     // udp: datagrams received
  uint64_t kernel_drops = 0;  // udp: SO_RXQ_OVFL: datagrams, or buffers when coalescing
  // udp: the datagrams in what the kernel dropped. Equal to kernel_drops without coalescing;
  // with it, kernel_drops counts dropped buffers, and each counts here as many datagrams as the
  // buffer read right after it held (an estimate: a sender's bursts are usually alike).
  uint64_t kernel_dropped_datagrams = 0;
  uint64_t connections_accepted = 0;  // tcp
  uint64_t connections_open = 0;      // tcp, now
  uint64_t connections_refused = 0;   // tcp: over max_connections or not allowed
  // tcp: payload bytes read from the socket straight into queue segments (large messages),
  // never copied in user space; included in `bytes`.
  uint64_t direct_bytes = 0;
  std::map<std::string, uint64_t> errors;  // bad input by reason code ("truncated", ...)
  std::vector<std::string> peers;          // tcp: open connections; udp: recent senders
};

// Tuning of the listeners, for benchmarks and tests; the defaults are what the daemon runs.
struct IngestOptions {
  // UDP: read up to each source's `receive_batch` datagrams per system call (recvmmsg); false
  // reads one per call (recvmsg) whatever the configuration says.
  bool batched_receive = true;
};

class IngestServer {
 public:
  // Binds every source of `config` (port in use, bad multicast group... -> an Error naming the
  // source and the address) and starts config.pipeline.ingest_threads threads.
  static base::Result<std::unique_ptr<IngestServer>> start(const config::Config& config,
                                                           pipeline::Pipeline& pipeline);
  // The same with tuning options (a separate name, so that &start stays unambiguous).
  static base::Result<std::unique_ptr<IngestServer>> start_tuned(const config::Config& config,
                                                                 pipeline::Pipeline& pipeline,
                                                                 const IngestOptions& options);
  virtual ~IngestServer() = default;

  // Stops accepting and receiving, closes connections, joins the threads. Idempotent.
  virtual void stop() = 0;

  virtual std::vector<SourceStats> stats() const = 0;
};

}  // namespace mcaprec::ingest
