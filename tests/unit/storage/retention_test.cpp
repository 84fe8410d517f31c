// Retention on a real directory: which files it deletes (this recorder's finalized files, oldest
// first by the start time in their names), when it refuses and says why, and how it resumes.
// Free space comes from a fake disk so that the limits can be reached without filling one.
#include "storage/retention.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "pipeline_test_support.hpp"

namespace mcaprec::storage {
namespace {

namespace fs = std::filesystem;
using pipeline::testing::ScratchDir;
using namespace std::chrono_literals;

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;

void write_file(const std::string& path, uint64_t bytes) {
  std::ofstream out(path, std::ios::binary);
  out << std::string(bytes, 'x');
}

// A disk of `capacity` bytes holding the directory's regular files plus `used_by_others`;
// counts how often it is asked.
struct FakeDisk {
  std::string directory;
  uint64_t capacity = 0;
  uint64_t used_by_others = 0;
  int probes = 0;

  uint64_t used() const {
    uint64_t sum = used_by_others;
    for (const auto& entry : fs::directory_iterator(directory)) {
      if (entry.is_regular_file()) sum += entry.file_size();
    }
    return sum;
  }
  FreeSpaceProbe probe() {
    return [this](const std::string& asked) -> mcap::Result<uint64_t> {
      ++probes;
      EXPECT_EQ(asked, directory);
      const uint64_t in_use = used();
      return in_use >= capacity ? 0 : capacity - in_use;
    };
  }
};

// A probe that reports whatever the test sets.
struct FixedFreeSpace {
  uint64_t free_bytes = 0;
  int probes = 0;
  FreeSpaceProbe probe() {
    return [this](const std::string&) -> mcap::Result<uint64_t> {
      ++probes;
      return free_bytes;
    };
  }
};

class RetentionTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }
  // Writes `name` with `bytes` bytes and returns its path.
  std::string file(const std::string& name, uint64_t bytes) const {
    write_file(path(name), bytes);
    return path(name);
  }
  RetentionOptions options(uint64_t max_total, uint64_t min_free, FreeSpaceProbe probe = {}) {
    RetentionOptions o;
    o.directory = dir_.path();
    o.prefix = "rec";
    o.max_total_bytes = max_total;
    o.min_free_bytes = min_free;
    o.free_space = std::move(probe);
    return o;
  }

  ScratchDir dir_;
};

TEST_F(RetentionTest, DeletesOldestFirstByTheStartTimeInTheNameUntilTheTotalFits) {
  // Written newest first, so modification times say the opposite of the names. Two files
  // started in the same second differ by index, compared as numbers (9 before 10).
  const std::string newest = file("rec_2026-11-21T10-20-00Z_11.mcap", 1000);
  const std::string third = file("rec_2026-11-21T10-15-00Z_10.mcap", 1000);
  const std::string second = file("rec_2026-11-21T10-15-00Z_9.mcap", 1000);
  const std::string oldest = file("rec_2026-11-20T23-59-59Z_0.mcap", 1000);  // earlier session

  Retention retention(options(/*max_total=*/2600, /*min_free=*/0));
  EXPECT_EQ(retention.finished_bytes(), 4000u);
  // 4000 finished + 300 current + 300 incoming = 4600: two files must go.
  const RetentionDecision decision = retention.make_room(300, 300);
  EXPECT_TRUE(decision.may_write) << decision.reason;
  EXPECT_EQ(decision.deleted, (std::vector<std::string>{oldest, second}));
  EXPECT_TRUE(decision.reason.empty()) << decision.reason;
  EXPECT_FALSE(fs::exists(oldest));
  EXPECT_FALSE(fs::exists(second));
  EXPECT_TRUE(fs::exists(third));
  EXPECT_TRUE(fs::exists(newest));
  EXPECT_EQ(retention.stats().files_deleted, 2u);
  EXPECT_EQ(retention.stats().bytes_deleted, 2000u);
  EXPECT_EQ(retention.finished_bytes(), 2000u);
  EXPECT_FALSE(retention.stats().paused);

  // Within the limit now: the next write deletes nothing.
  const RetentionDecision next = retention.make_room(600, 0);
  EXPECT_TRUE(next.may_write);
  EXPECT_TRUE(next.deleted.empty());
  EXPECT_TRUE(fs::exists(third));
}

