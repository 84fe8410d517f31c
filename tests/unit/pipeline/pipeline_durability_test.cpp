// Durability of the file being written, through an injectable file layer: the periodic sync
// and what a failed sync does, a disk that fills up in the middle of a chunk or before it,
// and recording paused by retention (held, resumed in a new file, or stopped without hanging).
// Every file left behind must read back valid, and every message must be either in a file or
// counted as dropped with its reason.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "payload.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline_test_support.hpp"
#include "storage/syncer.hpp"

namespace mcaprec::pipeline {
namespace {

using namespace std::chrono_literals;
using test_support::DiskFaults;
using test_support::FailingSyncHandle;
using testing::eventually;
using testing::FileContents;
using testing::read_file;
using testing::ScratchDir;

// --- the syncer alone ---

TEST(PipelineSyncerTest, SyncsAtLeastEveryIntervalWhileWrittenAndNotWhenIdle) {
  std::atomic<int> failures{0};
  storage::Syncer syncer(10ms, [&] { ++failures; });
  DiskFaults synced;
  syncer.track(std::make_shared<FailingSyncHandle>(nullptr, synced), 1);
  ASSERT_TRUE(eventually([&] { return synced.syncs.load() >= 1; }, 2s));
  std::this_thread::sleep_for(60ms);
  EXPECT_EQ(synced.syncs.load(), 1) << "nothing new was written: no sync";
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < 300ms) {
    syncer.note_written();
    std::this_thread::sleep_for(2ms);
  }
  syncer.stop();
  // 30 intervals; the bound leaves room for a loaded machine (and TSan).
  EXPECT_GE(synced.syncs.load(), 8);
  EXPECT_LE(synced.syncs.load(), 32);
  EXPECT_EQ(syncer.stats().syncs, uint64_t(synced.syncs.load()));
  EXPECT_GT(syncer.stats().sync_time.count(), 0);
  EXPECT_EQ(failures.load(), 0);
}

TEST(PipelineSyncerTest, AFailedSyncIsReportedOnceAndThatFileIsNeverSyncedAgain) {
  std::atomic<int> failures{0};
  storage::Syncer syncer(5ms, [&] { ++failures; });
  DiskFaults failing;
  failing.failing_sync = 1;
  syncer.track(std::make_shared<FailingSyncHandle>(nullptr, failing), 7);
  ASSERT_TRUE(eventually([&] { return failures.load() == 1; }, 2s));
  const std::optional<storage::SyncFailure> failure = syncer.take_failure();
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->file_id, 7u);
  EXPECT_NE(failure->error.message.find("Input/output error"), std::string::npos);
  EXPECT_FALSE(syncer.take_failure().has_value()) << "reported once";
  for (int i = 0; i < 20; ++i) {
    syncer.note_written();
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(failing.syncs.load(), 1) << "not retried";
  DiskFaults next;
  syncer.track(std::make_shared<FailingSyncHandle>(nullptr, next), 8);
  EXPECT_TRUE(eventually([&] { return next.syncs.load() >= 1; }, 2s));
  syncer.stop();
  EXPECT_EQ(syncer.stats().sync_errors, 1u);
  EXPECT_EQ(failures.load(), 1);
}

// --- the pipeline over a file layer that fails on demand ---

using test_support::payload;
constexpr size_t kPayloadBytes = 100;

constexpr uint64_t kChunkSize = 4096;

PipelineOptions options_for(const std::string& directory) {
  PipelineOptions options;
  options.directory = directory;
  options.chunk_size = kChunkSize;
  options.compression = mcap::Compression::kNone;
  options.compressor_threads = 1;
  options.max_bytes = 0;
  options.default_overflow = OverflowPolicy::kBlock;
  return options;
}

constexpr uint32_t kDiskFullMessages = 600;

// Records kDiskFullMessages numbered messages into `directory`, the first file through `faults`
// (the next ones are healthy), and stops.
testing::NumberedRun record_onto_a_faulty_first_file(const std::string& directory,
                                                     DiskFaults& faults) {
  PipelineOptions options = options_for(directory);
  options.open_sink = testing::first_file_failing(faults);
  return testing::push_numbered_and_stop(options, kDiskFullMessages, kPayloadBytes);
}

// Declares the channel "/t", the one these tests record on.
ChannelHandle declare_channel_t(Pipeline& pipeline) {
  ChannelSpec spec;
  spec.topic = "/t";
  return *pipeline.declare_channel(spec);
}

// Pushes `count` messages on `channel` numbered on from `pushed` (log time, publish time and
// sequence = the number), which counts them; returns how many were accepted.
uint32_t push_numbered(Pipeline& pipeline, ChannelHandle channel, uint32_t& pushed,
                       uint32_t count) {
  uint32_t accepted = 0;
  for (uint32_t k = 0; k < count; ++k, ++pushed) {
    accepted += pipeline.push(channel, pushed, pushed, pushed, payload(pushed, kPayloadBytes)).ok();
  }
  return accepted;
}

std::vector<uint32_t> sequences(const FileContents& contents) {
  std::vector<uint32_t> out;
  for (const testing::ReadMessage& message : contents.messages) out.push_back(message.sequence);
  return out;
}

bool contiguous(const std::vector<uint32_t>& values, uint32_t first) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] != first + i) return false;
  }
  return true;
}

