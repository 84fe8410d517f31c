// mcaprec ctl: talks to a running mcaprecd through its control endpoint (pause, resume, split,
// events, status). The daemon does the work; this prints its answers for people or scripts.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_helpers.hpp"
#include "commands.hpp"
#include "config/config.hpp"
#include "config/loader.hpp"
#include "ctl_client.hpp"

namespace mcaprec::tool {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char kHelp[] =
    "Usage: mcaprec ctl [CONNECTION] [--json] COMMAND [ARGS]\n"
    "\n"
    "Controls a running mcaprecd through its control endpoint (HTTP/1.1 + JSON on a Unix\n"
    "socket, or on loopback TCP with a bearer token).\n"
    "\n"
    "Commands:\n"
    "  status                          state, current file, pauses, counts\n"
    "  pause [--topics T...] [--sources S...]\n"
    "                                  stop recording everything (no list), or the listed\n"
    "                                  topics (exact names) or sources (config names), from\n"
    "                                  now on by log time; skipped messages are counted as\n"
    "                                  `paused`, not as drops\n"
    "  resume [--topics T...] [--sources S...]\n"
    "                                  record again (no list: everything)\n"
    "  split                           finish the current file now and print its final name\n"
    "  event NAME [--before D] [--after D] [--field k=v]...\n"
    "                                  mark an event (D: 30s, 500ms, 2min)\n"
    "  events [ID]                     the recent events, or one\n"
    "\n"
    "Connection (default: --socket /run/mcaprec/control.sock):\n"
    "  --socket PATH         the daemon's control.socket\n"
    "  --config FILE         take control.socket (or control.bind and token_file) from the\n"
    "                        daemon's configuration file\n"
    "  --url URL             http://127.0.0.1:PORT, the daemon's control.bind\n"
    "  --token-file F        the bearer token for --url (the daemon's control.token_file)\n"
    "\n"
    "Options:\n"
    "  --json                print the daemon's JSON answer as it is\n"
    "  -h, --help            show this help\n"
    "\n"
    "Examples:\n"
    "  mcaprec ctl pause --topics /camera/front/image\n"
    "  mcaprec ctl resume\n"
    "  mcaprec ctl split\n"
    "  mcaprec ctl event hard_brake --before 20s --after 5s --field driver=alice\n"
    "  mcaprec ctl --url http://127.0.0.1:9465 --token-file /etc/mcaprec/token status\n"
    "\n"
    "Status counts (since the daemon started): `written` messages went into the continuous\n"
    "files; `kept` messages (record: on_event channels, with an events: section) went into the\n"
    "look-back ring only, and into an event file if an event asked for them; `dropped` were\n"
    "lost (queue full, memory budget, write errors); `paused` were not recorded on purpose. Per\n"
    "channel, received = written or kept + dropped + paused + what is still on its way. --json "
    "adds\n"
    "bytes, rates and the event ring (see the README, \"Control\").\n"
    "\n"
    "Exit status: 0 on success, 1 when the daemon refused or cannot be reached, 2 on a usage\n"
    "error.\n";

struct CtlArgs {
  std::string socket;
  std::string config_file;
  std::string url;
  std::string token_file;
  bool json = false;
  std::vector<std::string> words;  // the command and its positional arguments
  std::vector<std::string> topics;
  std::vector<std::string> sources;
  std::vector<std::string> fields;
  std::string before;
  std::string after;
};

bool is_option(const std::string& arg) {
  return arg.starts_with("--");
}

// Options may come anywhere; --topics, --sources take every word up to the next option.
std::optional<std::string> parse_ctl_args(std::span<const std::string> args, CtlArgs& out) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&](std::string& into) -> std::optional<std::string> {
      if (i + 1 >= args.size()) return arg + " needs a value";
      into = args[++i];
      return std::nullopt;
    };
    auto values = [&](std::vector<std::string>& into) -> std::optional<std::string> {
      const size_t before = into.size();
      while (i + 1 < args.size() && !is_option(args[i + 1])) into.push_back(args[++i]);
      if (into.size() == before) return arg + " needs at least one name";
      return std::nullopt;
    };
    std::optional<std::string> problem;
    if (arg == "--json") {
      out.json = true;
    } else if (arg == "--socket") {
      problem = value(out.socket);
    } else if (arg == "--config") {
      problem = value(out.config_file);
    } else if (arg == "--url") {
      problem = value(out.url);
    } else if (arg == "--token-file") {
      problem = value(out.token_file);
    } else if (arg == "--topics" || arg == "--topic") {
      problem = values(out.topics);
    } else if (arg == "--sources" || arg == "--source") {
      problem = values(out.sources);
    } else if (arg == "--field") {
      problem = value(out.fields.emplace_back());
    } else if (arg == "--before") {
      problem = value(out.before);
    } else if (arg == "--after") {
      problem = value(out.after);
    } else if (is_option(arg)) {
      problem = "unknown option " + arg;
    } else {
      out.words.push_back(arg);
    }
    if (problem) return problem;
  }
  return std::nullopt;
}

