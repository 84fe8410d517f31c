#pragma once
// The recording service from start to exit, everything but the command line:
//
//   start:  bind the metrics endpoint, start the pipeline (which creates the output directory
//           and opens the first file), bind every source, then READY=1. Any failure is one
//           error line and nothing is left behind (an empty first file is removed).
//   run:    SIGTERM/SIGINT stop, SIGHUP rotates; every tick the rates are updated, STATUS= is
//           sent every status_interval, and WATCHDOG=1 while the writer makes progress.
//   stop:   STOPPING=1, stop the listeners, drain the queues, finalize the file. At 3/4 of
//           pipeline.shutdown_timeout (or on a second SIGTERM) the drain is cut short: messages
//           not yet compressed are dropped (and counted) and the file is finalized with what is
//           there. At shutdown_timeout the service gives up on a writer that does not return
//           (a hung disk) and reports it abandoned: the caller exits at once and the `.active`
//           file is recovered at the next start.
// No work happens in signal handlers: Asio turns signals into events on the service's loop.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "config/config.hpp"
#include "daemon/notifier.hpp"
#include "daemon/snapshot.hpp"
#include "ingest/ingest_server.hpp"
#include "pipeline/pipeline.hpp"
#include "storage/output_file.hpp"

namespace mcaprec::daemon {

using IngestStarter = std::function<base::Result<std::unique_ptr<ingest::IngestServer>>(
    const config::Config&, pipeline::Pipeline&)>;

struct ServiceOptions {
  config::Config config;
  std::string config_path;
  std::string config_crc32;                      // 8 hex digits, written into every file's metadata
  IngestStarter start_ingest;                    // ingest::IngestServer::start in the daemon
  Notifier* notifier = nullptr;                  // required; outlives the service
  std::chrono::microseconds watchdog_period{0};  // 0 = no WATCHDOG=1 pings
  std::chrono::milliseconds status_interval{5000};
  bool handle_signals = true;      // SIGTERM, SIGINT, SIGHUP; tests call the request_… methods
  storage::SinkFactory open_sink;  // empty = real files; tests substitute stalling sinks
  storage::FreeSpaceProbe free_space;  // empty = statvfs; tests substitute a small disk
};

struct RunResult {
  int exit_code = 0;
  // The shutdown bound passed with the writer still busy: threads are still running, so the
  // caller must exit the process (std::_Exit) rather than destroy the service.
  bool abandoned = false;
};

class Service {
 public:
  static base::Result<std::unique_ptr<Service>> start(ServiceOptions options);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Serves until the pipeline is stopped and finalized (or abandoned).
  RunResult run();

  // Any thread: what SIGTERM and SIGHUP do.
  void request_stop();
  void request_rotation();

  uint16_t metrics_port() const;  // 0 when metrics are off
  uint16_t control_port() const;  // the control.bind TCP port; 0 when there is none
  DaemonSnapshot snapshot() const;

 private:
  struct Impl;
  explicit Service(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mcaprec::daemon