TEST_F(RetentionTest, TouchesOnlyThisRecordersFinalizedFiles) {
  const std::string mine_old = file("rec_2026-11-21T10-00-00Z_0.mcap", 500);
  const std::string mine_new = file("rec_2026-11-21T10-05-00Z_1.mcap", 700);
  const std::vector<std::string> foreign = {
      file("rec_2026-11-21T09-00-00Z_2.mcap.active", 100),  // being written or to recover
      file("rec_front_2026-11-21T09-00-00Z_0.mcap", 100),   // another recorder's prefix
      file("other_2026-11-21T09-00-00Z_0.mcap", 100),       // another prefix
      file("rec_2026-11-21T09-00-00Z_3.mcap.tmp", 100),     // a copy in progress
      file("rec_2026-11-21T09-00-00Z.mcap", 100),           // no index
      file("rec_2026-11-21T09-00-00Z_x.mcap", 100),         // not an index
      file("rec_2026-11-21 09-00-00Z_4.mcap", 100),         // not our stamp
      file("rec_notes.txt", 100),                           // someone's notes
      file("REC_2026-11-21T09-00-00Z_5.mcap", 100),         // case matters
  };
  const std::string subdirectory = path("rec_2026-11-21T08-00-00Z_6.mcap");
  fs::create_directory(subdirectory);
  write_file(subdirectory + "/inside.bin", 100);
  const std::string link = path("rec_2026-11-21T08-00-00Z_7.mcap");
  fs::create_symlink(path("rec_notes.txt"), link);

  Retention retention(options(/*max_total=*/1, /*min_free=*/0));
  EXPECT_EQ(retention.finished_bytes(), 1200u);  // only the two finalized files count
  const RetentionDecision decision = retention.make_room(0, 0);
  EXPECT_TRUE(decision.may_write) << decision.reason;
  EXPECT_EQ(decision.deleted, (std::vector<std::string>{mine_old, mine_new}));
  for (const std::string& untouched : foreign) EXPECT_TRUE(fs::exists(untouched)) << untouched;
  EXPECT_TRUE(fs::exists(subdirectory + "/inside.bin"));
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(retention.stats().delete_errors, 0u);
}

TEST_F(RetentionTest, DeletesOldestUntilTheDiskKeepsMinFreeBytes) {
  const std::string f0 = file("rec_2026-11-21T10-00-00Z_0.mcap", 1000);
  const std::string f1 = file("rec_2026-11-21T10-01-00Z_1.mcap", 1000);
  const std::string f2 = file("rec_2026-11-21T10-02-00Z_2.mcap", 1000);
  const std::string f3 = file("rec_2026-11-21T10-03-00Z_3.mcap", 1000);
  FakeDisk disk{dir_.path(), /*capacity=*/6000};  // 2000 free
  Retention retention(options(/*max_total=*/0, /*min_free=*/2500, disk.probe()));

  // Writing 1000 would leave 1000 < 2500: 1500 must be freed, so two files go.
  const RetentionDecision decision = retention.make_room(0, 1000);
  EXPECT_TRUE(decision.may_write) << decision.reason;
  EXPECT_EQ(decision.deleted, (std::vector<std::string>{f0, f1}));
  EXPECT_TRUE(fs::exists(f2));
  EXPECT_TRUE(fs::exists(f3));
  EXPECT_EQ(disk.probes, 1);
  EXPECT_EQ(disk.capacity - disk.used() - 1000, 3000u);  // what is left after the write
}

TEST_F(RetentionTest, BothLimitsAtOnceDeleteWhatTheStricterNeeds) {
  const std::string f0 = file("rec_2026-11-21T10-00-00Z_0.mcap", 1000);
  const std::string f1 = file("rec_2026-11-21T10-01-00Z_1.mcap", 1000);
  const std::string f2 = file("rec_2026-11-21T10-02-00Z_2.mcap", 1000);
  FakeDisk disk{dir_.path(), /*capacity=*/100000};
  // The total alone needs one file gone (3000 + 0 + 500 > 3000)...
  {
    Retention retention(options(/*max_total=*/3000, /*min_free=*/1000, disk.probe()));
    const RetentionDecision decision = retention.make_room(0, 500);
    EXPECT_EQ(decision.deleted, (std::vector<std::string>{f0}));
  }
  // ...then free space needs another (2000 free, writing 500 must leave 1600).
  disk.capacity = 4000;
  Retention retention(options(/*max_total=*/3000, /*min_free=*/1600, disk.probe()));
  const RetentionDecision decision = retention.make_room(0, 500);
  EXPECT_TRUE(decision.may_write) << decision.reason;
  EXPECT_EQ(decision.deleted, (std::vector<std::string>{f1}));
  EXPECT_TRUE(fs::exists(f2));
}

