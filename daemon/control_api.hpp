#pragma once
// The control endpoint's routes (HTTP/1.1, JSON bodies), served by HttpServer on the control
// socket and, with a bearer token, on a loopback TCP address:
//
//   GET  /v1/status          the /status document
//   POST /v1/pause           body optional: {"topics": [...], "sources": [...]}; none = all
//   POST /v1/resume          the same
//   POST /v1/split           ends the current file; answers its final name once finalized
//   POST /v1/events          {"name", "before", "after", "fields": {k: v}} -> mark_event
//   GET  /v1/events          the recent events
//   GET  /v1/events/{id}     one event
//
// Every answer is JSON; every refusal is a 4xx/5xx with {"error": "..."}. A request never
// disturbs recording: routes only call the pipeline's thread-safe control methods. A split waits
// for the finalizer on the API's own worker thread, so the server keeps answering meanwhile.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/result.hpp"
#include "daemon/http_server.hpp"
#include "daemon/snapshot.hpp"
#include "pipeline/pipeline.hpp"

namespace mcaprec::daemon {

struct ControlOptions {
  std::vector<std::string> source_names;  // the configured sources, to check pause requests
  std::chrono::milliseconds split_timeout{10000};
};

// Pure parts, for tests.
// {"topics": [...], "sources": [...]} (an empty body is everything), or a message for a 400.
base::Result<pipeline::PauseSelector> parse_pause_body(const std::string& body);
// {"name", "before", "after", "fields"}; before/after as "30s"-style text or seconds.
base::Result<pipeline::EventRequest> parse_event_body(const std::string& body);
// True when `authorization` is "Bearer <token>" (compared in constant time).
bool bearer_matches(const std::string& authorization, const std::string& token);

class ControlApi {
 public:
  ControlApi(pipeline::Pipeline& pipeline, std::function<DaemonSnapshot()> snapshot,
             ControlOptions options);
  ~ControlApi();  // stop()
  ControlApi(const ControlApi&) = delete;
  ControlApi& operator=(const ControlApi&) = delete;

  // The handler for one listener; a non-empty `token` must come as "Authorization: Bearer".
  HttpHandler handler(std::string token = "");
  // Answers what waits (503) and joins the worker. Call after the servers have stopped.
  void stop();

 private:
  void handle(const HttpRequest& request, HttpReply reply);
  HttpResponse pause_or_resume(const HttpRequest& request, bool pause);
  HttpResponse mark_event(const HttpRequest& request);
  HttpResponse event_by_id(std::string_view id_text);
  void split(HttpReply reply);
  void run_worker();

  pipeline::Pipeline& pipeline_;
  std::function<DaemonSnapshot()> snapshot_;
  const ControlOptions options_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<HttpReply> splits_;  // guarded by mu_: requests waiting for the worker
  bool stopping_ = false;         // guarded by mu_
  std::thread worker_;
};

}  // namespace mcaprec::daemon
