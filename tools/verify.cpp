// mcaprec verify: a full linear check of recordings; the checks live in lib/mcap/verify.
#include "mcap/verify.hpp"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_helpers.hpp"
#include "commands.hpp"
#include "mcap/reader.hpp"
#include "session_files.hpp"

namespace mcaprec::tool {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char kHelp[] =
    "Usage: mcaprec verify FILE|DIRECTORY... [--json]\n"
    "\n"
    "Checks every byte of an MCAP file: the magic and the framing of every record, every CRC\n"
    "(chunks, attachments, the data section and the summary), every chunk decompresses, chunk\n"
    "indexes against their chunks, message indexes against the messages, the statistics\n"
    "against the real counts, the summary layout and its summary offsets, and that schemas and\n"
    "channels are declared before use and repeated identically in the summary.\n"
    "\n"
    "For one file it prints \"OK: ...\" when everything holds, else one line per problem,\n"
    "\"offset N: what\", and \"FAILED: FILE: ...\". Given several files or a directory (its\n"
    "*.mcap files in name order; .active files are left out), every file is checked, each line\n"
    "starts with the file's path, and the last line is the verdict:\n"
    "\"N files verified, M failed\".\n"
    "\n"
    "Options:\n"
    "  --json       one JSON object: {\"files\": [{\"path\", \"ok\", \"messages\", \"chunks\",\n"
    "               \"errors\", \"warnings\", \"findings\": [{\"offset\", \"severity\",\n"
    "               \"message\"}], \"error\"}], \"verified\": N, \"failed\": M}; \"error\" is\n"
    "               set (and the rest absent) when the file cannot be opened\n"
    "  -h, --help   show this help\n"
    "\n"
    "Exit status: 0 when every file is valid, 1 when problems were found or a file cannot be\n"
    "read, 2 on a usage error.\n";

const OptionSpec kOptions[] = {{"--json", false}};

std::string count(uint64_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

// "OK: [LEAD]300 messages, 5 chunks, all checks passed" or "FAILED: PATH: 2 problems".
std::string verdict_line(const std::string& path, const std::string& lead,
                         const mcap::VerifyReport& report) {
  std::string tail;
  if (report.warning_count > 0) tail += ", " + count(report.warning_count, "warning");
  if (report.dropped() > 0) tail += " (" + std::to_string(report.dropped()) + " not shown)";
  if (report.ok()) {
    return "OK: " + lead + count(report.message_count, "message") + ", " +
           count(report.chunk_count, "chunk") + ", all checks passed" + tail;
  }
  return "FAILED: " + path + ": " + count(report.error_count, "problem") + tail;
}

Json report_json(const std::string& path, const mcap::VerifyReport& report) {
  Json findings = Json::array();
  for (const mcap::Finding& finding : report.findings) {
    findings.push_back(
        {{"offset", finding.offset},
         {"severity", finding.severity == mcap::Severity::kWarning ? "warning" : "error"},
         {"message", finding.message}});
  }
  return {{"path", path},
          {"ok", report.ok()},
          {"messages", report.message_count},
          {"chunks", report.chunk_count},
          {"errors", report.error_count},
          {"warnings", report.warning_count},
          {"findings", std::move(findings)}};
}

// Checks one file; prints its lines (prefixed with its path when `prefix`), or adds it to `json`.
bool verify_one(const std::string& path, bool prefix, Json* json) {
  auto file = mcap::MappedFile::open(path);
  if (!file) {
    if (json != nullptr) {
      json->push_back({{"path", path}, {"ok", false}, {"error", file.error().message}});
    } else {
      std::fprintf(stderr, "mcaprec verify: %s\n", file.error().message.c_str());
      if (prefix) std::printf("FAILED: %s: cannot be read\n", path.c_str());
    }
    return false;
  }
  const mcap::VerifyReport report = mcap::verify_file(file->bytes());
  if (json != nullptr) {
    json->push_back(report_json(path, report));
    return report.ok();
  }
  const std::string lead = prefix ? path + ": " : "";
  for (const mcap::Finding& finding : report.findings) {
    std::printf("%s%s\n", lead.c_str(), finding.to_string().c_str());
  }
  std::printf("%s\n", verdict_line(path, lead, report).c_str());
  return report.ok();
}

int run_verify(std::span<const std::string> args) {
  ParsedArgs parsed;
  if (auto error = parse_args(args, kOptions, parsed)) return usage_error("verify", *error);
  if (parsed.positional.empty()) return usage_error("verify", "expected a FILE or DIRECTORY");
  std::vector<std::string> paths;
  if (auto error = expand_inputs(parsed.positional, paths)) {
    std::fprintf(stderr, "mcaprec verify: %s\n", error->c_str());
    return kExitFailure;
  }
  const bool json = parsed.has("--json");
  const bool session = paths.size() > 1 || parsed.positional.size() != paths.size() ||
                       std::filesystem::is_directory(parsed.positional[0]);
  Json files = Json::array();
  size_t failed = 0;
  for (const std::string& path : paths) {
    if (!verify_one(path, session, json ? &files : nullptr)) ++failed;
  }
  if (json) {
    const Json report = {
        {"files", std::move(files)}, {"verified", paths.size()}, {"failed", failed}};
    std::fputs(json_report(report, 2).c_str(), stdout);
  } else if (session) {
    std::printf("%zu file%s verified, %zu failed\n", paths.size(), paths.size() == 1 ? "" : "s",
                failed);
  }
  return failed == 0 ? kExitOk : kExitFailure;
}

}  // namespace

const Command kVerifyCommand = {"verify", "check every record, CRC, index and statistic", kHelp,
                                run_verify};

}  // namespace mcaprec::tool
