#include "daemon/daemon_main.hpp"

#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>

#include "config/loader.hpp"
#include "config/to_yaml.hpp"
#include "daemon/command_line.hpp"
#include "daemon/logging.hpp"
#include "daemon/notifier.hpp"
#include "daemon/recording_options.hpp"

namespace mcaprec::daemon {
namespace {

int run_recorder(const CommandLine& command, const IngestStarter& start_ingest) {
  setup_logging(detect_log_style(), command.log_level.value_or(config::LogLevel::kInfo));
  // Peers that go away must not kill the daemon; writes report EPIPE instead.
  std::signal(SIGPIPE, SIG_IGN);
  SystemdNotifier notifier;

  // The configuration is checked completely before anything else happens: a bad file never
  // touches the output directory or opens a socket.
  config::Result<config::Config> loaded = config::load_config_file(command.config_path);
  if (!loaded) {
    for (const config::ConfigError& error : loaded.errors()) {
      spdlog::error("{}", error.to_string());
    }
    spdlog::error("not starting: {} has {} problem{}", command.config_path, loaded.errors().size(),
                  loaded.errors().size() == 1 ? "" : "s");
    notifier.status("Invalid configuration " + command.config_path);
    return kExitConfig;
  }
  config::Config config = std::move(*loaded);
  set_log_level(command.log_level.value_or(config.logging.level));

  base::Result<std::string> crc = file_crc32_hex(command.config_path);
  if (!crc) {
    spdlog::error("not starting: {}", crc.error().message);
    return kExitFailure;
  }

  ServiceOptions options;
  options.config = std::move(config);
  options.config_path = command.config_path;
  options.config_crc32 = *crc;
  options.start_ingest = start_ingest;
  options.notifier = &notifier;
  options.watchdog_period = systemd_watchdog_period();
  auto service = Service::start(std::move(options));
  if (!service) {
    spdlog::error("cannot start: {}", service.error().message);
    notifier.status("Failed to start: " + service.error().message);
    return kExitFailure;
  }
  const RunResult result = (*service)->run();
  if (result.abandoned) {
    // Threads are still blocked in the writer; destroying the service would wait for them.
    spdlog::default_logger()->flush();
    std::_Exit(result.exit_code);
  }
  return result.exit_code;
}

}  // namespace

int check_config(const std::string& path, std::FILE* out, std::FILE* err) {
  config::Result<config::Config> loaded = config::load_config_file(path);
  if (!loaded) {
    std::fputs(loaded.error_text().c_str(), err);
    return kExitConfig;
  }
  std::fputs(config::to_yaml(*loaded).c_str(), out);
  return kExitOk;
}

int daemon_main(std::span<const std::string> args, const IngestStarter& start_ingest) {
  const ParsedCommandLine parsed = parse_command_line(args);
  if (!parsed.command) {
    std::fprintf(stderr, "mcaprecd: %s\nRun 'mcaprecd --help' for usage.\n", parsed.error.c_str());
    return kExitUsage;
  }
  const CommandLine& command = *parsed.command;
  switch (command.mode) {
    case Mode::kHelp:
      std::fputs(usage_text().c_str(), stdout);
      return kExitOk;
    case Mode::kVersion:
      std::printf("mcaprecd %s\n", MCAPREC_VERSION);
      return kExitOk;
    case Mode::kCheckConfig:
      return check_config(command.config_path, stdout, stderr);
    case Mode::kRun:
      return run_recorder(command, start_ingest);
  }
  return kExitUsage;
}

}  // namespace mcaprec::daemon
