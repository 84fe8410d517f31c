#include "config/validate.hpp"

#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "config/units.hpp"
#include "config/validate_internal.hpp"

namespace mcaprec::config {
namespace {

// Like execvp: a name with a slash is a path, else it is looked for in $PATH.
bool executable_found(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    std::error_code ec;
    return std::filesystem::is_regular_file(program, ec) && ::access(program.c_str(), X_OK) == 0;
  }
  const char* path = std::getenv("PATH");
  std::string_view rest = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const size_t colon = rest.find(':');
    std::string directory(rest.substr(0, colon));
    if (directory.empty()) directory = ".";
    const std::string candidate = directory + "/" + program;
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0)
      return true;
    if (colon == std::string_view::npos) return false;
    rest.remove_prefix(colon + 1);
  }
}

using namespace detail;

void check_output(const Config& config, Diagnostics& d) {
  const Output& output = config.output;
  if (!d.has_error("output.directory")) {
    if (output.directory.empty()) {
      d.error("output.directory", "must not be empty");
    } else {
      // Looking is allowed; creating is the daemon's job once everything is valid.
      std::error_code ec;
      const auto status = std::filesystem::status(output.directory, ec);
      if (!ec && std::filesystem::exists(status) && !std::filesystem::is_directory(status)) {
        d.error("output.directory", in_quotes(output.directory) + " exists and is not a directory");
      }
    }
  }
  if (!d.has_error("output.prefix") && !is_plain_name(output.prefix)) {
    d.error("output.prefix", in_quotes(output.prefix) +
                                 " cannot start a file name: use letters, digits, '_', '-' or '.'");
  }
  if (!d.has_error("output.max_bytes") && !d.has_error("mcap.chunk_size") &&
      output.max_bytes != 0 && output.max_bytes <= config.mcap.chunk_size) {
    d.error(blame(d, {"output.max_bytes", "mcap.chunk_size"}),
            "output.max_bytes (" + format_size(output.max_bytes) +
                ") must be larger than mcap.chunk_size (" + format_size(config.mcap.chunk_size) +
                "): files rotate at chunk boundaries (0 = no size limit)");
  }
  if (!d.has_error("output.max_duration") && output.max_duration.count() != 0 &&
      output.max_duration < std::chrono::seconds(1)) {
    d.error("output.max_duration", "must be at least 1s (or 0 for no time limit)");
  }
  if (!d.has_error("output.sync_interval") && output.sync_interval.count() <= 0) {
    d.error("output.sync_interval", "must be more than 0");
  }
  if (!d.has_error("output.max_total_bytes") && !d.has_error("output.max_bytes") &&
      output.max_total_bytes != 0 && output.max_bytes != 0 &&
      output.max_total_bytes < output.max_bytes) {
    d.error(blame(d, {"output.max_total_bytes", "output.max_bytes"}),
            "output.max_total_bytes (" + format_size(output.max_total_bytes) +
                ") is smaller than one file (output.max_bytes " + format_size(output.max_bytes) +
                "); recording would pause as soon as a file fills up");
  }
}

void check_mcap(const Config& config, Diagnostics& d) {
  const Mcap& mcap = config.mcap;
  if (!d.has_error("mcap.compression") && !d.has_error("mcap.compression_level")) {
    int low = 0;
    int high = 0;
    if (mcap.compression == Compression::kZstd) {
      low = ZSTD_minCLevel();
      high = ZSTD_maxCLevel();
    } else if (mcap.compression == Compression::kLz4) {
      low = 0;  // 0..2: LZ4's fast mode; 3..12: LZ4 HC
      high = 12;
    }
    if (mcap.compression != Compression::kNone &&
        (mcap.compression_level < low || mcap.compression_level > high)) {
      d.error(blame(d, {"mcap.compression_level", "mcap.compression"}),
              std::to_string(mcap.compression_level) + " is not a " +
                  std::string(compression_keyword(mcap.compression)) +
                  " compression level: it must be from " + std::to_string(low) + " to " +
                  std::to_string(high));
    }
  }
  if (!d.has_error("mcap.chunk_size") &&
      (mcap.chunk_size < kMinChunkSize || mcap.chunk_size > kMaxChunkSize)) {
    d.error("mcap.chunk_size", format_size(mcap.chunk_size) + " is outside " +
                                   format_size(kMinChunkSize) + " to " +
                                   format_size(kMaxChunkSize));
  }
  if (!d.has_error("mcap.chunk_max_age") && mcap.chunk_max_age.count() <= 0) {
    d.error("mcap.chunk_max_age", "must be more than 0");
  }
}

