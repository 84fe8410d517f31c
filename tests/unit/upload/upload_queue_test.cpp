// The upload queue without a server: the journal's records, a torn last line, compaction (at
// opening and while running), the order files are handed out in (event files first, then the
// oldest, failures moving aside), what a restart finds, the retry delays and the object keys.
#include "upload/upload_queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "scratch_dir.hpp"
#include "upload/object_key.hpp"
#include "upload/retry_policy.hpp"
#include "upload/upload_journal.hpp"

namespace mcaprec::upload {
namespace {

using std::chrono::milliseconds;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string make_file(const test_support::ScratchDir& dir, const std::string& name,
                      size_t size = 100) {
  write_text((dir / name).string(), std::string(size, 'x'));
  return (dir / name).string();
}

size_t line_count(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

std::unique_ptr<UploadQueue> open_queue(const test_support::ScratchDir& dir,
                                        QueueStartReport* report_out = nullptr) {
  QueueStartReport report;
  auto queue = UploadQueue::open(QueueOptions{dir.path(), "rec", ""}, report);
  EXPECT_TRUE(queue) << (queue ? "" : queue.error().message);
  if (report_out) *report_out = report;
  return queue ? std::move(*queue) : nullptr;
}

TEST(UploadJournalTest, ReadsBackEveryKindOfRecord) {
  test_support::ScratchDir dir("journal");
  const std::string path = (dir / "j").string();
  {
    JournalContents contents;
    auto journal = UploadJournal::open(path, contents);
    ASSERT_TRUE(journal);
    JournalFile a;
    a.name = "rec_a.mcap";
    a.size = 10;
    a.enqueued_unix_ns = 5;
    JournalFile b = a;
    b.name = "rec_event_x_b.mcap";
    b.kind = FileKind::event;
    ASSERT_TRUE((*journal)->enqueued(a));
    ASSERT_TRUE((*journal)->enqueued(b));
    ASSERT_TRUE((*journal)->multipart_started("rec_a.mcap", "k/a", "ID1"));
    ASSERT_TRUE((*journal)->part_uploaded("rec_a.mcap", "ID1", {1, "e1", 5}));
    ASSERT_TRUE((*journal)->part_uploaded("rec_a.mcap", "ID1", {2, "e2", 5}));
    ASSERT_TRUE((*journal)->uploaded("rec_event_x_b.mcap", "k/b", "etag-b"));
  }
  const JournalContents contents = parse_journal(read_text(path));
  ASSERT_EQ(contents.files.size(), 2u);
  EXPECT_EQ(contents.ignored_lines, 0u);
  const JournalFile& a = contents.files[0];
  EXPECT_EQ(a.name, "rec_a.mcap");
  EXPECT_FALSE(a.uploaded);
  EXPECT_EQ(a.key, "k/a");
  EXPECT_EQ(a.multipart.upload_id, "ID1");
  ASSERT_EQ(a.multipart.parts.size(), 2u);
  EXPECT_EQ(a.multipart.parts[1], (UploadedPart{2, "e2", 5}));
  const JournalFile& b = contents.files[1];
  EXPECT_EQ(b.kind, FileKind::event);
  EXPECT_TRUE(b.uploaded);
  EXPECT_EQ(b.key, "k/b");
  EXPECT_EQ(b.etag, "etag-b");
}

TEST(UploadJournalTest, TornLastLineIsIgnoredAndGoneAfterReopening) {
  test_support::ScratchDir dir("journal");
  const std::string path = (dir / "j").string();
  const std::string good =
      R"({"op":"enqueued","file":"rec_a.mcap","size":3,"kind":"continuous","t":1})"
      "\n";
  write_text(path, good + R"({"op":"uploaded","file":"rec_a.mcap","ke)");
  JournalContents contents;
  auto journal = UploadJournal::open(path, contents);
  ASSERT_TRUE(journal);
  EXPECT_EQ(contents.ignored_lines, 1u);
  ASSERT_EQ(contents.files.size(), 1u);
  EXPECT_FALSE(contents.files[0].uploaded);  // the torn record never happened
  // Appends after a torn line start on a line of their own: the reopened file is whole.
  ASSERT_TRUE((*journal)->uploaded("rec_a.mcap", "k", "e"));
  const JournalContents again = parse_journal(read_text(path));
  EXPECT_EQ(again.ignored_lines, 0u);
  ASSERT_EQ(again.files.size(), 1u);
  EXPECT_TRUE(again.files[0].uploaded);
}

TEST(UploadJournalTest, OpeningCompactsToWhatIsStillNeeded) {
  test_support::ScratchDir dir("journal");
  const std::string path = (dir / "j").string();
  {
    JournalContents contents;
    auto journal = UploadJournal::open(path, contents);
    ASSERT_TRUE(journal);
    for (int i = 0; i < 20; ++i) {
      JournalFile file;
      file.name = "rec_" + std::to_string(i) + ".mcap";
      ASSERT_TRUE((*journal)->enqueued(file));
      ASSERT_TRUE((*journal)->multipart_started(file.name, "k", "old"));
      ASSERT_TRUE((*journal)->multipart_started(file.name, "k", "new"));  // the old one gone
      ASSERT_TRUE((*journal)->part_uploaded(file.name, "old", {1, "stale", 1}));
      ASSERT_TRUE((*journal)->part_uploaded(file.name, "new", {1, "e", 1}));
      if (i % 2 == 0) {
        ASSERT_TRUE((*journal)->uploaded(file.name, "k", "e"));
      }
      if (i % 4 == 0) {
        ASSERT_TRUE((*journal)->forgotten(file.name));
      }
    }
  }
  EXPECT_EQ(line_count(read_text(path)), 20u * 5 + 10 + 5);
  JournalContents contents;
  auto journal = UploadJournal::open(path, contents, [](const JournalFile& file) {
    return file.name != "rec_1.mcap";  // e.g. gone from disk
  });
  ASSERT_TRUE(journal);
  // Kept: 5 uploaded (enqueued + uploaded), 9 pending (enqueued + multipart + its one part).
  EXPECT_EQ(contents.files.size(), 14u);
  EXPECT_EQ(line_count(read_text(path)), 5u * 2 + 9u * 3);
  const JournalContents reread = parse_journal(read_text(path));
  ASSERT_EQ(reread.files.size(), 14u);
  for (const JournalFile& file : reread.files) {
    if (file.uploaded) continue;
    EXPECT_EQ(file.multipart.upload_id, "new");
    EXPECT_EQ(file.multipart.parts, (std::vector<UploadedPart>{{1, "e", 1}}));
  }
}

// A journal that runs for months: every file enqueued, sent in parts, uploaded and deleted
// leaves lines that say nothing any more; they are compacted away while running, so the file
// stays within a few times what the live files need, and it still reads back right, also after
// reopening and after a crash tore its last line.
TEST(UploadJournalTest, RunningJournalIsCompactedOnceSettledLinesOutgrowTheLiveOnes) {
  test_support::ScratchDir dir("journal");
  const std::string path = (dir / "j").string();
  JournalContents contents;
  auto journal = UploadJournal::open(path, contents);
  ASSERT_TRUE(journal);
  JournalFile waiting;  // pending all along, with a multipart upload in progress
  waiting.name = "rec_waiting.mcap";
  ASSERT_TRUE((*journal)->enqueued(waiting));
  ASSERT_TRUE((*journal)->multipart_started(waiting.name, "k/w", "W"));
  ASSERT_TRUE((*journal)->part_uploaded(waiting.name, "W", {1, "w1", 5}));
  JournalFile kept;  // uploaded, still on disk
  kept.name = "rec_kept.mcap";
  ASSERT_TRUE((*journal)->enqueued(kept));
  ASSERT_TRUE((*journal)->uploaded(kept.name, "k/kept", "etag-kept"));
  size_t most_lines = 0;
  for (int i = 0; i < 150; ++i) {
    JournalFile file;
    file.name = "rec_" + std::to_string(i) + ".mcap";
    ASSERT_TRUE((*journal)->enqueued(file));
    ASSERT_TRUE((*journal)->multipart_started(file.name, "k", "id"));
    ASSERT_TRUE((*journal)->part_uploaded(file.name, "id", {1, "e", 1}));
    ASSERT_TRUE((*journal)->uploaded(file.name, "k", "e"));
    ASSERT_TRUE((*journal)->forgotten(file.name));
    most_lines = std::max(most_lines, (*journal)->lines());
  }
  // 750 lines written, but 5 live ones (3 + 2): compacted before 2 * 5 + 64 lines, plus the
  // one file in flight.
  EXPECT_LE(most_lines, 2u * 5 + 64 + 5);
  EXPECT_EQ(line_count(read_text(path)), (*journal)->lines());
  // Appends after a compaction go to the file at `path`.
  JournalFile last;
  last.name = "rec_last.mcap";
  ASSERT_TRUE((*journal)->enqueued(last));
  const JournalContents read = parse_journal(read_text(path));
  EXPECT_EQ(read.ignored_lines, 0u);
  ASSERT_EQ(read.files.size(), 3u);
  EXPECT_EQ(read.files[0].name, "rec_waiting.mcap");
  EXPECT_EQ(read.files[0].multipart.upload_id, "W");
  EXPECT_EQ(read.files[0].multipart.parts, (std::vector<UploadedPart>{{1, "w1", 5}}));
  EXPECT_TRUE(read.files[1].uploaded);
  EXPECT_EQ(read.files[1].etag, "etag-kept");
  EXPECT_EQ(read.files[2].name, "rec_last.mcap");
  journal->reset();

  // A crash tore the last line: reopened, the journal says the same.
  std::ofstream(path, std::ios::app) << R"({"op":"uploaded","file":"rec_last.mcap","ke)";
  JournalContents reopened;
  journal = UploadJournal::open(path, reopened);
  ASSERT_TRUE(journal);
  EXPECT_EQ(reopened.ignored_lines, 1u);
  ASSERT_EQ(reopened.files.size(), 3u);
  EXPECT_FALSE(reopened.files[2].uploaded);
  EXPECT_EQ(reopened.files[0].multipart.parts, read.files[0].multipart.parts);
  EXPECT_EQ(line_count(read_text(path)), 3u + 2 + 1);
}

TEST(UploadQueueTest, EventFilesFirstThenOldest) {
  test_support::ScratchDir dir("queue");
  auto queue = open_queue(dir);
  ASSERT_TRUE(queue);
  for (const char* name :
       {"rec_1.mcap", "rec_2.mcap", "rec_event_a_3.mcap", "rec_4.mcap", "rec_event_b_5.mcap"}) {
    ASSERT_TRUE(queue->enqueue(make_file(dir, name)));
  }
  std::vector<std::string> order;
  for (int i = 0; i < 5; ++i) {
    auto next = queue->wait_next();
    ASSERT_TRUE(next);
    order.push_back(next->name);
    ASSERT_TRUE(queue->uploaded(next->name, "k", "e"));
  }
  EXPECT_EQ(order, (std::vector<std::string>{"rec_event_a_3.mcap", "rec_event_b_5.mcap",
                                             "rec_1.mcap", "rec_2.mcap", "rec_4.mcap"}));
  EXPECT_TRUE(queue->is_uploaded("rec_2.mcap"));
  EXPECT_EQ(queue->totals().files, 0u);
}

TEST(UploadQueueTest, AFailingFileStepsAsideAndComesBack) {
  test_support::ScratchDir dir("queue");
  auto queue = open_queue(dir);
  ASSERT_TRUE(queue->enqueue(make_file(dir, "rec_1.mcap", 10)));
  ASSERT_TRUE(queue->enqueue(make_file(dir, "rec_2.mcap", 20)));
  auto first = queue->wait_next();
  ASSERT_EQ(first->name, "rec_1.mcap");
  queue->defer("rec_1.mcap", 1, UploadQueue::Clock::now() + milliseconds(150));
  auto second = queue->wait_next();
  EXPECT_EQ(second->name, "rec_2.mcap");
  ASSERT_TRUE(queue->uploaded("rec_2.mcap", "k", "e"));
  const auto before = UploadQueue::Clock::now();
  auto again = queue->wait_next();  // waits for the retry time
  EXPECT_EQ(again->name, "rec_1.mcap");
  EXPECT_EQ(again->failures, 1);
  EXPECT_GE(UploadQueue::Clock::now() - before, milliseconds(100));
  const QueueTotals totals = queue->totals();
  EXPECT_EQ(totals.files, 1u);
  EXPECT_EQ(totals.bytes, 10u);
  EXPECT_GE(totals.oldest_age_seconds, 0.1);
}

TEST(UploadQueueTest, StopWakesAWaitingUploader) {
  test_support::ScratchDir dir("queue");
  auto queue = open_queue(dir);
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(50));
    queue->stop();
  });
  EXPECT_FALSE(queue->wait_next());
  stopper.join();
}