TEST_F(RetentionTest, RefusesWithTheNumbersWhenNothingIsLeftToDelete) {
  FixedFreeSpace disk{812 * kMiB};
  Retention retention(options(/*max_total=*/0, /*min_free=*/kGiB, disk.probe()));
  const RetentionDecision decision = retention.make_room(0, 4096);
  EXPECT_FALSE(decision.may_write);
  EXPECT_EQ(decision.reason,
            "disk has 812 MiB free, below output.min_free_bytes 1 GiB, and no finished recording "
            "is left to delete");
  EXPECT_TRUE(retention.stats().paused);

  Retention total(options(/*max_total=*/10 * kMiB, /*min_free=*/0));
  const RetentionDecision over = total.make_room(10 * kMiB, kMiB);
  EXPECT_FALSE(over.may_write);
  EXPECT_EQ(over.reason,
            "this recorder's files would take 11 MiB (finished 0 B, current file 10 MiB, next "
            "write 1 MiB), above output.max_total_bytes 10 MiB, and no finished recording is "
            "left to delete");
}

TEST_F(RetentionTest, KeepsRecordingsWhenDeletingThemAllWouldNotMakeRoom) {
  const std::string f0 = file("rec_2026-11-21T10-00-00Z_0.mcap", 1000);
  const std::string f1 = file("rec_2026-11-21T10-01-00Z_1.mcap", 1000);
  // Another program filled the disk: deleting our 2000 bytes cannot get back to 1 MiB free.
  FakeDisk disk{dir_.path(), /*capacity=*/kMiB, /*used_by_others=*/kMiB - 2000 - 1000};
  Retention retention(options(/*max_total=*/0, /*min_free=*/kMiB, disk.probe()));
  const RetentionDecision decision = retention.make_room(0, 100);
  EXPECT_FALSE(decision.may_write);
  EXPECT_TRUE(decision.deleted.empty());
  EXPECT_TRUE(fs::exists(f0));
  EXPECT_TRUE(fs::exists(f1));
  EXPECT_NE(decision.reason.find("below output.min_free_bytes 1 MiB"), std::string::npos)
      << decision.reason;
  EXPECT_NE(decision.reason.find("deleting all 2 finished recording(s) left (1.9 KiB (2000 B)) "
                                 "would not be enough"),
            std::string::npos)
      << decision.reason;
  EXPECT_TRUE(retention.stats().paused);
}

TEST_F(RetentionTest, ResumesAsSoonAsFreeSpaceReturns) {
  FixedFreeSpace disk{100 * kMiB};
  // The default recheck interval: a paused recorder still measures on every call.
  Retention retention(options(/*max_total=*/0, /*min_free=*/kGiB, disk.probe()));
  EXPECT_FALSE(retention.make_room(0, kMiB).may_write);
  EXPECT_FALSE(retention.make_room(0, kMiB).may_write);
  EXPECT_TRUE(retention.stats().paused);

  disk.free_bytes = 2 * kGiB;  // someone cleaned up
  const RetentionDecision decision = retention.make_room(0, kMiB);
  EXPECT_TRUE(decision.may_write) << decision.reason;
  EXPECT_TRUE(decision.reason.empty());
  EXPECT_FALSE(retention.stats().paused);
  EXPECT_EQ(disk.probes, 3);
}