TEST(PipelineDurabilityTest, DiskFullInTheMiddleOfAChunkEndsTheFileValidAtTheChunkBefore) {
  ScratchDir dir;
  DiskFaults faults;
  faults.capacity = 20000;
  faults.write_what_fits = true;
  faults.once = true;  // then space is freed, as when another file is deleted
  const testing::NumberedRun run = record_onto_a_faulty_first_file(dir.path(), faults);
  const mcap::Status& stopped = run.stopped;
  ASSERT_FALSE(stopped.ok()) << "stop() reports the write failure";
  EXPECT_NE(stopped.error().message.find("No space left"), std::string::npos);

  const PipelineStats& stats = run.stats;
  EXPECT_EQ(stats.writer.write_errors, 1u);
  EXPECT_EQ(stats.file.files_closed_on_error, 1u);
  EXPECT_EQ(stats.file.files_started, 2u);
  EXPECT_EQ(stats.finalizer.files_finalized, 2u);
  const ChannelStats& counts = stats.channels.at(0);
  EXPECT_EQ(counts.received, kDiskFullMessages);
  EXPECT_EQ(counts.received, counts.written + counts.dropped_total());

  EXPECT_TRUE(dir.files(".active").empty()) << "nothing left for recovery";
  const std::vector<std::string> files = dir.files(".mcap");
  ASSERT_EQ(files.size(), 2u);
  const FileContents cut = read_file(files[0]);
  ASSERT_EQ(cut.error, "");
  const FileContents next = read_file(files[1]);
  ASSERT_EQ(next.error, "");
  // The cut file holds every chunk that ended before the failure, and nothing of the chunk
  // that failed: its messages are counted as dropped, and the next file goes on after them.
  ASSERT_FALSE(cut.summary.chunk_indexes.empty());
  const mcap::ChunkIndex& last = cut.summary.chunk_indexes.back();
  const uint64_t last_end = last.chunk_start_offset + last.chunk_length + last.message_index_length;
  EXPECT_LE(last_end, faults.refused_at.load());
  EXPECT_LT(faults.refused_at.load() - last_end, kChunkSize + 1024)
      << "only the chunk being written was lost";
  const std::vector<uint32_t> before = sequences(cut);
  const std::vector<uint32_t> after = sequences(next);
  EXPECT_TRUE(contiguous(before, 0));
  ASSERT_FALSE(after.empty());
  EXPECT_TRUE(contiguous(after, after.front()));
  EXPECT_EQ(after.front() - before.size(), counts.dropped_for(DropReason::kWriteError));
  EXPECT_GT(counts.dropped_for(DropReason::kWriteError), 0u);
  EXPECT_EQ(after.back(), kDiskFullMessages - 1);
  EXPECT_NE(cut.find_metadata("mcaprec.stats"), nullptr) << "closed like any file";
  const mcap::Metadata* info = next.find_metadata("mcaprec");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->metadata.at("start_reason"), "error");
}