TEST(UploadQueueTest, ARestartResumesWhatTheJournalHolds) {
  test_support::ScratchDir dir("queue");
  {
    auto queue = open_queue(dir);
    ASSERT_TRUE(queue->enqueue(make_file(dir, "rec_1.mcap")));
    ASSERT_TRUE(queue->enqueue(make_file(dir, "rec_2.mcap")));
    ASSERT_TRUE(queue->enqueue(make_file(dir, "rec_3.mcap")));
    ASSERT_TRUE(queue->multipart_started("rec_1.mcap", "dev/rec_1.mcap", "UP1"));
    ASSERT_TRUE(queue->part_uploaded("rec_1.mcap", "UP1", {1, "etag1", 5}));
    ASSERT_TRUE(queue->uploaded("rec_2.mcap", "dev/rec_2.mcap", "e"));
  }
  std::filesystem::remove(dir / "rec_3.mcap");  // lost while the recorder was down
  make_file(dir, "rec_0.mcap");                 // never enqueued (e.g. before upload was on)
  // Found files are ordered by their mtime, which the kernel takes from a clock that lags the
  // one enqueue() reads by up to a tick: a second later keeps rec_0 after rec_1 in every run.
  std::filesystem::last_write_time(
      dir / "rec_0.mcap", std::filesystem::file_time_type::clock::now() + std::chrono::seconds(1));
  make_file(dir, "rec_event_x_9.mcap");  // likewise, an event file
  make_file(dir, "rec_5.mcap.active");   // not finished: not ours to upload
  make_file(dir, "other_1.mcap");        // another recorder's
  QueueStartReport report;
  auto queue = open_queue(dir, &report);
  EXPECT_EQ(report.pending_from_journal, 1u);
  EXPECT_EQ(report.resumable_multipart, 1u);
  EXPECT_EQ(report.found_in_directory, 2u);
  EXPECT_EQ(report.lost, (std::vector<std::string>{"rec_3.mcap"}));
  EXPECT_TRUE(queue->is_uploaded("rec_2.mcap"));
  EXPECT_EQ(queue->wait_next()->name, "rec_event_x_9.mcap");
  auto resumed = queue->wait_next();
  EXPECT_EQ(resumed->name, "rec_1.mcap");
  EXPECT_EQ(resumed->key, "dev/rec_1.mcap");
  EXPECT_EQ(resumed->multipart.upload_id, "UP1");
  EXPECT_EQ(resumed->multipart.parts, (std::vector<UploadedPart>{{1, "etag1", 5}}));
  EXPECT_EQ(queue->wait_next()->name, "rec_0.mcap");
  EXPECT_EQ(queue->totals().files, 3u);
}

