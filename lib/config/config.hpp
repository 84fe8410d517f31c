#pragma once
// The daemon's configuration, one struct per YAML section, field for field (docs/ARCHITECTURE.md
// §7). Every field carries its default, so a Config{} with one source is a working recorder.
// load_config_file() (loader.hpp) fills these from YAML and checks them; to_yaml() (to_yaml.hpp)
// prints them back with every default spelled out.
//
// Paths are taken as written: a relative output.directory is relative to the daemon's working
// directory (the systemd unit sets it), not to the configuration file.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/address.hpp"
#include "config/topic_patterns.hpp"
#include "mcap/compression.hpp"

namespace mcaprec::config {

using std::chrono::milliseconds;
using Compression = ::mcaprec::mcap::Compression;

inline constexpr uint64_t kKiB = uint64_t{1} << 10;
inline constexpr uint64_t kMiB = uint64_t{1} << 20;
inline constexpr uint64_t kGiB = uint64_t{1} << 30;

// Bounds the loader enforces on mcap.chunk_size: below the lower one per-chunk overhead and
// index size dominate; above the upper one a single chunk ties up too much memory and latency.
inline constexpr uint64_t kMinChunkSize = 4 * kKiB;
inline constexpr uint64_t kMaxChunkSize = 256 * kMiB;
// The largest UDP payload; also the default max_message_size of UDP sources.
inline constexpr uint64_t kMaxDatagramSize = 65535;
// UDP datagrams read per recvmmsg call unless a source says otherwise, and the most it may ask.
inline constexpr uint32_t kDefaultReceiveBatch = 32;
inline constexpr uint32_t kMaxReceiveBatch = 1024;

enum class Transport { kTcp, kUdp };
enum class SourceFormat { kMcap, kRaw, kLengthPrefixed };
enum class TimestampSource { kSender, kReceive };
enum class Overflow { kDropNewest, kDropOldest, kBlock };
enum class RecordingStart { kRecording, kPaused };
enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kCritical, kOff };
enum class Record { kAlways, kOnEvent };

// The YAML spelling of each value: "tcp", "length_prefixed", "receive", "drop_oldest", "warn",
// and "zstd" / "lz4" / "none" for compression.
std::string_view to_string(Transport value);
std::string_view to_string(SourceFormat value);
std::string_view to_string(TimestampSource value);
std::string_view to_string(Overflow value);
std::string_view to_string(LogLevel value);
std::string_view to_string(RecordingStart value);
std::string_view to_string(Record value);  // "always", "on_event"
std::string_view compression_keyword(Compression value);

struct Output {
  std::string directory = "./recordings";  // created (with parents) by the daemon if missing
  std::string prefix = "rec";              // file names: <prefix>_<UTC start>_<index>.mcap
  uint64_t max_bytes = 2 * kGiB;           // rotate at this file size; 0 = never by size
  milliseconds max_duration = std::chrono::minutes(10);  // rotate at this span; 0 = never
  milliseconds sync_interval = std::chrono::seconds(1);  // fdatasync at least this often
  uint64_t max_total_bytes = 0;        // retention for the directory; 0 = no limit
  uint64_t min_free_bytes = 1 * kGiB;  // keep this much free on the disk; 0 = don't check

  bool operator==(const Output&) const = default;
};

struct Mcap {
  std::string profile;                           // Header.profile: "", "ros1", "ros2", ...
  Compression compression = Compression::kZstd;  // zstd | lz4 | none
  int compression_level = 1;                     // zstd: its own range; lz4: 0..12; none: unused
  uint64_t chunk_size = 1 * kMiB;                // seal a chunk at this many uncompressed bytes
  milliseconds chunk_max_age = std::chrono::milliseconds(500);  // ... or when this old

  bool operator==(const Mcap&) const = default;
};

struct Pipeline {
  uint32_t compressor_threads = 0;      // 0 = one per CPU
  uint32_t ingest_threads = 1;          // Asio threads receiving from sockets
  uint64_t memory_budget = 512 * kMiB;  // all queues + open chunks + chunks in flight
  uint64_t queue_bytes = 16 * kMiB;     // per-channel queue for channels without an entry
  milliseconds shutdown_timeout = std::chrono::seconds(10);  // drain + finalize on SIGTERM

  bool operator==(const Pipeline&) const = default;
};

