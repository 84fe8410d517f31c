#include "config/to_yaml.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>

#include "config/units.hpp"

namespace mcaprec::config {
namespace {

// A literal block (|) reads back exactly only for text that ends in one newline, has no leading
// space on its first line and no control characters; anything else is written double-quoted.
bool fits_literal_block(const std::string& text) {
  if (text.size() < 2 || text.back() != '\n' || text[text.size() - 2] == '\n') return false;
  if (text.front() == ' ' || text.front() == '\n') return false;
  return std::none_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\n' && c != '\t') || u == 0x7f;
  });
}

// Text made only of characters that mean nothing to YAML, and which no YAML reader takes for
// null, a boolean or a number, is written plain ("/lidar/packets", "eth1"); the rest is quoted.
bool reads_as_plain_text(const std::string& text) {
  if (text.empty() || std::isdigit(static_cast<unsigned char>(text.front()))) return false;
  if (text.front() == '-') return false;
  if (text.front() == '.' &&
      (text.size() == 1 || std::isdigit(static_cast<unsigned char>(text[1])))) {
    return false;  // ".5" is a number
  }
  const bool safe_chars = std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
           c == '/';
  });
  if (!safe_chars) return false;
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  for (const char* word :
       {"null", "true", "false", "yes", "no", "on", "off", "y", "n", ".inf", ".nan"}) {
    if (lower == word) return false;
  }
  return true;
}

void text(YAML::Emitter& out, const char* key, const std::string& value) {
  out << YAML::Key << key << YAML::Value;
  if (value.find('\n') != std::string::npos && fits_literal_block(value)) {
    out << YAML::Literal << value;
  } else if (reads_as_plain_text(value)) {
    out << value;
  } else {
    out << YAML::DoubleQuoted << value;
  }
}

void word(YAML::Emitter& out, const char* key, std::string_view value) {
  out << YAML::Key << key << YAML::Value << std::string(value);
}

void size(YAML::Emitter& out, const char* key, uint64_t bytes) {
  word(out, key, format_size(bytes));
}

void duration(YAML::Emitter& out, const char* key, milliseconds value) {
  word(out, key, format_duration(value));
}

void number(YAML::Emitter& out, const char* key, int64_t value) {
  word(out, key, std::to_string(value));
}

void emit_output(YAML::Emitter& out, const Output& output) {
  out << YAML::Key << "output" << YAML::Value << YAML::BeginMap;
  text(out, "directory", output.directory);
  text(out, "prefix", output.prefix);
  size(out, "max_bytes", output.max_bytes);
  duration(out, "max_duration", output.max_duration);
  duration(out, "sync_interval", output.sync_interval);
  size(out, "max_total_bytes", output.max_total_bytes);
  size(out, "min_free_bytes", output.min_free_bytes);
  out << YAML::EndMap;
}

void emit_mcap(YAML::Emitter& out, const Mcap& mcap) {
  out << YAML::Key << "mcap" << YAML::Value << YAML::BeginMap;
  text(out, "profile", mcap.profile);
  word(out, "compression", compression_keyword(mcap.compression));
  number(out, "compression_level", mcap.compression_level);
  size(out, "chunk_size", mcap.chunk_size);
  duration(out, "chunk_max_age", mcap.chunk_max_age);
  out << YAML::EndMap;
}

void emit_pipeline(YAML::Emitter& out, const Pipeline& pipeline) {
  out << YAML::Key << "pipeline" << YAML::Value << YAML::BeginMap;
  number(out, "compressor_threads", pipeline.compressor_threads);
  number(out, "ingest_threads", pipeline.ingest_threads);
  size(out, "memory_budget", pipeline.memory_budget);
  size(out, "queue_bytes", pipeline.queue_bytes);
  duration(out, "shutdown_timeout", pipeline.shutdown_timeout);
  out << YAML::EndMap;
}

void emit_source(YAML::Emitter& out, const Source& source) {
  const bool udp = source.transport == Transport::kUdp;
  const bool in_band = source.format == SourceFormat::kMcap;
  out << YAML::BeginMap;
  text(out, "name", source.name);
  word(out, "transport", to_string(source.transport));
  text(out, "bind", source.bind.to_string());
  word(out, "format", to_string(source.format));
  if (!in_band) {
    text(out, "topic", source.topic);
    text(out, "message_encoding", source.message_encoding);
    if (source.schema) {
      out << YAML::Key << "schema" << YAML::Value << YAML::BeginMap;
      text(out, "name", source.schema->name);
      text(out, "encoding", source.schema->encoding);
      if (source.schema->data_file.empty()) {
        text(out, "data", source.schema->data);
      } else {
        text(out, "data_file", source.schema->data_file);
      }
      out << YAML::EndMap;
    }
    out << YAML::Key << "metadata" << YAML::Value;
    if (source.metadata.empty()) {
      out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
    } else {
      out << YAML::BeginMap;
      for (const auto& [key, value] : source.metadata) text(out, key.c_str(), value);
      out << YAML::EndMap;
    }
  }
  word(out, "timestamp", to_string(source.timestamp));
  if (source.multicast) {
    out << YAML::Key << "multicast" << YAML::Value << YAML::BeginMap;
    text(out, "group", source.multicast->group);
    text(out, "interface", source.multicast->interface);
    out << YAML::EndMap;
  }
  size(out, "receive_buffer", source.receive_buffer);
  if (udp) number(out, "receive_batch", source.receive_batch);
  if (udp) word(out, "coalesce", source.coalesce ? "true" : "false");
  out << YAML::Key << "allowed_senders" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const Cidr& cidr : source.allowed_senders) out << cidr.to_string();
  out << YAML::EndSeq;
  size(out, "max_message_size", source.max_message_size);
  if (!udp) number(out, "max_connections", source.max_connections);
  if (in_band) number(out, "max_channels_per_connection", source.max_channels_per_connection);
  if (!udp) duration(out, "idle_timeout", source.idle_timeout);
  if (in_band) {
    for (auto [key, patterns] : {std::pair{"topics", &source.topics},
                                 std::pair{"exclude_topics", &source.exclude_topics}}) {
      out << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (const std::string& pattern : patterns->patterns()) out << pattern;
      out << YAML::EndSeq;
    }
  }
  out << YAML::EndMap;
}