TEST_F(RetentionTest, CountsAndReportsAFailedDeleteAndResumesOnceTheEntryIsGone) {
  const std::string stuck = file("rec_2026-11-21T10-00-00Z_0.mcap", 1000);
  RetentionOptions o = options(/*max_total=*/1500, /*min_free=*/0);
  o.recheck_interval = 300ms;
  Retention retention(std::move(o));
  // After the listing, the entry became a non-empty directory: unlink fails (EISDIR), even as
  // root.
  fs::remove(stuck);
  fs::create_directory(stuck);
  write_file(stuck + "/inside.bin", 10);

  const RetentionDecision refused = retention.make_room(400, 200);
  EXPECT_FALSE(refused.may_write);
  EXPECT_TRUE(refused.deleted.empty());
  EXPECT_EQ(retention.stats().delete_errors, 1u);
  EXPECT_NE(refused.reason.find("could not delete 1 file(s): rec_2026-11-21T10-00-00Z_0.mcap: " +
                                std::string(std::strerror(EISDIR))),
            std::string::npos)
      << refused.reason;
  EXPECT_NE(refused.reason.find("no finished recording is left to delete (1 could not be "
                                "deleted)"),
            std::string::npos)
      << refused.reason;
  EXPECT_TRUE(fs::exists(stuck + "/inside.bin"));

  // Within the recheck interval it neither lists nor tries the same entry again.
  EXPECT_FALSE(retention.make_room(400, 200).may_write);
  EXPECT_EQ(retention.stats().delete_errors, 1u);

  // The operator removes the directory; after the interval a listing finds nothing of ours.
  fs::remove_all(stuck);
  std::this_thread::sleep_for(350ms);
  const RetentionDecision resumed = retention.make_room(400, 200);
  EXPECT_TRUE(resumed.may_write) << resumed.reason;
  EXPECT_FALSE(retention.stats().paused);
  EXPECT_EQ(retention.finished_bytes(), 0u);
}

TEST_F(RetentionTest, AFileRemovedBySomeoneElseMakesItListAgainInsteadOfDeletingMore) {
  const std::string f0 = file("rec_2026-11-21T10-00-00Z_0.mcap", 1000);
  const std::string f1 = file("rec_2026-11-21T10-01-00Z_1.mcap", 1000);
  const std::string f2 = file("rec_2026-11-21T10-02-00Z_2.mcap", 1000);
  RetentionOptions o = options(/*max_total=*/1600, /*min_free=*/0);
  o.recheck_interval = std::chrono::hours(1);
  Retention retention(std::move(o));
  // Someone removes the oldest and the newest behind retention's back.
  fs::remove(f0);
  fs::remove(f2);
  // The cache says 3000 + 500 > 1600; the fresh listing says 1000 + 500, which fits.
  const RetentionDecision decision = retention.make_room(0, 500);
  EXPECT_TRUE(decision.may_write) << decision.reason;
  EXPECT_TRUE(decision.deleted.empty());
  EXPECT_TRUE(fs::exists(f1));
  EXPECT_EQ(retention.stats().delete_errors, 0u);
  EXPECT_EQ(retention.finished_bytes(), 1000u);
}

TEST_F(RetentionTest, KnowsFinalizedFilesFromNoteFinalizedWithoutListingAgain) {
  Retention retention(options(/*max_total=*/1500, /*min_free=*/0));
  // Appeared after the construction's listing and never announced: unknown, so never deleted.
  const std::string unannounced = file("rec_2026-11-21T09-00-00Z_0.mcap", 1000);
  const std::string announced = file("rec_2026-11-21T10-00-00Z_1.mcap", 1000);
  retention.note_finalized(announced, 1000);
  retention.note_finalized(announced, 1000);  // twice counts once
  retention.note_finalized(file("other_2026-11-21T10-00-00Z_1.mcap", 1000), 1000);  // not ours
  EXPECT_EQ(retention.finished_bytes(), 1000u);

  const RetentionDecision decision = retention.make_room(0, 600);
  EXPECT_TRUE(decision.may_write) << decision.reason;
  EXPECT_EQ(decision.deleted, (std::vector<std::string>{announced}));
  EXPECT_TRUE(fs::exists(unannounced));
  EXPECT_TRUE(fs::exists(path("other_2026-11-21T10-00-00Z_1.mcap")));
}

TEST_F(RetentionTest, AFileNotedBeforeItsRenameCountsAndIsDeletedOnceRenamed) {
  RetentionOptions o = options(/*max_total=*/1500, /*min_free=*/0);
  o.recheck_interval = std::chrono::hours(1);
  Retention retention(std::move(o));
  // The writer notes the file when it hands it to the finalizer, which renames it later.
  const std::string pending = path("rec_2026-11-21T10-00-00Z_0.mcap");
  write_file(pending + ".active", 1000);
  retention.note_finalized(pending, 1000);

  const RetentionDecision waiting = retention.make_room(0, 600);
  EXPECT_FALSE(waiting.may_write);
  EXPECT_TRUE(waiting.deleted.empty());
  EXPECT_TRUE(fs::exists(pending + ".active"));
  EXPECT_EQ(retention.stats().delete_errors, 0u);
  EXPECT_EQ(retention.finished_bytes(), 1000u);

  fs::rename(pending + ".active", pending);
  const RetentionDecision after_rename = retention.make_room(0, 600);
  EXPECT_TRUE(after_rename.may_write) << after_rename.reason;
  EXPECT_EQ(after_rename.deleted, (std::vector<std::string>{pending}));
}