// The Schema record for a raw or length_prefixed source's channel.
struct SourceSchema {
  std::string name;       // required
  std::string encoding;   // required when there is data ("ros2msg", "protobuf", ...)
  std::string data;       // the schema bytes: inline text, or the contents of data_file
  std::string data_file;  // "" = data is inline; else read at load time (relative paths are
                          // relative to the configuration file), e.g. a FileDescriptorSet

  bool operator==(const SourceSchema&) const = default;
};

struct Multicast {
  std::string group;      // an IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) multicast address
  std::string interface;  // local interface address or name to join on; "" = chosen by route

  bool operator==(const Multicast&) const = default;
};

struct Source {
  std::string name;                           // required, unique; used in logs and metrics
  Transport transport = Transport::kTcp;      // required
  Endpoint bind;                              // required; unique per transport
  SourceFormat format = SourceFormat::kMcap;  // mcap | raw (udp) | length_prefixed (tcp)

  // raw and length_prefixed only: the one channel this source feeds.
  std::string topic;                            // required for them
  std::string message_encoding;                 // "" by default
  std::optional<SourceSchema> schema;           // none by default (schema id 0)
  std::map<std::string, std::string> metadata;  // Channel.metadata, e.g. offered_qos_profiles

  // log_time from the sender's Message record, or the receive time. Default: sender for mcap,
  // receive for raw and length_prefixed (which carry no timestamp; sender is refused there).
  TimestampSource timestamp = TimestampSource::kSender;
  std::optional<Multicast> multicast;  // udp only; none by default
  uint64_t receive_buffer = 0;         // SO_RCVBUF; default 8 MiB for udp, 0 (kernel autotuning)
                                       // for tcp
  // udp: datagrams read per system call (recvmmsg); 0 or 1 = one per call (recvmsg).
  uint32_t receive_batch = kDefaultReceiveBatch;
  // udp: let the kernel hand over several equal-sized datagrams of one sender in one buffer
  // (UDP_GRO), split again by the listener: far less CPU per datagram. The kernel then counts
  // a dropped buffer once; the datagrams lost are estimated (kernel_dropped_datagrams).
  bool coalesce = true;
  std::vector<Cidr> allowed_senders;            // empty = anyone; else datagrams/connections from
                                                // other addresses are refused and counted
  uint64_t max_message_size = 0;                // default 65535 for udp, 16 MiB for tcp
  uint32_t max_connections = 64;                // tcp only
  uint32_t max_channels_per_connection = 1024;  // mcap only; per sender address for udp
  milliseconds idle_timeout{0};                 // tcp only: close a silent connection; 0 = never
  // mcap only: which in-band topics are recorded. Empty `topics` = all; a topic matching an
  // `exclude_topics` pattern is never recorded (counted not_recorded/excluded).
  TopicPatterns topics;
  TopicPatterns exclude_topics;

  bool operator==(const Source&) const = default;
};

// Per-topic settings; topics without an entry get the defaults below.
struct ChannelSettings {
  std::string topic;                    // required, unique
  std::string chunk_group = "default";  // channels sharing a group share one open chunk
  uint64_t queue_bytes = 0;             // default pipeline.queue_bytes (filled in by the loader)
  std::optional<Overflow> overflow;     // default: block for tcp sources, drop_newest for udp
  Record record = Record::kAlways;      // on_event: only in event files (needs `events:`)
  bool latch = false;  // the last message per publisher starts every new file again
  // Messages above this rate (by log time) are not recorded (not_recorded/rate_limited);
  // millihertz, 0 = no limit. YAML: max_rate: 10Hz.
  uint64_t max_rate_millihertz = 0;

  bool operator==(const ChannelSettings&) const = default;
};

// events.triggers[]: any message on `topic` marks the event `name`.
struct EventTriggerRule {
  std::string topic;             // required
  std::string name;              // required; letters, digits, '_', '-', '.'
  milliseconds before{0};        // default events.before
  milliseconds after{0};         // default events.after
  milliseconds min_interval{0};  // the rule fires at most once per this

  bool operator==(const EventTriggerRule&) const = default;
};

