#include "daemon/status_json.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace mcaprec::daemon {
namespace {

using Json = nlohmann::ordered_json;

// Six significant digits, the precision /status has always given its rates and durations.
double six_digits(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.6g", value);
  return std::strtod(text, nullptr);
}

double seconds(std::chrono::nanoseconds duration) {
  return six_digits(std::chrono::duration<double>(duration).count());
}

Json channel_json(const pipeline::ChannelStats& channel) {
  Json dropped = Json::object();
  for (size_t r = 0; r < pipeline::kDropReasonCount; ++r) {
    dropped[pipeline::drop_reason_name(pipeline::DropReason(r))] = channel.dropped[r];
  }
  return {{"id", uint64_t{channel.id}},
          {"topic", channel.topic},
          {"chunk_group", channel.chunk_group},
          {"received", channel.received},
          {"received_bytes", channel.received_bytes},
          {"written", channel.written},
          {"queued_bytes", channel.queued_bytes},
          {"dropped", std::move(dropped)}};
}

Json source_json(const ingest::SourceStats& source) {
  Json json = {{"name", source.name},
               {"transport", source.transport},
               {"bind", source.bind},
               {"messages", source.messages},
               {"bytes", source.bytes}};
  if (source.transport == "udp") {
    json["datagrams"] = source.datagrams;
    json["kernel_drops"] = source.kernel_drops;
    json["kernel_dropped_datagrams"] = source.kernel_dropped_datagrams;
  } else {
    json["connections_accepted"] = source.connections_accepted;
    json["connections_open"] = source.connections_open;
    json["connections_refused"] = source.connections_refused;
  }
  Json errors = Json::object();
  for (const auto& [reason, count] : source.errors) errors[reason] = count;
  json["errors"] = std::move(errors);
  json["peers"] = source.peers;
  return json;
}

// The file, its sync and retention, rates and totals: everything before cpu_seconds.
Json recording_json(const DaemonSnapshot& snapshot) {
  const pipeline::PipelineStats& stats = snapshot.pipeline;
  const Totals totals = Totals::from(stats);
  const Rates& rates = snapshot.rates;
  return {
      {"version", snapshot.version},
      {"state", snapshot.state},
      {"uptime_seconds", six_digits(snapshot.uptime_seconds)},
      {"config", {{"path", snapshot.config_path}, {"crc32", snapshot.config_crc32}}},
      {"directory", snapshot.directory},
      {"current_file", stats.file.current_file},
      {"last_finalized_file", stats.finalizer.last_finalized_file},
      {"files",
       {{"started", stats.file.files_started},
        {"finalized", stats.finalizer.files_finalized},
        {"closed_on_error", stats.file.files_closed_on_error}}},
      {"recording_paused", stats.file.paused},
      {"pause_reason", stats.file.paused ? Json(stats.file.pause_reason) : Json()},
      {"sync",
       {{"count", stats.file.sync.syncs},
        {"errors", stats.file.sync.sync_errors},
        {"seconds", seconds(stats.file.sync.sync_time)},
        {"max_seconds", seconds(stats.file.sync.max_sync_time)}}},
      {"retention",
       {{"files_deleted", stats.file.retention_files_deleted},
        {"bytes_deleted", stats.file.retention_bytes_deleted}}},
      {"rates",
       {{"messages_received_per_second", six_digits(rates.messages_received)},
        {"bytes_received_per_second", six_digits(rates.bytes_received)},
        {"messages_written_per_second", six_digits(rates.messages_written)},
        {"bytes_written_per_second", six_digits(rates.bytes_written)},
        {"messages_dropped_per_second", six_digits(rates.messages_dropped)}}},
      {"totals",
       {{"messages_received", totals.messages_received},
        {"bytes_received", totals.bytes_received},
        {"messages_written", stats.writer.messages_written},
        {"messages_dropped", totals.messages_dropped},
        {"bytes_written", stats.writer.bytes_written},
        {"chunks_written", stats.writer.chunks_written},
        {"write_errors", stats.writer.write_errors},
        {"uncompressed_bytes", stats.compression.uncompressed_bytes},
        {"compressed_bytes", stats.compression.compressed_bytes}}},
  };
}

}  // namespace

std::string status_json(const DaemonSnapshot& snapshot) {
  const pipeline::PipelineStats& stats = snapshot.pipeline;
  Json json = recording_json(snapshot);
  json["memory"] = {{"in_use_bytes", stats.memory.in_use},
                    {"budget_bytes", stats.memory.budget},
                    {"in_flight_bytes", stats.in_flight.bytes},
                    {"in_flight_chunks", stats.in_flight.chunks},
                    {"in_flight_chunks_limit", stats.in_flight.chunk_limit},
                    {"in_flight_chunks_peak", stats.in_flight.peak_chunks}};
  json["cpu_seconds"] = {{"writer", seconds(stats.writer.cpu_time)},
                         {"compressors", seconds(stats.compression.cpu_time)},
                         {"finalizer", seconds(stats.finalizer.cpu_time)}};
  json["compressor_threads"] = uint64_t{stats.compression.threads};
  json["writer_stalled"] = snapshot.writer_stalled;
  json["first_error"] = stats.first_error() ? Json(stats.first_error()->to_string()) : Json();
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
