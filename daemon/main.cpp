// mcaprecd: the recording daemon. Everything happens in daemon_main(); this file only chooses
// the real network listeners.
#include <string>
#include <vector>

#include "daemon/daemon_main.hpp"
#include "ingest/ingest_server.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return mcaprec::daemon::daemon_main(args, &mcaprec::ingest::IngestServer::start);
}
