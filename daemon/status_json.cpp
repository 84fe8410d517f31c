#include "daemon/status_json.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <type_traits>
#include <variant>

#include "daemon/counter_table.hpp"

namespace mcaprec::daemon {
namespace {

using Json = nlohmann::ordered_json;

// Six significant digits, the precision /status has always given its rates and durations.
double six_digits(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.6g", value);
  return std::strtod(text, nullptr);
}

// `keys` in this order, each null until it is filled. /status kept the key order it had before
// the counter table, which, where it differs from the table's (the /metrics order), these lay out.
Json laid_out(std::initializer_list<const char*> keys) {
  Json json = Json::object();
  for (const char* key : keys) json[key] = nullptr;
  return json;
}

Json top_level_layout() {
  Json json = laid_out({"version",
                        "state",
                        "uptime_seconds",
                        "config",
                        "directory",
                        "current_file",
                        "last_finalized_file",
                        "files",
                        "recording_paused",
                        "pause_reason",
                        "sync",
                        "retention",
                        "rates",
                        "totals",
                        "memory",
                        "cpu_seconds",
                        "compressor_threads",
                        "writer_stalled",
                        "paused_by_request",
                        "first_error",
                        "channels",
                        "sources"});
  json["totals"] = laid_out({"messages_received", "bytes_received", "messages_written",
                             "messages_kept", "messages_dropped", "bytes_written", "chunks_written",
                             "write_errors", "uncompressed_bytes", "compressed_bytes"});
  json["cpu_seconds"] = laid_out({"writer", "compressors", "finalizer"});
  return json;
}

// Sets the key at `path` ("files.started") to the value, unless the element has none.
void put(Json& json, std::string_view path, const CounterValue& value) {
  if (path.empty() || std::holds_alternative<std::monostate>(value)) return;
  std::string pointer = "/" + std::string(path);
  for (char& c : pointer) c = c == '.' ? '/' : c;
  Json& slot = json[Json::json_pointer(pointer)];
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, double>) {
          slot = six_digits(v);
        } else if constexpr (std::is_same_v<T, std::chrono::nanoseconds>) {
          slot = six_digits(std::chrono::duration<double>(v).count());
        } else if constexpr (std::is_same_v<T, ByReason>) {
          slot = Json::object();
          for (const auto& [reason, count] : v) slot[reason] = count;
        } else if constexpr (!std::is_same_v<T, std::monostate>) {
          slot = v;
        }
      },
      value);
}

template <class Stats>
void put_all(Json& json, std::span<const Counter<Stats>> rows, const Stats& stats) {
  for (const Counter<Stats>& row : rows) put(json, row.status, row.read(stats));
}

Json channel_json(const pipeline::ChannelStats& channel) {
  Json json = laid_out({"id", "topic", "chunk_group", "record", "received", "received_bytes",
                        "written", "queued_bytes", "dropped", "not_recorded"});
  json["id"] = uint64_t{channel.id};
  json["topic"] = channel.topic;
  json["chunk_group"] = channel.chunk_group;
  json["record"] = channel.on_event ? "on_event" : "always";
  put_all(json, channel_counters(), channel);
  return json;
}

Json source_json(const ingest::SourceStats& source) {
  Json json = {{"name", source.name}, {"transport", source.transport}, {"bind", source.bind}};
  put_all(json, source_counters(), source);
  json["peers"] = source.peers;
  return json;
}

Json scopes_json(const std::vector<pipeline::PausedScope>& scopes) {
  Json list = Json::array();
  for (const pipeline::PausedScope& scope : scopes) {
    list.push_back(
        {{"name", scope.name}, {"since", scope.since}, {"since_utc", utc_text(scope.since)}});
  }
  return list;
}

}  // namespace

std::string utc_text(uint64_t nanoseconds) {
  const std::time_t seconds = static_cast<std::time_t>(nanoseconds / 1'000'000'000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[48];
  const size_t length = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + length, sizeof(text) - length, ".%09lluZ",
                static_cast<unsigned long long>(nanoseconds % 1'000'000'000));
  return text;
}

nlohmann::ordered_json pause_json(const pipeline::PauseState& state) {
  Json json;
  json["everything"] = state.everything;
  json["since"] = state.everything ? Json(state.everything_since) : Json();
  json["since_utc"] = state.everything ? Json(utc_text(state.everything_since)) : Json();
  json["topics"] = scopes_json(state.topics);
  json["sources"] = scopes_json(state.sources);
  return json;
}

std::string status_json(const DaemonSnapshot& snapshot) {
  const pipeline::PipelineStats& stats = snapshot.pipeline;
  Json json = top_level_layout();
  // Texts and lists: what is not a number has no row.
  json["version"] = snapshot.version;
  json["state"] = snapshot.state;
  json["config"] = {{"path", snapshot.config_path}, {"crc32", snapshot.config_crc32}};
  json["directory"] = snapshot.directory;
  json["current_file"] = stats.file.current_file;
  json["last_finalized_file"] = stats.finalizer.last_finalized_file;
  json["pause_reason"] = stats.file.paused ? Json(stats.file.pause_reason) : Json();
  const std::optional<base::Error> first_error = stats.first_error();
  json["first_error"] = first_error ? Json(first_error->to_string()) : Json();
  put_all(json, daemon_counters(), snapshot);
  put_all(json, recording_counters(), snapshot);
  json["paused_by_request"] = pause_json(stats.pause);
  json["channels"] = Json::array();
  for (const pipeline::ChannelStats& channel : stats.channels) {
    json["channels"].push_back(channel_json(channel));
  }
  json["sources"] = Json::array();
  for (const ingest::SourceStats& source : snapshot.sources) {
    json["sources"].push_back(source_json(source));
  }
  // Topics, peers and error texts come from outside and may hold any bytes: invalid UTF-8 is
  // written as U+FFFD rather than making dump() throw.
  return json.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace mcaprec::daemon
