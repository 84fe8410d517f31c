// mcaprec cat: every message of one or many files as one line of text, or of JSON.
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "cli_helpers.hpp"
#include "commands.hpp"
#include "filter_merge.hpp"
#include "mcap/reader.hpp"
#include "session_files.hpp"

namespace mcaprec::tool {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char kHelp[] =
    "Usage: mcaprec cat FILE|DIRECTORY... [--topics REGEX] [--exclude-topics REGEX] [--json]\n"
    "                   [--bytes N]\n"
    "\n"
    "Prints one line per message: log time (RFC 3339, UTC), topic, payload size, and the\n"
    "payload as text when the channel's message encoding is json, else the hex of its first\n"
    "bytes (followed by \"...\" when there are more). Control characters in JSON text are\n"
    "shown as spaces, so that each message stays on one line. Files are read in order of\n"
    "their first message (a directory stands for its *.mcap files), each in file order.\n"
    "\n"
    "Options:\n"
    "  --topics REGEX           only topics that REGEX matches (anywhere in the topic)\n"
    "  --exclude-topics REGEX   leave out topics that REGEX matches\n"
    "  --bytes N                payload bytes shown in hex (default 16; 0 for none)\n"
    "  --json                   one JSON object per line: log_time_ns, log_time,\n"
    "                           publish_time_ns, sequence, topic, message_encoding, size, and\n"
    "                           data (the payload parsed, for json messages that parse) or\n"
    "                           data_hex (the first --bytes bytes)\n"
    "  -h, --help               show this help\n"
    "\n"
    "Exit status: 0 on success, 1 when a file cannot be read to its end, 2 on a usage error.\n";

const OptionSpec kOptions[] = {
    {"--topics", true}, {"--exclude-topics", true}, {"--bytes", true}, {"--json", false}};

struct CatOptions {
  Selection selection;
  uint64_t hex_bytes = 16;
  bool json = false;
};

std::string hex(mcap::ByteView data, uint64_t limit) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  const size_t shown = std::min<uint64_t>(data.size(), limit);
  for (size_t i = 0; i < shown; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0xf];
  }
  if (shown < data.size()) out += "...";
  return out;
}

std::string one_line_text(mcap::ByteView data) {
  std::string text(data.begin(), data.end());
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return text;
}

void print_message(const CatOptions& options, const mcap::Channel& channel,
                   const mcap::Message& message) {
  const bool is_json = channel.message_encoding == "json";
  if (!options.json) {
    const std::string line =
        iso_time(message.log_time) + "  " + channel.topic + "  " +
        std::to_string(message.data.size()) + " B  " +
        (is_json ? one_line_text(message.data) : hex(message.data, options.hex_bytes));
    std::printf("%s\n", line.c_str());
    return;
  }
  Json line = {{"log_time_ns", message.log_time},
               {"log_time", iso_time(message.log_time)},
               {"publish_time_ns", message.publish_time},
               {"sequence", message.sequence},
               {"topic", channel.topic},
               {"message_encoding", channel.message_encoding},
               {"size", message.data.size()}};
  Json parsed(Json::value_t::discarded);
  if (is_json) parsed = Json::parse(message.data.begin(), message.data.end(), nullptr, false);
  if (!parsed.is_discarded()) {
    line["data"] = std::move(parsed);
  } else {
    line["data_hex"] = hex(message.data, options.hex_bytes);
  }
  std::fputs(json_report(line).c_str(), stdout);
}

// Prints the file's selected messages; false (with a message on stderr) when it cannot be read.
bool cat_file(const CatOptions& options, const SessionFile& file) {
  std::map<uint16_t, mcap::Channel> channels;
  mcap::StreamReader reader(file.mapped.bytes());
  while (true) {
    auto item = reader.next();
    if (!item) {
      std::fprintf(stderr, "mcaprec cat: %s: %s\n", file.path.c_str(),
                   item.error().to_string().c_str());
      return false;
    }
    if (!*item) return true;
    const mcap::Record& record = (*item)->record;
    if (std::holds_alternative<mcap::DataEnd>(record)) return true;
    if (const auto* channel = std::get_if<mcap::Channel>(&record)) {
      channels.try_emplace(channel->id, *channel);
    } else if (const auto* message = std::get_if<mcap::Message>(&record)) {
      auto it = channels.find(message->channel_id);
      if (it == channels.end() || !options.selection.keeps_topic(it->second.topic)) continue;
      print_message(options, it->second, *message);
    }
  }
}

std::optional<std::string> read_options(const ParsedArgs& parsed, CatOptions& options) {
  for (const char* name : {"--topics", "--exclude-topics"}) {
    auto it = parsed.options.find(name);
    if (it == parsed.options.end()) continue;
    try {
      auto& slot = std::string_view(name) == "--topics" ? options.selection.topics
                                                        : options.selection.exclude;
      slot.emplace(it->second, std::regex::ECMAScript);
    } catch (const std::regex_error& error) {
      return std::string(name) + ": not a valid regular expression '" + it->second + "' (" +
             error.what() + ")";
    }
  }
  if (auto it = parsed.options.find("--bytes"); it != parsed.options.end()) {
    auto bytes = parse_integer(it->second, 0, 1 << 30);
    if (!bytes) return "--bytes must be a number of bytes, not '" + it->second + "'";
    options.hex_bytes = static_cast<uint64_t>(*bytes);
  }
  options.json = parsed.has("--json");
  return std::nullopt;
}

int run_cat(std::span<const std::string> args) {
  ParsedArgs parsed;
  if (auto error = parse_args(args, kOptions, parsed)) return usage_error("cat", *error);
  if (parsed.positional.empty()) return usage_error("cat", "expected a FILE or DIRECTORY");
  CatOptions options;
  if (auto error = read_options(parsed, options)) return usage_error("cat", *error);
  std::vector<std::string> paths;
  if (auto error = expand_inputs(parsed.positional, paths)) {
    std::fprintf(stderr, "mcaprec cat: %s\n", error->c_str());
    return kExitFailure;
  }
  const SessionFiles session = open_session(paths);
  bool ok = session.unreadable.empty();
  for (const UnreadableFile& bad : session.unreadable) {
    std::fprintf(stderr, "mcaprec cat: %s\n", bad.error.c_str());
  }
  for (const SessionFile& file : session.files) ok = cat_file(options, file) && ok;
  return ok ? kExitOk : kExitFailure;
}

}  // namespace

const Command kCatCommand = {"cat", "print every message as a line of text or JSON", kHelp,
                             run_cat};

}  // namespace mcaprec::tool
