// mcaprec recover: in-place recovery of one unfinished or torn recording; the work is done by
// lib/storage/recovery, as at every start of the daemon.
#include <cstdio>
#include <string>

#include "cli_helpers.hpp"
#include "commands.hpp"
#include "storage/recovery.hpp"

namespace mcaprec::tool {
namespace {

constexpr const char kHelp[] =
    "Usage: mcaprec recover FILE [--dry-run]\n"
    "\n"
    "Completes, in place, a recording cut off by a crash or a power cut: an unfinished\n"
    "'x.mcap.active' (renamed to 'x.mcap' once complete, never over an existing file) or a torn\n"
    "'x.mcap'. The file is scanned from the start; every chunk's lengths and CRC and its message\n"
    "indexes are checked. Everything after the last complete chunk (a record cut in the middle,\n"
    "zeros, garbage) is cut off; message indexes the last chunk lacks are rebuilt from it; then a\n"
    "'mcaprec.recovery' metadata record, Data End, the summary and the footer are appended. The\n"
    "bytes that are kept are never rewritten. A complete file is left as it is.\n"
    "\n"
    "Reports what was kept (chunks, messages, bytes, time range) and what was cut (bytes, from\n"
    "which offset, and why).\n"
    "\n"
    "Options:\n"
    "  --dry-run    only report what recovery would do; the file is opened read-only\n"
    "  -h, --help   show this help\n"
    "\n"
    "Exit status: 0 when nothing was lost (the file was already complete, or only its summary\n"
    "was missing), 3 when it was recovered but bytes had to be cut (with --dry-run: would have\n"
    "to be), 1 when it cannot be recovered (no valid MCAP header, an I/O error, or the final\n"
    "name is taken), 2 on a usage error.\n";

std::string plural(uint64_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

void print_report(const storage::RecoveryReport& r) {
  const char* would = r.dry_run ? "would be " : "";
  if (r.already_complete) {
    std::printf("%s: already complete, content left as it is\n", r.path.c_str());
  } else {
    std::printf("%s: %srecovered\n", r.path.c_str(), r.dry_run ? "would be " : "");
  }
  std::printf("  kept:     %s, %s, %s (offsets 0 to %llu)\n", plural(r.chunks, "chunk").c_str(),
              plural(r.messages, "message").c_str(), human_size(r.kept_bytes).c_str(),
              static_cast<unsigned long long>(r.kept_bytes));
  if (r.messages > 0) {
    std::printf("  time:     %s to %s (%s)\n", iso_time(r.message_start_time).c_str(),
                iso_time(r.message_end_time).c_str(),
                human_duration(r.message_end_time - r.message_start_time).c_str());
  }
  if (!r.already_complete) {
    if (r.cut_bytes > 0) {
      std::printf("  cut:      %s (%llu bytes) from offset %llu: %s\n",
                  human_size(r.cut_bytes).c_str(), static_cast<unsigned long long>(r.cut_bytes),
                  static_cast<unsigned long long>(r.kept_bytes), r.cut_reason.c_str());
    } else {
      std::printf("  cut:      nothing (%s)\n", r.cut_reason.c_str());
    }
    if (r.rebuilt_message_indexes > 0) {
      std::printf("  rebuilt:  %s of the last chunk\n",
                  plural(r.rebuilt_message_indexes, "message index").c_str());
    }
    std::printf("  appended: %s (recovery metadata, Data End, summary, footer); %s %s\n",
                human_size(r.appended_bytes).c_str(), r.dry_run ? "size would be" : "size now",
                human_size(r.final_size).c_str());
  }
  if (r.renamed) std::printf("  renamed:  %sto %s\n", would, r.final_path.c_str());
}

int run_recover(std::span<const std::string> args) {
  static constexpr OptionSpec kOptions[] = {{"--dry-run", false}};
  ParsedArgs parsed;
  if (auto error = parse_args(args, kOptions, parsed)) return usage_error("recover", *error);
  if (parsed.positional.size() != 1) return usage_error("recover", "expected exactly one FILE");

  storage::RecoverOptions options;
  options.dry_run = parsed.has("--dry-run");
  auto report = storage::recover_file(parsed.positional[0], options);
  if (!report) {
    std::fprintf(stderr, "mcaprec recover: %s\n", report.error().message.c_str());
    return kExitFailure;
  }
  print_report(*report);
  return report->cut_bytes > 0 ? kExitDataCut : kExitOk;
}

}  // namespace

const Command kRecoverCommand = {"recover", "complete a recording cut off by a crash, in place",
                                 kHelp, run_recover};

}  // namespace mcaprec::tool