TEST(RetryPolicyTest, FullJitterDoublesUpToTheCap) {
  const RetryPolicy policy;
  EXPECT_EQ(policy.delay(1, FailureKind::retryable, 0.999), milliseconds(999));
  EXPECT_EQ(policy.delay(2, FailureKind::retryable, 0.5), milliseconds(1000));
  EXPECT_EQ(policy.delay(4, FailureKind::retryable, 0.5), milliseconds(4000));
  EXPECT_EQ(policy.delay(1, FailureKind::retryable, 0.0), milliseconds(0));
  EXPECT_EQ(policy.delay(30, FailureKind::retryable, 0.5), milliseconds(150'000));
  EXPECT_EQ(policy.delay(1000, FailureKind::retryable, 1.0), milliseconds(300'000));
  EXPECT_EQ(policy.delay(1, FailureKind::permanent, 0.0), milliseconds(300'000));
  EXPECT_EQ(policy.delay(9, FailureKind::permanent, 0.9), milliseconds(300'000));
}

TEST(RetryPolicyTest, ScaleComesFromTheEnvironmentVariable) {
  EXPECT_EQ(retry_scale_from(nullptr), 1.0);
  EXPECT_EQ(retry_scale_from(""), 1.0);
  EXPECT_EQ(retry_scale_from("0.01"), 0.01);
  EXPECT_EQ(retry_scale_from("-1"), 1.0);
  EXPECT_EQ(retry_scale_from("fast"), 1.0);
  const RetryPolicy fast = RetryPolicy{}.scaled(0.01);
  EXPECT_EQ(fast.first, milliseconds(10));
  EXPECT_EQ(fast.cap, milliseconds(3000));
  EXPECT_EQ(fast.permanent, milliseconds(3000));
}

TEST(ObjectKeyTest, TemplateFieldsAndTheFileDate) {
  const KeyFields fields{"car-7", "2024-05-01", "rec_x.mcap", "rec"};
  EXPECT_EQ(expand_key_template("{device_id}/{date}/{file}", fields),
            "car-7/2024-05-01/rec_x.mcap");
  EXPECT_EQ(expand_key_template("fleet/{prefix}-{file}", fields), "fleet/rec-rec_x.mcap");
  EXPECT_EQ(utc_date_of("rec_2024-05-01T23-59-59Z_3.mcap", 0), "2024-05-01");
  EXPECT_EQ(utc_date_of("rec_event_brake_2023-12-31T01-02-03Z.mcap", 0), "2023-12-31");
  EXPECT_EQ(utc_date_of("anything.mcap", 86400 * 366), "1971-01-02");
  EXPECT_EQ(device_id_or_hostname("car-7"), "car-7");
  EXPECT_FALSE(device_id_or_hostname("").empty());
}

}  // namespace
}  // namespace mcaprec::upload
