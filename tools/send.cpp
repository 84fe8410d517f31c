// mcaprec send: the load generator of the tests and benchmarks. Replays an MCAP file, or sends
// the synthetic sensor mix or raw payloads, to a receiver over TCP or UDP, paced or as fast as
// possible, within a message count and a duration; then prints what it sent per topic.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cli_helpers.hpp"
#include "commands.hpp"
#include "mcap/bytes.hpp"
#include "mcap/reader.hpp"
#include "send_transport.hpp"
#include "synth/pacer.hpp"
#include "synth/sensor_mix.hpp"

namespace mcaprec::tool {
namespace {

using send::Endpoint;
using send::Transport;
using Clock = std::chrono::steady_clock;

constexpr const char kHelp[] =
    "Usage: mcaprec send TARGET [FILE] [OPTIONS]\n"
    "\n"
    "Sends messages to TARGET, tcp://HOST:PORT or udp://HOST:PORT, and prints what it sent per\n"
    "topic with the achieved rate. The messages come from:\n"
    "  FILE              an MCAP file, replayed at its recorded speed (see --speed)\n"
    "  (no FILE)         the synthetic sensor mix: lidar packets and points, camera frames, IMU,\n"
    "                    CAN and diagnostics at their real rates, about 9.7 MB/s; or, with\n"
    "                    --sensor-set automotive, 30 topics (raw cameras, lidars, radars...)\n"
    "                    at about 573 MB/s\n"
    "  --raw-size SIZE   raw payloads of SIZE bytes at --rate messages per second\n"
    "\n"
    "Over TCP, MCAP sources go as an MCAP stream (magic, Header, Schema, Channel and Message\n"
    "records, Data End, Footer) and raw payloads as u32 little-endian length-prefixed frames.\n"
    "At the end the sender shuts down its side and waits for the receiver to close, so the\n"
    "receiver has read everything when the command succeeds.\n"
    "Over UDP, MCAP records are packed into datagrams of at most --mtu bytes, Schema and Channel\n"
    "records are repeated every --definitions-every datagrams, and messages too large for one\n"
    "datagram are skipped and counted. Raw payloads go one per datagram.\n"
    "\n"
    "Options:\n"
    "  --speed N            replay and sensor mix: N times real time (default 1); 0 = as fast\n"
    "                       as possible\n"
    "  --max                as fast as possible\n"
    "  --rate R             raw payloads: messages per second (required unless --max)\n"
    "  --raw-size SIZE      send raw payloads of SIZE bytes (B, KiB, MiB) instead of MCAP\n"
    "  --count N            stop after N messages\n"
    "  --duration D         stop after D (\"0.5\", \"500ms\", \"10s\", \"2m\"); messages are not\n"
    "                       sent once their time is past D\n"
    "  --topics A,B         only these topics (replay and sensor mix)\n"
    "  --sensor-set NAME    synthetic topics: mix (default) or automotive\n"
    "  --seed N             seed of the synthetic payloads (default 1)\n"
    "  --numbered           synthetic traffic: every payload starts with the message's number\n"
    "                       (u64 little-endian, from 0), also set as the Message sequence\n"
    "  --progress-file F    append \"<unix_ns> <messages sent so far>\" to F every 100 ms\n"
    "  --mtu N              UDP: largest MCAP datagram payload (default 1472)\n"
    "  --definitions-every N  UDP: repeat Schema and Channel records every N datagrams\n"
    "                       (default 100; 0 = only once)\n"
    "  --chunked            TCP: send messages in zstd chunks\n"
    "  --chunk-size SIZE    TCP with --chunked: uncompressed bytes per chunk (default 1MiB)\n"
    "  --close-timeout D    TCP: how long to wait for the receiver to close (default 10s)\n"
    "  --gso                UDP raw: hand the kernel up to 64 equal datagrams per call (UDP\n"
    "                       segmentation offload); each still arrives as its own datagram\n"
    "  --json               print the report as JSON on one line (seconds rounded to 6\n"
    "                       decimals, rates to 3, written without trailing zeros)\n"
    "  -h, --help           show this help\n"
    "\n"
    "Without FILE, --count or --duration the command runs until interrupted (SIGINT or\n"
    "SIGTERM), and then ends the stream cleanly. \"Messages sent\" are those whose bytes the\n"
    "kernel accepted.\n"
    "A paced run also reports how far behind its schedule the sender began to send messages\n"
    "(waiting for the receiver included): the largest delay and its 99th percentile in\n"
    "milliseconds, and the largest for messages due after the first second, when the\n"
    "receiver has warmed up (JSON: lag_ms).\n"
    "\n"
    "Exit status: 0 when everything was sent (and, over TCP, the receiver closed cleanly), 1 on\n"
    "a connection or file error, 2 on a usage error.\n";

const OptionSpec kOptions[] = {
    {"--speed", true},         {"--max", false},       {"--rate", true},
    {"--raw-size", true},      {"--count", true},      {"--duration", true},
    {"--topics", true},        {"--seed", true},       {"--numbered", false},
    {"--progress-file", true}, {"--mtu", true},        {"--definitions-every", true},
    {"--chunked", false},      {"--chunk-size", true}, {"--close-timeout", true},
    {"--json", false},         {"--gso", false},       {"--sensor-set", true}};

constexpr uint64_t kNumberBytes = 8;

std::atomic<bool> g_interrupted{false};

extern "C" void on_stop_signal(int) {
  g_interrupted.store(true);
}

struct Settings {
  Endpoint target;
  std::optional<std::string> file;
  std::optional<uint64_t> raw_size;
  double speed = 1;  // 0: as fast as possible
  double rate = 0;   // raw: messages per second, 0 = as fast as possible
  std::optional<uint64_t> count;
  std::optional<uint64_t> duration_ns;
  std::optional<std::set<std::string>> topics;
  bool automotive = false;  // --sensor-set automotive instead of the default mix
  uint64_t seed = 1;
  bool numbered = false;
  std::optional<std::string> progress_file;
  size_t mtu = 1472;
  uint64_t definitions_every = 100;
  send::TcpOptions tcp;
  bool json = false;
  bool gso = false;  // raw UDP: UDP_SEGMENT batches
};

// "0.5", "1.5s", "500ms", "2m", "1h".
std::optional<uint64_t> parse_duration(std::string_view text) {
  double scale = 1e9;
  std::string_view number = text;
  if (text.ends_with("ms")) {
    scale = 1e6;
    number = text.substr(0, text.size() - 2);
  } else if (text.ends_with("s")) {
    number = text.substr(0, text.size() - 1);
  } else if (text.ends_with("m")) {
    scale = 60e9;
    number = text.substr(0, text.size() - 1);
  } else if (text.ends_with("h")) {
    scale = 3600e9;
    number = text.substr(0, text.size() - 1);
  }
  if (number.empty()) return std::nullopt;
  const std::string copy(number);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !(value >= 0) || value * scale > 1e18) {
    return std::nullopt;
  }
  return static_cast<uint64_t>(value * scale);
}

std::optional<double> parse_number(std::string_view text) {
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || !(value >= 0) || value > 1e12) {
    return std::nullopt;
  }
  return value;
}

