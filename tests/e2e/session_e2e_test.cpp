// Session metadata end to end: the real mcaprecd with a `session:` section, fed over TCP until it
// has rotated several times, with an event marked by SIGUSR1. Every file it writes, continuous
// or event, must start with the `mcaprec.session` record and the `foxglove` record that
// Foxglove's import reads, so that any single file names its device; `mcaprec info` shows them.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "daemon_fixture.hpp"
#include "pipeline_test_support.hpp"
#include "producers.hpp"

namespace mcaprec::e2e {
namespace {

using pipeline::testing::eventually;

class SessionE2ETest : public DaemonFixture {
 protected:
  // Files of 64 KiB: the noise payloads below fill several.
  std::string write_config(uint16_t port) {
    const fs::path path = dir_ / "mcaprecd.yaml";
    std::ofstream(path) << "output:\n  directory: " << output_.string()
                        << "\n  max_bytes: 64KiB\n  min_free_bytes: 0\n"
                           "mcap:\n  chunk_size: 16KiB\n  chunk_max_age: 100ms\n"
                           "pipeline:\n  compressor_threads: 1\n  memory_budget: 64MiB\n"
                           "events:\n  look_back: 10s\n  spool_bytes: 0\n  before: 10s\n"
                           "  after: 100ms\n"
                           "control:\n  socket: \"\"\n"
                           "session:\n  device_id: car-7\n  device_name: Test Car 7\n"
                           "  metadata:\n    driver: ann\n    route: \"A9: north\"\n"
                           "sources:\n  - name: producers\n    transport: tcp\n"
                           "    bind: 127.0.0.1:"
                        << port << "\n";
    return path.string();
  }

  std::vector<fs::path> finished_files() const {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(output_)) {
      if (entry.path().extension() == ".mcap") files.push_back(entry.path());
    }
    return files;
  }
};

const mcap::KeyValueMap kSessionKeys = {{"device_id", "car-7"},
                                        {"device_name", "Test Car 7"},
                                        {"driver", "ann"},
                                        {"route", "A9: north"}};
const mcap::KeyValueMap kFoxgloveKeys = {{"deviceId", "car-7"}, {"deviceName", "Test Car 7"}};

size_t records_named(const pipeline::testing::FileContents& contents, const std::string& name) {
  size_t n = 0;
  for (const mcap::Metadata& record : contents.metadata) n += record.name == name ? 1 : 0;
  return n;
}

TEST_F(SessionE2ETest, EveryRotatedFileAndEventFileCarriesTheSessionAndFoxgloveRecords) {
  const uint16_t port = free_port(SOCK_STREAM);
  start_recording(write_config(port));
  ASSERT_TRUE(send_mcap_stream(port, "/lidar", 0, 300, 1024, mcap::Compression::kZstd, true));
  ASSERT_TRUE(eventually([&] { return finished_files().size() >= 3; }, seconds(15)))
      << daemon_->err();
  daemon_->signal(SIGUSR1);
  ASSERT_TRUE(eventually(
      [&] {
        for (const fs::path& file : finished_files()) {
          if (file.filename().string().find("_event_") != std::string::npos) return true;
        }
        return false;
      },
      seconds(15)))
      << daemon_->err();
  daemon_->signal(SIGTERM);
  ASSERT_EQ(daemon_->wait(seconds(20)).value_or(-1), 0) << daemon_->err();

  size_t continuous = 0, event = 0;
  for (const fs::path& file : finished_files()) {
    SCOPED_TRACE(file.string());
    const bool is_event = file.filename().string().find("_event_") != std::string::npos;
    ++(is_event ? event : continuous);
    const pipeline::testing::FileContents contents = pipeline::testing::read_file(file.string());
    ASSERT_EQ(contents.error, "");
    EXPECT_EQ(records_named(contents, "mcaprec.session"), 1u);
    EXPECT_EQ(records_named(contents, "foxglove"), 1u);
    const mcap::Metadata* session = contents.find_metadata("mcaprec.session");
    const mcap::Metadata* foxglove = contents.find_metadata("foxglove");
    ASSERT_NE(session, nullptr);
    ASSERT_NE(foxglove, nullptr);
    EXPECT_EQ(session->metadata, kSessionKeys);
    EXPECT_EQ(foxglove->metadata, kFoxgloveKeys);
  }
  EXPECT_GE(continuous, 3u) << "the recording rotated";
  EXPECT_EQ(event, 1u);

  // `mcaprec info` over the directory names the device on each file line and in the summary.
  const test_support::RunResult text =
      test_support::run_tool({"info", output_.string()}, dir_ / "info.stderr");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("device car-7 (Test Car 7)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("session metadata: " + std::to_string(continuous + event) + " of " +
                          std::to_string(continuous + event) + " files with mcaprec.session"),
            std::string::npos)
      << text.out;
  const test_support::RunResult json =
      test_support::run_tool({"info", output_.string(), "--json"}, dir_ / "info.stderr");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const nlohmann::json report = nlohmann::json::parse(json.out);
  EXPECT_EQ(report["session"]["session_metadata"]["route"], nlohmann::json::array({"A9: north"}));
  for (const nlohmann::json& file : report["files"]) {
    EXPECT_EQ(file["session_metadata"]["device_id"], "car-7") << file["path"];
  }
}

}  // namespace
}  // namespace mcaprec::e2e
