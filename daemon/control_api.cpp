#include "daemon/control_api.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "config/units.hpp"
#include "daemon/status_json.hpp"

namespace mcaprec::daemon {
namespace {

using Json = nlohmann::ordered_json;

HttpResponse json_response(int status, const Json& body) {
  return HttpResponse{status, "application/json",
                      body.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n", ""};
}

HttpResponse error_response(int status, const std::string& message) {
  return json_response(status, Json{{"error", message}});
}

HttpResponse method_not_allowed(const std::string& allowed) {
  HttpResponse response = error_response(405, "method not allowed; use " + allowed);
  response.allow = allowed;
  return response;
}

// An object parsed from `body`, or a message for a 400. An empty body is an empty object.
base::Result<Json> parse_object(const std::string& body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return Json::object();
  Json parsed = Json::parse(body, nullptr, false);
  if (parsed.is_discarded()) return base::Error{0, "the body is not valid JSON"};
  if (!parsed.is_object()) return base::Error{0, "the body must be a JSON object"};
  return parsed;
}

base::Status only_keys(const Json& object, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return base::Error{0, "unknown key \"" + key + "\""};
    }
  }
  return {};
}

base::Result<std::vector<std::string>> string_list(const Json& object, const char* key) {
  std::vector<std::string> out;
  if (!object.contains(key)) return out;
  const Json& list = object[key];
  if (!list.is_array()) return base::Error{0, std::string(key) + " must be a list of names"};
  for (const Json& item : list) {
    if (!item.is_string() || item.get<std::string>().empty()) {
      return base::Error{0, std::string(key) + " must hold non-empty strings"};
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

// "30s", "500ms", "2min" or a number of seconds.
base::Result<std::chrono::nanoseconds> duration_value(const Json& value, const char* key) {
  if (value.is_number() && value.get<double>() >= 0) {
    return std::chrono::nanoseconds(static_cast<int64_t>(value.get<double>() * 1e9));
  }
  if (value.is_string()) {
    config::Parsed<std::chrono::milliseconds> parsed =
        config::parse_duration(value.get<std::string>());
    if (parsed.ok()) return std::chrono::nanoseconds(*parsed.value);
    return base::Error{0, std::string(key) + ": " + parsed.error};
  }
  return base::Error{0, std::string(key) + " must be a duration such as \"30s\" or seconds"};
}

bool is_event_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

const char* trigger_name(pipeline::EventTrigger trigger) {
  switch (trigger) {
    case pipeline::EventTrigger::kControl:
      return "control";
    case pipeline::EventTrigger::kSignal:
      return "signal";
    case pipeline::EventTrigger::kRule:
      return "rule";
  }
  return "unknown";
}

const char* phase_name(pipeline::EventPhase phase) {
  switch (phase) {
    case pipeline::EventPhase::kWaiting:
      return "waiting";
    case pipeline::EventPhase::kWriting:
      return "writing";
    case pipeline::EventPhase::kFinalized:
      return "finalized";
    case pipeline::EventPhase::kFailed:
      return "failed";
  }
  return "unknown";
}

Json event_json(const pipeline::EventState& event) {
  Json fields = Json::object();
  for (const auto& [key, value] : event.request.fields) fields[key] = value;
  return Json{{"id", event.id},
              {"name", event.request.name},
              {"trigger", trigger_name(event.request.trigger)},
              {"trigger_detail", event.request.trigger_detail},
              {"trigger_time", event.trigger_time},
              {"trigger_time_utc", utc_text(event.trigger_time)},
              {"window_start", event.window_start},
              {"window_end", event.window_end},
              {"phase", phase_name(event.phase)},
              {"file", event.file},
              {"error", event.error},
              {"chunks_missing", event.chunks_missing},
              {"fields", fields}};
}

}  // namespace

base::Result<pipeline::PauseSelector> parse_pause_body(const std::string& body) {
  base::Result<Json> object = parse_object(body);
  if (!object) return object.error();
  if (base::Status known = only_keys(*object, {"topics", "sources"}); !known) {
    return known.error();
  }
  pipeline::PauseSelector selector;
  base::Result<std::vector<std::string>> topics = string_list(*object, "topics");
  if (!topics) return topics.error();
  base::Result<std::vector<std::string>> sources = string_list(*object, "sources");
  if (!sources) return sources.error();
  selector.topics = std::move(*topics);
  selector.sources = std::move(*sources);
  return selector;
}

base::Result<pipeline::EventRequest> parse_event_body(const std::string& body) {
  base::Result<Json> object = parse_object(body);
  if (!object) return object.error();
  if (base::Status known = only_keys(*object, {"name", "before", "after", "fields"}); !known) {
    return known.error();
  }
  pipeline::EventRequest request;
  if (!object->contains("name") || !(*object)["name"].is_string()) {
    return base::Error{0, "name is required (letters, digits, '_', '-', '.')"};
  }
  request.name = (*object)["name"].get<std::string>();
  if (!is_event_name(request.name)) {
    return base::Error{0, "name \"" + request.name +
                              "\" must be 1-64 letters, digits, '_', '-' or '.' (it goes into "
                              "the file name)"};
  }
  for (const char* key : {"before", "after"}) {
    if (!object->contains(key)) continue;
    base::Result<std::chrono::nanoseconds> value = duration_value((*object)[key], key);
    if (!value) return value.error();
    (key == std::string_view("before") ? request.before : request.after) = *value;
  }
  if (object->contains("fields")) {
    const Json& fields = (*object)["fields"];
    if (!fields.is_object()) return base::Error{0, "fields must be an object of strings"};
    for (const auto& [key, value] : fields.items()) {
      request.fields[key] = value.is_string() ? value.get<std::string>() : value.dump();
    }
  }
  return request;
}

bool bearer_matches(const std::string& authorization, const std::string& token) {
  constexpr std::string_view kScheme = "Bearer ";
  if (token.empty() || !authorization.starts_with(kScheme)) return false;
  const std::string_view given = std::string_view(authorization).substr(kScheme.size());
  // Every byte is compared whatever the first difference, so the time says nothing about it.
  unsigned char difference = given.size() == token.size() ? 0 : 1;
  for (size_t i = 0; i < token.size(); ++i) {
    difference |= static_cast<unsigned char>(token[i] ^ (i < given.size() ? given[i] : 0));
  }
  return difference == 0;
}

ControlApi::ControlApi(pipeline::Pipeline& pipeline, std::function<DaemonSnapshot()> snapshot,
                       ControlOptions options)
    : pipeline_(pipeline),
      snapshot_(std::move(snapshot)),
      options_(std::move(options)),
      worker_([this] { run_worker(); }) {}

ControlApi::~ControlApi() {
  stop();
}

HttpHandler ControlApi::handler(std::string token) {
  return [this, token = std::move(token)](HttpRequest request, HttpReply reply) {
    if (!token.empty() && !bearer_matches(request.authorization, token)) {
      return reply(error_response(
          401, request.authorization.empty()
                   ? "missing bearer token (Authorization: Bearer <control.token_file>)"
                   : "wrong bearer token"));
    }
    handle(request, std::move(reply));
  };
}

void ControlApi::handle(const HttpRequest& request, HttpReply reply) {
  const std::string& path = request.path;
  const bool get = request.method == "GET";
  const bool post = request.method == "POST";
  if (path == "/v1/status") {
    if (!get) return reply(method_not_allowed("GET"));
    return reply(HttpResponse{200, "application/json", status_json(snapshot_()), ""});
  }
  if (path == "/v1/pause" || path == "/v1/resume") {
    if (!post) return reply(method_not_allowed("POST"));
    return reply(pause_or_resume(request, path == "/v1/pause"));
  }
  if (path == "/v1/split") {
    if (!post) return reply(method_not_allowed("POST"));
    return split(std::move(reply));
  }
  if (path == "/v1/events") {
    if (post) return reply(mark_event(request));
    if (!get) return reply(method_not_allowed("GET, POST"));
    Json list = Json::array();
    for (const pipeline::EventState& event : pipeline_.events()) list.push_back(event_json(event));
    return reply(json_response(200, Json{{"events", list}}));
  }
  if (path.starts_with("/v1/events/")) {
    if (!get) return reply(method_not_allowed("GET"));
    return reply(
        event_by_id(std::string_view(path).substr(std::string_view("/v1/events/").size())));
  }
  reply(error_response(404, "no such route " + path +
                                "; try GET /v1/status, POST /v1/pause, /v1/resume, /v1/split, "
                                "/v1/events"));
}

HttpResponse ControlApi::pause_or_resume(const HttpRequest& request, bool pause) {
  base::Result<pipeline::PauseSelector> selector = parse_pause_body(request.body);
  if (!selector) return error_response(400, selector.error().message);
  for (const std::string& source : selector->sources) {
    const auto& names = options_.source_names;
    if (std::find(names.begin(), names.end(), source) == names.end()) {
      std::string known;
      for (const std::string& name : names) known += (known.empty() ? "" : ", ") + name;
      return error_response(400, "no source named \"" + source + "\" (sources: " + known + ")");
    }
  }
  const mcap::Timestamp at = pause ? pipeline_.pause(*selector) : pipeline_.resume(*selector);
  Json scope{{"everything", selector->everything()},
             {"topics", selector->topics},
             {"sources", selector->sources}};
  spdlog::info("control: {} {} from {}", pause ? "paused" : "resumed", scope.dump(), utc_text(at));
  return json_response(200, Json{{pause ? "paused" : "resumed", scope},
                                 {"at", at},
                                 {"at_utc", utc_text(at)},
                                 {"paused_by_request", pause_json(pipeline_.pause_state())}});
}

HttpResponse ControlApi::mark_event(const HttpRequest& request) {
  base::Result<pipeline::EventRequest> parsed = parse_event_body(request.body);
  if (!parsed) return error_response(400, parsed.error().message);
  parsed->trigger = pipeline::EventTrigger::kControl;
  base::Result<pipeline::EventState> marked = pipeline_.mark_event(std::move(*parsed));
  if (!marked) return error_response(409, marked.error().message);
  spdlog::info("control: event {} \"{}\" marked", marked->id, marked->request.name);
  return json_response(201, event_json(*marked));
}

HttpResponse ControlApi::event_by_id(std::string_view id_text) {
  uint64_t id = 0;
  const auto [end, error] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (error != std::errc() || end != id_text.data() + id_text.size()) {
    return error_response(400, "an event id is a number: GET /v1/events/{id}");
  }
  std::optional<pipeline::EventState> event = pipeline_.event(id);
  if (!event) return error_response(404, "no event " + std::to_string(id));
  return json_response(200, event_json(*event));
}

void ControlApi::split(HttpReply reply) {
  std::unique_lock lock(mu_);
  if (stopping_) {
    lock.unlock();
    return reply(error_response(503, "the recorder is stopping"));
  }
  splits_.push_back(std::move(reply));
  wake_.notify_one();
}

// Splits one request at a time: a split waits for a summary, an fdatasync and a rename.
void ControlApi::run_worker() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !splits_.empty(); });
    if (splits_.empty()) return;
    HttpReply reply = std::move(splits_.front());
    splits_.pop_front();
    if (stopping_) {
      reply(error_response(503, "the recorder is stopping"));
      continue;
    }
    lock.unlock();
    const pipeline::SplitResult result = pipeline_.split(options_.split_timeout);
    using Outcome = pipeline::SplitResult::Outcome;
    switch (result.outcome) {
      case Outcome::kFinalized:
        spdlog::info("control: split; finalized {}", result.file);
        reply(json_response(200, Json{{"file", result.file}}));
        break;
      case Outcome::kNothing:
        reply(error_response(409, result.message));
        break;
      case Outcome::kTimedOut:
        reply(error_response(504, result.file + ": " + result.message));
        break;
      case Outcome::kFailed:
        reply(error_response(500, "finalizing " + result.file + " failed: " + result.message));
        break;
      case Outcome::kStopped:
        reply(error_response(503, result.message));
        break;
    }
    lock.lock();
  }
}

void ControlApi::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !worker_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

}  // namespace mcaprec::daemon
