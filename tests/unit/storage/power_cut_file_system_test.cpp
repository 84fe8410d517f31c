// The power-cut model of tests/support/power_cut_file_system.hpp: what a simulated power cut
// keeps, loses and tears, and that a seed always gives the same disk.
#include "power_cut_file_system.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "scratch_dir.hpp"
#include "storage/file_system.hpp"

namespace mcaprec::test_support {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

class PowerCutFileSystemTest : public ::testing::Test {
 protected:
  // A file of `synced` bytes of 'a' made durable (with its name), then `unsynced` bytes of 'b'.
  void write_file(const std::string& name, size_t synced, size_t unsynced) {
    const std::string path = live_.path() + "/" + name;
    const int fd = file_system_.open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    const std::vector<uint8_t> a(synced, 'a');
    const std::vector<uint8_t> b(unsynced, 'b');
    ASSERT_EQ(file_system_.write(fd, a.data(), a.size()), ssize_t(a.size()));
    ASSERT_TRUE(storage::sync_directory(live_.path(), file_system_));
    ASSERT_EQ(file_system_.fdatasync(fd), 0);
    ASSERT_EQ(file_system_.write(fd, b.data(), b.size()), ssize_t(b.size()));
    ASSERT_EQ(file_system_.close(fd), 0);
  }

  // The disk after a power cut at the end of what was recorded.
  fs::path image(uint64_t seed, PageFate fate) {
    const fs::path out =
        images_ / ("image-" + std::to_string(seed) + "-" + std::to_string(static_cast<int>(fate)) +
                   "-" + std::to_string(++images_made_));
    fs::create_directories(out);
    const std::vector<FsOperation> operations = file_system_.operations();
    PowerCutReplay replay(operations);
    replay.advance_to(operations.size());
    replay.write_image(out.string(), seed, fate);
    return out;
  }

  ScratchDir live_{"power-cut-live"};
  ScratchDir images_dir_{"power-cut-images"};
  fs::path images_{images_dir_.path()};
  int images_made_ = 0;
  PowerCutFileSystem file_system_;
};

TEST_F(PowerCutFileSystemTest, KeepsWhatWasSyncedAndLosesTheRestWhenEveryPageIsLost) {
  write_file("f", 5000, 9000);
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const std::vector<uint8_t> bytes = read_bytes(image(seed, PageFate::kAllLost) / "f");
    ASSERT_GE(bytes.size(), 5000u);
    for (size_t i = 0; i < bytes.size(); ++i) {
      ASSERT_EQ(bytes[i], i < 5000 ? 'a' : 0) << "seed " << seed << " offset " << i;
    }
  }
}

TEST_F(PowerCutFileSystemTest, TearsUnsyncedPagesSectorBySector) {
  write_file("f", 100, 16384);
  std::set<std::string> shapes;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    const std::vector<uint8_t> bytes = read_bytes(image(seed, PageFate::kMixed) / "f");
    std::string shape;
    for (size_t sector = 0; sector * kSectorBytes < bytes.size(); ++sector) {
      const size_t begin = sector * kSectorBytes;
      const size_t end = std::min(bytes.size(), begin + kSectorBytes);
      // Each sector is whole: all old or all new, past the synced start.
      const uint8_t first = bytes[std::max<size_t>(begin, 100)];
      for (size_t i = std::max<size_t>(begin, 100); i < end; ++i) ASSERT_EQ(bytes[i], first);
      shape += first == 'b' ? 'n' : 'o';
    }
    EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 100), std::string(100, 'a'));
    shapes.insert(shape);
  }
  EXPECT_GT(shapes.size(), 5u);  // kept, lost and torn pages in many combinations
}

TEST_F(PowerCutFileSystemTest, TheSameSeedGivesTheSameDisk) {
  write_file("f", 3000, 20000);
  const std::vector<uint8_t> first = read_bytes(image(7, PageFate::kMixed) / "f");
  const std::vector<uint8_t> again = read_bytes(image(7, PageFate::kMixed) / "f");
  EXPECT_EQ(first, again);
}

TEST_F(PowerCutFileSystemTest, KeepsARenameOnlyWhenTheDirectoryWasSynced) {
  write_file("x.active", 4096, 0);
  ASSERT_EQ(file_system_.rename(live_.path() + "/x.active", live_.path() + "/x"), 0);
  std::set<bool> renamed;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const fs::path out = image(seed, PageFate::kMixed);
    // One name or the other, never both or neither, and the synced content under it.
    ASSERT_NE(fs::exists(out / "x"), fs::exists(out / "x.active"));
    const bool done = fs::exists(out / "x");
    EXPECT_EQ(read_bytes(out / (done ? "x" : "x.active")), std::vector<uint8_t>(4096, 'a'));
    renamed.insert(done);
  }
  EXPECT_EQ(renamed.size(), 2u);  // some cuts keep the rename, some do not

  ASSERT_TRUE(storage::sync_directory(live_.path(), file_system_));
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    const fs::path out = image(seed, PageFate::kAllLost);
    EXPECT_TRUE(fs::exists(out / "x"));
    EXPECT_FALSE(fs::exists(out / "x.active"));
  }
}

TEST_F(PowerCutFileSystemTest, ANewFileWhoseDirectoryWasNeverSyncedMayVanish) {
  const std::string path = live_.path() + "/new";
  const int fd = file_system_.open(path, O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  const std::vector<uint8_t> data(100, 'z');
  ASSERT_EQ(file_system_.write(fd, data.data(), data.size()), 100);
  ASSERT_EQ(file_system_.fdatasync(fd), 0);  // the data is durable, the name is not
  ASSERT_EQ(file_system_.close(fd), 0);
  std::set<bool> present;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    present.insert(fs::exists(image(seed, PageFate::kAllKept) / "new"));
  }
  EXPECT_EQ(present, (std::set<bool>{false, true}));
}

TEST_F(PowerCutFileSystemTest, AnUnlinkWithoutADirectorySyncMayBeUndone) {
  write_file("old", 2000, 0);
  ASSERT_EQ(file_system_.unlink(live_.path() + "/old"), 0);
  std::set<bool> present;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const fs::path out = image(seed, PageFate::kMixed);
    const bool there = fs::exists(out / "old");
    if (there) {
      EXPECT_EQ(read_bytes(out / "old"), std::vector<uint8_t>(2000, 'a'));
    }
    present.insert(there);
  }
  EXPECT_EQ(present, (std::set<bool>{false, true}));
}

}  // namespace
}  // namespace mcaprec::test_support
