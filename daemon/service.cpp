#include "daemon/service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include "daemon/control_api.hpp"
#include "daemon/finalize_command.hpp"
#include "daemon/http_server.hpp"
#include "daemon/metrics_text.hpp"
#include "daemon/process_stats.hpp"
#include "daemon/progress_watchdog.hpp"
#include "daemon/rates.hpp"
#include "daemon/recording_options.hpp"
#include "daemon/signal_reader.hpp"
#include "daemon/status_json.hpp"
#include "daemon/upload_runner.hpp"
#include "storage/recovery.hpp"

namespace mcaprec::daemon {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Control requests are small JSON objects; anything larger is refused with 413.
constexpr size_t kControlBodyBytes = 64 * 1024;

enum class State { kStarting, kRecording, kStopping, kStopped };

const char* state_name(State state) {
  switch (state) {
    case State::kStarting:
      return "starting";
    case State::kRecording:
      return "recording";
    case State::kStopping:
      return "stopping";
    case State::kStopped:
      return "stopped";
  }
  return "unknown";
}

std::string seconds_text(milliseconds duration) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3gs", std::chrono::duration<double>(duration).count());
  return text;
}

std::string file_name(const std::string& path) {
  return path.empty() ? std::string("(none)") : std::filesystem::path(path).filename().string();
}

// "the file rec_…_3.mcap.active", or "the open file" between files.
std::string which_file(const std::string& path) {
  return path.empty() ? std::string("the open file") : "the file " + file_name(path);
}

}  // namespace

struct Service::Impl {
  explicit Impl(ServiceOptions service_options)
      : options(std::move(service_options)),
        tick_timer(io),
        soft_deadline(io),
        hard_deadline(io),
        tracker(std::max<Clock::duration>(options.status_interval, std::chrono::seconds(1))),
        started_at(Clock::now()) {}

  ~Impl() {
    if (upload) upload->stop_uploading();
    if (metrics) metrics->stop();
    // The servers first, so that no request reaches the API while it stops.
    if (control_socket) control_socket->stop();
    if (control_tcp) control_tcp->stop();
    if (control_api) control_api->stop();
    if (drain_thread.joinable()) drain_thread.join();
    if (cut_thread.joinable()) cut_thread.join();
    if (ingest) ingest->stop();
    ingest.reset();
    pipeline.reset();
    upload.reset();             // after the pipeline: its finalizers enqueue until they are done
    finalize_commands.reset();  // the last files' commands, within one timeout
  }

  // --- start ---

  base::Status start() {
    const config::Config& config = options.config;
    if (options.handle_signals) {
      // Opened first, before any thread starts, so that every thread inherits the blocked mask
      // and a SIGTERM during start-up waits for the loop instead of killing the process
      // halfway. SIGUSR1 marks the configured default event (events.signal_event).
      auto reader = SignalReader::open(io, {SIGTERM, SIGINT, SIGHUP, SIGUSR1});
      if (!reader) return reader.error();
      signals = std::move(*reader);
    }
    if (config.metrics.bind) {
      auto server = HttpServer::listen(*config.metrics.bind);
      if (!server) return server.error();
      metrics = std::move(*server);
    }
    if (base::Status bound = bind_control(config.control); !bound) return bound;

    recover_leftover_files(config.output.directory);
    if (config.upload) {
      auto runner = UploadRunner::start(config);
      if (!runner) return runner.error();
      upload = std::move(*runner);
    }

    pipeline::PipelineOptions pipeline_options = pipeline_options_for(config);
    pipeline_options.recorder_info["config_crc32"] = options.config_crc32;
    pipeline_options.recorder_info["config_file"] = options.config_path;
    pipeline_options.open_sink = options.open_sink;
    pipeline_options.free_space = options.free_space;
    pipeline_options.on_file_finished = finished_file_listeners(config);
    if (upload) {
      // Retention asks before deleting: a file the queue has not confirmed as uploaded (pending,
      // or not enqueued yet because it is being finalized right now) is kept.
      pipeline_options.upload_pending = [queue = &upload->queue()](const std::string& path) {
        return !queue->is_uploaded(std::filesystem::path(path).filename().string());
      };
      // What retention deletes leaves the queue there: a file lost in the min_free_bytes
      // emergency is reported once (by retention), not again when the uploader misses it.
      pipeline_options.on_file_deleted = [runner = upload.get()](const std::string& path) {
        runner->forget(path);
      };
    }
    auto started = pipeline::Pipeline::start(std::move(pipeline_options));
    if (!started) {
      return base::Error{
          0, "cannot record into " + config.output.directory + ": " + started.error().message};
    }
    pipeline = std::move(*started);

    auto listening = options.start_ingest(config, *pipeline);
    if (!listening) {
      discard_empty_recording();
      return base::Error{0, listening.error().message};
    }
    ingest = std::move(*listening);

    if (metrics) {
      metrics->serve(HttpGetHandler([this](std::string_view path) { return serve_http(path); }));
    }
    serve_control();
    state.store(State::kRecording);
    announce();
    return {};
  }