// Seen in a log: "deleting all 3 finished recording(s) left (420 KiB) would not be enough"
// while deleting them would have made room. The oldest was still being finalized (only its
// `.active` existed), so it could not be deleted, but the message counted it as left.
TEST_F(RetentionTest, ARefusalDoesNotCountFilesStillBeingFinalizedAsLeftToDelete) {
  constexpr uint64_t kKiB = 1024;
  RetentionOptions o = options(/*max_total=*/500 * kKiB, /*min_free=*/0);
  o.recheck_interval = std::chrono::hours(1);
  Retention retention(std::move(o));
  const std::string pending = path("rec_2026-11-21T10-00-00Z_0.mcap");
  write_file(pending + ".active", 140 * kKiB);
  retention.note_finalized(pending, 140 * kKiB);
  file("rec_2026-11-21T10-01-00Z_1.mcap", 140 * kKiB);
  file("rec_2026-11-21T10-02-00Z_2.mcap", 140 * kKiB);
  const std::string last = path("rec_2026-11-21T10-02-00Z_2.mcap");
  retention.note_finalized(path("rec_2026-11-21T10-01-00Z_1.mcap"), 140 * kKiB);
  retention.note_finalized(last, 140 * kKiB);

  // 820 KiB in all; deleting the two finished files leaves 540 KiB, still above 500 KiB.
  const RetentionDecision refused = retention.make_room(300 * kKiB, 100 * kKiB);
  EXPECT_FALSE(refused.may_write);
  EXPECT_TRUE(refused.deleted.empty());
  EXPECT_EQ(refused.reason,
            "this recorder's files would take 820 KiB (finished 420 KiB, current file 300 KiB, "
            "next write 100 KiB), above output.max_total_bytes 500 KiB, and deleting all 2 "
            "finished recording(s) left (280 KiB) would not be enough, so they are kept (1 more, "
            "140 KiB, still being finalized: deletable once renamed)");

  fs::rename(pending + ".active", pending);
  const RetentionDecision renamed = retention.make_room(300 * kKiB, 100 * kKiB);
  EXPECT_TRUE(renamed.may_write) << renamed.reason;
  EXPECT_EQ(renamed.deleted.size(), 3u);
}

TEST_F(RetentionTest, AListingKeepsAFileThatIsStillBeingFinalized) {
  const std::string pending = path("rec_2026-11-21T10-00-00Z_0.mcap");
  RetentionOptions o = options(/*max_total=*/1500, /*min_free=*/0);
  o.recheck_interval = 0ms;  // every refusal lists the directory again
  Retention retention(std::move(o));
  write_file(pending + ".active", 1000);
  retention.note_finalized(pending, 1000);
  EXPECT_FALSE(retention.make_room(0, 600).may_write);
  EXPECT_EQ(retention.finished_bytes(), 1000u);  // still counted after the listing
  EXPECT_FALSE(retention.make_room(0, 600).may_write);
  EXPECT_EQ(retention.finished_bytes(), 1000u);
}

TEST_F(RetentionTest, MeasuresFreeSpaceRarelyWhileFarFromTheLimit) {
  FixedFreeSpace disk{10 * kGiB};
  RetentionOptions o = options(/*max_total=*/0, /*min_free=*/kGiB, disk.probe());
  o.recheck_interval = std::chrono::hours(1);
  Retention retention(std::move(o));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(retention.make_room(0, 64 * 1024).may_write);
  EXPECT_EQ(disk.probes, 1);
  // After a few MiB written since the last measurement, it measures again.
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(retention.make_room(0, 64 * 1024).may_write);
  EXPECT_EQ(disk.probes, 2);

  // Near the limit it measures on every call, and so sees another program eat the space.
  FixedFreeSpace tight{kGiB + 5 * kMiB};
  RetentionOptions near = options(/*max_total=*/0, /*min_free=*/kGiB, tight.probe());
  near.recheck_interval = std::chrono::hours(1);
  Retention close_to_limit(std::move(near));
  EXPECT_TRUE(close_to_limit.make_room(0, kMiB).may_write);
  tight.free_bytes = kGiB + 512 * 1024;
  EXPECT_FALSE(close_to_limit.make_room(0, kMiB).may_write);
  EXPECT_EQ(tight.probes, 2);

  // With a zero interval, every call measures.
  FixedFreeSpace eager{10 * kGiB};
  RetentionOptions every = options(/*max_total=*/0, /*min_free=*/kGiB, eager.probe());
  every.recheck_interval = 0ms;
  Retention always(std::move(every));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(always.make_room(0, 1).may_write);
  EXPECT_EQ(eager.probes, 5);
}