std::set<std::string> split_topics(std::string_view text) {
  std::set<std::string> topics;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) topics.emplace(text.substr(start, comma - start));
    start = comma + 1;
  }
  return topics;
}

// Each read_* fills its part of `settings` and returns the usage error, if any. They run in
// one order, so that of several errors the same one is reported first.

const std::string* option_value(const ParsedArgs& parsed, std::string_view name) {
  auto it = parsed.options.find(name);
  return it == parsed.options.end() ? nullptr : &it->second;
}

std::optional<std::string> read_target_and_file(const ParsedArgs& parsed, Settings& settings) {
  std::optional<Endpoint> target;
  for (const std::string& argument : parsed.positional) {
    if (argument.starts_with("tcp://") || argument.starts_with("udp://")) {
      if (target) return "more than one TARGET given";
      target = send::parse_endpoint(argument);
      if (!target)
        return "TARGET must be tcp://HOST:PORT or udp://HOST:PORT, not '" + argument + "'";
    } else if (argument.find("://") != std::string::npos) {
      return "TARGET must be tcp://HOST:PORT or udp://HOST:PORT, not '" + argument + "'";
    } else {
      if (settings.file) return "more than one FILE given";
      settings.file = argument;
    }
  }
  if (!target) return "expected TARGET (tcp://HOST:PORT or udp://HOST:PORT)";
  settings.target = *target;
  return std::nullopt;
}

