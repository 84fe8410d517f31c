// When things go wrong or are cut short: a disk error damages one file but recording goes on
// in a new one and every lost message is counted; a drain cut short still ends with a complete
// file; metadata and attachments handed to the pipeline reach the file.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "mcap/reader.hpp"
#include "payload.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline_test_support.hpp"

namespace mcaprec::pipeline {
namespace {

using testing::FileContents;
using testing::read_file;
using testing::ScratchDir;

using test_support::payload;
constexpr size_t kPayloadBytes = 100;

PipelineOptions options_for(const std::string& directory) {
  PipelineOptions options;
  options.directory = directory;
  options.chunk_size = 4096;
  options.compressor_threads = 2;
  options.max_bytes = 0;
  options.default_overflow = OverflowPolicy::kBlock;
  return options;
}

TEST(PipelineFailureTest, AWriteErrorLeavesTheFileForRecoveryAndRecordingGoesOn) {
  ScratchDir dir;
  PipelineOptions options = options_for(dir.path());
  options.compression = mcap::Compression::kNone;
  // Every write fails once 20 KiB went through, like a full disk, and the file cannot be cut
  // back.
  test_support::DiskFaults faults;
  faults.capacity = 20 << 10;
  faults.can_truncate = false;
  options.open_sink = testing::first_file_failing(faults);
  constexpr uint32_t kMessages = 600;
  const testing::NumberedRun run =
      testing::push_numbered_and_stop(options, kMessages, kPayloadBytes);
  const mcap::Status& stopped = run.stopped;
  ASSERT_FALSE(stopped.ok()) << "stop() reports the write failure";
  EXPECT_NE(stopped.error().message.find("No space left"), std::string::npos)
      << stopped.error().message;

  const PipelineStats& stats = run.stats;
  EXPECT_EQ(stats.writer.write_errors, 1u);
  const ChannelStats& counts = stats.channels.at(0);
  EXPECT_GT(counts.dropped_for(DropReason::kWriteError), 0u);
  EXPECT_EQ(counts.received, counts.written + counts.dropped_total());

  // The damaged file stays `.active` (recovery's business); its complete chunks hold what
  // was counted as written there.
  const std::vector<std::string> active = dir.files(".active");
  ASSERT_EQ(active.size(), 1u);
  auto damaged = mcap::MappedFile::open(active[0]);
  ASSERT_TRUE(damaged.ok());
  const mcap::ScanReport scan = mcap::scan(damaged->bytes());
  EXPECT_FALSE(scan.complete);
  const std::vector<std::string> files = dir.files(".mcap");
  ASSERT_EQ(files.size(), 1u);
  const FileContents next = read_file(files[0]);
  ASSERT_EQ(next.error, "");
  EXPECT_EQ(scan.statistics.message_count + next.messages.size(), counts.written);
  const mcap::Metadata* info = next.find_metadata("mcaprec");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->metadata.at("start_reason"), "error");
  EXPECT_EQ(info->metadata.at("file_index"), "1");
}

TEST(PipelineFailureTest, CutDrainEndsWithACompleteFileAndCountsWhatWasLeft) {
  ScratchDir dir;
  testing::WriteGate gate;
  PipelineOptions options = options_for(dir.path());
  options.compressor_threads = 1;
  options.open_sink = testing::gated_sink_factory(gate);
  auto pipeline = Pipeline::start(options);
  ASSERT_TRUE(pipeline.ok());
  ChannelSpec spec;
  spec.topic = "/t";
  spec.queue_bytes = 1 << 20;
  const ChannelHandle channel = *(*pipeline)->declare_channel(spec);
  gate.close();
  // More than the chunks in flight can hold: the rest waits in the queue.
  for (uint32_t i = 0; i < 1000; ++i) {
    ASSERT_TRUE((*pipeline)->push(channel, i, i, i, payload(i, kPayloadBytes)).ok());
  }
  (*pipeline)->cut_drain();
  std::thread stopper([&] { EXPECT_TRUE((*pipeline)->stop().ok()); });
  gate.open();
  stopper.join();

  const ChannelStats counts = (*pipeline)->stats().channels.at(0);
  EXPECT_GT(counts.dropped_for(DropReason::kStopped), 0u);
  EXPECT_EQ(counts.dropped_for(DropReason::kWriteError), 0u);
  EXPECT_EQ(counts.received, counts.written + counts.dropped_total());
  const std::vector<std::string> files = dir.files(".mcap");
  ASSERT_EQ(files.size(), 1u);
  const FileContents contents = read_file(files[0]);
  ASSERT_EQ(contents.error, "");
  EXPECT_EQ(contents.messages.size(), counts.written);
  const mcap::Metadata* stats = contents.find_metadata("mcaprec.stats");
  ASSERT_NE(stats, nullptr);
  EXPECT_EQ(stats->metadata.at("/t.dropped_stopped"),
            std::to_string(counts.dropped_for(DropReason::kStopped)));
}

TEST(PipelineFailureTest, MetadataAndAttachmentsHandedOverReachTheFile) {
  ScratchDir dir;
  PipelineOptions options = options_for(dir.path());
  options.recorder_metadata = false;
  auto pipeline = Pipeline::start(options);
  ASSERT_TRUE(pipeline.ok());
  ChannelSpec spec;
  spec.topic = "/t";
  const ChannelHandle channel = *(*pipeline)->declare_channel(spec);
  ASSERT_TRUE((*pipeline)->push(channel, 1, 1, 1, payload(1, kPayloadBytes)).ok());
  (*pipeline)->write_metadata(mcap::Metadata{"vehicle", {{"id", "7"}}});
  const mcap::Bytes blob(5000, 0x5a);
  (*pipeline)->write_attachment(mcap::Attachment{3, 4, "calib.yaml", "text/yaml", blob, 0});
  ASSERT_TRUE((*pipeline)->stop().ok());

  const FileContents contents = read_file(dir.files(".mcap").at(0));
  ASSERT_EQ(contents.error, "");
  ASSERT_EQ(contents.metadata.size(), 1u) << "no recorder metadata when disabled";
  EXPECT_EQ(contents.metadata[0].name, "vehicle");
  EXPECT_EQ(contents.metadata[0].metadata.at("id"), "7");
  ASSERT_EQ(contents.summary.attachment_indexes.size(), 1u);
  EXPECT_EQ(contents.summary.attachment_indexes[0].name, "calib.yaml");
  EXPECT_EQ(contents.summary.attachment_indexes[0].data_size, blob.size());
  EXPECT_EQ(contents.messages.size(), 1u);
}

}  // namespace
}  // namespace mcaprec::pipeline