TEST_F(RetentionTest, NoLimitsMeansNoDeletingAndNoMeasuring) {
  const std::string f0 = file("rec_2026-11-21T10-00-00Z_0.mcap", 1000);
  FixedFreeSpace disk{0};
  Retention retention(options(/*max_total=*/0, /*min_free=*/0, disk.probe()));
  const RetentionDecision decision = retention.make_room(kGiB, kGiB);
  EXPECT_TRUE(decision.may_write);
  EXPECT_TRUE(decision.deleted.empty());
  EXPECT_TRUE(fs::exists(f0));
  EXPECT_EQ(disk.probes, 0);
}

TEST_F(RetentionTest, AFailingProbeDoesNotStopRecordingButSaysSo) {
  const std::string f0 = file("rec_2026-11-21T10-00-00Z_0.mcap", 1000);
  RetentionOptions o = options(/*max_total=*/0, /*min_free=*/kGiB);
  o.free_space = [](const std::string&) -> mcap::Result<uint64_t> {
    return mcap::Error{0, "statvfs /gone: No such file or directory"};
  };
  Retention retention(std::move(o));
  const RetentionDecision decision = retention.make_room(0, kMiB);
  EXPECT_TRUE(decision.may_write);
  EXPECT_TRUE(decision.deleted.empty());
  EXPECT_TRUE(fs::exists(f0));
  EXPECT_EQ(decision.reason,
            "free space unknown, output.min_free_bytes not checked: statvfs /gone: No such file "
            "or directory");
}

// --- files waiting for upload (issue 17: retention that knows) ---

// The upload queue as retention sees it: a set of final paths not yet confirmed uploaded.
struct FakeUploadQueue {
  std::vector<std::string> pending;
  int asked = 0;
  UploadPending predicate() {
    return [this](const std::string& final_path) {
      ++asked;
      return std::ranges::find(pending, final_path) != pending.end();
    };
  }
};

TEST_F(RetentionTest, MaxTotalDeletesOnlyUploadedFilesAndOtherwiseYields) {
  const std::string f0 = file("rec_2026-11-21T10-00-00Z_0.mcap", 1000);
  const std::string f1 = file("rec_2026-11-21T10-01-00Z_1.mcap", 1000);
  const std::string f2 = file("rec_2026-11-21T10-02-00Z_2.mcap", 1000);
  const std::string f3 = file("rec_2026-11-21T10-03-00Z_3.mcap", 1000);
  FakeUploadQueue queue{{f0, f2, f3}};  // only f1 is uploaded
  RetentionOptions o = options(/*max_total=*/2000, /*min_free=*/0);
  o.upload_pending = queue.predicate();
  o.recheck_interval = 0ms;
  Retention retention(std::move(o));

  // 4000 + 500 > 2000: the oldest uploaded file goes (f1, not the older f0), then the total
  // yields: recording goes on, the rest is kept, and the warning says why, once.
  RetentionDecision decision = retention.make_room(0, 500);
  EXPECT_TRUE(decision.may_write) << decision.reason;
  EXPECT_EQ(decision.deleted, (std::vector<std::string>{f1}));
  EXPECT_TRUE(decision.lost_before_upload.empty());
  EXPECT_NE(decision.total_yields.find("(2000 B), and every finished "
                                       "recording left waits for upload"),
            std::string::npos)
      << decision.total_yields;
  EXPECT_TRUE(retention.stats().total_yielding);
  EXPECT_FALSE(retention.stats().paused);
  for (const std::string& kept : {f0, f2, f3}) EXPECT_TRUE(fs::exists(kept)) << kept;
  EXPECT_EQ(retention.stats().files_lost_before_upload, 0u);

  decision = retention.make_room(500, 500);
  EXPECT_TRUE(decision.may_write);
  EXPECT_TRUE(decision.deleted.empty());
  EXPECT_TRUE(decision.total_yields.empty()) << "said once, not at every write";

  // f0 and f2 are uploaded now: they go, oldest first, and the total holds again.
  queue.pending = {f3};
  decision = retention.make_room(0, 500);
  EXPECT_TRUE(decision.may_write);
  EXPECT_EQ(decision.deleted, (std::vector<std::string>{f0, f2}));
  EXPECT_FALSE(retention.stats().total_yielding);
  EXPECT_TRUE(fs::exists(f3));
}