  // --- control endpoint ---

  // Bound before anything is recorded, so that a socket in use is a start-up error. The default
  // socket lives in the unit's RuntimeDirectory: started by hand, without /run/mcaprec, the
  // daemon runs without it (and says so) rather than refusing to record.
  base::Status bind_control(const config::Control& control) {
    HttpLimits limits;
    limits.max_body_bytes = kControlBodyBytes;
    if (!control.socket.empty()) {
      const std::filesystem::path parent = std::filesystem::path(control.socket).parent_path();
      std::error_code ec;
      if (control.socket == config::kDefaultControlSocket && !std::filesystem::exists(parent, ec)) {
        skipped_control_directory = parent.string();  // said once started
      } else {
        if (!parent.empty()) std::filesystem::create_directories(parent, ec);
        auto server = HttpServer::listen_unix(control.socket, limits, "control");
        if (!server) return server.error();
        control_socket = std::move(*server);
      }
    }
    if (control.bind) {
      base::Result<std::string> token = read_token(control.token_file);
      if (!token) return token.error();
      control_token = std::move(*token);
      auto server = HttpServer::listen(*control.bind, limits, "control");
      if (!server) return server.error();
      control_tcp = std::move(*server);
    }
    return {};
  }

  // The first line of the file, without surrounding blanks. Never logged.
  static base::Result<std::string> read_token(const std::string& path) {
    std::ifstream in(path);
    std::string token;
    if (!in || !std::getline(in, token)) {
      return base::Error{0, "control: cannot read the token from " + path};
    }
    const size_t begin = token.find_first_not_of(" \t\r");
    const size_t end = token.find_last_not_of(" \t\r");
    token = begin == std::string::npos ? std::string() : token.substr(begin, end - begin + 1);
    if (token.empty()) return base::Error{0, "control: the token file " + path + " is empty"};
    return token;
  }

  void serve_control() {
    if (!control_socket && !control_tcp) return;
    ControlOptions control_options;
    for (const config::Source& source : options.config.sources) {
      control_options.source_names.push_back(source.name);
    }
    control_api = std::make_unique<ControlApi>(
        *pipeline, [this] { return snapshot(); }, std::move(control_options));
    if (control_socket) {
      control_socket->serve(control_api->handler());
      spdlog::info("control: http+unix://{} (mcaprec ctl --socket {})",
                   options.config.control.socket, options.config.control.socket);
    }
    if (control_tcp) {
      control_tcp->serve(control_api->handler(control_token));
      const config::Endpoint bound{options.config.control.bind->host, control_tcp->port()};
      spdlog::info("control: http://{}/v1/ (bearer token from {})", bound.to_string(),
                   options.config.control.token_file);
    }
  }

  // Files a crash left `.active` are completed and renamed before anything new is recorded.
  // A file that cannot be recovered stays where it is; recording starts regardless.
  static void recover_leftover_files(const std::string& directory) {
    auto result = storage::recover_directory(directory);
    if (!result) {
      spdlog::error("recovery of {}: {}", directory, result.error().message);
      return;
    }
    for (const storage::RecoveryReport& report : result->recovered) {
      spdlog::warn("recovered {}", storage::describe(report));
    }
    for (const std::string& removed : result->removed) {
      spdlog::warn("removed {}: a power cut left nothing of it", file_name(removed));
    }
    for (const storage::FailedRecovery& failed : result->failed) {
      spdlog::error("cannot recover {}: {}; left as it is", file_name(failed.path),
                    failed.error.message);
    }
  }

  // A start that failed after the first file was opened leaves no empty recording behind
  // (under Restart=on-failure it would otherwise leave one per attempt).
  void discard_empty_recording() {
    (void)pipeline->stop();
    const pipeline::PipelineStats stats = pipeline->stats();
    if (stats.writer.messages_written == 0 && !stats.finalizer.last_finalized_file.empty()) {
      std::error_code ignored;
      std::filesystem::remove(stats.finalizer.last_finalized_file, ignored);
      if (upload) upload->forget(stats.finalizer.last_finalized_file);
    }
    pipeline.reset();
  }