// What is sent (replay, sensor mix or raw payloads) and how fast.
std::optional<std::string> read_source_and_pace(const ParsedArgs& parsed, Settings& settings) {
  if (const std::string* text = option_value(parsed, "--raw-size")) {
    auto size = parse_size(*text);
    if (!size || *size == 0 || *size > UINT32_MAX) {
      return "--raw-size must be a size from 1B to 4GiB, not '" + *text + "'";
    }
    if (settings.file) return "--raw-size generates payloads; it cannot be used with FILE";
    if (settings.target.protocol == Endpoint::Protocol::kUdp && *size > send::kMaxUdpPayload) {
      return "--raw-size over UDP can be at most " + std::to_string(send::kMaxUdpPayload) +
             " bytes";
    }
    settings.raw_size = size;
  }
  if (const std::string* text = option_value(parsed, "--speed")) {
    auto speed = parse_number(*text);
    if (!speed) return "--speed must be a number >= 0, not '" + *text + "'";
    if (settings.raw_size) return "--speed applies to replay and the sensor mix; use --rate";
    settings.speed = *speed;
  }
  if (const std::string* text = option_value(parsed, "--rate")) {
    auto rate = parse_number(*text);
    if (!rate || *rate <= 0) return "--rate must be a number of messages per second > 0";
    if (!settings.raw_size) {
      return "--rate applies to --raw-size payloads; use --speed N to replay N times faster";
    }
    settings.rate = *rate;
  }
  if (parsed.has("--max")) {
    settings.speed = 0;
    settings.rate = 0;
  } else if (settings.raw_size && settings.rate == 0) {
    return "--raw-size needs --rate R (messages per second) or --max";
  }
  return std::nullopt;
}

// How much is sent, and what the synthetic payloads hold.
std::optional<std::string> read_limits_and_payloads(const ParsedArgs& parsed, Settings& settings) {
  if (const std::string* text = option_value(parsed, "--count")) {
    auto count = parse_integer(*text, 0, INT64_MAX);
    if (!count) return "--count must be a whole number >= 0, not '" + *text + "'";
    settings.count = static_cast<uint64_t>(*count);
  }
  if (const std::string* text = option_value(parsed, "--duration")) {
    settings.duration_ns = parse_duration(*text);
    if (!settings.duration_ns)
      return "--duration must be like 0.5, 500ms, 10s or 2m, not '" + *text + "'";
  }
  if (const std::string* text = option_value(parsed, "--topics")) {
    if (settings.raw_size) return "--topics applies to replay and the sensor mix";
    settings.topics = split_topics(*text);
    if (settings.topics->empty()) return "--topics needs at least one topic";
  }
  if (const std::string* text = option_value(parsed, "--sensor-set")) {
    if (settings.file || settings.raw_size) return "--sensor-set applies to the sensor mix";
    if (*text != "mix" && *text != "automotive") {
      return "--sensor-set must be mix or automotive, not '" + *text + "'";
    }
    settings.automotive = *text == "automotive";
  }
  if (const std::string* text = option_value(parsed, "--seed")) {
    auto seed = parse_integer(*text, 0, INT64_MAX);
    if (!seed) return "--seed must be a whole number >= 0, not '" + *text + "'";
    settings.seed = static_cast<uint64_t>(*seed);
  }
  if (parsed.has("--numbered")) {
    if (settings.file) return "--numbered is for synthetic traffic, not for replaying a FILE";
    if (settings.raw_size && *settings.raw_size < kNumberBytes) {
      return "--numbered needs --raw-size of at least 8 bytes";
    }
    settings.numbered = true;
  }
  if (const std::string* text = option_value(parsed, "--progress-file")) {
    settings.progress_file = *text;
  }
  return std::nullopt;
}

// How the transport sends (UDP datagrams, TCP chunks and close), and the report's form.
std::optional<std::string> read_transport_options(const ParsedArgs& parsed, Settings& settings) {
  if (const std::string* text = option_value(parsed, "--mtu")) {
    auto mtu = parse_integer(*text, 64, static_cast<int64_t>(send::kMaxUdpPayload));
    if (!mtu) return "--mtu must be from 64 to 65507 bytes, not '" + *text + "'";
    settings.mtu = static_cast<size_t>(*mtu);
  }
  if (const std::string* text = option_value(parsed, "--definitions-every")) {
    auto every = parse_integer(*text, 0, INT64_MAX);
    if (!every) return "--definitions-every must be a whole number >= 0, not '" + *text + "'";
    settings.definitions_every = static_cast<uint64_t>(*every);
  }
  if (parsed.has("--chunked")) {
    if (settings.raw_size) return "--chunked applies to MCAP streams, not to --raw-size";
    settings.tcp.chunked = true;
  }
  if (const std::string* text = option_value(parsed, "--chunk-size")) {
    auto size = parse_size(*text);
    if (!size || *size == 0 || *size > (uint64_t{1} << 30)) {
      return "--chunk-size must be a size from 1B to 1GiB, not '" + *text + "'";
    }
    settings.tcp.chunk_size = *size;
  }
  if (const std::string* text = option_value(parsed, "--close-timeout")) {
    auto timeout = parse_duration(*text);
    if (!timeout || *timeout > uint64_t{3600} * 1'000'000'000) {
      return "--close-timeout must be like 500ms or 10s, at most 1h, not '" + *text + "'";
    }
    settings.tcp.close_timeout_ms = static_cast<int>(*timeout / 1'000'000);
  }
  settings.json = parsed.has("--json");
  if (parsed.has("--gso")) {
    if (!settings.raw_size || settings.target.protocol != Endpoint::Protocol::kUdp) {
      return "--gso applies to --raw-size payloads over UDP";
    }
    settings.gso = true;
  }
  return std::nullopt;
}

