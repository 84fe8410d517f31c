#include "config/loader.hpp"

#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/diagnostics.hpp"
#include "config/validate.hpp"
#include "config/yaml_document.hpp"
#include "config/yaml_reader.hpp"

namespace mcaprec::config {
namespace {

// Configuration files are small; this only stops a wrong path (a disk image, /dev/zero) from
// being read into memory.
constexpr uintmax_t kMaxConfigFileBytes = 4 * kMiB;
constexpr uintmax_t kMaxSchemaFileBytes = 64 * kMiB;

constexpr std::array<Choice<Compression>, 3> kCompressions = {
    {{"zstd", Compression::kZstd}, {"lz4", Compression::kLz4}, {"none", Compression::kNone}}};
constexpr std::array<Choice<Transport>, 2> kTransports = {
    {{"tcp", Transport::kTcp}, {"udp", Transport::kUdp}}};
constexpr std::array<Choice<SourceFormat>, 3> kFormats = {
    {{"mcap", SourceFormat::kMcap},
     {"raw", SourceFormat::kRaw},
     {"length_prefixed", SourceFormat::kLengthPrefixed}}};
constexpr std::array<Choice<TimestampSource>, 2> kTimestamps = {
    {{"sender", TimestampSource::kSender}, {"receive", TimestampSource::kReceive}}};
constexpr std::array<Choice<Overflow>, 3> kOverflows = {{{"drop_newest", Overflow::kDropNewest},
                                                         {"drop_oldest", Overflow::kDropOldest},
                                                         {"block", Overflow::kBlock}}};
constexpr std::array<Choice<Record>, 2> kRecords = {
    {{"always", Record::kAlways}, {"on_event", Record::kOnEvent}}};
constexpr std::array<Choice<bool>, 2> kBooleans = {{{"true", true}, {"false", false}}};
constexpr std::array<Choice<RecordingStart>, 2> kRecordingStarts = {
    {{"recording", RecordingStart::kRecording}, {"paused", RecordingStart::kPaused}}};
constexpr std::array<Choice<LogLevel>, 7> kLogLevels = {{{"trace", LogLevel::kTrace},
                                                         {"debug", LogLevel::kDebug},
                                                         {"info", LogLevel::kInfo},
                                                         {"warn", LogLevel::kWarn},
                                                         {"error", LogLevel::kError},
                                                         {"critical", LogLevel::kCritical},
                                                         {"off", LogLevel::kOff}}};

template <class E, size_t N>
std::span<const Choice<E>> choices(const std::array<Choice<E>, N>& array) {
  return {array.data(), array.size()};
}

// Reports `key` as missing when the file does not have it (and the mapping itself was fine).
void require(MapReader& reader, Diagnostics& diagnostics, std::string_view key,
             std::string_view hint) {
  if (reader.is_mapping() && !diagnostics.written(reader.path_of(key))) {
    diagnostics.error(reader.path_of(key), "missing; " + std::string(hint));
  }
}

// Calls `read_item(node, path)` for each item of the list `node` (null reads as empty).
template <class ReadItem>
void read_list(Diagnostics& diagnostics, const YAML::Node& node, const std::string& path,
               ReadItem read_item) {
  if (node.IsNull()) return;
  if (!node.IsSequence()) {
    diagnostics.error(path,
                      "expected a list (lines starting with '- '), found " + describe_node(node));
    return;
  }
  size_t index = 0;
  for (const YAML::Node& item : node) {
    const std::string item_at = item_path(path, index++);
    if (const int line = line_of_node(item); line > 0 && !item.IsNull()) {
      diagnostics.locate(item_at, line);
    }
    read_item(item, item_at);
  }
}

void read_output(Diagnostics& diagnostics, const YAML::Node& node, Output& out) {
  MapReader r(diagnostics, node, "output");
  assign(out.directory, r.text("directory"));
  assign(out.prefix, r.text("prefix"));
  assign(out.max_bytes, r.size("max_bytes"));
  assign(out.max_duration, r.duration("max_duration"));
  assign(out.sync_interval, r.duration("sync_interval"));
  assign(out.max_total_bytes, r.size("max_total_bytes"));
  assign(out.min_free_bytes, r.size("min_free_bytes"));
  r.finish();
}

void read_mcap(Diagnostics& diagnostics, const YAML::Node& node, Mcap& out) {
  MapReader r(diagnostics, node, "mcap");
  assign(out.profile, r.text("profile"));
  assign(out.compression, r.choice("compression", choices(kCompressions)));
  // The range depends on the codec; validate() checks it.
  assign(out.compression_level, r.integer("compression_level", INT32_MIN, INT32_MAX));
  assign(out.chunk_size, r.size("chunk_size"));
  assign(out.chunk_max_age, r.duration("chunk_max_age"));
  r.finish();
}

void read_pipeline(Diagnostics& diagnostics, const YAML::Node& node, Pipeline& out) {
  MapReader r(diagnostics, node, "pipeline");
  assign(out.compressor_threads, r.integer("compressor_threads", 0, 1024));
  assign(out.ingest_threads, r.integer("ingest_threads", 1, 256));
  assign(out.memory_budget, r.size("memory_budget"));
  assign(out.queue_bytes, r.size("queue_bytes"));
  assign(out.shutdown_timeout, r.duration("shutdown_timeout"));
  r.finish();
}

std::string read_text_file(const std::filesystem::path& path, uintmax_t limit, std::string& error) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) {
    error = "cannot read " + path.string() + ": " + ec.message();
    return {};
  }
  if (size > limit) {
    error = path.string() + " is larger than " + format_size(limit);
    return {};
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  if (!in) error = "cannot read " + path.string();
  return contents.str();
}

void read_schema(Diagnostics& diagnostics, const YAML::Node& node, const std::string& path,
                 const std::filesystem::path& base_directory, SourceSchema& out) {
  MapReader r(diagnostics, node, path);
  assign(out.name, r.text("name"));
  assign(out.encoding, r.text("encoding"));
  assign(out.data, r.text("data"));
  assign(out.data_file, r.text("data_file"));
  r.finish();
  require(r, diagnostics, "name", "a schema needs a name, such as sensor_msgs/msg/Imu");
  if (!out.data_file.empty()) {
    if (diagnostics.written(r.path_of("data"))) {
      diagnostics.error(r.path_of("data_file"), "give either data or data_file, not both");
      return;
    }
    std::string error;
    out.data = read_text_file(base_directory / out.data_file, kMaxSchemaFileBytes, error);
    if (!error.empty()) diagnostics.error(r.path_of("data_file"), error);
  }
}

void read_metadata(Diagnostics& diagnostics, const YAML::Node& node, const std::string& path,
                   std::map<std::string, std::string>& out) {
  if (node.IsNull()) return;
  if (!node.IsMap()) {
    diagnostics.error(path, "expected a mapping of names to text, found " + describe_node(node));
    return;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    const int line = line_of_node(it->first);
    if (!it->first.IsScalar() || !(it->second.IsScalar() || it->second.IsNull())) {
      diagnostics.error_at(line, path, "metadata names and values must be text");
      continue;
    }
    const std::string& key = it->first.Scalar();
    diagnostics.locate(child_path(path, key), line);  // for checks after loading
    if (out.count(key) != 0) {
      diagnostics.error_at(line, child_path(path, key), "written twice");
      continue;
    }
    out[key] = it->second.IsNull() ? std::string() : it->second.Scalar();
  }
}

// Compiles each regex now, so that a bad one is a configuration error naming its source.
void read_topic_patterns(Diagnostics& diagnostics, const YAML::Node& node, const std::string& path,
                         const std::string& source_name, TopicPatterns& out) {
  read_list(diagnostics, node, path, [&](const YAML::Node& item, const std::string& item_at) {
    if (!item.IsScalar()) {
      diagnostics.error(item_at,
                        "expected a topic regex such as ^/camera/, found " + describe_node(item));
      return;
    }
    if (std::optional<std::string> error = out.add(item.Scalar())) {
      diagnostics.error(item_at, "source '" + source_name + "': '" + item.Scalar() +
                                     "' is not a valid regular expression (" + *error + ")");
    }
  });
}

void read_source(Diagnostics& diagnostics, const YAML::Node& node, const std::string& path,
                 const std::filesystem::path& base_directory, Source& out) {
  MapReader r(diagnostics, node, path);
  assign(out.name, r.text("name"));
  assign(out.transport, r.choice("transport", choices(kTransports)));
  assign(out.bind, r.endpoint("bind"));
  assign(out.format, r.choice("format", choices(kFormats)));
  assign(out.topic, r.text("topic"));
  assign(out.message_encoding, r.text("message_encoding"));
  if (std::optional<YAML::Node> schema = r.find("schema")) {
    out.schema.emplace();
    read_schema(diagnostics, *schema, r.path_of("schema"), base_directory, *out.schema);
  }
  if (std::optional<YAML::Node> metadata = r.find("metadata")) {
    read_metadata(diagnostics, *metadata, r.path_of("metadata"), out.metadata);
  }
  const std::optional<TimestampSource> timestamp = r.choice("timestamp", choices(kTimestamps));
  if (std::optional<YAML::Node> multicast = r.find("multicast")) {
    MapReader m(diagnostics, *multicast, r.path_of("multicast"));
    out.multicast.emplace();
    assign(out.multicast->group, m.text("group"));
    assign(out.multicast->interface, m.text("interface"));
    m.finish();
    require(m, diagnostics, "group", "the multicast address to join, such as 239.255.0.1");
  }
  const std::optional<uint64_t> receive_buffer = r.size("receive_buffer");
  assign(out.receive_batch, r.integer("receive_batch", 0, kMaxReceiveBatch));
  assign(out.coalesce, r.choice("coalesce", choices(kBooleans)));
  if (std::optional<YAML::Node> senders = r.find("allowed_senders")) {
    read_list(diagnostics, *senders, r.path_of("allowed_senders"),
              [&](const YAML::Node& item, const std::string& item_at) {
                if (!item.IsScalar()) {
                  diagnostics.error(item_at,
                                    "expected an address range such as 10.0.0.0/8, "
                                    "found " +
                                        describe_node(item));
                  return;
                }
                Parsed<Cidr> cidr = parse_cidr(item.Scalar());
                if (!cidr.ok()) {
                  diagnostics.error(item_at, cidr.error);
                  return;
                }
                out.allowed_senders.push_back(*cidr.value);
              });
  }
  const std::optional<uint64_t> max_message_size = r.size("max_message_size");
  assign(out.max_connections, r.integer("max_connections", 1, 65535));
  assign(out.max_channels_per_connection, r.integer("max_channels_per_connection", 1, 65535));
  assign(out.idle_timeout, r.duration("idle_timeout"));
  for (auto [key, patterns] :
       {std::pair{"topics", &out.topics}, std::pair{"exclude_topics", &out.exclude_topics}}) {
    if (std::optional<YAML::Node> list = r.find(key)) {
      read_topic_patterns(diagnostics, *list, r.path_of(key), out.name, *patterns);
    }
  }
  r.finish();

  require(r, diagnostics, "name", "every source needs a unique name");
  require(r, diagnostics, "transport", "tcp or udp");
  require(r, diagnostics, "bind", "the address to listen on, such as 127.0.0.1:9410");

  // Defaults that depend on the transport and format.
  const bool udp = out.transport == Transport::kUdp;
  out.timestamp = timestamp.value_or(out.format == SourceFormat::kMcap ? TimestampSource::kSender
                                                                       : TimestampSource::kReceive);
  out.receive_buffer = receive_buffer.value_or(udp ? 8 * kMiB : 0);
  out.max_message_size = max_message_size.value_or(udp ? kMaxDatagramSize : 16 * kMiB);
}

void read_channel(Diagnostics& diagnostics, const YAML::Node& node, const std::string& path,
                  const Pipeline& pipeline, ChannelSettings& out) {
  MapReader r(diagnostics, node, path);
  assign(out.topic, r.text("topic"));
  assign(out.chunk_group, r.text("chunk_group"));
  out.queue_bytes = r.size("queue_bytes").value_or(pipeline.queue_bytes);
  assign(out.overflow, r.choice("overflow", choices(kOverflows)));
  assign(out.record, r.choice("record", choices(kRecords)));
  assign(out.latch, r.choice("latch", choices(kBooleans)));
  if (std::optional<std::string> rate = r.text("max_rate")) {
    Parsed<uint64_t> parsed = parse_rate_millihertz(*rate);
    if (parsed.ok()) {
      out.max_rate_millihertz = *parsed.value;
    } else {
      diagnostics.error(r.path_of("max_rate"), parsed.error);
    }
  }
  r.finish();
  require(r, diagnostics, "topic", "the topic these settings apply to");
}

// control.bind may be "" (the default: no TCP endpoint), unlike other binds.
void read_control(Diagnostics& diagnostics, const YAML::Node& node, Config& config) {
  MapReader r(diagnostics, node, "control");
  assign(config.control.socket, r.text("socket"));
  if (std::optional<std::string> bind = r.text("bind"); bind && !bind->empty()) {
    Parsed<Endpoint> parsed = parse_endpoint(*bind);
    if (!parsed.ok()) diagnostics.error("control.bind", parsed.error);
    config.control.bind = parsed.value;
  }
  assign(config.control.token_file, r.text("token_file"));
  r.finish();
}

void read_trigger(Diagnostics& diagnostics, const YAML::Node& node, const std::string& path,
                  const Events& events, EventTriggerRule& out) {
  MapReader r(diagnostics, node, path);
  assign(out.topic, r.text("topic"));
  assign(out.name, r.text("name"));
  out.before = r.duration("before").value_or(events.before);
  out.after = r.duration("after").value_or(events.after);
  assign(out.min_interval, r.duration("min_interval"));
  r.finish();
  require(r, diagnostics, "topic", "any message on this topic marks the event");
  require(r, diagnostics, "name", "the event's name (in its file name)");
}

void read_events(Diagnostics& diagnostics, const YAML::Node& node, Events& out) {
  MapReader r(diagnostics, node, "events");
  assign(out.look_back, r.duration("look_back"));
  assign(out.memory_bytes, r.size("memory_bytes"));
  assign(out.spool_bytes, r.size("spool_bytes"));
  assign(out.max_total_bytes, r.size("max_total_bytes"));
  // Unless given, an event looks back as far as the ring holds.
  out.before = r.duration("before").value_or(out.look_back);
  assign(out.after, r.duration("after"));
  assign(out.signal_event, r.text("signal_event"));
  // After before/after: a rule without its own takes them.
  if (std::optional<YAML::Node> triggers = r.find("triggers")) {
    read_list(diagnostics, *triggers, "events.triggers",
              [&](const YAML::Node& item, const std::string& item_at) {
                read_trigger(diagnostics, item, item_at, out, out.triggers.emplace_back());
              });
  }
  r.finish();
}

void read_upload(Diagnostics& diagnostics, const YAML::Node& node, Upload& out) {
  MapReader r(diagnostics, node, "upload");
  assign(out.endpoint, r.text("endpoint"));
  assign(out.region, r.text("region"));
  assign(out.bucket, r.text("bucket"));
  assign(out.key_template, r.text("key_template"));
  assign(out.credentials_file, r.text("credentials_file"));
  assign(out.ca_file, r.text("ca_file"));
  assign(out.part_size, r.size("part_size"));
  assign(out.max_bandwidth, r.size("max_bandwidth"));
  assign(out.delete_after_upload, r.choice("delete_after_upload", choices(kBooleans)));
  r.finish();
  require(r, diagnostics, "endpoint", "the S3 endpoint, e.g. https://s3.example.internal");
  require(r, diagnostics, "bucket", "the bucket the files go to");
  require(r, diagnostics, "credentials_file",
          "an AWS shared-credentials file ([default] aws_access_key_id, aws_secret_access_key)");
}

void read_session(Diagnostics& diagnostics, const YAML::Node& node, Session& out) {
  MapReader r(diagnostics, node, "session");
  assign(out.device_id, r.text("device_id"));
  assign(out.device_name, r.text("device_name"));
  if (std::optional<YAML::Node> metadata = r.find("metadata")) {
    read_metadata(diagnostics, *metadata, r.path_of("metadata"), out.metadata);
  }
  r.finish();
}

// A list of words, the program first: no shell, so a path with spaces stays one argument.
void read_on_finalize(Diagnostics& diagnostics, const YAML::Node& node,
                      std::vector<std::string>& out) {
  if (node.IsScalar()) {
    diagnostics.error("on_finalize",
                      "expected a list of words, the program first, e.g. [/usr/local/bin/ship, "
                      "--to, fleet] (the file's path is added as the last one), found " +
                          describe_node(node));
    return;
  }
  read_list(diagnostics, node, "on_finalize",
            [&](const YAML::Node& item, const std::string& item_at) {
              if (!item.IsScalar()) {
                diagnostics.error(item_at, "expected a word, found " + describe_node(item));
                return;
              }
              out.push_back(item.Scalar());
            });
}

void read_config(Diagnostics& diagnostics, const YAML::Node& root,
                 const std::filesystem::path& base_directory, Config& config) {
  MapReader top(diagnostics, root, "");
  if (std::optional<YAML::Node> node = top.find("output")) {
    read_output(diagnostics, *node, config.output);
  }
  if (std::optional<YAML::Node> node = top.find("mcap")) read_mcap(diagnostics, *node, config.mcap);
  if (std::optional<YAML::Node> node = top.find("pipeline")) {
    read_pipeline(diagnostics, *node, config.pipeline);
  }
  if (std::optional<YAML::Node> node = top.find("sources")) {
    read_list(
        diagnostics, *node, "sources", [&](const YAML::Node& item, const std::string& item_at) {
          read_source(diagnostics, item, item_at, base_directory, config.sources.emplace_back());
        });
  }
  if (std::optional<YAML::Node> node = top.find("channels")) {
    read_list(
        diagnostics, *node, "channels", [&](const YAML::Node& item, const std::string& item_at) {
          read_channel(diagnostics, item, item_at, config.pipeline, config.channels.emplace_back());
        });
  }
  if (std::optional<YAML::Node> node = top.find("events")) {
    read_events(diagnostics, *node, config.events.emplace());
  }
  if (std::optional<YAML::Node> node = top.find("upload")) {
    read_upload(diagnostics, *node, config.upload.emplace());
  }
  if (std::optional<YAML::Node> node = top.find("metrics")) {
    MapReader r(diagnostics, *node, "metrics");
    config.metrics.bind = r.endpoint("bind");
    r.finish();
  }
  if (std::optional<YAML::Node> node = top.find("recording")) {
    MapReader r(diagnostics, *node, "recording");
    assign(config.recording.start, r.choice("start", choices(kRecordingStarts)));
    r.finish();
  }
  if (std::optional<YAML::Node> node = top.find("control"))
    read_control(diagnostics, *node, config);
  if (std::optional<YAML::Node> node = top.find("session")) {
    read_session(diagnostics, *node, config.session);
  }
  if (std::optional<YAML::Node> node = top.find("on_finalize")) {
    read_on_finalize(diagnostics, *node, config.on_finalize);
  }
  assign(config.on_finalize_timeout, top.duration("on_finalize_timeout"));
  if (std::optional<YAML::Node> node = top.find("logging")) {
    MapReader r(diagnostics, *node, "logging");
    assign(config.logging.level, r.choice("level", choices(kLogLevels)));
    r.finish();
  }
  top.finish();
}

}  // namespace

Result<Config> load_config_string(std::string_view text, std::string_view origin_name) {
  Diagnostics diagnostics{std::string(origin_name)};
  const std::optional<YAML::Node> document = parse_single_document(text, diagnostics);
  if (!document) return diagnostics.take_errors();
  Config config;
  const std::filesystem::path base_directory =
      std::filesystem::path(std::string(origin_name)).parent_path();
  try {
    read_config(diagnostics, *document, base_directory, config);
  } catch (const YAML::Exception& e) {
    // Reading a parsed document should not throw; if yaml-cpp does, report it like bad input.
    diagnostics.error_at(e.mark.line >= 0 ? e.mark.line + 1 : 1, "", e.msg);
  }
  validate(config, diagnostics);
  if (diagnostics.failed()) return diagnostics.take_errors();
  return config;
}

Result<Config> load_config_file(const std::string& path) {
  std::string error;
  const std::string text = read_text_file(path, kMaxConfigFileBytes, error);
  if (!error.empty()) return std::vector<ConfigError>{{path, 0, "", error}};
  return load_config_string(text, path);
}

}  // namespace mcaprec::config