std::optional<std::string> read_token(const std::string& path, std::string& token) {
  std::ifstream in(path);
  if (!in || !std::getline(in, token)) return "cannot read the token from " + path;
  const size_t begin = token.find_first_not_of(" \t\r");
  const size_t end = token.find_last_not_of(" \t\r");
  token = begin == std::string::npos ? "" : token.substr(begin, end - begin + 1);
  if (token.empty()) return "the token file " + path + " is empty";
  return std::nullopt;
}

// "http://127.0.0.1:9465" (a trailing path is ignored).
std::optional<std::string> parse_url(const std::string& url, ControlTarget& to) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) return "--url must start with http://";
  std::string authority = url.substr(kScheme.size());
  authority = authority.substr(0, authority.find('/'));
  const size_t colon = authority.rfind(':');
  if (colon == std::string::npos || colon + 1 == authority.size()) {
    return "--url needs a port: http://127.0.0.1:PORT";
  }
  to.host = authority.substr(0, colon);
  if (to.host.starts_with('[') && to.host.ends_with(']'))
    to.host = to.host.substr(1, to.host.size() - 2);
  to.port = authority.substr(colon + 1);
  return std::nullopt;
}

std::optional<std::string> target_from_config(const std::string& file, ControlTarget& to) {
  auto config = config::load_config_file(file);
  if (!config) return "cannot use " + file + ":\n" + config.error_text();
  if (!config->control.socket.empty()) {
    to.socket_path = config->control.socket;
    return std::nullopt;
  }
  if (!config->control.bind) return file + " enables no control endpoint (control.socket is \"\")";
  to.host = config->control.bind->address();
  to.port = std::to_string(config->control.bind->port);
  return read_token(config->control.token_file, to.token);
}

std::optional<std::string> choose_target(const CtlArgs& args, ControlTarget& to) {
  const int ways = !args.socket.empty() + !args.url.empty() + !args.config_file.empty();
  if (ways > 1) return "give only one of --socket, --url and --config";
  if (!args.token_file.empty() && args.url.empty()) return "--token-file goes with --url";
  if (!args.url.empty()) {
    if (args.token_file.empty())
      return "--url needs --token-file (the daemon's control.token_file)";
    if (auto problem = parse_url(args.url, to)) return problem;
    return read_token(args.token_file, to.token);
  }
  if (!args.config_file.empty()) return target_from_config(args.config_file, to);
  to.socket_path = args.socket.empty() ? std::string(config::kDefaultControlSocket) : args.socket;
  return std::nullopt;
}

struct Call {
  std::string method;
  std::string target;
  Json body;  // null: no body
};

// The request a command makes, or a usage problem.
std::optional<std::string> call_for(const CtlArgs& args, Call& call) {
  const std::string& command = args.words.empty() ? "" : args.words[0];
  const size_t extra = args.words.size() - (args.words.empty() ? 0 : 1);
  const bool selects = !args.topics.empty() || !args.sources.empty();
  const bool event_options = !args.fields.empty() || !args.before.empty() || !args.after.empty();
  if (command.empty()) return "no command; try status, pause, resume, split, event or events";
  if (command != "pause" && command != "resume" && selects) {
    return "--topics and --sources go with pause and resume";
  }
  if (command != "event" && event_options) return "--before, --after and --field go with event";
  if (command == "status" || command == "split") {
    if (extra != 0) return command + " takes no arguments";
    call = command == "status" ? Call{"GET", "/v1/status", nullptr}
                               : Call{"POST", "/v1/split", nullptr};
    return std::nullopt;
  }
  if (command == "pause" || command == "resume") {
    if (extra != 0) return command + " takes its topics after --topics and sources after --sources";
    call = Call{"POST", "/v1/" + command, Json::object()};
    if (!args.topics.empty()) call.body["topics"] = args.topics;
    if (!args.sources.empty()) call.body["sources"] = args.sources;
    return std::nullopt;
  }
  if (command == "events") {
    if (extra > 1) return "events takes at most one event id";
    call = Call{"GET", extra == 1 ? "/v1/events/" + args.words[1] : "/v1/events", nullptr};
    return std::nullopt;
  }
  if (command == "event") {
    if (extra != 1) return "event needs exactly one NAME";
    call = Call{"POST", "/v1/events", Json{{"name", args.words[1]}}};
    if (!args.before.empty()) call.body["before"] = args.before;
    if (!args.after.empty()) call.body["after"] = args.after;
    Json fields = Json::object();
    for (const std::string& field : args.fields) {
      const size_t equals = field.find('=');
      if (equals == std::string::npos || equals == 0)
        return "--field wants key=value, not " + field;
      fields[field.substr(0, equals)] = field.substr(equals + 1);
    }
    if (!fields.empty()) call.body["fields"] = fields;
    return std::nullopt;
  }
  return "unknown command '" + command + "'; try status, pause, resume, split, event or events";
}