TEST(PipelineDurabilityTest, DiskFullIsFoundBeforeTheChunkSoTheFileEndsValidAndNothingIsLost) {
  ScratchDir dir;
  DiskFaults faults;
  faults.capacity = 60000;
  faults.write_what_fits = true;
  faults.reserve_checks_capacity = true;
  const testing::NumberedRun run = record_onto_a_faulty_first_file(dir.path(), faults);
  const mcap::Status& stopped = run.stopped;
  ASSERT_FALSE(stopped.ok()) << "the full disk is reported";
  EXPECT_NE(stopped.error().message.find("No space left"), std::string::npos);

  const PipelineStats& stats = run.stats;
  EXPECT_EQ(stats.writer.write_errors, 0u);
  EXPECT_FALSE(stats.file.paused);
  const ChannelStats& counts = stats.channels.at(0);
  EXPECT_EQ(counts.written, kDiskFullMessages)
      << "the chunk that did not fit went to the next file";
  EXPECT_EQ(counts.dropped_total(), 0u);
  EXPECT_TRUE(dir.files(".active").empty());
  const std::vector<std::string> files = dir.files(".mcap");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_LE(std::filesystem::file_size(files[0]), faults.capacity);
  const FileContents full = read_file(files[0]);
  ASSERT_EQ(full.error, "");
  const FileContents next = read_file(files[1]);
  ASSERT_EQ(next.error, "");
  const std::vector<uint32_t> before = sequences(full);
  const std::vector<uint32_t> after = sequences(next);
  ASSERT_FALSE(before.empty());
  EXPECT_TRUE(contiguous(before, 0));
  EXPECT_TRUE(contiguous(after, uint32_t(before.size())));
  EXPECT_EQ(before.size() + after.size(), kDiskFullMessages);
  EXPECT_NE(full.find_metadata("mcaprec.stats"), nullptr);
  EXPECT_EQ(next.find_metadata("mcaprec")->metadata.at("start_reason"), "resume");
}

TEST(PipelineDurabilityTest, TheFileBeingWrittenIsSyncedPeriodically) {
  ScratchDir dir;
  PipelineOptions options = options_for(dir.path());
  options.sync_interval = 20ms;
  options.chunk_max_age = 5ms;
  auto pipeline = Pipeline::start(options);
  ASSERT_TRUE(pipeline.ok());
  const ChannelHandle channel = declare_channel_t(**pipeline);
  const auto start = std::chrono::steady_clock::now();
  uint32_t i = 0;
  while (std::chrono::steady_clock::now() - start < 400ms) {
    ASSERT_TRUE((*pipeline)->push(channel, i, i, i, payload(i, kPayloadBytes)).ok());
    ++i;
    std::this_thread::sleep_for(1ms);
  }
  const PipelineStats during = (*pipeline)->stats();
  ASSERT_TRUE((*pipeline)->stop().ok());
  // 20 intervals; a loaded machine (or TSan) gets fewer in.
  EXPECT_GE(during.file.sync.syncs, 5u);
  EXPECT_LE(during.file.sync.syncs, 21u);
  EXPECT_EQ(during.file.sync.sync_errors, 0u);
  EXPECT_GT(during.file.sync.sync_time.count(), 0);
  EXPECT_GE(during.file.sync.sync_time, during.file.sync.max_sync_time);

  options.sync_interval = 0ns;
  options.directory = dir.path() + "/off";
  auto quiet = Pipeline::start(options);
  ASSERT_TRUE(quiet.ok());
  const ChannelHandle other = declare_channel_t(**quiet);
  for (uint32_t k = 0; k < 50; ++k)
    ASSERT_TRUE((*quiet)->push(other, k, k, k, payload(k, kPayloadBytes)).ok());
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE((*quiet)->stop().ok());
  EXPECT_EQ((*quiet)->stats().file.sync.syncs, 0u) << "sync_interval 0: only finalization syncs";
}

