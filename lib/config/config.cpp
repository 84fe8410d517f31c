#include "config/config.hpp"

namespace mcaprec::config {

std::string_view to_string(Transport value) {
  return value == Transport::kTcp ? "tcp" : "udp";
}

std::string_view to_string(SourceFormat value) {
  switch (value) {
    case SourceFormat::kMcap:
      return "mcap";
    case SourceFormat::kRaw:
      return "raw";
    case SourceFormat::kLengthPrefixed:
      return "length_prefixed";
  }
  return "?";
}

std::string_view to_string(TimestampSource value) {
  return value == TimestampSource::kSender ? "sender" : "receive";
}

std::string_view to_string(Overflow value) {
  switch (value) {
    case Overflow::kDropNewest:
      return "drop_newest";
    case Overflow::kDropOldest:
      return "drop_oldest";
    case Overflow::kBlock:
      return "block";
  }
  return "?";
}

std::string_view to_string(RecordingStart value) {
  return value == RecordingStart::kPaused ? "paused" : "recording";
}

std::string_view to_string(Record value) {
  return value == Record::kOnEvent ? "on_event" : "always";
}

std::string_view to_string(LogLevel value) {
  switch (value) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
    case LogLevel::kCritical:
      return "critical";
    case LogLevel::kOff:
      return "off";
  }
  return "?";
}

std::string_view compression_keyword(Compression value) {
  switch (value) {
    case Compression::kNone:
      return "none";
    case Compression::kLz4:
      return "lz4";
    case Compression::kZstd:
      return "zstd";
  }
  return "?";
}

ChannelSettings channel_settings_for(const Config& config, std::string_view topic) {
  for (const ChannelSettings& settings : config.channels) {
    if (settings.topic == topic) return settings;
  }
  ChannelSettings defaults;
  defaults.topic = std::string(topic);
  defaults.queue_bytes = config.pipeline.queue_bytes;
  return defaults;
}

Overflow effective_overflow(const ChannelSettings& settings, Transport transport) {
  if (settings.overflow) return *settings.overflow;
  return transport == Transport::kTcp ? Overflow::kBlock : Overflow::kDropNewest;
}

bool topic_selected(const Source& source, std::string_view topic) {
  if (!source.topics.empty() && !source.topics.matches(topic)) return false;
  return !source.exclude_topics.matches(topic);
}

}  // namespace mcaprec::config
