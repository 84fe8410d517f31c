// mcaprec: the command-line tool. This file only dispatches to the subcommands.
#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cli_helpers.hpp"
#include "commands.hpp"

namespace mcaprec::tool {
namespace {

const Command* const kCommands[] = {&kInfoCommand, &kVerifyCommand,  &kFilterCommand,
                                    &kCatCommand,  &kConvertCommand, &kRecoverCommand,
                                    &kSendCommand, &kCtlCommand,     &kUploadCommand};

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "Usage: mcaprec COMMAND [OPTIONS] [ARGS]\n"
               "\n"
               "Inspect, check and rewrite MCAP recordings, send traffic to a recorder and\n"
               "control a running one.\n"
               "\n"
               "Commands:\n");
  for (const Command* command : kCommands) {
    std::fprintf(out, "  %-10s %s\n", command->name, command->summary);
  }
  std::fprintf(out,
               "\n"
               "Options:\n"
               "  -h, --help     show this help, or a command's help after its name\n"
               "  -V, --version  print the version\n"
               "\n"
               "Run 'mcaprec COMMAND --help' for the options of a command.\n");
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

int unknown_command(const std::string& name) {
  const bool looks_like_option = !name.empty() && name[0] == '-';
  std::fprintf(stderr, "mcaprec: unknown %s '%s'\n", looks_like_option ? "option" : "command",
               name.c_str());
  if (!looks_like_option) {
    const Command* closest = nullptr;
    size_t best = 3;  // only suggest near misses
    for (const Command* command : kCommands) {
      const size_t distance = edit_distance(name, command->name);
      if (distance < best) {
        best = distance;
        closest = command;
      }
    }
    if (closest != nullptr) std::fprintf(stderr, "Did you mean '%s'?\n", closest->name);
  }
  std::fprintf(stderr, "Run 'mcaprec --help' for the list of commands.\n");
  return kExitUsage;
}

bool asks_for_help(std::span<const std::string> args) {
  for (const std::string& arg : args) {
    if (arg == "--") return false;
    if (arg == "-h" || arg == "--help") return true;
  }
  return false;
}

int run(std::span<const std::string> args) {
  if (args.empty()) {
    print_usage(stderr);
    return kExitUsage;
  }
  const std::string& first = args[0];
  if (first == "-h" || first == "--help") {
    print_usage(stdout);
    return kExitOk;
  }
  if (first == "-V" || first == "--version") {
    std::printf("mcaprec %s\n", MCAPREC_VERSION);
    return kExitOk;
  }
  for (const Command* command : kCommands) {
    if (first != command->name) continue;
    const auto rest = args.subspan(1);
    if (asks_for_help(rest)) {
      std::fputs(command->help, stdout);
      return kExitOk;
    }
    return command->run(rest);
  }
  return unknown_command(first);
}

}  // namespace
}  // namespace mcaprec::tool

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return mcaprec::tool::run(args);
}