// Event recording: present when the file has an `events:` section.
struct Events {
  milliseconds look_back = std::chrono::seconds(30);  // the ring of compressed chunks holds this
  uint64_t memory_bytes = 256 * kMiB;                 // ring bytes in memory; beyond them the spool
  uint64_t spool_bytes = 8 * kGiB;  // spool file in output.directory; 0 = memory only
  uint64_t max_total_bytes = 0;     // event files' own retention quota; 0 = none
  milliseconds before = std::chrono::seconds(30);  // default look-back of an event: look_back
  milliseconds after = std::chrono::seconds(10);   // default look-ahead of an event
  std::string signal_event = "manual";             // the event SIGUSR1 marks
  std::vector<EventTriggerRule> triggers;

  bool operator==(const Events&) const = default;
};

struct Metrics {
  std::optional<Endpoint> bind;  // HTTP /metrics and /status; none = disabled

  bool operator==(const Metrics&) const = default;
};

struct Recording {
  // paused: nothing is recorded until `mcaprec ctl resume` (or POST /v1/resume).
  RecordingStart start = RecordingStart::kRecording;

  bool operator==(const Recording&) const = default;
};

inline constexpr std::string_view kDefaultControlSocket = "/run/mcaprec/control.sock";

struct Control {
  // HTTP/1.1 + JSON on a Unix domain socket (mode 0660); "" = no socket.
  std::string socket = std::string(kDefaultControlSocket);
  std::optional<Endpoint> bind;  // loopback TCP as well, with a bearer token; none = off
  std::string token_file;        // required with bind: the token, one line

  bool operator==(const Control&) const = default;
};

// session: facts about the recording written into every file the daemon writes, as the
// `mcaprec.session` Metadata record and, when a device is named, the `foxglove` record
// (deviceId/deviceName) that Foxglove's import reads. Empty = neither record.
struct Session {
  std::string device_id;                        // "" = none
  std::string device_name;                      // "" = none
  std::map<std::string, std::string> metadata;  // free keys: vehicle, driver, route, ...

  bool empty() const { return device_id.empty() && device_name.empty() && metadata.empty(); }
  bool operator==(const Session&) const = default;
};

struct Logging {
  LogLevel level = LogLevel::kInfo;  // trace | debug | info | warn | error | critical | off

  bool operator==(const Logging&) const = default;
};

// Fleet upload to S3-compatible object storage: present when the file has an `upload:` section.
struct Upload {
  std::string endpoint;  // http(s)://host[:port]; required
  std::string region = "us-east-1";
  std::string bucket;                                      // required
  std::string key_template = "{device_id}/{date}/{file}";  // {device_id} {date} {file} {prefix}
  std::string credentials_file;    // AWS shared-credentials INI, or its name under systemd's
                                   // $CREDENTIALS_DIRECTORY; required
  std::string ca_file;             // PEM bundle to trust instead of the system's; "" = system
  uint64_t part_size = 16 * kMiB;  // files up to this go in one PUT; at least 5 MiB (S3)
  uint64_t max_bandwidth = 0;      // bytes/s, 0 = unlimited
  bool delete_after_upload = false;

  bool operator==(const Upload&) const = default;
};

struct Config {
  Output output;
  Mcap mcap;
  Pipeline pipeline;
  std::vector<Source> sources;            // at least one
  std::vector<ChannelSettings> channels;  // optional
  std::optional<Events> events;           // none: no event recording
  std::optional<Upload> upload;           // none: files stay where they are
  Metrics metrics;
  Recording recording;
  Control control;
  Logging logging;
  Session session;
  // A command run with each finished file's path appended as its last argument (no shell);
  // empty = none. Runs off the writer path, one at a time, killed after on_finalize_timeout.
  std::vector<std::string> on_finalize;
  milliseconds on_finalize_timeout = std::chrono::seconds(60);

  bool operator==(const Config&) const = default;
};

inline constexpr std::string_view kDefaultChunkGroup = "default";

// The settings for `topic`: its entry in config.channels, or the defaults (queue_bytes from
// pipeline.queue_bytes, the default chunk group, no explicit overflow).
ChannelSettings channel_settings_for(const Config& config, std::string_view topic);
// What happens when a channel's queue is full: its explicit policy, else block for TCP (the
// sender is slowed down by flow control) and drop_newest for UDP.
Overflow effective_overflow(const ChannelSettings& settings, Transport transport);
// Whether `source` records `topic`: it matches `topics` (or that list is empty) and no pattern
// of `exclude_topics`.
bool topic_selected(const Source& source, std::string_view topic);

}  // namespace mcaprec::config
