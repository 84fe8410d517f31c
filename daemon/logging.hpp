#pragma once
// Logging to stderr in the form that suits where stderr goes. Under systemd, stderr is a
// journal stream: each line then starts with its sd-daemon priority ("<3>" for errors, see
// sd-daemon(3)) so that journald records the right level, and carries no timestamp because the
// journal adds its own. Anywhere else (a terminal, a file), lines carry a human UTC timestamp and
// the level name.
#include <spdlog/common.h>
#include <spdlog/formatter.h>

#include <memory>
#include <optional>
#include <string_view>

#include "config/config.hpp"

namespace mcaprec::daemon {

enum class LogStyle { kJournal, kHuman };

// True when `journal_stream` (the JOURNAL_STREAM variable: "<device>:<inode>") names the file
// that `fd` refers to. systemd sets the variable for services whose output is the journal;
// comparing with the descriptor avoids trusting it after stderr was redirected elsewhere.
bool is_journal_stream(const char* journal_stream, int fd);

// Journal when stderr is the journal stream, else human.
LogStyle detect_log_style();

// The sd-daemon priority of a level: 7 debug (and trace), 6 info, 4 warning, 3 error, 2 critical.
int journal_priority(spdlog::level::level_enum level);

spdlog::level::level_enum to_spdlog_level(config::LogLevel level);

// "<6>message" for the journal; "2026-11-21T10:15:00.123Z info message" otherwise.
std::unique_ptr<spdlog::formatter> make_log_formatter(LogStyle style);

// Installs the default logger: stderr, formatted for `style`, at `level`. Warnings and errors
// are flushed at once; a crash loses at most informational lines.
void setup_logging(LogStyle style, config::LogLevel level);
void set_log_level(config::LogLevel level);

}  // namespace mcaprec::daemon