TEST(PipelineDurabilityTest, AFailedSyncEndsTheFileAndRecordingGoesOnInANewOne) {
  ScratchDir dir;
  DiskFaults faults;
  faults.failing_sync = 2;
  PipelineOptions options = options_for(dir.path());
  options.open_sink = testing::first_file_failing(faults);
  options.sync_interval = 5ms;
  options.chunk_max_age = 2ms;
  auto pipeline = Pipeline::start(options);
  ASSERT_TRUE(pipeline.ok());
  const ChannelHandle channel = declare_channel_t(**pipeline);
  uint32_t pushed = 0;
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while ((*pipeline)->stats().file.files_closed_on_error == 0 &&
         std::chrono::steady_clock::now() < give_up) {
    EXPECT_EQ(push_numbered(**pipeline, channel, pushed, 10), 10u);
    std::this_thread::sleep_for(3ms);
  }
  EXPECT_EQ(push_numbered(**pipeline, channel, pushed, 100), 100u);
  const mcap::Status stopped = (*pipeline)->stop();
  ASSERT_FALSE(stopped.ok());
  EXPECT_NE(stopped.error().message.find("Input/output error"), std::string::npos);

  const PipelineStats stats = (*pipeline)->stats();
  EXPECT_EQ(stats.file.sync.sync_errors, 1u);
  EXPECT_EQ(stats.file.files_closed_on_error, 1u);
  EXPECT_GE(stats.file.sync.syncs, 1u);
  const ChannelStats& counts = stats.channels.at(0);
  EXPECT_EQ(counts.written, pushed) << "a failed sync drops nothing that was written";
  EXPECT_TRUE(dir.files(".active").empty());
  const std::vector<std::string> files = dir.files(".mcap");
  ASSERT_EQ(files.size(), 2u);
  std::vector<uint32_t> all;
  for (const std::string& file : files) {
    const FileContents contents = read_file(file);
    ASSERT_EQ(contents.error, "") << file;
    const std::vector<uint32_t> got = sequences(contents);
    all.insert(all.end(), got.begin(), got.end());
  }
  EXPECT_TRUE(contiguous(all, 0));
  EXPECT_EQ(all.size(), pushed);
  EXPECT_EQ(read_file(files[1]).find_metadata("mcaprec")->metadata.at("start_reason"), "error");
}

// Free space as the test says.
struct FakeDisk {
  std::atomic<uint64_t> free{uint64_t{10} << 30};
  storage::FreeSpaceProbe probe() {
    return [this](const std::string&) -> mcap::Result<uint64_t> { return free.load(); };
  }
};

