#include "daemon/command_line.hpp"

#include <array>
#include <utility>

namespace mcaprec::daemon {
namespace {

constexpr std::array<config::LogLevel, 7> kLevels = {
    config::LogLevel::kTrace, config::LogLevel::kDebug, config::LogLevel::kInfo,
    config::LogLevel::kWarn,  config::LogLevel::kError, config::LogLevel::kCritical,
    config::LogLevel::kOff};

ParsedCommandLine failure(std::string message) {
  return ParsedCommandLine{std::nullopt, std::move(message)};
}

}  // namespace

std::optional<config::LogLevel> parse_log_level(std::string_view text) {
  for (config::LogLevel level : kLevels) {
    if (config::to_string(level) == text) return level;
  }
  return std::nullopt;
}

ParsedCommandLine parse_command_line(std::span<const std::string> args) {
  std::optional<std::string> run_path;
  std::optional<std::string> check_path;
  std::optional<config::LogLevel> log_level;
  bool version = false;
  bool help = false;

  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    std::string_view name = arg;
    std::optional<std::string> inline_value;
    if (arg.starts_with("--")) {
      if (const size_t equals = arg.find('='); equals != std::string_view::npos) {
        name = arg.substr(0, equals);
        inline_value = std::string(arg.substr(equals + 1));
      }
    }
    const bool takes_value =
        name == "--config" || name == "-c" || name == "--check-config" || name == "--log-level";
    if (!takes_value) {
      if (inline_value) return failure("option '" + std::string(name) + "' takes no value");
      if (name == "--help" || name == "-h") {
        help = true;
      } else if (name == "--version" || name == "-V") {
        version = true;
      } else if (name.starts_with("-")) {
        return failure("unknown option '" + std::string(name) + "'");
      } else {
        return failure("unexpected argument '" + std::string(arg) +
                       "' (the configuration file goes after --config)");
      }
      continue;
    }
    std::string value;
    if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return failure("option '" + std::string(name) + "' needs a value");
    }
    if (value.empty()) return failure("option '" + std::string(name) + "' needs a value");
    if (name == "--log-level") {
      log_level = parse_log_level(value);
      if (!log_level) {
        return failure("--log-level: '" + value +
                       "' is not one of trace, debug, info, warn, error, critical, off");
      }
    } else if (name == "--check-config") {
      if (check_path) return failure("--check-config given twice");
      check_path = value;
    } else {
      if (run_path) return failure("--config given twice");
      run_path = value;
    }
  }

  CommandLine command;
  command.log_level = log_level;
  if (help) {
    command.mode = Mode::kHelp;
  } else if (version) {
    command.mode = Mode::kVersion;
  } else if (run_path && check_path) {
    return failure("--config and --check-config exclude each other");
  } else if (check_path) {
    command.mode = Mode::kCheckConfig;
    command.config_path = *check_path;
  } else if (run_path) {
    command.mode = Mode::kRun;
    command.config_path = *run_path;
  } else {
    return failure("missing --config FILE");
  }
  return ParsedCommandLine{command, {}};
}

std::string usage_text() {
  return "Usage: mcaprecd --config FILE [--log-level LEVEL]\n"
         "  or:  mcaprecd --check-config FILE\n"
         "\n"
         "Records what the configured UDP and TCP sources receive into MCAP files. Runs in the\n"
         "foreground (for systemd or a terminal) until SIGTERM or SIGINT; SIGHUP starts a new\n"
         "file.\n"
         "\n"
         "Options:\n"
         "  -c, --config FILE       record with the configuration in FILE\n"
         "  --check-config FILE     check FILE, print the effective configuration (defaults\n"
         "                          included) and exit 0, or print every problem and exit 78\n"
         "  --log-level LEVEL       trace, debug, info, warn, error, critical or off;\n"
         "                          overrides logging.level\n"
         "  -V, --version           print the version\n"
         "  -h, --help              show this help\n"
         "\n"
         "Exit status: 0 after a clean stop, 1 on a start-up, write or shutdown failure, 2 on a\n"
         "bad command line, 78 (EX_CONFIG) when the configuration file is missing or invalid\n"
         "(also for --check-config).\n";
}

}  // namespace mcaprec::daemon
