#include "daemon/status_json.hpp"

#include <chrono>

#include "daemon/json_writer.hpp"

namespace mcaprec::daemon {
namespace {

double seconds(std::chrono::nanoseconds duration) {
  return std::chrono::duration<double>(duration).count();
}

void write_channels(JsonWriter& json, const std::vector<pipeline::ChannelStats>& channels) {
  json.key("channels").begin_array();
  for (const pipeline::ChannelStats& channel : channels) {
    json.begin_object();
    json.key("id").value(uint64_t{channel.id});
    json.key("topic").value(channel.topic);
    json.key("chunk_group").value(channel.chunk_group);
    json.key("received").value(channel.received);
    json.key("received_bytes").value(channel.received_bytes);
    json.key("written").value(channel.written);
    json.key("queued_bytes").value(channel.queued_bytes);
    json.key("dropped").begin_object();
    for (size_t r = 0; r < pipeline::kDropReasonCount; ++r) {
      json.key(pipeline::drop_reason_name(pipeline::DropReason(r))).value(channel.dropped[r]);
    }
    json.end_object();
    json.end_object();
  }
  json.end_array();
}

void write_sources(JsonWriter& json, const std::vector<ingest::SourceStats>& sources) {
  json.key("sources").begin_array();
  for (const ingest::SourceStats& source : sources) {
    json.begin_object();
    json.key("name").value(source.name);
    json.key("transport").value(source.transport);
    json.key("bind").value(source.bind);
    json.key("messages").value(source.messages);
    json.key("bytes").value(source.bytes);
    if (source.transport == "udp") {
      json.key("datagrams").value(source.datagrams);
      json.key("kernel_drops").value(source.kernel_drops);
      json.key("kernel_dropped_datagrams").value(source.kernel_dropped_datagrams);
    } else {
      json.key("connections_accepted").value(source.connections_accepted);
      json.key("connections_open").value(source.connections_open);
      json.key("connections_refused").value(source.connections_refused);
    }
    json.key("errors").begin_object();
    for (const auto& [reason, count] : source.errors) json.key(reason).value(count);
    json.end_object();
    json.key("peers").begin_array();
    for (const std::string& peer : source.peers) json.value(peer);
    json.end_array();
    json.end_object();
  }
  json.end_array();
}

}  // namespace

std::string status_json(const DaemonSnapshot& snapshot) {
  const pipeline::PipelineStats& stats = snapshot.pipeline;
  JsonWriter json;
  json.begin_object();
  json.key("version").value(snapshot.version);
  json.key("state").value(snapshot.state);
  json.key("uptime_seconds").value(snapshot.uptime_seconds);
  json.key("config").begin_object();
  json.key("path").value(snapshot.config_path);
  json.key("crc32").value(snapshot.config_crc32);
  json.end_object();
  json.key("directory").value(snapshot.directory);
  json.key("current_file").value(stats.current_file);
  json.key("last_finalized_file").value(stats.last_finalized_file);
  json.key("files").begin_object();
  json.key("started").value(stats.files_started);
  json.key("finalized").value(stats.files_finalized);
  json.key("closed_on_error").value(stats.files_closed_on_error);
  json.end_object();
  json.key("recording_paused").value(stats.recording_paused);
  if (stats.recording_paused) {
    json.key("pause_reason").value(stats.pause_reason);
  } else {
    json.key("pause_reason").null();
  }
  json.key("sync").begin_object();
  json.key("count").value(stats.syncs);
  json.key("errors").value(stats.sync_errors);
  json.key("seconds").value(seconds(stats.sync_time));
  json.key("max_seconds").value(seconds(stats.max_sync_time));
  json.end_object();
  json.key("retention").begin_object();
  json.key("files_deleted").value(stats.retention_files_deleted);
  json.key("bytes_deleted").value(stats.retention_bytes_deleted);
  json.end_object();

  json.key("rates").begin_object();
  json.key("messages_received_per_second").value(snapshot.rates.messages_received);
  json.key("bytes_received_per_second").value(snapshot.rates.bytes_received);
  json.key("messages_written_per_second").value(snapshot.rates.messages_written);
  json.key("bytes_written_per_second").value(snapshot.rates.bytes_written);
  json.key("messages_dropped_per_second").value(snapshot.rates.messages_dropped);
  json.end_object();

  const Totals totals = Totals::from(stats);
  json.key("totals").begin_object();
  json.key("messages_received").value(totals.messages_received);
  json.key("bytes_received").value(totals.bytes_received);
  json.key("messages_written").value(stats.messages_written);
  json.key("messages_dropped").value(totals.messages_dropped);
  json.key("bytes_written").value(stats.bytes_written);
  json.key("chunks_written").value(stats.chunks_written);
  json.key("write_errors").value(stats.write_errors);
  json.key("uncompressed_bytes").value(stats.uncompressed_bytes);
  json.key("compressed_bytes").value(stats.compressed_bytes);
  json.end_object();

  json.key("memory").begin_object();
  json.key("in_use_bytes").value(stats.memory_in_use);
  json.key("budget_bytes").value(stats.memory_budget);
  json.key("in_flight_bytes").value(stats.in_flight_bytes);
  json.key("in_flight_chunks").value(stats.in_flight_chunks);
  json.key("in_flight_chunks_limit").value(stats.in_flight_chunk_limit);
  json.key("in_flight_chunks_peak").value(stats.peak_in_flight_chunks);
  json.end_object();

  json.key("cpu_seconds").begin_object();
  json.key("writer").value(seconds(stats.writer_cpu));
  json.key("compressors").value(seconds(stats.compressor_cpu));
  json.key("finalizer").value(seconds(stats.finalizer_cpu));
  json.end_object();
  json.key("compressor_threads").value(uint64_t{stats.compressor_threads});
  json.key("writer_stalled").value(snapshot.writer_stalled);
  if (stats.first_error) {
    json.key("first_error").value(stats.first_error->to_string());
  } else {
    json.key("first_error").null();
  }

  write_channels(json, stats.channels);
  write_sources(json, snapshot.sources);
  json.end_object();
  return json.text() + "\n";
}

}  // namespace mcaprec::daemon