// Fills `settings` from the command line; returns the usage error, if any.
std::optional<std::string> read_settings(const ParsedArgs& parsed, Settings& settings) {
  for (auto read : {read_target_and_file, read_source_and_pace, read_limits_and_payloads,
                    read_transport_options}) {
    if (std::optional<std::string> error = read(parsed, settings)) return error;
  }
  return std::nullopt;
}

struct TopicStats {
  std::string topic;
  uint64_t messages = 0;
  uint64_t bytes = 0;
  uint64_t skipped = 0;  // too large for the transport
};

// Paces messages, applies the limits, numbers payloads and keeps the per-topic counts.
class Sender {
 public:
  // How early a paced message may be handed over, to batch messages due within this time.
  static constexpr std::chrono::microseconds kSendAhead{500};

  Sender(Transport& transport, synth::Pacer pacer, const Settings& settings)
      : transport_(transport), pacer_(pacer), settings_(settings), start_(Clock::now()) {}

  size_t topic(const std::string& name) {
    auto [it, added] = topic_index_.try_emplace(name, topics_.size());
    if (added) topics_.push_back(TopicStats{name});
    return it->second;
  }

  // The schedule (and --duration) starts now: after the payloads were prepared, so that the
  // time that took does not count as lag.
  void start_clock() { start_ = Clock::now(); }

  // A message that the transport cannot carry, counted as skipped.
  void skip(size_t topic_index) { ++topics_[topic_index].skipped; }

  // Sends one message, or says (false) that the run is over before it.
  base::Result<bool> send(mcap::Message message, size_t topic_index) {
    if (g_interrupted.load()) return stop(true);
    if (settings_.count && sent_ >= *settings_.count) return false;
    TopicStats& stats = topics_[topic_index];
    if (message.data.size() > transport_.max_payload()) {
      ++stats.skipped;
      return true;
    }
    const uint64_t due_ns = pacer_.due_ns(sent_, message.log_time);
    if (!wait_until_due(due_ns)) return false;
    if (flush_error_) return *flush_error_;
    if (settings_.numbered) {
      numbered_.assign(message.data.begin(), message.data.end());
      mcap::store_le<uint64_t>(numbered_.data(), sent_);
      message.sequence = static_cast<uint32_t>(sent_);
      message.data = numbered_;
    }
    if (pacer_.paced()) note_lag(due_ns);
    if (base::Status s = transport_.send_message(message); !s) return s.error();
    ++sent_;
    ++stats.messages;
    stats.bytes += message.data.size();
    return true;
  }

  // Hands over what is buffered and notes the time the sending took.
  base::Status end() {
    base::Status status = transport_.flush();
    elapsed_ = Clock::now() - start_;
    return status;
  }

  const std::vector<TopicStats>& topics() const { return topics_; }
  bool interrupted() const { return interrupted_; }
  double seconds() const { return std::chrono::duration<double>(elapsed_).count(); }
  uint64_t sent() const { return sent_; }

  // How far behind its schedule paced messages began to be sent, in milliseconds.
  struct Lag {
    double max = 0;
    double p99 = 0;
    double max_after_warm_up = 0;  // of the messages due after kWarmUp
  };
  // The receiver's first touches of its memory and the socket buffers' growth make the first
  // messages of a stream late; kWarmUp tells that transient from the steady state.
  static constexpr std::chrono::seconds kWarmUp{1};

