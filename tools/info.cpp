// mcaprec info: what a recording holds, in the layout of `rosbag info` / `mcap info`, or as JSON.
#include "mcap/info.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_helpers.hpp"
#include "commands.hpp"
#include "info_session.hpp"
#include "mcap/reader.hpp"
#include "session_files.hpp"
#include "session_metadata.hpp"

namespace mcaprec::tool {
namespace {

using mcap::FileInfo;

constexpr const char kHelp[] =
    "Usage: mcaprec info FILE|DIRECTORY... [--json]\n"
    "\n"
    "Shows what an MCAP file holds: library, profile, message count, duration, start and end\n"
    "time, size, chunk compression per codec, every channel with its message count, rate and\n"
    "schema, attachments and metadata, and the recording session's facts (device and\n"
    "metadata from the recorder's `session:` configuration, its mcaprec.session record).\n"
    "\n"
    "Given several files or a directory (its *.mcap files; .active files are left out), it\n"
    "shows a recording session: one line per file, in order of first message time, then the\n"
    "session: messages, first and last message time, duration, size, the gaps between\n"
    "consecutive files (a gap longer than 1 second is listed as GAP, files overlapping in time\n"
    "as OVERLAP), every topic with its messages, payload bytes and rate over the session, and\n"
    "the recorder's counts from the mcaprec.stats records (received, written, dropped by\n"
    "reason and any other counter the recorder wrote), summed over the recorder sessions,\n"
    "and the session facts with every value the files hold (a key whose value changed\n"
    "between files lists each value once).\n"
    "\n"
    "On an indexed file only the header, the footer and the summary are read, so it is fast on\n"
    "any size (a session's payload bytes come from the message indexes, also without\n"
    "decompressing). A file without a usable summary (unfinished, or written without one) is\n"
    "scanned from the start instead, and the output says so.\n"
    "\n"
    "Options:\n"
    "  --json       print the same facts as one JSON object, indented by two spaces;\n"
    "               saving_percent and rate_hz are rounded to 3 decimals and written\n"
    "               without trailing zeros (82.2, 0.0); bytes of a name that are not\n"
    "               UTF-8 are written as U+FFFD. With several files:\n"
    "               {\"files\": [...], \"session\": {...}, \"errors\": [...]};\n"
    "               gap_ns is negative for files that overlap in time;\n"
    "               session_metadata is the mcaprec.session record (null without one),\n"
    "               in the session summary each key with the list of its values\n"
    "  -h, --help   show this help\n"
    "\n"
    "Exit status: 0 on success, 1 when a file cannot be read (the others are still shown),\n"
    "2 on a usage error.\n";

const OptionSpec kOptions[] = {{"--json", false}};

std::string compression_label(const std::string& compression) {
  return compression.empty() ? "none" : compression;
}

double seconds(uint64_t nanoseconds) {
  return static_cast<double>(nanoseconds) / 1e9;
}

uint64_t duration_of(const FileInfo& info) {
  return info.message_count == 0 ? 0 : info.message_end_time - info.message_start_time;
}

// Saving in percent of the uncompressed size, as `mcap info` prints it.
double saving_percent(const mcap::CompressionInfo& c) {
  if (c.uncompressed_bytes == 0) return 0.0;
  return 100.0 * (1.0 - static_cast<double>(c.compressed_bytes) /
                            static_cast<double>(c.uncompressed_bytes));
}

// Messages per second over the file's duration; absent when the duration is zero.
std::optional<double> rate_hz(uint64_t count, uint64_t duration_ns) {
  if (duration_ns == 0) return std::nullopt;
  return static_cast<double>(count) / seconds(duration_ns);
}

std::string time_line(uint64_t nanoseconds) {
  return iso_time(nanoseconds) + " (" + std::to_string(nanoseconds) + ")";
}

// The `mcaprec.session` record's keys, one a line, values aligned.
void print_session_keys(const mcap::KeyValueMap& session) {
  size_t width = 0;
  for (const auto& [key, value] : session) width = std::max(width, key.size() + 1);
  for (const auto& [key, value] : session) {
    std::printf("  %-*s %s\n", static_cast<int>(width), (key + ":").c_str(), value.c_str());
  }
}

void print_text(const std::string& path, const FileInfo& info,
                const std::optional<mcap::KeyValueMap>& session) {
  const uint64_t duration = duration_of(info);
  std::printf("path:        %s\n", path.c_str());
  if (info.scanned) {
    std::printf("note:        scanned the whole file: no usable summary (%s)\n",
                info.scan_reason.c_str());
  }
  if (info.incomplete) {
    std::printf("incomplete:  the scan stopped at offset %llu: %s\n",
                static_cast<unsigned long long>(info.incomplete->offset),
                info.incomplete->message.c_str());
  }
  std::printf("library:     %s\n", info.header.library.c_str());
  std::printf("profile:     %s\n", info.header.profile.c_str());
  std::printf("messages:    %llu\n", static_cast<unsigned long long>(info.message_count));
  if (info.message_count > 0) {
    std::printf("duration:    %s\n", human_duration(duration).c_str());
    std::printf("start:       %s\n", time_line(info.message_start_time).c_str());
    std::printf("end:         %s\n", time_line(info.message_end_time).c_str());
  }
  std::printf("size:        %s (%llu bytes)\n", human_size(info.file_size).c_str(),
              static_cast<unsigned long long>(info.file_size));
  std::printf("chunks:      %llu\n", static_cast<unsigned long long>(info.chunk_count));
  if (!info.compression.empty()) {
    std::printf("compression:\n");
    size_t width = 0;
    for (const auto& c : info.compression) {
      width = std::max(width, compression_label(c.compression).size() + 1);
    }
    for (const auto& c : info.compression) {
      std::printf("  %-*s [%llu/%llu chunks] [%s/%s (%s%%)]\n", static_cast<int>(width),
                  (compression_label(c.compression) + ":").c_str(),
                  static_cast<unsigned long long>(c.chunk_count),
                  static_cast<unsigned long long>(info.chunk_count),
                  human_size(c.uncompressed_bytes).c_str(), human_size(c.compressed_bytes).c_str(),
                  fixed(saving_percent(c), 2).c_str());
    }
  }
  std::printf("schemas:     %llu\n", static_cast<unsigned long long>(info.schema_count));
  std::printf("channels:    %zu\n", info.channels.size());
  size_t id_width = 0, topic_width = 0, count_width = 0;
  for (const auto& ch : info.channels) {
    id_width = std::max(id_width, std::to_string(ch.id).size() + 2);
    topic_width = std::max(topic_width, ch.topic.size());
    count_width = std::max(count_width, std::to_string(ch.message_count).size());
  }
  for (const auto& ch : info.channels) {
    const auto rate = rate_hz(ch.message_count, duration);
    const std::string rate_text = rate ? "(" + fixed(*rate, 2) + " Hz)" : "";
    const std::string schema =
        ch.schema_id == 0 ? "(no schema)" : ch.schema_name + " [" + ch.schema_encoding + "]";
    std::printf("  %-*s %-*s %*llu msgs %-14s : %s\n", static_cast<int>(id_width),
                ("(" + std::to_string(ch.id) + ")").c_str(), static_cast<int>(topic_width),
                ch.topic.c_str(), static_cast<int>(count_width),
                static_cast<unsigned long long>(ch.message_count), rate_text.c_str(),
                schema.c_str());
  }
  std::printf("attachments: %zu\n", info.attachments.size());
  for (const auto& a : info.attachments) {
    std::printf("  %s  %s  %s\n", a.name.c_str(),
                a.media_type.empty() ? "(no media type)" : a.media_type.c_str(),
                human_size(a.data_size).c_str());
  }
  std::printf("metadata:    %zu\n", info.metadata.size());
  for (const auto& name : info.metadata) std::printf("  %s\n", name.c_str());
  if (session) {
    std::printf("session:     %zu keys (%s)\n", session->size(), kSessionRecordName);
    print_session_keys(*session);
  }
}

using Json = nlohmann::ordered_json;

// The value or null: JSON has no "absent" for a fixed key.
template <class T>
Json or_null(bool present, const T& value) {
  return present ? Json(value) : Json();
}

Json compression_json(const mcap::CompressionInfo& c) {
  return {{"compression", compression_label(c.compression)},
          {"chunks", c.chunk_count},
          {"compressed_bytes", c.compressed_bytes},
          {"uncompressed_bytes", c.uncompressed_bytes},
          {"saving_percent", rounded(saving_percent(c), 3)}};
}

Json channel_json(const mcap::ChannelInfo& ch, uint64_t duration) {
  const auto rate = rate_hz(ch.message_count, duration);
  return {{"id", ch.id},
          {"topic", ch.topic},
          {"message_encoding", ch.message_encoding},
          {"schema_id", ch.schema_id},
          {"schema_name", ch.schema_name},
          {"schema_encoding", ch.schema_encoding},
          {"messages", ch.message_count},
          {"rate_hz", rate ? Json(rounded(*rate, 3)) : Json()}};
}

Json attachment_json(const mcap::AttachmentInfo& a) {
  return {{"name", a.name},
          {"media_type", a.media_type},
          {"size", a.data_size},
          {"log_time_ns", a.log_time}};
}

void print_json(const std::string& path, const FileInfo& info,
                const std::optional<mcap::KeyValueMap>& session) {
  const uint64_t duration = duration_of(info);
  const bool any = info.message_count > 0;
  Json incomplete;
  if (info.incomplete) {
    incomplete = {{"offset", info.incomplete->offset}, {"message", info.incomplete->message}};
  }
  Json report = {{"path", path},
                 {"size", info.file_size},
                 {"library", info.header.library},
                 {"profile", info.header.profile},
                 {"source", info.scanned ? "scan" : "summary"},
                 {"scan_reason", or_null(info.scanned, info.scan_reason)},
                 {"incomplete", std::move(incomplete)},
                 {"messages", info.message_count},
                 {"duration_ns", duration},
                 {"start_ns", info.message_start_time},
                 {"end_ns", info.message_end_time},
                 {"start", or_null(any, iso_time(info.message_start_time))},
                 {"end", or_null(any, iso_time(info.message_end_time))},
                 {"chunks", info.chunk_count},
                 {"schemas", info.schema_count},
                 {"compression", Json::array()},
                 {"channels", Json::array()},
                 {"attachments", Json::array()},
                 {"metadata", Json::array()},
                 {"session_metadata", session ? Json(*session) : Json()}};
  for (const auto& c : info.compression) report["compression"].push_back(compression_json(c));
  for (const auto& ch : info.channels) report["channels"].push_back(channel_json(ch, duration));
  for (const auto& a : info.attachments) report["attachments"].push_back(attachment_json(a));
  for (const auto& name : info.metadata) report["metadata"].push_back(Json{{"name", name}});
  std::fputs(json_report(report, 2).c_str(), stdout);
}

int info_one_file(const std::string& path, bool json) {
  auto file = mcap::MappedFile::open(path);
  if (!file) {
    std::fprintf(stderr, "mcaprec info: %s\n", file.error().message.c_str());
    return kExitFailure;
  }
  auto info = mcap::gather_info(file->bytes());
  if (!info) {
    std::fprintf(stderr, "mcaprec info: %s: %s\n", path.c_str(), info.error().to_string().c_str());
    return kExitFailure;
  }
  const std::optional<mcap::KeyValueMap> session = read_session_metadata(file->bytes(), *info);
  if (json) {
    print_json(path, *info, session);
  } else {
    print_text(path, *info, session);
  }
  return kExitOk;
}

int run_info(std::span<const std::string> args) {
  ParsedArgs parsed;
  if (auto error = parse_args(args, kOptions, parsed)) return usage_error("info", *error);
  if (parsed.positional.empty()) return usage_error("info", "expected a FILE or DIRECTORY");
  const bool json = parsed.has("--json");
  // One file keeps the full report of that file; anything else is a session.
  if (parsed.positional.size() == 1 && !std::filesystem::is_directory(parsed.positional[0])) {
    return info_one_file(parsed.positional[0], json);
  }
  std::vector<std::string> paths;
  if (auto error = expand_inputs(parsed.positional, paths)) {
    std::fprintf(stderr, "mcaprec info: %s\n", error->c_str());
    return kExitFailure;
  }
  return print_session_info(open_session(paths), json);
}

}  // namespace

const Command kInfoCommand = {"info", "show what a recording holds (reads only the summary)", kHelp,
                              run_info};

}  // namespace mcaprec::tool