std::string text_of(const Json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

std::string pause_summary(const Json& pause) {
  if (!pause.is_object()) return "?";
  std::string text;
  if (pause.value("everything", false))
    text = "everything (since " + text_of(pause["since_utc"]) + ")";
  for (const char* kind : {"topics", "sources"}) {
    for (const Json& scope : pause.value(kind, Json::array())) {
      text += (text.empty() ? "" : ", ") +
              std::string(kind == std::string_view("topics") ? "topic " : "source ") +
              text_of(scope["name"]) + " (since " + text_of(scope["since_utc"]) + ")";
    }
  }
  return text.empty() ? "nothing" : text;
}

uint64_t count_of(const Json& value) {
  return value.is_number_unsigned() ? value.get<uint64_t>() : 0;
}

// Per reason ({"queue_full": 3, ...}) summed.
uint64_t sum_of(const Json& by_reason) {
  uint64_t sum = 0;
  if (by_reason.is_object()) {
    for (const auto& [reason, count] : by_reason.items()) sum += count_of(count);
  }
  return sum;
}

// "upload:  3 files (120.0 MiB) pending, oldest 42 s; 17 uploaded (1.2 GiB), 8.5 MiB/s;
// failures: network 2"
void print_upload(const Json& upload) {
  std::string failures;
  const auto by_reason = upload.find("failures");
  if (by_reason != upload.end() && by_reason->is_object()) {
    for (auto it = by_reason->begin(); it != by_reason->end(); ++it) {
      if (count_of(it.value()) == 0) continue;
      failures +=
          (failures.empty() ? "" : ", ") + it.key() + " " + std::to_string(count_of(it.value()));
    }
  }
  const double age = upload.value("oldest_pending_age_seconds", 0.0);
  const double rate = upload.value("bytes_per_second", 0.0);
  std::printf(
      "upload:         %llu files (%s) pending, oldest %.0f s; %llu uploaded (%s), %s/s; "
      "failures: %s\n",
      static_cast<unsigned long long>(count_of(upload["files_pending"])),
      human_size(count_of(upload["bytes_pending"])).c_str(), age,
      static_cast<unsigned long long>(count_of(upload["files_uploaded"])),
      human_size(count_of(upload["bytes_uploaded"])).c_str(),
      human_size(static_cast<uint64_t>(rate)).c_str(),
      failures.empty() ? "none" : failures.c_str());
}

// The totals line: "written" is what the continuous files got, "kept" what on-event channels
// put in the look-back ring (shown with event recording only); per channel, each channel's
// recorded messages under the name of where they went.
void print_status(const Json& status) {
  std::printf("state:          %s\n", text_of(status["state"]).c_str());
  std::printf("current file:   %s\n", text_of(status["current_file"]).c_str());
  std::printf("last finalized: %s\n", text_of(status["last_finalized_file"]).c_str());
  std::printf("paused:         %s\n", pause_summary(status["paused_by_request"]).c_str());
  const Json& totals = status["totals"];
  const bool events = status.contains("events");
  const std::string kept =
      events ? ", " + std::to_string(count_of(totals["messages_kept"])) + " kept in the ring" : "";
  std::printf(
      "messages:       %llu received, %llu written to continuous files%s, %llu dropped, "
      "%llu not recorded (paused)\n",
      static_cast<unsigned long long>(count_of(totals["messages_received"])),
      static_cast<unsigned long long>(count_of(totals["messages_written"])), kept.c_str(),
      static_cast<unsigned long long>(count_of(totals["messages_dropped"])),
      static_cast<unsigned long long>(sum_of(totals["messages_not_recorded"])));
  if (status.contains("upload")) print_upload(status["upload"]);
  for (const Json& channel : status.value("channels", Json::array())) {
    const bool on_event = channel.value("record", "") == "on_event";
    std::printf(
        "  %-32s %10llu %-7s %8llu dropped %8llu paused\n", text_of(channel["topic"]).c_str(),
        static_cast<unsigned long long>(count_of(channel["written"])),
        on_event ? "kept" : "written", static_cast<unsigned long long>(sum_of(channel["dropped"])),
        static_cast<unsigned long long>(
            count_of(channel["not_recorded"].value("paused", Json(0)))));
  }
}

// "1.5s": a window edge's distance from the trigger, in seconds.
std::string seconds_text(uint64_t nanoseconds) {
  char text[32];
  std::snprintf(text, sizeof(text), "%gs", static_cast<double>(nanoseconds) / 1e9);
  return text;
}

// One line per event: its window as before/after the trigger, its fields, its file.
void print_event(const Json& event) {
  const uint64_t trigger = count_of(event["trigger_time"]);
  const uint64_t start = count_of(event["window_start"]);
  const uint64_t end = count_of(event["window_end"]);
  std::string fields;
  const auto given = event.find("fields");
  if (given != event.end() && given->is_object()) {
    for (auto field = given->begin(); field != given->end(); ++field) {
      fields += (fields.empty() ? ", fields " : " ") + field.key() + "=" + text_of(field.value());
    }
  }
  const std::string file = event.value("file", "");
  const std::string error = event.value("error", "");
  std::printf("event %s %s: %s, trigger %s (%s before, %s after)%s%s%s%s%s\n",
              text_of(event["id"]).c_str(), text_of(event["name"]).c_str(),
              text_of(event["phase"]).c_str(), text_of(event["trigger_time_utc"]).c_str(),
              seconds_text(trigger - std::min(start, trigger)).c_str(),
              seconds_text(end - std::min(end, trigger)).c_str(), fields.c_str(),
              file.empty() ? "" : ", file ", file.c_str(),
              error.empty() ? "" : ", error: ", error.c_str());
}

void print_human(const std::string& command, const Json& answer) {
  if (command == "status") return print_status(answer);
  if (command == "pause" || command == "resume") {
    std::printf("%s from %s; paused now: %s\n", command == "pause" ? "paused" : "resumed",
                text_of(answer["at_utc"]).c_str(),
                pause_summary(answer["paused_by_request"]).c_str());
    return;
  }
  if (command == "split")
    return (void)std::printf("finalized %s\n", text_of(answer["file"]).c_str());
  if (command == "events" && answer.contains("events")) {
    if (answer["events"].empty()) std::printf("no events\n");
    for (const Json& event : answer["events"]) print_event(event);
    return;
  }
  print_event(answer);
}

int run_ctl(std::span<const std::string> arguments) {
  CtlArgs args;
  if (auto problem = parse_ctl_args(arguments, args)) return usage_error("ctl", *problem);
  Call call;
  if (auto problem = call_for(args, call)) return usage_error("ctl", *problem);
  ControlTarget target;
  if (auto problem = choose_target(args, target)) return usage_error("ctl", *problem);
  std::string error;
  const std::string body = call.body.is_null() ? "" : call.body.dump();
  const std::optional<ControlAnswer> answer =
      control_request(target, call.method, call.target, body, std::chrono::seconds(30), error);
  if (!answer) {
    std::fprintf(stderr, "mcaprec ctl: %s\n", error.c_str());
    return kExitFailure;
  }
  const Json parsed = Json::parse(answer->body, nullptr, false);
  const bool ok = answer->status >= 200 && answer->status < 300;
  if (args.json) {
    std::fputs(answer->body.c_str(), stdout);
  } else if (ok && !parsed.is_discarded()) {
    print_human(args.words[0], parsed);
  }
  if (!ok) {
    const std::string why = !parsed.is_discarded() && parsed.is_object() && parsed.contains("error")
                                ? text_of(parsed["error"])
                                : answer->body;
    std::fprintf(stderr, "mcaprec ctl: the daemon refused (%d): %s\n", answer->status, why.c_str());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

const Command kCtlCommand = {"ctl", "control a running mcaprecd: pause, resume, split, events",
                             kHelp, run_ctl};

}  // namespace mcaprec::tool
