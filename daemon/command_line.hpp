#pragma once
// The command line of mcaprecd:
//   mcaprecd --config FILE [--log-level LEVEL]   record in the foreground (systemd style)
//   mcaprecd --check-config FILE                 print the effective configuration, exit 0 or 1
//   mcaprecd --version | --help
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace mcaprec::daemon {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // start-up, write or shutdown failure
inline constexpr int kExitUsage = 2;    // the command line is wrong
// EX_CONFIG of sysexits.h: the configuration file is missing, unreadable or invalid. The unit's
// RestartPreventExitStatus=78 keeps systemd from restarting a daemon that cannot start anyway.
inline constexpr int kExitConfig = 78;

enum class Mode { kRun, kCheckConfig, kVersion, kHelp };

struct CommandLine {
  Mode mode = Mode::kHelp;
  std::string config_path;                    // kRun and kCheckConfig
  std::optional<config::LogLevel> log_level;  // overrides logging.level
};

struct ParsedCommandLine {
  std::optional<CommandLine> command;  // set when the arguments made sense
  std::string error;                   // else what was wrong, for a person
};

// `args` excludes the program name. Options take "--name VALUE" or "--name=VALUE".
ParsedCommandLine parse_command_line(std::span<const std::string> args);

// "trace", "debug", "info", "warn", "error", "critical", "off".
std::optional<config::LogLevel> parse_log_level(std::string_view text);

// The text of --help.
std::string usage_text();

}  // namespace mcaprec::daemon
