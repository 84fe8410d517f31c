#include "daemon/metrics_text.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <utility>
#include <vector>

namespace mcaprec::daemon {
namespace {

// Length of the valid UTF-8 sequence starting at text[i] (1 for ASCII), or 0 when the bytes
// there are not one: a bad lead or continuation byte, a cut sequence, an overlong form, a
// surrogate or a value past U+10FFFF.
size_t utf8_sequence_length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  size_t length = 0;
  uint32_t code = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    code = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    code = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    code = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  static const uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kSmallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

// `text` with every byte that is not part of valid UTF-8 replaced by U+FFFD: the exposition
// format is UTF-8, and Prometheus rejects a scrape that is not.
std::string valid_utf8(std::string_view text) {
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (const size_t length = utf8_sequence_length(text, i); length != 0) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += kReplacement;
      ++i;
    }
  }
  return out;
}

using Labels = std::vector<std::pair<std::string_view, std::string>>;

// Writes one metric family at a time: its HELP and TYPE lines, then its samples.
class Exposition {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    name_ = name;
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  void sample(const Labels& labels, uint64_t value) { sample(labels, std::to_string(value)); }
  void sample(const Labels& labels, double value) {
    char text[40];
    std::snprintf(text, sizeof(text), "%.9g", value);
    sample(labels, std::string(text));
  }

  // A family with a single unlabelled sample.
  template <class T>
  void single(std::string_view name, std::string_view type, std::string_view help, T value) {
    family(name, type, help);
    sample({}, value);
  }

  std::string take() { return std::move(out_); }

