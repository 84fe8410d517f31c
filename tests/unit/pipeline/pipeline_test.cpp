// The recording pipeline as a user sees it: what ends up in the files (each message exactly
// once, every file complete and valid by itself, rotation where asked), how chunks are formed
// (size, age, groups, raw storage of incompressible data), and the recorder's metadata.
#include "pipeline/pipeline.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "mcap/bytes.hpp"
#include "mcap/serialize.hpp"
#include "payload.hpp"
#include "pipeline/channel_queue.hpp"
#include "pipeline/compression_choice.hpp"
#include "pipeline_test_support.hpp"

namespace mcaprec::pipeline {
namespace {

using testing::FileContents;
using testing::read_file;
using testing::ScratchDir;

using test_support::Filler;
using test_support::payload;

// Runs that compress, or noise that does not.
Filler filler(bool compressible) {
  return compressible ? Filler::kRuns : Filler::kNoise;
}

ChannelSpec topic_spec(const std::string& topic) {
  ChannelSpec spec;
  spec.topic = topic;
  return spec;
}

PipelineOptions small_options(const std::string& directory) {
  PipelineOptions options;
  options.directory = directory;
  options.prefix = "rec";
  options.chunk_size = 4096;
  options.compressor_threads = 2;
  options.max_bytes = 0;
  options.max_duration = std::chrono::nanoseconds(0);
  return options;
}

std::string metadata_value(const mcap::Metadata* metadata, const std::string& key) {
  if (metadata == nullptr) return "<no record>";
  auto it = metadata->metadata.find(key);
  return it == metadata->metadata.end() ? "<no key " + key + ">" : it->second;
}

TEST(PipelineTest, ProducersAcrossRotationsWriteEachMessageOnceInCompleteFiles) {
  ScratchDir dir;
  PipelineOptions options = small_options(dir.path() + "/nested/out");
  options.max_bytes = 48 << 10;
  options.compressor_threads = 3;
  options.default_overflow = OverflowPolicy::kBlock;
  auto started = Pipeline::start(options);
  ASSERT_TRUE(started.ok()) << started.error().to_string();
  Pipeline& pipeline = **started;

  const SchemaSpec schema{"test/Numbered", "jsonschema", {'{', '}'}};
  std::vector<ChannelHandle> channels;
  for (const char* topic : {"/a", "/b"}) {
    ChannelSpec spec;
    spec.topic = topic;
    spec.message_encoding = "json";
    spec.schema = schema;
    channels.push_back(*pipeline.declare_channel(spec));
  }
  ChannelSpec text;
  text.topic = "/c";
  text.message_encoding = "text";
  text.chunk_group = "text";
  channels.push_back(*pipeline.declare_channel(text));

  constexpr uint32_t kProducers = 4;
  constexpr uint32_t kPerProducer = 1500;
  std::atomic<uint64_t> refused{0};
  std::vector<std::thread> producers;
  for (uint32_t p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (uint32_t k = 0; k < kPerProducer; ++k) {
        const size_t channel = (p + k) % channels.size();
        const mcap::Bytes payload =
            test_support::payload(p * kPerProducer + k, 128, filler(channel == 2));
        const mcap::Timestamp time = uint64_t{p} * 1'000'000'000 + k;
        if (!pipeline.push(channels[channel], time, time + 1, k, payload).ok()) ++refused;
      }
    });
  }
  for (std::thread& t : producers) t.join();
  const mcap::Status stopped = pipeline.stop();
  ASSERT_TRUE(stopped.ok()) << stopped.error().to_string();
  EXPECT_EQ(refused.load(), 0u);

  std::vector<std::string> files;
  std::vector<std::string> active;
  for (const auto& entry : std::filesystem::directory_iterator(options.directory)) {
    const std::string name = entry.path().string();
    if (name.ends_with(".mcap")) files.push_back(name);
    if (name.ends_with(".active")) active.push_back(name);
  }
  std::sort(files.begin(), files.end(), [](const std::string& a, const std::string& b) {
    return ScratchDir::file_index(a) < ScratchDir::file_index(b);
  });
  EXPECT_TRUE(active.empty()) << active.front();
  ASSERT_GE(files.size(), 6u) << "expected at least five rotations";

