// Retention through the real mcaprecd: with small files and a small max_total_bytes, recording
// several times the limit leaves the directory within it, the oldest recordings gone (including
// one left by an earlier session), the newest intact and valid, other programs' files untouched,
// and /metrics counting every deleted file.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "daemon_fixture.hpp"
#include "daemon_test_support.hpp"
#include "pipeline_test_support.hpp"
#include "producers.hpp"

namespace mcaprec::e2e {
namespace {

using pipeline::testing::eventually;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMaxBytes = 128 * kKiB;
constexpr uint64_t kMaxTotalBytes = 512 * kKiB;

// The value of an unlabelled Prometheus sample, or -1 when absent.
double metric(const std::string& text, const std::string& name) {
  size_t at = 0;
  while ((at = text.find(name + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') return std::stod(text.substr(at + name.size() + 1));
    at += name.size();
  }
  return -1;
}

// `<index>` of `rec_<stamp>_<index>.mcap`.
uint64_t index_of(const fs::path& path) {
  return pipeline::testing::ScratchDir::file_index(path.string());
}

class RetentionE2ETest : public DaemonFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(DaemonFixture::SetUp());
    fs::create_directories(output_);
  }

  // Starts the daemon with small files and max_total_bytes, recording what producers send to
  // `port`, and waits for READY=1.
  void start_with_small_retention_limits(uint16_t port) {
    const fs::path config = dir_ / "mcaprecd.yaml";
    std::ofstream(config) << "output:\n  directory: " << output_.string()
                          << "\n  max_bytes: " << kMaxBytes
                          << "\n  max_total_bytes: " << kMaxTotalBytes
                          << "\n  min_free_bytes: 0\n"
                             "mcap:\n  chunk_size: 16KiB\n  chunk_max_age: 100ms\n"
                             "pipeline:\n  compressor_threads: 1\n"
                             "  memory_budget: 64MiB\n  queue_bytes: 4MiB\n"
                             "metrics:\n  bind: 127.0.0.1:"
                          << metrics_port_
                          << "\nsources:\n  - name: producers\n    transport: tcp\n"
                             "    bind: 127.0.0.1:"
                          << port << "\n    format: mcap\n";
    start_recording(config.string());
  }

  // This recorder's finalized files, oldest first.
  std::vector<fs::path> recordings() const {
    std::vector<fs::path> out;
    for (const auto& entry : fs::directory_iterator(output_)) {
      const std::string name = entry.path().filename().string();
      if (name.starts_with("rec_") && name.ends_with(".mcap")) out.push_back(entry.path());
    }
    std::sort(out.begin(), out.end(), [](const fs::path& a, const fs::path& b) {
      return std::pair(a.filename().string().substr(4, 20), index_of(a)) <
             std::pair(b.filename().string().substr(4, 20), index_of(b));
    });
    return out;
  }
};

TEST_F(RetentionE2ETest, KeepsTheDirectoryWithinMaxTotalBytesByDeletingTheOldest) {
  // Left by an earlier session of this recorder: the oldest of all, so deleted first.
  const fs::path earlier = output_ / "rec_2020-01-01T00-00-00Z_0.mcap";
  std::ofstream(earlier) << std::string(100 * kKiB, 'e');
  // Not this recorder's: never deleted, never counted.
  const fs::path foreign = output_ / "other_2020-01-01T00-00-00Z_0.mcap";
  std::ofstream(foreign) << std::string(300 * kKiB, 'o');
  const fs::path notes = output_ / "notes.txt";
  std::ofstream(notes) << "keep me";

  const uint16_t port = free_port(SOCK_STREAM);
  start_with_small_retention_limits(port);
  // About 1.8 MB of incompressible payload: over three times max_total_bytes, in ~14 files.
  constexpr uint32_t kMessages = 6000;
  ASSERT_TRUE(send_mcap_stream(port, "/numbers", 0, kMessages, 300, mcap::Compression::kNone,
                               /*noise=*/true));
  ASSERT_TRUE(eventually(
      [&] {
        const nlohmann::json s = status();
        return s.is_object() && s["totals"]["messages_written"].get<uint64_t>() >= kMessages;
      },
      seconds(20)))
      << status().dump(2);
  const std::string metrics = http_get(metrics_port_, "/metrics").body;
  const nlohmann::json before_stop = status();
  daemon_->signal(SIGTERM);
  ASSERT_EQ(daemon_->wait(seconds(20)), std::optional<int>(0)) << daemon_->err();

  const std::vector<fs::path> kept = recordings();
  ASSERT_FALSE(kept.empty());
  uint64_t total = 0;
  for (const fs::path& path : kept) total += fs::file_size(path);
  EXPECT_LE(total, kMaxTotalBytes);
  EXPECT_GE(total, kMaxTotalBytes - 2 * kMaxBytes) << "deleted more than needed";
  EXPECT_FALSE(fs::exists(earlier));
  EXPECT_EQ(index_of(kept.front()) + kept.size() - 1, index_of(kept.back()))
      << "what is kept is the newest run of files, without gaps";
  EXPECT_GT(index_of(kept.front()), 0u) << "the session's first files are gone";
  EXPECT_TRUE(fs::exists(foreign));
  EXPECT_EQ(fs::file_size(foreign), 300 * kKiB);
  EXPECT_TRUE(fs::exists(notes));
  for (const auto& entry : fs::directory_iterator(output_)) {
    EXPECT_FALSE(entry.path().string().ends_with(".active")) << entry.path();
  }

  // Every kept file is complete and valid, and together they hold the last messages sent, each
  // once, up to the very last one.
  std::multiset<uint32_t> numbers;
  for (const fs::path& path : kept) {
    EXPECT_EQ(verify(path.string()), 0) << path;
    const pipeline::testing::FileContents contents = pipeline::testing::read_file(path.string());
    EXPECT_EQ(contents.error, "") << path;
    for (const auto& message : contents.messages) {
      numbers.insert(mcap::load_le<uint32_t>(message.data.data()));
    }
  }
  ASSERT_FALSE(numbers.empty());
  EXPECT_EQ(*numbers.rbegin(), kMessages - 1);
  const uint32_t first_kept = *numbers.begin();
  EXPECT_GT(first_kept, 0u);
  EXPECT_EQ(numbers.size(), kMessages - first_kept) << "a gap or a duplicate in the kept files";
  EXPECT_EQ(std::set<uint32_t>(numbers.begin(), numbers.end()).size(), numbers.size());

  // /metrics and /status count the deletions: the earlier session's file and this session's
  // files before the first one kept (the last file's finalization deletes nothing more).
  const double deleted = metric(metrics, "mcaprec_retention_files_deleted_total");
  EXPECT_EQ(deleted, double(1 + index_of(kept.front()))) << metrics;
  EXPECT_GT(metric(metrics, "mcaprec_retention_bytes_deleted_total"), double(100 * kKiB));
  EXPECT_EQ(metric(metrics, "mcaprec_recording_paused"), 0) << metrics;
  EXPECT_EQ(before_stop["retention"]["files_deleted"].get<double>(), deleted);
  EXPECT_NE(daemon_->err().find("retention: deleted " + earlier.string()), std::string::npos)
      << daemon_->err();
}

}  // namespace
}  // namespace mcaprec::e2e
