// on_finalize through the real mcaprecd: one command, told how to behave for each file by a
// mode file the test writes before each rotation (SIGHUP). It copies a file (ok), fails with a
// message on stderr (failed, the message in the log), and hangs past a short timeout (killed with
// what it started, timed out); /metrics and /status count each, and the last file, finished at
// SIGTERM, still gets its command.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "daemon_fixture.hpp"
#include "daemon_test_support.hpp"
#include "pipeline_test_support.hpp"
#include "producers.hpp"

namespace mcaprec::e2e {
namespace {

using pipeline::testing::eventually;

// The value of an unlabelled Prometheus sample, or -1 when absent.
double metric(const std::string& text, const std::string& name) {
  size_t at = 0;
  while ((at = text.find(name + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') return std::stod(text.substr(at + name.size() + 1));
    at += name.size();
  }
  return -1;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class OnFinalizeE2ETest : public DaemonFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(DaemonFixture::SetUp());
    fs::create_directories(output_);
    fs::create_directories(copies_);
    std::ofstream(script_) << "#!/bin/sh\n"
                              "case $(cat '"
                           << mode_.string()
                           << "') in\n"
                              "  copy) cp \"$1\" '"
                           << copies_.string()
                           << "/' ;;\n"
                              "  fail) echo \"backup target full for $1\" >&2; exit 3 ;;\n"
                              "  hang) sleep 60 & echo $! > '"
                           << hung_pid_.string()
                           << "'; wait ;;\n"
                              "esac\n";
    fs::permissions(script_, fs::perms::owner_all);
  }

  void set_mode(const std::string& mode) { std::ofstream(mode_) << mode << "\n"; }

  std::string metrics() { return http_get(metrics_port_, "/metrics").body; }

  // Sends a few messages and waits until they are written, so that the file has something.
  void record_some(uint16_t port, uint32_t first) {
    ASSERT_TRUE(send_mcap_stream(port, "/numbers", first, 50, 100));
    ASSERT_TRUE(eventually(
        [&] {
          const nlohmann::json s = status();
          return s.is_object() && s["totals"]["messages_written"].get<uint64_t>() >= first + 50;
        },
        seconds(20)));
  }

  bool counted(const std::string& name, double value) {
    return eventually([&] { return metric(metrics(), name) == value; }, seconds(20));
  }

  const fs::path copies_ = dir_ / "copies";
  const fs::path script_ = dir_ / "on_finalize.sh";
  const fs::path mode_ = dir_ / "mode";
  const fs::path hung_pid_ = dir_ / "hung.pid";
};

TEST_F(OnFinalizeE2ETest, RunsTheCommandForEachFileAndCountsHowItEnded) {
  const uint16_t port = free_port(SOCK_STREAM);
  const fs::path config = dir_ / "mcaprecd.yaml";
  std::ofstream(config) << "output:\n  directory: " << output_.string()
                        << "\nmcap:\n  chunk_max_age: 100ms\n"
                           "metrics:\n  bind: 127.0.0.1:"
                        << metrics_port_
                        << "\nsources:\n  - {name: producers, transport: tcp, bind: 127.0.0.1:"
                        << port << ", format: mcap}\non_finalize: [" << script_.string()
                        << "]\non_finalize_timeout: 1s\n";
  set_mode("copy");
  ASSERT_NO_FATAL_FAILURE(start_recording(config.string()));

  // ok: the file arrives where the command copied it, byte for byte.
  ASSERT_NO_FATAL_FAILURE(record_some(port, 0));
  const std::string first = status()["current_file"].get<std::string>();
  daemon_->signal(SIGHUP);
  ASSERT_TRUE(counted("mcaprec_on_finalize_ok_total", 1)) << metrics() << daemon_->err();
  const fs::path finished = output_ / fs::path(first).stem();  // without .active
  const fs::path copy = copies_ / finished.filename();
  ASSERT_TRUE(fs::exists(copy)) << copy;
  EXPECT_EQ(read_text(copy), read_text(finished));

  // failed: counted, and the log names the file and quotes the command's stderr.
  set_mode("fail");
  ASSERT_NO_FATAL_FAILURE(record_some(port, 50));
  daemon_->signal(SIGHUP);
  ASSERT_TRUE(counted("mcaprec_on_finalize_failed_total", 1)) << metrics() << daemon_->err();
  EXPECT_NE(
      daemon_->err().find("failed (exit status 3): backup target full for " + output_.string()),
      std::string::npos)
      << daemon_->err();

  // timed out: killed after 1 s, together with the sleep it started.
  set_mode("hang");
  ASSERT_NO_FATAL_FAILURE(record_some(port, 100));
  daemon_->signal(SIGHUP);
  ASSERT_TRUE(counted("mcaprec_on_finalize_timed_out_total", 1)) << metrics() << daemon_->err();
  EXPECT_NE(daemon_->err().find("still running after 1.000 s: killed"), std::string::npos)
      << daemon_->err();
  ASSERT_TRUE(fs::exists(hung_pid_));
  const pid_t hung = std::stoi(read_text(hung_pid_));
  EXPECT_TRUE(eventually([&] { return ::kill(hung, 0) != 0; }, seconds(5)))
      << "the command's own child outlived the timeout";

  const nlohmann::json s = status();
  EXPECT_EQ(s["on_finalize"]["ok"], 1);
  EXPECT_EQ(s["on_finalize"]["failed"], 1);
  EXPECT_EQ(s["on_finalize"]["timed_out"], 1);
  EXPECT_EQ(s["on_finalize"]["pending"], 0);

  // The file finished at SIGTERM gets its command before mcaprecd exits.
  set_mode("copy");
  ASSERT_NO_FATAL_FAILURE(record_some(port, 150));
  const std::string last = status()["current_file"].get<std::string>();
  daemon_->signal(SIGTERM);
  ASSERT_EQ(daemon_->wait(seconds(20)), std::optional<int>(0)) << daemon_->err();
  EXPECT_TRUE(fs::exists(copies_ / fs::path(last).stem().filename())) << daemon_->err();
}

}  // namespace
}  // namespace mcaprec::e2e