void check_pipeline(const Config& config, Diagnostics& d) {
  const Pipeline& pipeline = config.pipeline;
  std::set<std::string> groups = {std::string(kDefaultChunkGroup)};
  for (const ChannelSettings& channel : config.channels) groups.insert(channel.chunk_group);
  // Each group keeps one chunk open, and at least two more must fit: one being compressed and
  // one waiting for the writer. Less than that and the pipeline cannot make progress.
  const uint64_t chunks = std::max<uint64_t>(4, groups.size() + 2);
  if (!d.has_error("pipeline.memory_budget") && !d.has_error("mcap.chunk_size") &&
      pipeline.memory_budget / chunks < config.mcap.chunk_size) {
    d.error(blame(d, {"pipeline.memory_budget", "mcap.chunk_size"}),
            "pipeline.memory_budget (" + format_size(pipeline.memory_budget) + ") cannot hold " +
                std::to_string(chunks) + " chunks of mcap.chunk_size (" +
                format_size(config.mcap.chunk_size) + "): one open chunk for each of the " +
                std::to_string(groups.size()) +
                " chunk groups plus two in flight, and at least four; it needs " +
                format_size(chunks * config.mcap.chunk_size) + " or more");
  }
  if (!d.has_error("pipeline.queue_bytes") && !d.has_error("pipeline.memory_budget")) {
    if (pipeline.queue_bytes < 4 * kKiB) {
      d.error("pipeline.queue_bytes", "must be at least 4KiB");
    } else if (pipeline.queue_bytes > pipeline.memory_budget) {
      d.error(blame(d, {"pipeline.queue_bytes", "pipeline.memory_budget"}),
              "pipeline.queue_bytes (" + format_size(pipeline.queue_bytes) +
                  ") is larger than pipeline.memory_budget (" +
                  format_size(pipeline.memory_budget) + ")");
    }
  }
  if (!d.has_error("pipeline.shutdown_timeout") && pipeline.shutdown_timeout.count() <= 0) {
    d.error("pipeline.shutdown_timeout", "must be more than 0");
  }
}

// The latch follows each message of the channel from its queue into a file: a queue that
// discards older messages (drop_oldest) would lose that trail, and an on-event channel never
// reaches the continuous files that repeat it.
void check_latch(const ChannelSettings& channel, const std::string& at, Diagnostics& d) {
  if (!channel.latch || d.has_error(at + ".latch")) return;
  if (channel.overflow == Overflow::kDropOldest && !d.has_error(at + ".overflow")) {
    d.error(blame(d, {at + ".overflow", at + ".latch"}),
            "a latched channel cannot use drop_oldest; use drop_newest or block");
  }
  if (channel.record == Record::kOnEvent && !d.has_error(at + ".record")) {
    d.error(blame(d, {at + ".record", at + ".latch"}),
            "a latched channel is recorded always (latch repeats it in the continuous files)");
  }
}

void check_channels(const Config& config, Diagnostics& d) {
  for (size_t i = 0; i < config.channels.size(); ++i) {
    const ChannelSettings& channel = config.channels[i];
    const std::string at = channel_path(i);
    if (d.has_own_error(at)) continue;
    if (d.written(at + ".topic") && channel.topic.empty() && !d.has_error(at + ".topic")) {
      d.error(at + ".topic", "must not be empty");
    }
    for (size_t j = 0; j < i; ++j) {
      if (!channel.topic.empty() && channel.topic == config.channels[j].topic) {
        d.error(at + ".topic", in_quotes(channel.topic) + " already has settings in " +
                                   channel_path(j) + " (line " +
                                   std::to_string(d.line_of(channel_path(j) + ".topic")) + ")");
      }
    }
    if (!d.has_error(at + ".chunk_group") && channel.chunk_group.empty()) {
      d.error(at + ".chunk_group", "must not be empty (the shared group is called 'default')");
    }
    if (!d.has_error(at + ".queue_bytes") && !d.has_error("pipeline.memory_budget")) {
      if (channel.queue_bytes < 4 * kKiB) {
        d.error(at + ".queue_bytes", "must be at least 4KiB");
      } else if (channel.queue_bytes > config.pipeline.memory_budget) {
        d.error(blame(d, {at + ".queue_bytes", "pipeline.queue_bytes", "pipeline.memory_budget"}),
                "queue_bytes (" + format_size(channel.queue_bytes) +
                    ") is larger than pipeline.memory_budget (" +
                    format_size(config.pipeline.memory_budget) + ")");
      }
    }
    check_latch(channel, at, d);
  }
  // Channels fed by raw and length_prefixed sources are known now: their queue must hold one
  // message, and only TCP can be slowed down instead of dropping.
  for (size_t i = 0; i < config.sources.size(); ++i) {
    const Source& source = config.sources[i];
    const std::string at = source_path(i);
    if (source.format == SourceFormat::kMcap || source.topic.empty() || d.has_error(at)) continue;
    const ChannelSettings settings = channel_settings_for(config, source.topic);
    auto entry = std::find_if(config.channels.begin(), config.channels.end(),
                              [&](const ChannelSettings& c) { return c.topic == source.topic; });
    const std::string entry_at =
        entry == config.channels.end()
            ? std::string("pipeline.queue_bytes")
            : channel_path(static_cast<size_t>(entry - config.channels.begin())) + ".queue_bytes";
    if (settings.queue_bytes < source.max_message_size && !d.has_error(entry_at)) {
      d.error(blame(d, {entry_at, at + ".max_message_size"}),
              "the queue of " + source.topic + " (" + format_size(settings.queue_bytes) +
                  ") cannot hold one message of " + at + ".max_message_size (" +
                  format_size(source.max_message_size) + ")");
    }
    if (source.transport == Transport::kUdp && settings.overflow == Overflow::kBlock &&
        entry != config.channels.end()) {
      d.error(channel_path(static_cast<size_t>(entry - config.channels.begin())) + ".overflow",
              "block cannot slow down the UDP sender " + at + " (" + source.name +
                  "); use drop_newest or drop_oldest");
    }
  }
}