void emit_channel(YAML::Emitter& out, const ChannelSettings& channel) {
  out << YAML::BeginMap;
  text(out, "topic", channel.topic);
  text(out, "chunk_group", channel.chunk_group);
  size(out, "queue_bytes", channel.queue_bytes);
  if (channel.overflow) {
    word(out, "overflow", to_string(*channel.overflow));
  } else {
    out << YAML::Comment("overflow: block for tcp sources, drop_newest for udp");
  }
  if (channel.max_rate_millihertz != 0) {
    text(out, "max_rate", format_rate_millihertz(channel.max_rate_millihertz));
  } else {
    out << YAML::Comment("max_rate: none (every message is recorded)");
  }
  word(out, "record", to_string(channel.record));
  word(out, "latch", channel.latch ? "true" : "false");
  out << YAML::EndMap;
}

void emit_events(YAML::Emitter& out, const Events& events) {
  out << YAML::Key << "events" << YAML::Value << YAML::BeginMap;
  duration(out, "look_back", events.look_back);
  size(out, "memory_bytes", events.memory_bytes);
  size(out, "spool_bytes", events.spool_bytes);
  size(out, "max_total_bytes", events.max_total_bytes);
  duration(out, "before", events.before);
  duration(out, "after", events.after);
  text(out, "signal_event", events.signal_event);
  out << YAML::Key << "triggers" << YAML::Value;
  if (events.triggers.empty()) {
    out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
  } else {
    out << YAML::BeginSeq;
    for (const EventTriggerRule& rule : events.triggers) {
      out << YAML::BeginMap;
      text(out, "topic", rule.topic);
      text(out, "name", rule.name);
      duration(out, "before", rule.before);
      duration(out, "after", rule.after);
      duration(out, "min_interval", rule.min_interval);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  out << YAML::EndMap;
}

void emit_upload(YAML::Emitter& out, const Upload& upload) {
  out << YAML::Key << "upload" << YAML::Value << YAML::BeginMap;
  text(out, "endpoint", upload.endpoint);
  text(out, "region", upload.region);
  text(out, "bucket", upload.bucket);
  text(out, "key_template", upload.key_template);
  text(out, "credentials_file", upload.credentials_file);
  text(out, "ca_file", upload.ca_file);
  size(out, "part_size", upload.part_size);
  size(out, "max_bandwidth", upload.max_bandwidth);
  word(out, "delete_after_upload", upload.delete_after_upload ? "true" : "false");
  out << YAML::EndMap;
}

void emit_session(YAML::Emitter& out, const Session& session) {
  out << YAML::Key << "session" << YAML::Value << YAML::BeginMap;
  text(out, "device_id", session.device_id);
  text(out, "device_name", session.device_name);
  out << YAML::Key << "metadata" << YAML::Value;
  if (session.metadata.empty()) {
    out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
  } else {
    out << YAML::BeginMap;
    for (const auto& [key, value] : session.metadata) text(out, key.c_str(), value);
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
}

}  // namespace

std::string to_yaml(const Config& config) {
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap;
  emit_output(out, config.output);
  emit_mcap(out, config.mcap);
  emit_pipeline(out, config.pipeline);
  out << YAML::Key << "sources" << YAML::Value << YAML::BeginSeq;
  for (const Source& source : config.sources) emit_source(out, source);
  out << YAML::EndSeq;
  out << YAML::Key << "channels" << YAML::Value;
  if (config.channels.empty()) {
    out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
  } else {
    out << YAML::BeginSeq;
    for (const ChannelSettings& channel : config.channels) emit_channel(out, channel);
    out << YAML::EndSeq;
  }
  if (config.events) emit_events(out, *config.events);
  if (config.upload) emit_upload(out, *config.upload);
  out << YAML::Key << "metrics" << YAML::Value;
  if (config.metrics.bind) {
    out << YAML::BeginMap;
    text(out, "bind", config.metrics.bind->to_string());
    out << YAML::EndMap;
  } else {
    out << YAML::Flow << YAML::BeginMap << YAML::EndMap << YAML::Comment("disabled");
  }
  out << YAML::Key << "recording" << YAML::Value << YAML::BeginMap;
  word(out, "start", to_string(config.recording.start));
  out << YAML::EndMap;
  out << YAML::Key << "control" << YAML::Value << YAML::BeginMap;
  text(out, "socket", config.control.socket);
  text(out, "bind", config.control.bind ? config.control.bind->to_string() : std::string());
  text(out, "token_file", config.control.token_file);
  out << YAML::EndMap;
  emit_session(out, config.session);
  out << YAML::Key << "on_finalize" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const std::string& word : config.on_finalize) out << word;
  out << YAML::EndSeq;
  duration(out, "on_finalize_timeout", config.on_finalize_timeout);
  out << YAML::Key << "logging" << YAML::Value << YAML::BeginMap;
  word(out, "level", to_string(config.logging.level));
  out << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace mcaprec::config