  std::set<std::pair<uint32_t, uint32_t>> seen;
  for (size_t f = 0; f < files.size(); ++f) {
    SCOPED_TRACE(files[f]);
    const FileContents contents = read_file(files[f]);
    ASSERT_EQ(contents.error, "");
    EXPECT_FALSE(contents.messages.empty());
    ASSERT_TRUE(contents.summary.statistics.has_value());
    EXPECT_EQ(contents.summary.statistics->message_count, contents.messages.size());
    EXPECT_EQ(metadata_value(contents.find_metadata("mcaprec"), "start_reason"),
              f == 0 ? "start" : "size");
    EXPECT_NE(contents.find_metadata("mcaprec.stats"), nullptr);
    // Rotation keeps files near max_bytes: one chunk plus the summary at most over it.
    EXPECT_LT(std::filesystem::file_size(files[f]), options.max_bytes + 16 * 1024);
    for (const testing::ReadMessage& m : contents.messages) {
      ASSERT_GE(m.data.size(), 8u);
      const uint32_t number = mcap::load_le<uint32_t>(m.data.data());
      const uint32_t p = number / kPerProducer;
      const uint32_t k = number % kPerProducer;
      ASSERT_LT(p, kProducers);
      ASSERT_LT(k, kPerProducer);
      const size_t channel = (p + k) % channels.size();
      EXPECT_EQ(m.channel_id, record_id(channels[channel].id()));
      EXPECT_EQ(m.sequence, k);
      EXPECT_EQ(m.log_time, uint64_t{p} * 1'000'000'000 + k);
      EXPECT_EQ(m.publish_time, m.log_time + 1);
      EXPECT_EQ(m.data, payload(p * kPerProducer + k, 128, filler(channel == 2)));
      EXPECT_TRUE(seen.emplace(p, k).second) << "duplicate message " << p << "/" << k;
    }
  }
  EXPECT_EQ(seen.size(), size_t{kProducers} * kPerProducer);

  const PipelineStats stats = pipeline.stats();
  EXPECT_EQ(stats.finalizer.files_finalized, files.size());
  EXPECT_EQ(stats.writer.messages_written, size_t{kProducers} * kPerProducer);
  for (const ChannelStats& channel : stats.channels) {
    EXPECT_EQ(channel.received, channel.written) << channel.topic;
    EXPECT_EQ(channel.dropped_total(), 0u) << channel.topic;
  }
}

TEST(PipelineTest, RecorderMetadataOpensAndStatsCloseEachFile) {
  ScratchDir dir;
  PipelineOptions options = small_options(dir.path());
  options.recorder_info["config_digest"] = "sha256:abc";
  auto pipeline = Pipeline::start(options);
  ASSERT_TRUE(pipeline.ok()) << pipeline.error().to_string();
  ChannelSpec spec;
  spec.topic = "/imu";
  spec.queue_bytes = 1 << 20;
  ChannelHandle imu = *(*pipeline)->declare_channel(spec);
  for (uint32_t i = 0; i < 100; ++i) {
    ASSERT_TRUE((*pipeline)->push(imu, i, i, i, payload(i, 28)).ok());
  }
  ASSERT_TRUE((*pipeline)->stop().ok());

  const std::vector<std::string> files = dir.files(".mcap");
  ASSERT_EQ(files.size(), 1u);
  const FileContents contents = read_file(files[0]);
  ASSERT_EQ(contents.error, "");
  ASSERT_EQ(contents.metadata.size(), 2u);
  EXPECT_EQ(contents.metadata.front().name, "mcaprec");
  EXPECT_EQ(contents.metadata.back().name, "mcaprec.stats");
  const mcap::Metadata* info = contents.find_metadata("mcaprec");
  EXPECT_EQ(metadata_value(info, "version"), MCAPREC_VERSION);
  EXPECT_NE(metadata_value(info, "hostname"), "");
  EXPECT_EQ(metadata_value(info, "start_reason"), "start");
  EXPECT_EQ(metadata_value(info, "config_digest"), "sha256:abc");
  const mcap::Metadata* stats = contents.find_metadata("mcaprec.stats");
  EXPECT_EQ(metadata_value(stats, "/imu.received"), "100");
  EXPECT_EQ(metadata_value(stats, "/imu.written"), "100");
  EXPECT_EQ(metadata_value(stats, "/imu.dropped_queue_full"), "0");
  EXPECT_EQ(metadata_value(stats, "/imu.dropped_memory_budget"), "0");
  EXPECT_EQ(metadata_value(stats, "received"), "100");
  // The summary indexes both records, so readers find them without scanning.
  EXPECT_EQ(contents.summary.metadata_indexes.size(), 2u);
}

TEST(PipelineTest, SlowChannelIsWrittenWhenItsChunkComesOfAge) {
  ScratchDir dir;
  PipelineOptions options = small_options(dir.path());
  options.chunk_size = 1 << 20;
  options.chunk_max_age = std::chrono::milliseconds(50);
  auto pipeline = Pipeline::start(options);
  ASSERT_TRUE(pipeline.ok());
  ChannelHandle slow = *(*pipeline)->declare_channel(topic_spec("/slow"));
  ASSERT_TRUE((*pipeline)->push(slow, 1, 1, 0, payload(0, 18)).ok());
  // Far from chunk_size: only its age can seal it, well before stop().
  EXPECT_TRUE(testing::eventually([&] { return (*pipeline)->stats().writer.chunks_written == 1; }));
  EXPECT_EQ((*pipeline)->stats().channels[0].written, 1u);
  ASSERT_TRUE((*pipeline)->stop().ok());
}

TEST(PipelineTest, WithoutAgeSealingASmallChunkWaitsForStop) {
  ScratchDir dir;
  PipelineOptions options = small_options(dir.path());
  options.chunk_size = 1 << 20;
  options.chunk_max_age = std::chrono::nanoseconds(0);
  auto pipeline = Pipeline::start(options);
  ASSERT_TRUE(pipeline.ok());
  ChannelHandle slow = *(*pipeline)->declare_channel(topic_spec("/slow"));
  ASSERT_TRUE((*pipeline)->push(slow, 1, 1, 0, payload(0, 18)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ((*pipeline)->stats().writer.chunks_written, 0u);
  ASSERT_TRUE((*pipeline)->stop().ok());
  EXPECT_EQ((*pipeline)->stats().writer.chunks_written, 1u);
}

TEST(PipelineTest, ChunkGroupsGetChunksOfTheirOwnChannels) {
  ScratchDir dir;
  PipelineOptions options = small_options(dir.path());
  auto pipeline = Pipeline::start(options);
  ASSERT_TRUE(pipeline.ok());
  struct Declared {
    const char* topic;
    const char* group;
  };
  const Declared declared[] = {
      {"/imu", ""}, {"/cam/left", "cams"}, {"/cam/right", "cams"}, {"/lidar", "lidar"}};
  std::vector<ChannelHandle> handles;
  std::map<uint16_t, std::string> group_of;
  for (const Declared& d : declared) {
    ChannelSpec spec;
    spec.topic = d.topic;
    spec.chunk_group = d.group;
    handles.push_back(*(*pipeline)->declare_channel(spec));
    group_of[record_id(handles.back().id())] = std::string(d.group).empty() ? "default" : d.group;
  }
  for (uint32_t i = 0; i < 2000; ++i) {
    ASSERT_TRUE(
        (*pipeline)->push(handles[i % 4], i, i, i, payload(i, 68, filler(i % 2 == 0))).ok());
  }
  ASSERT_TRUE((*pipeline)->stop().ok());

  const std::vector<std::string> files = dir.files(".mcap");
  ASSERT_EQ(files.size(), 1u);
  const FileContents contents = read_file(files[0]);
  ASSERT_EQ(contents.error, "");
  EXPECT_EQ(contents.messages.size(), 2000u);
  ASSERT_GE(contents.summary.chunk_indexes.size(), 6u);
  std::set<std::string> groups_seen;
  for (const mcap::ChunkIndex& chunk : contents.summary.chunk_indexes) {
    std::set<std::string> groups;
    for (const auto& [channel_id, offset] : chunk.message_index_offsets) {
      groups.insert(group_of[channel_id]);
    }
    EXPECT_EQ(groups.size(), 1u) << "chunk at " << chunk.chunk_start_offset << " mixes groups";
    groups_seen.insert(groups.begin(), groups.end());
    // Chunks are sealed near chunk_size: one message over at most.
    EXPECT_LE(chunk.uncompressed_size, options.chunk_size + 200);
  }
  EXPECT_EQ(groups_seen, (std::set<std::string>{"default", "cams", "lidar"}));
}

TEST(PipelineTest, IncompressibleChunksAreStoredRawAndTheirGroupStopsTrying) {
  ScratchDir dir;
  PipelineOptions options = small_options(dir.path());
  options.chunk_size = 8192;
  options.compressor_threads = 1;
  auto pipeline = Pipeline::start(options);
  ASSERT_TRUE(pipeline.ok());
  ChannelSpec camera_spec;
  camera_spec.topic = "/camera";
  camera_spec.chunk_group = "camera";
  ChannelHandle camera = *(*pipeline)->declare_channel(camera_spec);
  ChannelHandle log = *(*pipeline)->declare_channel(topic_spec("/log"));
  for (uint32_t i = 0; i < 300; ++i) {
    ASSERT_TRUE((*pipeline)->push(camera, i, i, i, payload(i, 1008, Filler::kNoise)).ok());
    ASSERT_TRUE((*pipeline)->push(log, i, i, i, payload(i, 208)).ok());
  }
  ASSERT_TRUE((*pipeline)->stop().ok());

  const std::vector<std::string> files = dir.files(".mcap");
  ASSERT_EQ(files.size(), 1u);
  const FileContents contents = read_file(files[0]);
  ASSERT_EQ(contents.error, "");
  size_t camera_chunks = 0;
  size_t log_chunks = 0;
  for (const mcap::ChunkIndex& chunk : contents.summary.chunk_indexes) {
    if (chunk.message_index_offsets.count(record_id(camera.id())) != 0) {
      ++camera_chunks;
      EXPECT_EQ(chunk.compression, "");
      EXPECT_EQ(chunk.compressed_size, chunk.uncompressed_size);
    } else {
      ++log_chunks;
      EXPECT_EQ(chunk.compression, "zstd");
      EXPECT_LT(chunk.compressed_size, chunk.uncompressed_size / 2);
    }
  }
  EXPECT_GE(camera_chunks, 30u);
  EXPECT_GE(log_chunks, 5u);
  const PipelineStats stats = (*pipeline)->stats();
  // After three chunks that did not compress, the camera group stops trying for a while.
  EXPECT_GE(stats.compression.chunks_skipped, camera_chunks - 2 * CompressionChoice::kStreakToSkip);
  EXPECT_EQ(stats.compression.chunks_stored_raw, camera_chunks);
}

// Right after a file ends the next one opens only with the next chunk: a split arriving in that
// gap (under steady load, after any rotation) waits for the new file instead of being refused.
TEST(PipelineTest, SplitBetweenFilesWaitsForTheNextFile) {
  ScratchDir dir;
  PipelineOptions options = small_options(dir.path());
  options.chunk_max_age = std::chrono::milliseconds(50);
  auto pipeline = Pipeline::start(options);
  ASSERT_TRUE(pipeline.ok());
  ChannelHandle channel = *(*pipeline)->declare_channel(topic_spec("/t"));
  ASSERT_TRUE((*pipeline)->push(channel, 1, 1, 1, payload(1, 24)).ok());
  const SplitResult first = (*pipeline)->split(std::chrono::seconds(10));
  ASSERT_EQ(first.outcome, SplitResult::Outcome::kFinalized) << first.message;
  ASSERT_EQ((*pipeline)->stats().file.current_file, "");  // between files now

  ASSERT_TRUE((*pipeline)->push(channel, 2, 2, 2, payload(2, 24)).ok());
  const SplitResult second = (*pipeline)->split(std::chrono::seconds(10));
  ASSERT_EQ(second.outcome, SplitResult::Outcome::kFinalized) << second.message;
  EXPECT_NE(second.file, first.file);
  EXPECT_EQ(read_file(second.file).messages.size(), 1u);

  // Nothing pushed: nothing to split, said after a bounded wait.
  const SplitResult idle = (*pipeline)->split(std::chrono::seconds(10));
  EXPECT_EQ(idle.outcome, SplitResult::Outcome::kNothing);
  ASSERT_TRUE((*pipeline)->stop().ok());
}

TEST(PipelineTest, RequestedRotationSplitsAtTheRequest) {
  ScratchDir dir;
  auto pipeline = Pipeline::start(small_options(dir.path()));
  ASSERT_TRUE(pipeline.ok());
  ChannelHandle channel = *(*pipeline)->declare_channel(topic_spec("/t"));
  for (uint32_t i = 0; i < 10; ++i) {
    ASSERT_TRUE((*pipeline)->push(channel, i, i, i, payload(i, 24)).ok());
  }
  (*pipeline)->request_rotation();
  for (uint32_t i = 10; i < 25; ++i) {
    ASSERT_TRUE((*pipeline)->push(channel, i, i, i, payload(i, 24)).ok());
  }
  ASSERT_TRUE((*pipeline)->stop().ok());

  const std::vector<std::string> files = dir.files(".mcap");
  ASSERT_EQ(files.size(), 2u);
  const FileContents first = read_file(files[0]);
  const FileContents second = read_file(files[1]);
  ASSERT_EQ(first.error, "");
  ASSERT_EQ(second.error, "");
  ASSERT_EQ(first.messages.size(), 10u);
  ASSERT_EQ(second.messages.size(), 15u);
  for (uint32_t i = 0; i < 10; ++i) EXPECT_EQ(first.messages[i].sequence, i);
  for (uint32_t i = 0; i < 15; ++i) EXPECT_EQ(second.messages[i].sequence, 10 + i);
  EXPECT_EQ(metadata_value(second.find_metadata("mcaprec"), "start_reason"), "request");
  EXPECT_EQ(metadata_value(second.find_metadata("mcaprec"), "file_index"), "1");
  // Each file declares the channel itself.
  EXPECT_EQ(second.channels.count(record_id(channel.id())), 1u);
}

TEST(PipelineTest, RotationRequestOnAnEmptyFileMakesNoEmptyFile) {
  ScratchDir dir;
  auto pipeline = Pipeline::start(small_options(dir.path()));
  ASSERT_TRUE(pipeline.ok());
  (*pipeline)->request_rotation();
  (*pipeline)->request_rotation();
  ASSERT_TRUE((*pipeline)->stop().ok());
  const std::vector<std::string> files = dir.files(".mcap");
  ASSERT_EQ(files.size(), 1u);
  const FileContents contents = read_file(files[0]);
  EXPECT_EQ(contents.error, "");
  EXPECT_TRUE(contents.messages.empty());
}

TEST(PipelineTest, DurationRotationStartsNewFiles) {
  ScratchDir dir;
  PipelineOptions options = small_options(dir.path());
  options.max_duration = std::chrono::milliseconds(120);
  options.chunk_max_age = std::chrono::milliseconds(10);
  auto pipeline = Pipeline::start(options);
  ASSERT_TRUE(pipeline.ok());
  ChannelHandle channel = *(*pipeline)->declare_channel(topic_spec("/t"));
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(600);
  uint32_t pushed = 0;
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE((*pipeline)->push(channel, pushed, pushed, pushed, payload(pushed, 16)).ok());
    ++pushed;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE((*pipeline)->stop().ok());
  const std::vector<std::string> files = dir.files(".mcap");
  ASSERT_GE(files.size(), 2u);
  uint64_t total = 0;
  for (size_t f = 0; f < files.size(); ++f) {
    const FileContents contents = read_file(files[f]);
    ASSERT_EQ(contents.error, "");
    total += contents.messages.size();
    if (f > 0) {
      EXPECT_EQ(metadata_value(contents.find_metadata("mcaprec"), "start_reason"), "duration");
    }
  }
  EXPECT_EQ(total, pushed);
}

TEST(PipelineTest, SingleOutputPathWritesOneFileAndNeverRotates) {
  ScratchDir dir;
  PipelineOptions options = small_options("");
  options.output_path = dir.path() + "/converted.mcap";
  options.max_bytes = 1024;  // ignored for a single output path
  options.profile = "ros2";
  auto pipeline = Pipeline::start(options);
  ASSERT_TRUE(pipeline.ok()) << pipeline.error().to_string();
  ChannelHandle channel = *(*pipeline)->declare_channel(topic_spec("/t"));
  for (uint32_t i = 0; i < 500; ++i) {
    ASSERT_TRUE((*pipeline)->push(channel, i, i, i, payload(i, 58, Filler::kNoise)).ok());
  }
  (*pipeline)->request_rotation();
  ASSERT_TRUE((*pipeline)->stop().ok());
  EXPECT_EQ(dir.files(".mcap"), std::vector<std::string>{options.output_path});
  EXPECT_TRUE(dir.files(".active").empty());
  const FileContents contents = read_file(options.output_path);
  ASSERT_EQ(contents.error, "");
  EXPECT_EQ(contents.messages.size(), 500u);
  EXPECT_EQ(contents.summary.header.profile, "ros2");
}

TEST(PipelineTest, IdenticalDeclarationsShareAChannelAndSchemasAreShared) {
  ScratchDir dir;
  auto pipeline = Pipeline::start(small_options(dir.path()));
  ASSERT_TRUE(pipeline.ok());
  ChannelSpec spec;
  spec.topic = "/imu";
  spec.message_encoding = "cdr";
  spec.schema = SchemaSpec{"Imu", "ros2msg", {'x'}};
  const ChannelHandle a = *(*pipeline)->declare_channel(spec);
  const ChannelHandle b = *(*pipeline)->declare_channel(spec);
  spec.metadata["qos"] = "best_effort";
  const ChannelHandle c = *(*pipeline)->declare_channel(spec);
  EXPECT_EQ(a.id(), b.id());
  EXPECT_NE(a.id(), c.id());
  for (ChannelHandle h : {a, c}) {
    ASSERT_TRUE((*pipeline)->push(h, 1, 1, 1, payload(0, 12)).ok());
  }
  ASSERT_TRUE((*pipeline)->stop().ok());
  const FileContents contents = read_file(dir.files(".mcap").at(0));
  ASSERT_EQ(contents.error, "");
  EXPECT_EQ(contents.schemas.size(), 1u);
  ASSERT_EQ(contents.channels.size(), 2u);
  EXPECT_EQ(contents.channels.at(record_id(a.id())).schema_id,
            contents.channels.at(record_id(c.id())).schema_id);
  EXPECT_FALSE((*pipeline)->declare_channel(topic_spec("/late")).ok());
}

TEST(PipelineTest, StartReportsAnUnusableDirectory) {
  ScratchDir dir;
  const std::string file = dir.path() + "/not-a-directory";
  { std::ofstream(file) << "x"; }
  auto pipeline = Pipeline::start(small_options(file + "/sub"));
  ASSERT_FALSE(pipeline.ok());
  EXPECT_NE(pipeline.error().message.find("not-a-directory"), std::string::npos)
      << pipeline.error().message;
  PipelineOptions bad = small_options(dir.path());
  bad.chunk_size = 0;
  auto invalid = Pipeline::start(bad);
  ASSERT_FALSE(invalid.ok());
  EXPECT_NE(invalid.error().message.find("chunk_size"), std::string::npos);
}

// The pool reserves address space for every segment of the budget at start; a budget no
// process can map is an error from start(), not a crash or a pipeline that drops everything.
TEST(PipelineTest, StartReportsABudgetWhoseAddressSpaceCannotBeReserved) {
  ScratchDir dir;
  PipelineOptions options = small_options(dir.path());
  options.memory_budget = uint64_t{1} << 52;  // 4 PiB, past the 128 TiB of a process's addresses
  auto pipeline = Pipeline::start(options);
  ASSERT_FALSE(pipeline.ok());
  EXPECT_NE(pipeline.error().message.find("cannot reserve address space for a memory_budget"),
            std::string::npos)
      << pipeline.error().message;
  EXPECT_TRUE(dir.files("").empty()) << "no file is started";
}

TEST(PipelineTest, QueueWritesTheSameMessageHeaderAsTheFormatLibrary) {
  mcap::Bytes expected;
  mcap::append_message_header(expected, 0x1234, 0xdeadbeef, 0x0102030405060708, 0x1112131415161718,
                              99);
  mcap::Bytes actual(expected.size());
  store_message_header(actual.data(), 0x1234, 0xdeadbeef, 0x0102030405060708, 0x1112131415161718,
                       99);
  EXPECT_EQ(actual, expected);
}

}  // namespace
}  // namespace mcaprec::pipeline