bool is_loopback(const Endpoint& endpoint) {
  return endpoint.host == "localhost" || endpoint.host == "::1" ||
         endpoint.host.starts_with("127.");
}

void check_control(const Config& config, Diagnostics& d) {
  const Control& control = config.control;
  // sockaddr_un holds 108 bytes with the terminating NUL.
  constexpr size_t kMaxSocketPath = 107;
  if (!d.has_error("control.socket") && !control.socket.empty()) {
    std::error_code ec;
    const auto status = std::filesystem::symlink_status(control.socket, ec);
    if (control.socket.size() > kMaxSocketPath) {
      d.error("control.socket", "is " + std::to_string(control.socket.size()) +
                                    " bytes long; a Unix socket path may have at most 107");
    } else if (!ec && std::filesystem::exists(status) && !std::filesystem::is_socket(status)) {
      d.error("control.socket",
              in_quotes(control.socket) +
                  " exists and is not a socket; remove it or choose another path");
    }
  }
  if (control.bind && !d.has_error("control.bind") && !is_loopback(*control.bind)) {
    d.error("control.bind", control.bind->to_string() +
                                " is not a loopback address: use 127.0.0.1, ::1 or localhost "
                                "(the control endpoint is not for the network)");
  }
  if (control.bind && control.token_file.empty() && !d.has_error("control.token_file")) {
    d.error(blame(d, {"control.token_file", "control.bind"}),
            "control.bind needs control.token_file: a file holding the bearer token that "
            "clients must send");
  }
  if (!control.token_file.empty() && !d.has_error("control.token_file")) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(control.token_file, ec)) {
      d.error("control.token_file",
              in_quotes(control.token_file) + " is not a readable file (it holds the token)");
    }
  }
}

// An event's look-back comes from the ring: it cannot ask for more than the ring keeps.
void check_look_back(const Events& events, Diagnostics& d, const std::string& at,
                     std::chrono::milliseconds before) {
  if (d.has_error(at) || d.has_error("events.look_back")) return;
  if (before > events.look_back) {
    d.error(blame(d, {at, "events.look_back"}),
            "before (" + format_duration(before) + ") is longer than events.look_back (" +
                format_duration(events.look_back) +
                "): the ring would not hold it; raise look_back or shorten before");
  }
}

void check_events(const Config& config, Diagnostics& d) {
  if (!config.events) {
    for (size_t i = 0; i < config.channels.size(); ++i) {
      if (config.channels[i].record == Record::kOnEvent) {
        d.error(channel_path(i) + ".record",
                "on_event needs an `events:` section (the look-back ring that keeps it)");
      }
    }
    return;
  }
  const Events& events = *config.events;
  if (!d.has_error("events.look_back") && events.look_back.count() <= 0) {
    d.error("events.look_back", "must be more than 0");
  }
  if (!d.has_error("events.memory_bytes") && events.memory_bytes < config.mcap.chunk_size) {
    d.error(blame(d, {"events.memory_bytes", "mcap.chunk_size"}),
            "events.memory_bytes (" + format_size(events.memory_bytes) +
                ") must hold at least one chunk (mcap.chunk_size " +
                format_size(config.mcap.chunk_size) + ")");
  }
  if (!d.has_error("events.signal_event") && !is_plain_name(events.signal_event)) {
    d.error("events.signal_event", in_quotes(events.signal_event) +
                                       " cannot be an event name: use letters, digits, '_', "
                                       "'-' or '.'");
  }
  check_look_back(events, d, "events.before", events.before);
  for (size_t i = 0; i < events.triggers.size(); ++i) {
    const EventTriggerRule& rule = events.triggers[i];
    const std::string at = item_path("events.triggers", i);
    if (d.has_own_error(at)) continue;
    if (!d.has_error(at + ".topic") && rule.topic.empty())
      d.error(at + ".topic", "must not be empty");
    if (!d.has_error(at + ".name") && !is_plain_name(rule.name)) {
      d.error(at + ".name", in_quotes(rule.name) +
                                " cannot be an event name: use letters, digits, '_', '-' or '.'");
    }
    check_look_back(events, d, at + ".before", rule.before);
  }
}