  void announce() {
    const pipeline::PipelineStats stats = pipeline->stats();
    spdlog::info("mcaprecd {} recording into {} (first file {}); configuration {} (crc32 {})",
                 MCAPREC_VERSION, options.config.output.directory,
                 file_name(stats.file.current_file), options.config_path, options.config_crc32);
    // The listeners log their own addresses as they bind.
    const size_t sources = ingest->stats().size();
    if (metrics) {
      const config::Endpoint& bind = *options.config.metrics.bind;
      config::Endpoint bound{bind.host, metrics->port()};
      spdlog::info("metrics: http://{}/metrics and /status", bound.to_string());
    }
    if (!skipped_control_directory.empty()) {
      spdlog::warn(
          "control: {} does not exist (the systemd unit's RuntimeDirectory); no control socket. "
          "Set control.socket to a path of your own, or \"\" to silence this",
          skipped_control_directory);
    }
    if (options.config.recording.start == config::RecordingStart::kPaused) {
      spdlog::info("recording.start is paused: nothing is recorded until `mcaprec ctl resume`");
    }
    if (options.watchdog_period.count() > 0) {
      spdlog::info("watchdog: pinging every {} while the writer makes progress",
                   seconds_text(std::chrono::duration_cast<milliseconds>(tick_period())));
    }
    options.notifier->ready("Recording to " + options.config.output.directory + ", " +
                            std::to_string(sources) + " sources listening");
  }

  // --- run ---

  RunResult run() {
    if (signals) wait_for_signal();
    tick();
    io.run();
    return result;
  }

  void wait_for_signal() {
    signals->async_wait([this](int signal_number) {
      if (signal_number == SIGHUP) {
        rotate("SIGHUP");
      } else if (signal_number == SIGUSR1) {
        mark_signal_event();
      } else {
        on_stop_request(signal_number == SIGINT ? "SIGINT" : "SIGTERM");
      }
      wait_for_signal();
    });
  }

  void rotate(const char* why) {
    if (state.load() != State::kRecording) {
      spdlog::info("{}: ignored while stopping", why);
      return;
    }
    spdlog::info("{}: starting a new file after {}", why,
                 file_name(pipeline->stats().file.current_file));
    pipeline->request_rotation();
  }

  void mark_signal_event() {
    if (state.load() != State::kRecording) {
      spdlog::info("SIGUSR1: ignored while stopping");
      return;
    }
    pipeline::EventRequest request;
    request.name = pipeline->event_options().signal_event;
    request.trigger = pipeline::EventTrigger::kSignal;
    request.trigger_detail = "SIGUSR1";
    if (base::Result<pipeline::EventState> marked = pipeline->mark_event(std::move(request));
        !marked) {
      spdlog::warn("SIGUSR1: {}", marked.error().message);
    }
  }

  void on_stop_request(const std::string& why) {
    switch (state.load()) {
      case State::kRecording:
        begin_shutdown(why);
        break;
      case State::kStopping:
        if (!cut) {
          cut_short("second " + why);
        } else {
          spdlog::warn("{}: already finishing the file", why);
        }
        break;
      default:
        break;
    }
  }

  void begin_shutdown(const std::string& why) {
    state.store(State::kStopping);
    // Uploads stop at once (a multipart upload resumes at the next start); recording drains.
    if (upload) upload->stop_uploading();
    const milliseconds bound = options.config.pipeline.shutdown_timeout;
    options.notifier->stopping("Stopping: draining queues and finalizing the file");
    spdlog::info("{}: stopping; draining the queues and finalizing {} (at most {})", why,
                 which_file(pipeline->stats().file.current_file), seconds_text(bound));
    drain_thread = std::thread([this] {
      // Listeners first, so that nothing new arrives while the queues drain.
      ingest->stop();
      base::Status status = pipeline->stop();
      if (upload) upload->finish_uploading();
      asio::post(io, [this, status] { on_drained(status); });
    });
    soft_deadline.expires_after(bound * 3 / 4);
    soft_deadline.async_wait([this](boost::system::error_code error) {
      if (!error && !cut) cut_short("shutdown_timeout nearly reached");
    });
    hard_deadline.expires_after(bound);
    hard_deadline.async_wait([this](boost::system::error_code error) {
      if (!error) abandon();
    });
  }

