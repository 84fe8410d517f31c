#pragma once
// The fixture of the end-to-end tests: a temporary directory holding the daemon's output
// (output_), configuration, notify socket and captured stdout and stderr, a free port for
// /metrics, and the real mcaprecd started there with a notify socket standing in for systemd.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "daemon_process.hpp"
#include "daemon_test_support.hpp"
#include "producers.hpp"
#include "scratch_dir.hpp"
#include "tool_runner.hpp"

namespace mcaprec::e2e {

// The names every end-to-end test uses.
namespace fs = std::filesystem;
using daemon::testing::http_get;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Generous: sanitizer builds on a shared machine are slow.
constexpr milliseconds kStartBound = seconds(20);

class DaemonFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    output_ = dir_ / "recordings";
    metrics_port_ = free_port(SOCK_STREAM);
  }
  // The daemon stops before its directory goes.
  void TearDown() override { daemon_.reset(); }

  // Starts mcaprecd with `args`, its environment plus `env` and NOTIFY_SOCKET (a new socket).
  void start(const std::vector<std::string>& args, std::map<std::string, std::string> env = {}) {
    notify_.reset();  // its destructor removes the path
    notify_ = std::make_unique<daemon::testing::NotifySocket>((dir_ / "notify").string());
    ASSERT_TRUE(notify_->bound());
    env.emplace("NOTIFY_SOCKET", notify_->path());
    daemon_ = std::make_unique<DaemonProcess>(MCAPRECD_PATH, args, (dir_ / "stdout").string(),
                                              (dir_ / "stderr").string(), env);
  }

  // Starts the daemon on `config` and waits for READY=1.
  void start_recording(const std::string& config, std::map<std::string, std::string> env = {}) {
    start({"--config", config}, std::move(env));
    const std::string ready = notify_->wait_for("READY=1", kStartBound);
    ASSERT_NE(ready, "") << "no READY=1; stderr:\n" << daemon_->err();
  }

  // /status as JSON; null when it does not answer 200.
  nlohmann::json status() {
    const daemon::testing::HttpReply reply = http_get(metrics_port_, "/status");
    if (reply.status != 200) return nlohmann::json();
    return nlohmann::json::parse(reply.body, nullptr, false);
  }

  // The exit code of `mcaprec verify <path>`.
  int verify(const std::string& path) {
    return test_support::run_tool({"verify", path}, dir_ / "verify.stderr").exit_code;
  }

  test_support::ScratchDir scratch_{"daemon-e2e"};
  const fs::path dir_ = scratch_.path();
  fs::path output_;
  uint16_t metrics_port_ = 0;
  std::unique_ptr<daemon::testing::NotifySocket> notify_;
  std::unique_ptr<DaemonProcess> daemon_;
};

}  // namespace mcaprec::e2e