  // nullopt when unpaced or nothing was sent.
  std::optional<Lag> lag() const {
    if (lags_us_.empty()) return std::nullopt;
    std::vector<uint32_t> sorted = lags_us_;
    const size_t p99 = std::min(sorted.size() - 1, sorted.size() * 99 / 100);
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(p99),
                     sorted.end());
    const uint32_t largest = *std::max_element(sorted.begin(), sorted.end());
    return Lag{largest / 1e3, sorted[p99] / 1e3, max_lag_after_warm_up_us_ / 1e3};
  }

 private:
  // The lag of a message about to be handed to the transport: how late the sender comes to it,
  // which includes every wait for the receiver to take the messages before it.
  void note_lag(uint64_t due_ns) {
    const auto behind = Clock::now() - (start_ + std::chrono::nanoseconds(due_ns));
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(behind).count();
    const auto lag_us = static_cast<uint32_t>(std::clamp<int64_t>(us, 0, UINT32_MAX));
    lags_us_.push_back(lag_us);
    if (std::chrono::nanoseconds(due_ns) >= kWarmUp) {
      max_lag_after_warm_up_us_ = std::max(max_lag_after_warm_up_us_, lag_us);
    }
  }

  bool stop(bool interrupted) {
    interrupted_ = interrupted;
    return false;
  }

  // Sleeps until the message is due; false when that is past the duration or on a signal.
  bool wait_until_due(uint64_t due_ns) {
    const std::optional<uint64_t>& limit = settings_.duration_ns;
    if (limit && due_ns >= *limit) return false;
    const auto due = start_ + std::chrono::nanoseconds(due_ns);
    auto now = Clock::now();
    if (limit && now - start_ >= std::chrono::nanoseconds(*limit)) return false;
    // A message due very soon goes into the current batch: sleeping (and flushing) for each
    // of them would cost one system call per message at high rates.
    if (now + kSendAhead >= due) return true;
    // Whatever is buffered goes out before a pause, so that it is not held back.
    if (base::Status s = transport_.flush(); !s) {
      flush_error_ = s.error();
      return true;  // the next send reports it
    }
    while ((now = Clock::now()) < due) {
      if (g_interrupted.load()) return stop(true);
      std::this_thread::sleep_for(
          std::min<Clock::duration>(due - now, std::chrono::milliseconds(50)));
    }
    return true;
  }

  Transport& transport_;
  synth::Pacer pacer_;
  const Settings& settings_;
  Clock::time_point start_;
  Clock::duration elapsed_{};
  uint64_t sent_ = 0;
  bool interrupted_ = false;
  std::optional<base::Error> flush_error_;
  mcap::Bytes numbered_;
  std::vector<uint32_t> lags_us_;  // one per paced message sent
  uint32_t max_lag_after_warm_up_us_ = 0;
  std::vector<TopicStats> topics_;
  std::map<std::string, size_t, std::less<>> topic_index_;
};

// Appends "<unix_ns> <messages handed over>" lines to a file every 100 ms while it lives.
class ProgressWriter {
 public:
  ProgressWriter(std::FILE* file, const Transport& transport)
      : file_(file), transport_(transport), thread_([this] { loop(); }) {}
  ~ProgressWriter() {
    done_.store(true);
    thread_.join();
    write_line();
    std::fclose(file_);
  }

