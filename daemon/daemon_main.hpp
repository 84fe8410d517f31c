#pragma once
// mcaprecd's main(), apart from the choice of ingest (so that tests can run it without sockets).
#include <cstdio>
#include <span>
#include <string>

#include "daemon/service.hpp"

namespace mcaprec::daemon {

// --check-config: the effective configuration on `out` and 0, or every problem on `err` and 1.
int check_config(const std::string& path, std::FILE* out, std::FILE* err);

// The whole program: `args` without the program name. Returns the exit status.
int daemon_main(std::span<const std::string> args, const IngestStarter& start_ingest);

}  // namespace mcaprec::daemon