// The placeholders a key may hold; {file} must be there, or every file would get one key.
void check_key_template(const std::string& key_template, Diagnostics& d) {
  static constexpr std::array<std::string_view, 4> kPlaceholders = {"{device_id}", "{date}",
                                                                    "{file}", "{prefix}"};
  for (size_t open = key_template.find('{'); open != std::string::npos;
       open = key_template.find('{', open + 1)) {
    const size_t close = key_template.find('}', open);
    const std::string placeholder =
        key_template.substr(open, close == std::string::npos ? close : close - open + 1);
    if (std::find(kPlaceholders.begin(), kPlaceholders.end(), placeholder) == kPlaceholders.end()) {
      d.error("upload.key_template",
              in_quotes(placeholder) +
                  " is not a placeholder; use {device_id}, {date}, {file} or {prefix}");
      return;
    }
  }
  if (key_template.find("{file}") == std::string::npos) {
    d.error("upload.key_template", "must contain {file} (else every file gets the same key)");
  }
}

void check_upload(const Config& config, Diagnostics& d) {
  if (!config.upload) return;
  const Upload& upload = *config.upload;
  constexpr uint64_t kMinPartSize = 5 * kMiB;
  constexpr uint64_t kMaxPartSize = 5 * kGiB;
  if (!d.has_error("upload.endpoint") && !upload.endpoint.empty() &&
      !upload.endpoint.starts_with("https://") && !upload.endpoint.starts_with("http://")) {
    d.error("upload.endpoint",
            in_quotes(upload.endpoint) + " must start with https:// (or http://)");
  }
  if (!d.has_error("upload.part_size") &&
      (upload.part_size < kMinPartSize || upload.part_size > kMaxPartSize)) {
    d.error("upload.part_size", "must be between 5MiB and 5GiB (the part sizes S3 accepts)");
  }
  if (!d.has_error("upload.key_template")) check_key_template(upload.key_template, d);
  // Slower than this, a transfer would look stalled (1 KiB/s for 30 s aborts it).
  constexpr uint64_t kMinBandwidth = 8 * kKiB;
  if (!d.has_error("upload.max_bandwidth") && upload.max_bandwidth != 0 &&
      upload.max_bandwidth < kMinBandwidth) {
    d.error("upload.max_bandwidth", "must be 0 (no limit) or at least 8KiB (bytes per second)");
  }
  if (!d.has_error("upload.ca_file") && !upload.ca_file.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(upload.ca_file, ec)) {
      d.error("upload.ca_file",
              in_quotes(upload.ca_file) + " is not a readable file (PEM certificates)");
    }
  }
}

// The program must be there when the daemon starts, not found missing at the first file.
void check_on_finalize(const Config& config, Diagnostics& d) {
  if (!config.on_finalize.empty() && !d.has_error("on_finalize")) {
    const std::string& program = config.on_finalize.front();
    if (program.empty()) {
      d.error("on_finalize[0]", "the program is empty");
    } else if (!executable_found(program)) {
      d.error("on_finalize[0]", in_quotes(program) + (program.find('/') == std::string::npos
                                                          ? " is not an executable file in $PATH"
                                                          : " is not an executable file"));
    }
  }
  if (!d.has_error("on_finalize_timeout") && config.on_finalize_timeout.count() <= 0) {
    d.error("on_finalize_timeout", "must be more than 0, e.g. 60s");
  }
}

// The keys of session.metadata share the `mcaprec.session` record with device_id and
// device_name, so they must not take those names.
void check_session(const Config& config, Diagnostics& d) {
  for (const auto& [key, value] : config.session.metadata) {
    const std::string at = child_path("session.metadata", key);
    if (key.empty()) {
      d.error(at, "a metadata key must not be empty");
    } else if (key == "device_id" || key == "device_name") {
      d.error(at, "is a key of its own: write session." + key);
    }
  }
}

}  // namespace

void validate(const Config& config, Diagnostics& d) {
  check_output(config, d);
  check_mcap(config, d);
  check_pipeline(config, d);
  check_sources(config, d);
  check_channels(config, d);
  check_control(config, d);
  check_events(config, d);
  check_upload(config, d);
  check_session(config, d);
  check_on_finalize(config, d);
}

}  // namespace mcaprec::config