  // Finalize what is there now: the pipeline drops what is not yet compressed, and a stop()
  // from this thread makes blocked pushers give up so the listeners can close.
  void cut_short(const std::string& why) {
    cut = true;
    spdlog::warn("{}: finishing the file now; messages not yet compressed are dropped", why);
    options.notifier->status("Stopping: finishing the file now");
    pipeline->cut_drain();
    cut_thread = std::thread([this] { (void)pipeline->stop(); });
  }

  void on_drained(const base::Status& status) {
    finish_loop();
    state.store(State::kStopped);
    const pipeline::PipelineStats stats = pipeline->stats();
    const Totals totals = Totals::from(stats);
    if (status) {
      spdlog::info(
          "stopped: {} messages received, {} written, {} dropped; files finished: {}, the last "
          "{}",
          totals.messages_received, stats.writer.messages_written, totals.messages_dropped,
          stats.finalizer.files_finalized, file_name(stats.finalizer.last_finalized_file));
      result.exit_code = 0;
    } else {
      spdlog::error("stopped with a write failure: {}", status.error().message);
      result.exit_code = 1;
    }
    options.notifier->status(status ? "Stopped" : "Stopped after a write failure");
  }

  void abandon() {
    spdlog::critical(
        "the writer did not finish within pipeline.shutdown_timeout ({}); exiting without "
        "finalizing {} (recovered at the next start)",
        seconds_text(options.config.pipeline.shutdown_timeout),
        which_file(pipeline->stats().file.current_file));
    result = RunResult{1, true};
    finish_loop();
  }

  void finish_loop() {
    tick_timer.cancel();
    soft_deadline.cancel();
    hard_deadline.cancel();
    if (signals) signals->cancel();
    io.stop();
  }

  // --- periodic work ---

  Clock::duration tick_period() const {
    Clock::duration period = std::chrono::seconds(1);
    if (options.watchdog_period.count() > 0) {
      // systemd recommends pinging at half the period; a quarter leaves room for a late tick.
      period = std::min<Clock::duration>(period, options.watchdog_period / 4);
    }
    return std::max<Clock::duration>(period, milliseconds(10));
  }

  void tick() {
    const Clock::time_point now = Clock::now();
    const pipeline::PipelineStats stats = pipeline->stats();
    tracker.add(now, Totals::from(stats));
    const Rates rates = tracker.rates();
    bool stalled = false;
    if (options.watchdog_period.count() > 0) stalled = check_progress(stats, now);
    {
      std::lock_guard lock(shared_mutex);
      shared_rates = rates;
      writer_stalled = stalled;
    }
    if (stats.first_error() && !first_error_logged) {
      first_error_logged = true;
      spdlog::error("write failure: {}", stats.first_error()->message);
    }
    if (now >= next_status) {
      next_status = now + options.status_interval;
      if (state.load() == State::kRecording) {
        const std::string line = status_line(stats, rates);
        options.notifier->status(line);
        spdlog::debug("{}", line);
      }
    }
    tick_timer.expires_after(tick_period());
    tick_timer.async_wait([this](boost::system::error_code error) {
      if (!error) tick();
    });
  }

  // Returns whether the writer counts as stalled.
  bool check_progress(const pipeline::PipelineStats& stats, Clock::time_point now) {
    const auto stall_after =
        std::chrono::duration_cast<Clock::duration>(options.watchdog_period / 2);
    if (!watchdog) watchdog.emplace(stall_after, now);
    // Queued messages must reach the writer within chunk_max_age; count them as pending only
    // when that is well inside the stall bound, so a slow trickle never looks like a stall.
    const auto max_age = options.config.mcap.chunk_max_age;
    const bool count_queued = max_age.count() > 0 && max_age * 2 < stall_after;
    const ProgressWatchdog::Verdict verdict =
        watchdog->observe(WriterProgress::from(stats, count_queued), now);
    if (verdict.stall_began) {
      spdlog::error(
          "the writer has made no progress for {} with {} bytes pending; withholding watchdog "
          "pings so that the service manager restarts the daemon",
          seconds_text(std::chrono::duration_cast<milliseconds>(watchdog->stalled_for(now))),
          WriterProgress::from(stats, count_queued).pending_bytes);
    }
    if (verdict.stall_ended) spdlog::warn("the writer is making progress again");
    if (verdict.ping) options.notifier->watchdog();
    return watchdog->stalled();
  }