TEST_F(RetentionTest, TheMinFreeEmergencyDeletesUploadedFilesFirstThenCountsTheLost) {
  const std::string f0 = file("rec_2026-11-21T10-00-00Z_0.mcap", 1000);
  const std::string f1 = file("rec_2026-11-21T10-01-00Z_1.mcap", 1000);
  const std::string f2 = file("rec_2026-11-21T10-02-00Z_2.mcap", 1000);
  const std::string f3 = file("rec_2026-11-21T10-03-00Z_3.mcap", 1000);
  FakeUploadQueue queue{{f0, f1, f3}};            // only f2 is uploaded
  FakeDisk disk{dir_.path(), /*capacity=*/6000};  // 2000 free
  RetentionOptions o = options(/*max_total=*/0, /*min_free=*/2500, disk.probe());
  o.upload_pending = queue.predicate();
  Retention retention(std::move(o));

  // Writing 1000 must free 1500: f2 (uploaded) first, then the oldest unuploaded, f0.
  const RetentionDecision decision = retention.make_room(0, 1000);
  EXPECT_TRUE(decision.may_write) << decision.reason;
  EXPECT_EQ(decision.deleted, (std::vector<std::string>{f2, f0}));
  EXPECT_EQ(decision.lost_before_upload, (std::vector<std::string>{f0}));
  EXPECT_EQ(retention.stats().files_lost_before_upload, 1u);
  EXPECT_EQ(retention.stats().files_deleted, 2u);
  EXPECT_TRUE(fs::exists(f1));
  EXPECT_TRUE(fs::exists(f3));
}

TEST_F(RetentionTest, WithEverythingPendingAndTheDiskFineTheTotalNeverDeletes) {
  std::vector<std::string> files;
  for (int i = 0; i < 5; ++i) {
    files.push_back(file(
        "rec_2026-11-21T10-0" + std::to_string(i) + "-00Z_" + std::to_string(i) + ".mcap", 1000));
  }
  FakeUploadQueue queue{files};
  FakeDisk disk{dir_.path(), /*capacity=*/1'000'000};
  RetentionOptions o = options(/*max_total=*/1000, /*min_free=*/1000, disk.probe());
  o.upload_pending = queue.predicate();
  o.recheck_interval = 1h;
  Retention retention(std::move(o));
  for (int call = 0; call < 100; ++call) {
    const RetentionDecision decision = retention.make_room(100, 100);
    ASSERT_TRUE(decision.may_write) << decision.reason;
    ASSERT_TRUE(decision.deleted.empty());
  }
  for (const std::string& kept : files) EXPECT_TRUE(fs::exists(kept)) << kept;
  EXPECT_EQ(retention.stats().files_lost_before_upload, 0u);
  // While yielding, the queue is asked once per recheck_interval, not at every write.
  EXPECT_EQ(queue.asked, 5);
}

TEST_F(RetentionTest, WithoutAPredicateNothingWaitsForUpload) {
  const std::string f0 = file("rec_2026-11-21T10-00-00Z_0.mcap", 1000);
  Retention retention(options(/*max_total=*/500, /*min_free=*/0));
  const RetentionDecision decision = retention.make_room(0, 0);
  EXPECT_EQ(decision.deleted, (std::vector<std::string>{f0}));
  EXPECT_TRUE(decision.lost_before_upload.empty());
  EXPECT_TRUE(decision.total_yields.empty());
}

TEST(StatvfsFreeSpaceTest, MeasuresARealDirectoryAndNamesAMissingOne) {
  ScratchDir dir;
  const mcap::Result<uint64_t> free_bytes = statvfs_free_space()(dir.path());
  ASSERT_TRUE(free_bytes.ok()) << free_bytes.error().to_string();
  EXPECT_GT(*free_bytes, 0u);
  const mcap::Result<uint64_t> missing = statvfs_free_space()(dir.path() + "/missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find(dir.path() + "/missing"), std::string::npos);
}

}  // namespace
}  // namespace mcaprec::storage
