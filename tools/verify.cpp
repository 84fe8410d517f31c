// mcaprec verify: a full linear check of a recording; the checks live in lib/mcap/verify.
#include "mcap/verify.hpp"

#include <cstdio>
#include <string>

#include "cli_helpers.hpp"
#include "commands.hpp"
#include "mcap/reader.hpp"

namespace mcaprec::tool {
namespace {

constexpr const char kHelp[] =
    "Usage: mcaprec verify FILE\n"
    "\n"
    "Checks every byte of an MCAP file: the magic and the framing of every record, every CRC\n"
    "(chunks, attachments, the data section and the summary), every chunk decompresses, chunk\n"
    "indexes against their chunks, message indexes against the messages, the statistics\n"
    "against the real counts, the summary layout and its summary offsets, and that schemas and\n"
    "channels are declared before use and repeated identically in the summary.\n"
    "\n"
    "Prints \"OK: ...\" when everything holds, else one line per problem, \"offset N: what\".\n"
    "\n"
    "Options:\n"
    "  -h, --help   show this help\n"
    "\n"
    "Exit status: 0 when the file is valid, 1 when problems were found or the file cannot be\n"
    "read, 2 on a usage error.\n";

int run_verify(std::span<const std::string> args) {
  ParsedArgs parsed;
  if (auto error = parse_args(args, {}, parsed)) return usage_error("verify", *error);
  if (parsed.positional.size() != 1) return usage_error("verify", "expected exactly one FILE");
  const std::string& path = parsed.positional[0];

  auto file = mcap::MappedFile::open(path);
  if (!file) {
    std::fprintf(stderr, "mcaprec verify: %s\n", file.error().message.c_str());
    return kExitFailure;
  }
  const mcap::VerifyReport report = mcap::verify_file(file->bytes());
  for (const mcap::Finding& finding : report.findings) {
    std::printf("%s\n", finding.to_string().c_str());
  }
  const auto count = [](uint64_t n, const char* what) {
    return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
  };
  std::string tail;
  if (report.warning_count > 0) tail += ", " + count(report.warning_count, "warning");
  if (report.dropped() > 0) tail += " (" + std::to_string(report.dropped()) + " not shown)";
  if (report.ok()) {
    std::printf("OK: %s, %s, all checks passed%s\n", count(report.message_count, "message").c_str(),
                count(report.chunk_count, "chunk").c_str(), tail.c_str());
    return kExitOk;
  }
  std::printf("FAILED: %s: %s%s\n", path.c_str(), count(report.error_count, "problem").c_str(),
              tail.c_str());
  return kExitFailure;
}

}  // namespace

const Command kVerifyCommand = {"verify", "check every record, CRC, index and statistic", kHelp,
                                run_verify};

}  // namespace mcaprec::tool
