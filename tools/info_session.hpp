#pragma once
// `mcaprec info` over several files or directories: one line per file, then what the session
// holds as a whole (times, gaps between files, topics, the recorder's counts).
#include "session_files.hpp"

namespace mcaprec::tool {

// Prints the session report (text or JSON) and returns the exit code: 1 when a file could not
// be read (the others are still reported).
int print_session_info(const SessionFiles& session, bool json);

}  // namespace mcaprec::tool