 private:
  void loop() {
    while (!done_.load()) {
      write_line();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  void write_line() {
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    std::fprintf(file_, "%lld %llu\n", static_cast<long long>(now),
                 static_cast<unsigned long long>(transport_.messages_handed_over()));
    std::fflush(file_);
  }

  std::FILE* file_;
  const Transport& transport_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// What a replay has learnt of the file's definitions so far.
struct ReplayDefinitions {
  struct KnownChannel {
    size_t stats = 0;
    bool sendable = true;  // its definitions fit the transport
  };
  std::map<uint16_t, mcap::Schema> schemas;
  std::set<uint16_t> schemas_sent;
  std::map<uint16_t, std::optional<KnownChannel>> channels;  // nullopt: filtered out
};

// Notes a channel of the file (the record at `offset`) and defines it, and its schema once, on
// the transport, unless --topics leaves it out or the transport cannot carry its definitions.
base::Status define_channel(const mcap::Channel& channel, uint64_t offset, const Settings& settings,
                            Transport& transport, Sender& sender, ReplayDefinitions& known) {
  if (known.channels.count(channel.id) != 0) return {};
  if (settings.topics && settings.topics->count(channel.topic) == 0) {
    known.channels[channel.id] = std::nullopt;
    return {};
  }
  const mcap::Schema* channel_schema = nullptr;
  if (channel.schema_id != 0) {
    auto definition = known.schemas.find(channel.schema_id);
    if (definition == known.schemas.end()) {
      return base::Error{offset, *settings.file + ": channel '" + channel.topic +
                                     "' refers to schema " + std::to_string(channel.schema_id) +
                                     " that was not defined before it"};
    }
    channel_schema = &definition->second;
  }
  ReplayDefinitions::KnownChannel entry{sender.topic(channel.topic),
                                        transport.can_define(channel_schema, channel)};
  known.channels[channel.id] = entry;
  if (!entry.sendable) return {};
  if (channel_schema != nullptr && known.schemas_sent.insert(channel_schema->id).second) {
    if (base::Status s = transport.add_schema(*channel_schema); !s) return s;
  }
  return transport.add_channel(channel);
}

base::Status replay_file(const Settings& settings, Transport& transport, Sender& sender) {
  auto file = mcap::MappedFile::open(*settings.file);
  if (!file) return file.error();
  mcap::StreamReader reader(file->bytes());
  ReplayDefinitions known;
  while (true) {
    auto item = reader.next();
    if (!item)
      return base::Error{item.error().offset, *settings.file + ": " + item.error().message};
    if (!*item) return {};
    mcap::Record& record = (*item)->record;
    if (auto* schema = std::get_if<mcap::Schema>(&record)) {
      if (schema->id != 0) known.schemas.try_emplace(schema->id, std::move(*schema));
    } else if (auto* channel = std::get_if<mcap::Channel>(&record)) {
      base::Status s =
          define_channel(*channel, (*item)->offset, settings, transport, sender, known);
      if (!s) return s;
    } else if (auto* message = std::get_if<mcap::Message>(&record)) {
      auto channel_entry = known.channels.find(message->channel_id);
      if (channel_entry == known.channels.end()) {
        return base::Error{(*item)->offset, *settings.file + ": message on channel " +
                                                std::to_string(message->channel_id) +
                                                " that was not defined before it"};
      }
      if (!channel_entry->second) continue;
      if (!channel_entry->second->sendable) {
        sender.skip(channel_entry->second->stats);
        continue;
      }
      auto more = sender.send(*message, channel_entry->second->stats);
      if (!more) return more.error();
      if (!*more) return {};
    } else if (std::holds_alternative<mcap::DataEnd>(record)) {
      return {};  // the summary only repeats what was sent
    }
  }
}

std::vector<synth::TopicSpec> sensor_set(const Settings& settings) {
  return settings.automotive ? synth::automotive_sensor_set() : synth::default_sensor_mix();
}

base::Status send_sensor_mix(const Settings& settings, Transport& transport, Sender& sender) {
  std::vector<synth::TopicSpec> specs;
  for (synth::TopicSpec& spec : sensor_set(settings)) {
    if (!settings.topics || settings.topics->count(spec.topic) != 0) specs.push_back(spec);
  }
  const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  synth::SensorMix mix(specs, settings.seed, static_cast<mcap::Timestamp>(now));
  std::vector<uint16_t> channel_ids;
  std::vector<size_t> stats;
  std::vector<bool> sendable;  // the definitions fit the transport
  uint16_t next_schema = 1;
  for (size_t i = 0; i < specs.size(); ++i) {
    const synth::TopicSpec& spec = specs[i];
    mcap::Channel channel{static_cast<uint16_t>(i + 1), 0, spec.topic, spec.message_encoding, {}};
    std::optional<mcap::Schema> schema;
    if (!spec.schema_name.empty()) {
      schema = mcap::Schema{next_schema++, spec.schema_name, spec.schema_encoding,
                            mcap::Bytes(spec.schema_data.begin(), spec.schema_data.end())};
      channel.schema_id = schema->id;
    }
    channel_ids.push_back(channel.id);
    stats.push_back(sender.topic(spec.topic));
    sendable.push_back(transport.can_define(schema ? &*schema : nullptr, channel));
    if (!sendable.back()) continue;
    if (schema) {
      if (base::Status s = transport.add_schema(*schema); !s) return s;
    }
    if (base::Status s = transport.add_channel(channel); !s) return s;
  }
  if (specs.empty()) return {};
  sender.start_clock();
  while (true) {
    const synth::SyntheticMessage next = mix.next();
    if (!sendable[next.topic_index]) {
      sender.skip(stats[next.topic_index]);
      continue;
    }
    mcap::Message message{channel_ids[next.topic_index], next.sequence, next.log_time,
                          next.log_time, next.payload};
    auto more = sender.send(message, stats[next.topic_index]);
    if (!more) return more.error();
    if (!*more) return {};
  }
}

base::Status send_raw(const Settings& settings, Sender& sender) {
  mcap::Bytes payload(*settings.raw_size);
  uint64_t state = settings.seed;
  for (uint8_t& byte : payload) {  // splitmix64: cheap, deterministic filler
    state += 0x9E3779B97F4A7C15ULL;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    byte = static_cast<uint8_t>(z ^ (z >> 31));
  }
  const size_t stats = sender.topic("raw");
  while (true) {
    mcap::Message message{0, 0, 0, 0, payload};
    auto more = sender.send(message, stats);
    if (!more) return more.error();
    if (!*more) return {};
  }
}

void print_text_report(const Settings& settings, const Transport& transport, const Sender& sender) {
  uint64_t bytes = 0;
  uint64_t skipped = 0;
  size_t width = 5;
  for (const TopicStats& topic : sender.topics()) {
    bytes += topic.bytes;
    skipped += topic.skipped;
    width = std::max(width, topic.topic.size());
  }
  const double seconds = sender.seconds();
  const double rate = seconds > 0 ? static_cast<double>(sender.sent()) / seconds : 0;
  const double megabytes = seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0;
  std::printf("sent %llu messages (%s) to %s in %s s: %s msgs/s, %s MB/s%s\n",
              static_cast<unsigned long long>(sender.sent()), human_size(bytes).c_str(),
              settings.target.text.c_str(), fixed(seconds, 3).c_str(), fixed(rate, 1).c_str(),
              fixed(megabytes, 2).c_str(), sender.interrupted() ? " (interrupted)" : "");
  if (const auto lag = sender.lag()) {
    std::printf("behind schedule: at most %s ms (after the first second %s ms), p99 %s ms\n",
                fixed(lag->max, 3).c_str(), fixed(lag->max_after_warm_up, 3).c_str(),
                fixed(lag->p99, 3).c_str());
  }
  std::printf("%llu bytes on the wire", static_cast<unsigned long long>(transport.wire_bytes()));
  if (settings.target.protocol == Endpoint::Protocol::kUdp) {
    std::printf(" in %llu datagrams", static_cast<unsigned long long>(transport.datagrams()));
  }
  std::printf("\n\n");
  const int w = static_cast<int>(width);
  std::printf("%-*s %12s %14s %10s\n", w, "topic", "messages", "bytes", "skipped");
  for (const TopicStats& topic : sender.topics()) {
    std::printf("%-*s %12llu %14llu %10llu\n", w, topic.topic.c_str(),
                static_cast<unsigned long long>(topic.messages),
                static_cast<unsigned long long>(topic.bytes),
                static_cast<unsigned long long>(topic.skipped));
  }
  std::printf("%-*s %12llu %14llu %10llu\n", w, "total",
              static_cast<unsigned long long>(sender.sent()),
              static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(skipped));
  if (skipped > 0) {
    std::printf(
        "\n%llu messages (or their channel's definitions) were larger than one datagram of "
        "%zu bytes and were skipped\n",
        static_cast<unsigned long long>(skipped), settings.mtu);
  }
}

// {"max": ms, "p99": ms} behind schedule, or null for an unpaced run.
nlohmann::ordered_json lag_json(const Sender& sender) {
  const auto lag = sender.lag();
  if (!lag) return nullptr;
  return {{"max", rounded(lag->max, 3)},
          {"p99", rounded(lag->p99, 3)},
          {"max_after_1s", rounded(lag->max_after_warm_up, 3)}};
}

void print_json_report(const Settings& settings, const Transport& transport, const Sender& sender) {
  using Json = nlohmann::ordered_json;
  uint64_t bytes = 0;
  uint64_t skipped = 0;
  Json topics = Json::array();
  for (const TopicStats& topic : sender.topics()) {
    bytes += topic.bytes;
    skipped += topic.skipped;
    topics.push_back(Json{{"topic", topic.topic},
                          {"messages", topic.messages},
                          {"bytes", topic.bytes},
                          {"skipped", topic.skipped}});
  }
  const double seconds = sender.seconds();
  const bool udp = settings.target.protocol == Endpoint::Protocol::kUdp;
  const char* source = settings.file ? "file" : settings.raw_size ? "raw" : "sensor_mix";
  const Json report = {{"target", settings.target.text},
                       {"transport", udp ? "udp" : "tcp"},
                       {"source", source},
                       {"messages", sender.sent()},
                       {"bytes", bytes},
                       {"skipped", skipped},
                       {"wire_bytes", transport.wire_bytes()},
                       {"datagrams", transport.datagrams()},
                       {"seconds", rounded(seconds, 6)},
                       {"messages_per_second",
                        rounded(seconds > 0 ? static_cast<double>(sender.sent()) / seconds : 0, 3)},
                       {"megabytes_per_second",
                        rounded(seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0, 3)},
                       {"interrupted", sender.interrupted()},
                       {"lag_ms", lag_json(sender)},
                       {"topics", std::move(topics)}};
  std::fputs(json_report(report).c_str(), stdout);
}

base::Result<std::unique_ptr<Transport>> open_transport(const Settings& settings) {
  const bool udp = settings.target.protocol == Endpoint::Protocol::kUdp;
  if (settings.raw_size) {
    return udp ? send::open_raw_udp(settings.target, settings.gso)
               : send::open_length_prefixed_tcp(settings.target, settings.tcp);
  }
  return udp ? send::open_mcap_udp(settings.target, settings.mtu, settings.definitions_every)
             : send::open_mcap_tcp(settings.target, settings.tcp);
}

// A --topics list for the sensor mix names only topics it has.
std::optional<std::string> check_sensor_mix_topics(const Settings& settings) {
  std::set<std::string> known;
  for (const synth::TopicSpec& spec : sensor_set(settings)) known.insert(spec.topic);
  const std::set<std::string>& topics = *settings.topics;
  for (const std::string& topic : topics) {
    if (known.count(topic) == 0) {
      std::string list;
      for (const std::string& name : known) list += (list.empty() ? "" : ", ") + name;
      return "the sensor mix has no topic '" + topic + "' (it has " + list + ")";
    }
  }
  return std::nullopt;
}

// SIGINT and SIGTERM end the stream cleanly instead of killing the sender mid-record.
void stop_on_signals() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

synth::Pacer pacer_for(const Settings& settings) {
  if (settings.raw_size && settings.rate > 0) return synth::Pacer::at_rate(settings.rate);
  if (!settings.raw_size && settings.speed > 0) return synth::Pacer::by_log_time(settings.speed);
  return synth::Pacer::unpaced();
}

// Sends everything the settings ask for, then flushes and finishes the stream.
base::Status send_all(const Settings& settings, Transport& transport, Sender& sender) {
  base::Status status;
  if (settings.file) {
    status = replay_file(settings, transport, sender);
  } else if (settings.raw_size) {
    status = send_raw(settings, sender);
  } else {
    status = send_sensor_mix(settings, transport, sender);
  }
  if (status) status = sender.end();
  if (status) status = transport.finish();
  return status;
}

int run_send(std::span<const std::string> args) {
  ParsedArgs parsed;
  if (auto error = parse_args(args, kOptions, parsed)) return usage_error("send", *error);
  Settings settings;
  if (auto error = read_settings(parsed, settings)) return usage_error("send", *error);
  if (settings.topics && !settings.file && !settings.raw_size) {
    if (auto error = check_sensor_mix_topics(settings)) return usage_error("send", *error);
  }
  if (settings.file) {
    // Fail on an unreadable file before connecting.
    if (auto file = mcap::MappedFile::open(*settings.file); !file) {
      std::fprintf(stderr, "mcaprec send: %s\n", file.error().message.c_str());
      return kExitFailure;
    }
  }
  std::FILE* progress = nullptr;
  if (settings.progress_file) {
    progress = std::fopen(settings.progress_file->c_str(), "a");
    if (progress == nullptr) {
      std::fprintf(stderr, "mcaprec send: cannot open progress file %s: %s\n",
                   settings.progress_file->c_str(), std::strerror(errno));
      return kExitFailure;
    }
  }

  auto transport = open_transport(settings);
  if (!transport) {
    if (progress) std::fclose(progress);
    std::fprintf(stderr, "mcaprec send: %s\n", transport.error().message.c_str());
    return kExitFailure;
  }
  stop_on_signals();
  base::Status status;
  std::optional<Sender> sender;
  {
    // The progress writer's last line counts everything sent: it ends before the report.
    std::optional<ProgressWriter> progress_writer;
    if (progress) progress_writer.emplace(progress, **transport);
    sender.emplace(**transport, pacer_for(settings), settings);
    status = send_all(settings, **transport, *sender);
  }
  if (!status) {
    std::fprintf(stderr, "mcaprec send: %s\n", status.error().message.c_str());
    std::fprintf(stderr, "mcaprec send: %llu messages were handed to the kernel before that\n",
                 static_cast<unsigned long long>((*transport)->messages_handed_over()));
    return kExitFailure;
  }
  if (settings.json) {
    print_json_report(settings, **transport, *sender);
  } else {
    print_text_report(settings, **transport, *sender);
  }
  return kExitOk;
}

}  // namespace

const Command kSendCommand = {
    "send", "replay a file or send synthetic traffic to a receiver over TCP or UDP", kHelp,
    run_send};

}  // namespace mcaprec::tool