  // --- metrics ---

  std::optional<HttpResponse> serve_http(std::string_view path) const {
    if (path == "/metrics") {
      return HttpResponse{200, kPrometheusContentType, prometheus_text(snapshot())};
    }
    if (path == "/status") {
      return HttpResponse{200, "application/json", status_json(snapshot())};
    }
    return std::nullopt;
  }

  // Everything that hears of a finished file, called in turn on the finalizer's thread.
  storage::FinishedFileListener finished_file_listeners(const config::Config& config) {
    std::vector<storage::FinishedFileListener> listeners;
    // The upload journal first: a file is enqueued durably before anything else hears of it.
    if (upload) listeners.push_back(upload->listener());
    if (!config.on_finalize.empty()) {
      finalize_commands =
          std::make_unique<FinalizeCommandRunner>(config.on_finalize, config.on_finalize_timeout);
      listeners.push_back([runner = finalize_commands.get()](const storage::FinishedFile& file) {
        if (file.ok) runner->enqueue(file.path);
      });
    }
    return call_each(std::move(listeners));
  }

  DaemonSnapshot snapshot() const {
    DaemonSnapshot snap;
    snap.version = MCAPREC_VERSION;
    snap.state = state_name(state.load());
    snap.uptime_seconds = std::chrono::duration<double>(Clock::now() - started_at).count();
    snap.config_path = options.config_path;
    snap.config_crc32 = options.config_crc32;
    snap.directory = options.config.output.directory;
    snap.process = read_process_stats();
    snap.output_free_bytes = free_bytes(snap.directory);
    if (pipeline) snap.pipeline = pipeline->stats();
    if (ingest) snap.sources = ingest->stats();
    if (upload) snap.upload = upload->stats();
    if (finalize_commands) snap.on_finalize = finalize_commands->stats();
    std::lock_guard lock(shared_mutex);
    snap.rates = shared_rates;
    snap.writer_stalled = writer_stalled;
    return snap;
  }

  ServiceOptions options;
  asio::io_context io;
  std::unique_ptr<SignalReader> signals;
  asio::steady_timer tick_timer;
  asio::steady_timer soft_deadline;
  asio::steady_timer hard_deadline;
  RateTracker tracker;
  std::optional<ProgressWatchdog> watchdog;
  Clock::time_point next_status{};
  const Clock::time_point started_at;
  std::atomic<State> state{State::kStarting};
  bool cut = false;
  bool first_error_logged = false;
  RunResult result;

  // Read by the metrics thread.
  mutable std::mutex shared_mutex;
  Rates shared_rates;
  bool writer_stalled = false;

  std::unique_ptr<HttpServer> metrics;
  std::unique_ptr<HttpServer> control_socket;
  std::unique_ptr<HttpServer> control_tcp;
  std::string control_token;
  std::string skipped_control_directory;  // the default socket's, when it is missing
  std::unique_ptr<ControlApi> control_api;
  std::unique_ptr<UploadRunner> upload;  // before the pipeline, so it outlives it
  // Before the pipeline: its finalizer calls the runner until the pipeline is gone.
  std::unique_ptr<FinalizeCommandRunner> finalize_commands;
  std::unique_ptr<pipeline::Pipeline> pipeline;
  std::unique_ptr<ingest::IngestServer> ingest;
  std::thread drain_thread;
  std::thread cut_thread;
};

base::Result<std::unique_ptr<Service>> Service::start(ServiceOptions options) {
  if (options.notifier == nullptr || !options.start_ingest) {
    return base::Error{0, "service needs a notifier and an ingest starter"};
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  if (base::Status status = impl->start(); !status) return status.error();
  return std::unique_ptr<Service>(new Service(std::move(impl)));
}

Service::Service(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Service::~Service() = default;

RunResult Service::run() {
  return impl_->run();
}

void Service::request_stop() {
  asio::post(impl_->io, [impl = impl_.get()] { impl->on_stop_request("stop request"); });
}

void Service::request_rotation() {
  asio::post(impl_->io, [impl = impl_.get()] { impl->rotate("rotation request"); });
}

uint16_t Service::control_port() const {
  return impl_->control_tcp ? impl_->control_tcp->port() : 0;
}

uint16_t Service::metrics_port() const {
  return impl_->metrics ? impl_->metrics->port() : 0;
}

DaemonSnapshot Service::snapshot() const {
  return impl_->snapshot();
}

}  // namespace mcaprec::daemon