TEST(PipelineDurabilityTest, RetentionRefusalPausesRecordingAndItResumesInANewFileWhenRoomReturns) {
  ScratchDir dir;
  FakeDisk disk;
  PipelineOptions options = options_for(dir.path());
  options.min_free_bytes = 64 << 20;
  options.free_space = disk.probe();
  options.chunk_max_age = 2ms;
  options.default_overflow = OverflowPolicy::kDropNewest;
  options.default_queue_bytes = 64 << 10;
  auto pipeline = Pipeline::start(options);
  ASSERT_TRUE(pipeline.ok());
  const ChannelHandle channel = declare_channel_t(**pipeline);
  uint32_t pushed = 0;
  // Pushes `n` more; a full queue may refuse some.
  auto push_some = [&](uint32_t n) { push_numbered(**pipeline, channel, pushed, n); };
  push_some(100);
  ASSERT_TRUE(eventually([&] { return (*pipeline)->stats().writer.chunks_written > 0; }));
  disk.free = 0;
  ASSERT_TRUE(eventually(
      [&] {
        push_some(20);
        std::this_thread::sleep_for(2ms);
        return (*pipeline)->stats().file.paused;
      },
      10s));
  PipelineStats paused = (*pipeline)->stats();
  EXPECT_NE(paused.file.pause_reason, "");
  EXPECT_EQ(paused.file.current_file, "") << "the file was ended when recording paused";
  ASSERT_TRUE(eventually([&] { return (*pipeline)->stats().finalizer.files_finalized == 1; }));
  // A metadata record (an event's, a producer's) while paused waits for the next file.
  (*pipeline)->write_metadata(mcap::Metadata{"while_paused", {{"kept", "yes"}}});
  push_some(3000);  // held chunks close the gate: the queue fills and drops
  paused = (*pipeline)->stats();
  EXPECT_TRUE(paused.file.paused);
  EXPECT_GT(paused.channels.at(0).dropped_total(), 0u);
  disk.free = uint64_t{10} << 30;
  ASSERT_TRUE(eventually(
      [&] {
        push_some(5);
        std::this_thread::sleep_for(2ms);
        return !(*pipeline)->stats().file.paused;
      },
      10s));
  push_some(100);
  ASSERT_TRUE((*pipeline)->stop().ok());

  const PipelineStats stats = (*pipeline)->stats();
  const ChannelStats& counts = stats.channels.at(0);
  EXPECT_EQ(counts.received, pushed);
  EXPECT_EQ(counts.received, counts.written + counts.dropped_total());
  EXPECT_EQ(counts.dropped_for(DropReason::kNoSpace), 0u);
  EXPECT_EQ(stats.writer.write_errors, 0u);
  EXPECT_TRUE(dir.files(".active").empty());
  // While paused, retention may delete the first file (the oldest) to make room.
  const std::vector<std::string> files = dir.files(".mcap");
  ASSERT_EQ(files.size() + stats.file.retention_files_deleted, 2u);
  for (const std::string& file : files) EXPECT_EQ(read_file(file).error, "") << file;
  EXPECT_EQ(read_file(files.back()).find_metadata("mcaprec")->metadata.at("start_reason"),
            "resume");
  const FileContents resumed = read_file(files.back());
  const mcap::Metadata* kept = resumed.find_metadata("while_paused");
  ASSERT_TRUE(kept) << "the record submitted while paused is in the file recording resumed in";
  EXPECT_EQ(kept->metadata.at("kept"), "yes");
}

TEST(PipelineDurabilityTest, StopWhilePausedDoesNotHangAndCountsWhatWasHeld) {
  ScratchDir dir;
  FakeDisk disk;
  disk.free = 0;
  PipelineOptions options = options_for(dir.path());
  options.min_free_bytes = 1;
  options.free_space = disk.probe();
  options.chunk_max_age = 2ms;
  options.default_queue_bytes = 64 << 10;  // block policy: pushers wait for room
  auto pipeline = Pipeline::start(options);
  ASSERT_TRUE(pipeline.ok());
  const ChannelHandle channel = declare_channel_t(**pipeline);
  std::atomic<uint32_t> pushed{0};
  std::thread pusher([&] {
    for (uint32_t i = 0; i < 20000; ++i) {
      const PushResult result = (*pipeline)->push(channel, i, i, i, payload(i, kPayloadBytes));
      pushed = i + 1;
      if (!result.ok() && result.reason() == DropReason::kStopped) break;
    }
  });
  ASSERT_TRUE(eventually([&] { return (*pipeline)->stats().file.paused; }));
  // Still paused at stop: the record is let go with the held chunks (and logged), and the stop
  // is not a write failure.
  (*pipeline)->write_metadata(mcap::Metadata{"while_paused", {{"kept", "no"}}});
  std::this_thread::sleep_for(50ms);
  const auto before = std::chrono::steady_clock::now();
  const base::Status stopped = (*pipeline)->stop();
  EXPECT_TRUE(stopped.ok()) << stopped.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  pusher.join();

  const ChannelStats counts = (*pipeline)->stats().channels.at(0);
  EXPECT_EQ(counts.received, pushed.load());
  EXPECT_EQ(counts.written, 0u);
  EXPECT_GT(counts.dropped_for(DropReason::kNoSpace), 0u) << "the chunks held while paused";
  EXPECT_EQ(counts.received, counts.written + counts.dropped_total());
  EXPECT_TRUE(dir.files(".active").empty());
  for (const std::string& file : dir.files(".mcap")) EXPECT_EQ(read_file(file).error, "");
}

}  // namespace
}  // namespace mcaprec::pipeline
