// mcaprec filter: the messages of a session (one or many files) chosen by topic and time,
// merged into one indexed file.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>
#include <system_error>

#include "cli_helpers.hpp"
#include "commands.hpp"
#include "filter_merge.hpp"
#include "mcap/sink.hpp"
#include "session_files.hpp"
#include "storage/file_sink.hpp"
#include "time_bound.hpp"

namespace mcaprec::tool {
namespace {

namespace fs = std::filesystem;

constexpr const char kHelp[] =
    "Usage: mcaprec filter IN... -o OUT [--topics REGEX] [--exclude-topics REGEX]\n"
    "                      [--start TIME] [--end TIME]\n"
    "\n"
    "Writes the messages of IN that the options select into OUT, one indexed MCAP file. IN is\n"
    "any number of files and directories (a directory stands for its *.mcap files; .active\n"
    "files are left out), typically the rotated files of one recording session: they are\n"
    "merged by time. Files that overlap no other in time are read chunk by chunk and written\n"
    "in their own order (chunks of different channels may overlap in time there, as in the\n"
    "input; indexed readers give time order). A chunk whose messages are all selected, that\n"
    "holds nothing but messages and whose channels keep their ids is copied as it is, without\n"
    "recompression (each copied chunk is checked against its CRC first). The other messages\n"
    "go into new zstd chunks.\n"
    "Files that overlap in time are merged message by message, by log time.\n"
    "Channels and schemas that are equal in every file become one; a channel keeps its id\n"
    "when it is free in OUT. Metadata records are kept once each (identical ones are merged)\n"
    "and attachments whose log time is selected are kept.\n"
    "OUT is written as OUT.tmp and renamed when complete.\n"
    "\n"
    "Options:\n"
    "  -o, --output OUT         the file to write (required)\n"
    "  --topics REGEX           keep only topics that REGEX matches (anywhere in the topic,\n"
    "                           ECMAScript syntax: '^/camera/|^/imu$'; anchor it to match\n"
    "                           the whole topic)\n"
    "  --exclude-topics REGEX   leave out topics that REGEX matches (after --topics)\n"
    "  --start TIME             keep messages logged at or after TIME\n"
    "  --end TIME               keep messages logged before TIME\n"
    "                           TIME is RFC 3339 (2025-11-22T08:26:40.5Z, or with an offset\n"
    "                           such as +02:00), nanoseconds since the epoch, or +DURATION\n"
    "                           after the first message of all IN (+30s, +1.5m, +250ms; units\n"
    "                           ns, us, ms, s, m, h)\n"
    "  -h, --help               show this help\n"
    "\n"
    "Prints one line: messages written, chunks copied and chunks written anew.\n"
    "\n"
    "Exit status: 0 on success, 1 when an input cannot be read or OUT cannot be written,\n"
    "2 on a usage error.\n";

const OptionSpec kOptions[] = {{"-o", true},       {"--output", true},
                               {"--topics", true}, {"--exclude-topics", true},
                               {"--start", true},  {"--end", true}};

std::optional<std::string> read_regex(const ParsedArgs& parsed, const char* name,
                                      std::optional<std::regex>& out) {
  auto it = parsed.options.find(name);
  if (it == parsed.options.end()) return std::nullopt;
  try {
    out.emplace(it->second, std::regex::ECMAScript);
  } catch (const std::regex_error& error) {
    return std::string(name) + ": not a valid regular expression '" + it->second + "' (" +
           error.what() + ")";
  }
  return std::nullopt;
}

std::optional<std::string> read_bound(const ParsedArgs& parsed, const char* name,
                                      std::optional<TimeBound>& out) {
  auto it = parsed.options.find(name);
  if (it == parsed.options.end()) return std::nullopt;
  out = parse_time_bound(it->second);
  if (out) return std::nullopt;
  return std::string(name) +
         " must be RFC 3339 (2025-11-22T08:26:40Z), nanoseconds, or +DURATION (+30s), not '" +
         it->second + "'";
}

struct Request {
  std::string output;
  Selection selection;
  std::optional<TimeBound> start, end;
};

std::optional<std::string> read_request(const ParsedArgs& parsed, Request& request) {
  if (parsed.positional.empty()) return "expected at least one IN";
  auto out = parsed.options.find("--output");
  if (out == parsed.options.end()) out = parsed.options.find("-o");
  if (out == parsed.options.end() || out->second.empty()) return "expected -o OUT";
  request.output = out->second;
  if (auto e = read_regex(parsed, "--topics", request.selection.topics)) return e;
  if (auto e = read_regex(parsed, "--exclude-topics", request.selection.exclude)) return e;
  if (auto e = read_bound(parsed, "--start", request.start)) return e;
  if (auto e = read_bound(parsed, "--end", request.end)) return e;
  return std::nullopt;
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code error;
  return fs::equivalent(a, b, error) && !error;
}

// The selection's times, now that the session's start is known.
void resolve_times(const SessionFiles& session, Request& request) {
  uint64_t first = 0;
  bool any = false;
  for (const SessionFile& file : session.files) {
    if (file.info.message_count == 0) continue;
    first = any ? std::min(first, file.info.message_start_time) : file.info.message_start_time;
    any = true;
  }
  if (request.start) request.selection.start = request.start->resolve(first);
  if (request.end) request.selection.end = request.end->resolve(first);
}

mcap::Status write_output(const SessionFiles& session, const Request& request,
                          const std::string& tmp_path, FilterCounts& counts) {
  mcap::WriterOptions options;
  if (!session.files.empty()) options.profile = session.files.front().info.header.profile;
  auto writer = storage::create_file_writer(tmp_path, options);
  if (!writer) return writer.error();
  if (mcap::Status s = filter_into(session.files, request.selection, **writer, counts); !s) {
    return s;
  }
  if (mcap::Status s = (*writer)->close(); !s) return s;
  return (*writer)->sink().sync();
}

// Makes the rename of a file in `directory` durable.
void sync_directory(const fs::path& directory) {
  const int fd = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

int fail(const std::string& message) {
  std::fprintf(stderr, "mcaprec filter: %s\n", message.c_str());
  return kExitFailure;
}

int run_filter(std::span<const std::string> args) {
  ParsedArgs parsed;
  if (auto error = parse_args(args, kOptions, parsed)) return usage_error("filter", *error);
  Request request;
  if (auto error = read_request(parsed, request)) return usage_error("filter", *error);
  std::vector<std::string> paths;
  if (auto error = expand_inputs(parsed.positional, paths)) return fail(*error);
  const std::string tmp_path = request.output + ".tmp";
  for (const std::string& path : paths) {
    if (path == request.output || same_file(path, request.output) || same_file(path, tmp_path)) {
      return fail("refusing to write over the input file " + path);
    }
  }
  const SessionFiles session = open_session(paths);
  if (!session.unreadable.empty()) return fail(session.unreadable.front().error);
  resolve_times(session, request);

  FilterCounts counts;
  mcap::Status status = write_output(session, request, tmp_path, counts);
  std::error_code error;
  if (status) {
    fs::rename(tmp_path, request.output, error);
    if (error) status = mcap::Error{0, "cannot rename " + tmp_path + ": " + error.message()};
  }
  if (!status) {
    fs::remove(tmp_path, error);
    return fail(request.output + " not written: " + status.error().message);
  }
  sync_directory(fs::path(request.output).parent_path());
  std::printf(
      "filtered %zu files -> %s: %llu messages, %llu chunks copied without recompression, "
      "%llu chunks rewritten, %llu metadata, %llu attachments, %s\n",
      session.files.size(), request.output.c_str(),
      static_cast<unsigned long long>(counts.messages),
      static_cast<unsigned long long>(counts.copied_chunks),
      static_cast<unsigned long long>(counts.rewritten_chunks),
      static_cast<unsigned long long>(counts.metadata),
      static_cast<unsigned long long>(counts.attachments),
      human_size(fs::file_size(request.output, error)).c_str());
  return kExitOk;
}

}  // namespace

const Command kFilterCommand = {
    "filter", "keep topics and a time range of one or many files, in one file", kHelp, run_filter};

}  // namespace mcaprec::tool