 private:
  void sample(const Labels& labels, const std::string& value) {
    out_ += name_;
    if (!labels.empty()) {
      out_ += '{';
      bool first = true;
      for (const auto& [label, text] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += label;
        out_ += "=\"";
        out_ += prometheus_label_value(text);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }

  std::string out_;
  std::string_view name_;
};

double seconds(std::chrono::nanoseconds duration) {
  return std::chrono::duration<double>(duration).count();
}

Labels channel_labels(const pipeline::ChannelStats& channel) {
  return {{"channel", std::to_string(channel.id)}, {"topic", channel.topic}};
}

void channel_metrics(Exposition& out, const std::vector<pipeline::ChannelStats>& channels) {
  out.family("mcaprec_channel_messages_received_total", "counter",
             "Messages received for the channel, whether written or dropped.");
  for (const auto& channel : channels) out.sample(channel_labels(channel), channel.received);
  out.family("mcaprec_channel_bytes_received_total", "counter",
             "Payload bytes of the messages received for the channel.");
  for (const auto& channel : channels) out.sample(channel_labels(channel), channel.received_bytes);
  out.family("mcaprec_channel_messages_written_total", "counter",
             "Messages of the channel written into a file.");
  for (const auto& channel : channels) out.sample(channel_labels(channel), channel.written);
  out.family("mcaprec_channel_messages_dropped_total", "counter",
             "Messages of the channel that did not reach a file, by reason.");
  for (const auto& channel : channels) {
    for (size_t r = 0; r < pipeline::kDropReasonCount; ++r) {
      Labels labels = channel_labels(channel);
      labels.emplace_back("reason",
                          std::string(pipeline::drop_reason_name(pipeline::DropReason(r))));
      out.sample(labels, channel.dropped[r]);
    }
  }
  out.family("mcaprec_channel_queue_bytes", "gauge",
             "Record bytes of the channel queued and not yet sealed into a chunk.");
  for (const auto& channel : channels) out.sample(channel_labels(channel), channel.queued_bytes);
}

void pipeline_metrics(Exposition& out, const pipeline::PipelineStats& stats) {
  out.single("mcaprec_messages_written_total", "counter", "Messages written into files.",
             stats.writer.messages_written);
  out.single("mcaprec_bytes_written_total", "counter",
             "Chunk bytes appended to files, after compression.", stats.writer.bytes_written);
  out.single("mcaprec_chunks_written_total", "counter", "Chunks appended to files.",
             stats.writer.chunks_written);
  out.single("mcaprec_chunk_uncompressed_bytes_total", "counter",
             "Bytes of the chunks before compression.", stats.compression.uncompressed_bytes);
  out.single("mcaprec_chunk_compressed_bytes_total", "counter",
             "Bytes of the same chunks after compression.", stats.compression.compressed_bytes);
  out.single("mcaprec_chunks_stored_uncompressed_total", "counter",
             "Chunks stored uncompressed because compression did not make them smaller.",
             stats.compression.chunks_stored_raw);
  out.single("mcaprec_files_started_total", "counter", "Recording files opened.",
             stats.file.files_started);
  out.single("mcaprec_files_finalized_total", "counter",
             "Recording files completed (summary and footer written, synced, renamed).",
             stats.finalizer.files_finalized);
  out.single("mcaprec_write_errors_total", "counter",
             "Chunks that could not be encoded or written.", stats.writer.write_errors);
  out.single("mcaprec_files_closed_on_error_total", "counter",
             "Files ended early, still valid, because a write or a sync failed.",
             stats.file.files_closed_on_error);
  out.single("mcaprec_syncs_total", "counter",
             "Periodic fdatasync calls of the file being written (output.sync_interval).",
             stats.file.sync.syncs);
  out.single("mcaprec_sync_errors_total", "counter",
             "Periodic fdatasync calls that failed (the file was then ended).",
             stats.file.sync.sync_errors);
  out.single("mcaprec_sync_seconds_total", "counter", "Time spent in periodic fdatasync calls.",
             seconds(stats.file.sync.sync_time));
  out.single("mcaprec_sync_max_seconds", "gauge", "The longest periodic fdatasync call so far.",
             seconds(stats.file.sync.max_sync_time));
  out.single("mcaprec_recording_paused", "gauge",
             "1 while recording is paused for lack of room (retention limits or a full disk).",
             uint64_t{stats.file.paused ? 1u : 0u});
  out.single("mcaprec_retention_files_deleted_total", "counter",
             "Finished recordings deleted to keep output.max_total_bytes and min_free_bytes.",
             stats.file.retention_files_deleted);
  out.single("mcaprec_retention_bytes_deleted_total", "counter",
             "Bytes of the finished recordings deleted by retention.",
             stats.file.retention_bytes_deleted);
  out.single("mcaprec_memory_in_use_bytes", "gauge",
             "Memory holding messages: queues, open chunks and chunks in flight.",
             stats.memory.in_use);
  out.single("mcaprec_memory_budget_bytes", "gauge", "The configured pipeline.memory_budget.",
             stats.memory.budget);
  out.single("mcaprec_in_flight_bytes", "gauge", "Sealed chunk bytes not yet written to a file.",
             stats.in_flight.bytes);
  out.single("mcaprec_in_flight_chunks", "gauge", "Sealed chunks not yet written to a file.",
             stats.in_flight.chunks);
  out.single(
      "mcaprec_in_flight_chunks_limit", "gauge",
      "Sealed chunks in flight at which groups stop sealing (messages wait in their queues).",
      stats.in_flight.chunk_limit);
  out.single("mcaprec_in_flight_chunks_peak", "gauge",
             "Most sealed chunks in flight at once since start (over the limit only after a "
             "rotation request).",
             stats.in_flight.peak_chunks);
  out.single("mcaprec_compressor_threads", "gauge", "Threads compressing chunks.",
             uint64_t{stats.compression.threads});
  out.single("mcaprec_compressor_busy_seconds_total", "counter",
             "CPU time spent by the compressor threads.", seconds(stats.compression.cpu_time));
  out.single("mcaprec_writer_busy_seconds_total", "counter",
             "CPU time spent by the ordered writer thread.", seconds(stats.writer.cpu_time));
  out.single("mcaprec_finalizer_busy_seconds_total", "counter", "CPU time spent finalizing files.",
             seconds(stats.finalizer.cpu_time));
}

Labels source_labels(const ingest::SourceStats& source) {
  return {{"source", source.name}, {"transport", source.transport}};
}

void source_metrics(Exposition& out, const std::vector<ingest::SourceStats>& sources) {
  out.family("mcaprec_source_messages_total", "counter",
             "Messages the source handed to the pipeline.");
  for (const auto& source : sources) out.sample(source_labels(source), source.messages);
  out.family("mcaprec_source_bytes_total", "counter",
             "Payload bytes the source handed to the pipeline.");
  for (const auto& source : sources) out.sample(source_labels(source), source.bytes);
  out.family("mcaprec_source_datagrams_total", "counter", "Datagrams a UDP source received.");
  for (const auto& source : sources) {
    if (source.transport == "udp") out.sample(source_labels(source), source.datagrams);
  }
  out.family("mcaprec_source_kernel_drops_total", "counter",
             "Datagrams the kernel dropped because a UDP source's receive buffer was full (with "
             "coalesce, a dropped buffer of several datagrams counts once: see "
             "mcaprec_source_kernel_dropped_datagrams_total).");
  for (const auto& source : sources) {
    if (source.transport == "udp") out.sample(source_labels(source), source.kernel_drops);
  }
  out.family("mcaprec_source_kernel_dropped_datagrams_total", "counter",
             "Datagrams in what the kernel dropped for a UDP source: kernel_drops without "
             "coalesce; with it, each dropped buffer counted as the datagrams of the buffer read "
             "after it (an estimate).");
  for (const auto& source : sources) {
    if (source.transport == "udp") {
      out.sample(source_labels(source), source.kernel_dropped_datagrams);
    }
  }
  out.family("mcaprec_source_connections_accepted_total", "counter",
             "Connections a TCP source accepted.");
  for (const auto& source : sources) {
    if (source.transport == "tcp") out.sample(source_labels(source), source.connections_accepted);
  }
  out.family("mcaprec_source_connections_open", "gauge", "Connections open on a TCP source.");
  for (const auto& source : sources) {
    if (source.transport == "tcp") out.sample(source_labels(source), source.connections_open);
  }
  out.family("mcaprec_source_connections_refused_total", "counter",
             "Connections a TCP source refused (over max_connections or not allowed).");
  for (const auto& source : sources) {
    if (source.transport == "tcp") out.sample(source_labels(source), source.connections_refused);
  }
  out.family("mcaprec_source_errors_total", "counter",
             "Bad input a source received and dropped, by reason.");
  for (const auto& source : sources) {
    for (const auto& [reason, count] : source.errors) {
      Labels labels = source_labels(source);
      labels.emplace_back("reason", reason);
      out.sample(labels, count);
    }
  }
}

}  // namespace

std::string prometheus_label_value(std::string_view text) {
  const std::string valid = valid_utf8(text);
  std::string out;
  out.reserve(valid.size());
  for (char c : valid) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string prometheus_text(const DaemonSnapshot& snapshot) {
  Exposition out;
  out.family("mcaprec_build_info", "gauge", "The daemon's version; always 1.");
  out.sample({{"version", snapshot.version}}, uint64_t{1});
  out.single("mcaprec_uptime_seconds", "gauge", "Seconds since the daemon started.",
             snapshot.uptime_seconds);
  out.single("mcaprec_writer_stalled", "gauge",
             "1 while the writer makes no progress with work pending (watchdog pings withheld).",
             uint64_t{snapshot.writer_stalled ? 1u : 0u});
  channel_metrics(out, snapshot.pipeline.channels);
  pipeline_metrics(out, snapshot.pipeline);
  source_metrics(out, snapshot.sources);
  return out.take();
}

}  // namespace mcaprec::daemon
