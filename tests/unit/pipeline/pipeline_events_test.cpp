// Event recording through the pipeline: the event file holds every message of its window (and
// nothing beyond one chunk_max_age of it), on-event channels stay out of the continuous files,
// overlapping events share one file, a spilled ring still gives complete files, topic rules
// fire once per min_interval, and the event quota deletes through the recorder's FileSystem.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "pass_through_file_system.hpp"
#include "payload.hpp"
#include "periodic_thread.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline_test_support.hpp"
#include "storage/file_system.hpp"

namespace mcaprec::pipeline {
namespace {

using testing::FileContents;
using testing::read_file;
using testing::ScratchDir;

constexpr auto kChunkMaxAge = std::chrono::milliseconds(100);

mcap::Timestamp now_ns() {
  return static_cast<mcap::Timestamp>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

PipelineOptions event_options(const std::string& directory) {
  PipelineOptions options;
  options.directory = directory;
  options.prefix = "rec";
  options.chunk_size = 16 << 10;
  options.chunk_max_age = kChunkMaxAge;
  options.compressor_threads = 2;
  options.max_bytes = 0;
  options.max_duration = std::chrono::nanoseconds(0);
  options.events.enabled = true;
  options.events.look_back = std::chrono::seconds(5);
  options.events.memory_bytes = 64 << 20;
  options.events.spool_bytes = 0;
  return options;
}

ChannelSpec spec(const std::string& topic, bool on_event) {
  ChannelSpec channel;
  channel.topic = topic;
  channel.on_event = on_event;
  return channel;
}

// Pushes to each channel every `period`, log time = the wall clock, until stopped.
class Producer {
 public:
  Producer(Pipeline& pipeline, std::vector<ChannelHandle> channels,
           std::chrono::microseconds period)
      : channels_(std::move(channels)), sender_(period, [this, &pipeline](uint32_t sequence) {
          for (ChannelHandle channel : channels_) {
            const mcap::Timestamp t = now_ns();
            pipeline.push(channel, t, t, sequence, data_);
          }
        }) {}
  void stop() { sender_.stop(); }

 private:
  const std::vector<ChannelHandle> channels_;
  const mcap::Bytes data_ = test_support::payload(7, 200);
  test_support::PeriodicThread sender_;  // last: stops before the rest goes
};

std::vector<std::string> files_named(const std::string& directory, const std::string& part) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    const std::string name = entry.path().filename().string();
    if (name.find(part) != std::string::npos && name.ends_with(".mcap")) {
      found.push_back(entry.path().string());
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::vector<std::string> continuous_files(const std::string& directory) {
  std::vector<std::string> found;
  for (const std::string& path : files_named(directory, "rec_")) {
    if (path.find("_event_") == std::string::npos) found.push_back(path);
  }
  return found;
}

struct Window {
  mcap::Timestamp start = 0;
  mcap::Timestamp end = 0;
};

// Every message of `all` inside the window is in `file`, and nothing of it lies further than
// one chunk_max_age (plus scheduling slack) outside the window.
void expect_window_exact(const FileContents& file, const std::vector<testing::ReadMessage>& all,
                         Window window, uint16_t channel) {
  std::set<mcap::Timestamp> in_file;
  for (const auto& message : file.messages) {
    if (message.channel_id != channel) continue;
    in_file.insert(message.log_time);
    const auto margin = static_cast<mcap::Timestamp>(
        std::chrono::nanoseconds(kChunkMaxAge + std::chrono::milliseconds(150)).count());
    EXPECT_GE(message.log_time + margin, window.start);
    EXPECT_LE(message.log_time, window.end + margin);
  }
  size_t inside = 0;
  for (const auto& message : all) {
    if (message.channel_id != channel) continue;
    if (message.log_time < window.start || message.log_time > window.end) continue;
    ++inside;
    EXPECT_TRUE(in_file.count(message.log_time)) << "missing message at " << message.log_time;
  }
  EXPECT_GT(inside, 10u);
}

TEST(PipelineEventsTest, EventFileHoldsTheWindowAndOnEventChannelsOnlyThere) {
  ScratchDir dir;
  auto started = Pipeline::start(event_options(dir.path()));
  ASSERT_TRUE(started.ok()) << started.error().to_string();
  Pipeline& pipeline = **started;
  const ChannelHandle always = *pipeline.declare_channel(spec("/always", false));
  const ChannelHandle camera = *pipeline.declare_channel(spec("/camera", true));
  Producer producer(pipeline, {always, camera}, std::chrono::microseconds(2000));
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EventRequest request;
  request.name = "brake";
  request.before = std::chrono::milliseconds(400);
  request.after = std::chrono::milliseconds(300);
  request.fields["driver"] = "ann";
  base::Result<EventState> marked = pipeline.mark_event(request);
  ASSERT_TRUE(marked.ok()) << marked.error().to_string();
  EXPECT_EQ(pipeline.event(marked->id)->phase, EventPhase::kWaiting);
  ASSERT_TRUE(testing::eventually(
      [&] { return pipeline.event(marked->id)->phase == EventPhase::kFinalized; },
      std::chrono::seconds(10)));
  producer.stop();
  ASSERT_TRUE(pipeline.stop().ok());

  const EventState state = *pipeline.event(marked->id);
  EXPECT_TRUE(state.file.find("rec_event_brake_") != std::string::npos) << state.file;
  const FileContents event = read_file(state.file);
  ASSERT_EQ(event.error, "");
  const mcap::Metadata* record = event.find_metadata("mcaprec.event");
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->metadata.at("name"), "brake");
  EXPECT_EQ(record->metadata.at("trigger"), "control");
  EXPECT_EQ(record->metadata.at("field.driver"), "ann");

  std::vector<testing::ReadMessage> everything;
  const std::vector<std::string> continuous = continuous_files(dir.path());
  ASSERT_FALSE(continuous.empty());
  for (const std::string& path : continuous) {
    const FileContents file = read_file(path);
    ASSERT_EQ(file.error, "");
    for (const auto& message : file.messages) {
      EXPECT_EQ(file.channels.at(message.channel_id).topic, "/always");
      everything.push_back(message);
    }
    ASSERT_NE(file.find_metadata("mcaprec.event"), nullptr) << "the continuous file notes it";
  }
  const Window window{state.window_start, state.window_end};
  expect_window_exact(event, everything, window, record_id(always.id()));
  // The camera is in no continuous file: every message of it the window covers must be in the
  // event file, at the pace it was pushed (one per 2 ms, so at least half as many as /always).
  size_t camera_messages = 0;
  for (const auto& message : event.messages)
    camera_messages += message.channel_id == record_id(camera.id());
  size_t always_messages = 0;
  for (const auto& message : event.messages)
    always_messages += message.channel_id == record_id(always.id());
  EXPECT_GE(camera_messages * 2, always_messages);
  EXPECT_EQ(event.channels.at(record_id(camera.id())).topic, "/camera");
  const PipelineStats stats = pipeline.stats();
  ASSERT_TRUE(stats.events.has_value());
  EXPECT_EQ(stats.events->events_marked, 1u);
  EXPECT_EQ(stats.events->files_finalized, 1u);
  for (const ChannelStats& channel : stats.channels) {
    EXPECT_EQ(channel.received, channel.written + channel.dropped_total()) << channel.topic;
  }
}

TEST(PipelineEventsTest, OverlappingEventsExtendOneFile) {
  ScratchDir dir;
  auto started = Pipeline::start(event_options(dir.path()));
  ASSERT_TRUE(started.ok());
  Pipeline& pipeline = **started;
  const ChannelHandle always = *pipeline.declare_channel(spec("/always", false));
  Producer producer(pipeline, {always}, std::chrono::microseconds(2000));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EventRequest request;
  request.name = "first";
  request.before = std::chrono::milliseconds(200);
  request.after = std::chrono::milliseconds(300);
  const uint64_t first = pipeline.mark_event(request)->id;
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  request.name = "second";
  const uint64_t second = pipeline.mark_event(request)->id;
  ASSERT_TRUE(
      testing::eventually([&] { return pipeline.event(second)->phase == EventPhase::kFinalized; },
                          std::chrono::seconds(10)));
  producer.stop();
  ASSERT_TRUE(pipeline.stop().ok());
  EXPECT_EQ(pipeline.event(first)->file, pipeline.event(second)->file);
  EXPECT_EQ(files_named(dir.path(), "_event_").size(), 1u);
  const FileContents event = read_file(pipeline.event(first)->file);
  ASSERT_EQ(event.error, "");
  size_t records = 0;
  for (const mcap::Metadata& metadata : event.metadata) records += metadata.name == "mcaprec.event";
  EXPECT_EQ(records, 2u);
  std::set<mcap::Timestamp> seen;
  for (const auto& message : event.messages) {
    EXPECT_TRUE(seen.insert(message.log_time).second) << "a message twice";
  }
  EXPECT_EQ(pipeline.stats().events->events_merged, 1u);
}

TEST(PipelineEventsTest, SpilledRingStillGivesCompleteEventFiles) {
  ScratchDir dir;
  PipelineOptions options = event_options(dir.path());
  options.events.memory_bytes = 32 << 10;  // two chunks: nearly everything goes to the spool
  options.events.spool_bytes = 64 << 20;
  auto started = Pipeline::start(options);
  ASSERT_TRUE(started.ok());
  Pipeline& pipeline = **started;
  EXPECT_TRUE(std::filesystem::exists(dir / "rec_lookback.spool"));
  const ChannelHandle always = *pipeline.declare_channel(spec("/always", false));
  Producer producer(pipeline, {always}, std::chrono::microseconds(1000));
  std::this_thread::sleep_for(std::chrono::milliseconds(900));
  EventRequest request;
  request.name = "spilled";
  request.before = std::chrono::milliseconds(600);
  request.after = std::chrono::milliseconds(100);
  const EventState marked = *pipeline.mark_event(request);
  ASSERT_TRUE(testing::eventually(
      [&] { return pipeline.event(marked.id)->phase == EventPhase::kFinalized; },
      std::chrono::seconds(10)));
  producer.stop();
  ASSERT_TRUE(pipeline.stop().ok());
  const PipelineStats stats = pipeline.stats();
  EXPECT_GT(stats.events->ring.chunks_spilled, 0u);
  EXPECT_EQ(stats.events->chunks_missed, 0u);
  const EventState state = *pipeline.event(marked.id);
  const FileContents event = read_file(state.file);
  ASSERT_EQ(event.error, "");
  std::vector<testing::ReadMessage> everything;
  for (const std::string& path : continuous_files(dir.path())) {
    const FileContents file = read_file(path);
    everything.insert(everything.end(), file.messages.begin(), file.messages.end());
  }
  expect_window_exact(event, everything, Window{state.window_start, state.window_end},
                      record_id(always.id()));
  EXPECT_FALSE(std::filesystem::exists(dir / "rec_lookback.spool")) << "removed at stop";
}

TEST(PipelineEventsTest, TopicRuleFiresOncePerMinInterval) {
  ScratchDir dir;
  PipelineOptions options = event_options(dir.path());
  options.events.triggers.push_back(
      events::TriggerRule{"/disengage", "disengagement", std::chrono::milliseconds(200),
                          std::chrono::milliseconds(100), std::chrono::seconds(30)});
  auto started = Pipeline::start(options);
  ASSERT_TRUE(started.ok());
  Pipeline& pipeline = **started;
  const ChannelHandle trigger = *pipeline.declare_channel(spec("/disengage", false));
  const mcap::Bytes data = test_support::payload(1, 10);
  for (uint32_t i = 0; i < 5; ++i) pipeline.push(trigger, now_ns(), now_ns(), i, data);
  ASSERT_TRUE(testing::eventually([&] {
    const std::vector<EventState> events = pipeline.events();
    return !events.empty() && events.front().phase == EventPhase::kFinalized;
  }));
  ASSERT_TRUE(pipeline.stop().ok());
  const std::vector<EventState> events = pipeline.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].request.trigger, EventTrigger::kRule);
  EXPECT_EQ(events[0].request.trigger_detail, "/disengage");
  const FileContents event = read_file(events[0].file);
  ASSERT_EQ(event.error, "");
  EXPECT_EQ(event.messages.size(), 5u);
}

TEST(PipelineEventsTest, MarksAreRefusedWithoutEventsAndForBadNames) {
  ScratchDir dir;
  PipelineOptions options = event_options(dir.path());
  options.events.enabled = false;
  auto plain = Pipeline::start(options);
  ASSERT_TRUE(plain.ok());
  EventRequest request;
  request.name = "x";
  EXPECT_FALSE((*plain)->mark_event(request).ok());
  ASSERT_TRUE((*plain)->stop().ok());

  ScratchDir dir2;
  auto with_events = Pipeline::start(event_options(dir2.path()));
  ASSERT_TRUE(with_events.ok());
  request.name = "../etc";
  base::Result<EventState> refused = (*with_events)->mark_event(request);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("invalid event name"), std::string::npos);
  ASSERT_TRUE((*with_events)->stop().ok());
}

// Counts the unlinks of event files, and does every call for real.
class CountingFileSystem final : public test_support::PassThroughFileSystem {
 public:
  int unlink(const std::string& path) override {
    if (path.find("_event_") != std::string::npos) event_unlinks.fetch_add(1);
    return posix().unlink(path);
  }

  std::atomic<uint64_t> event_unlinks{0};
};

// An event quota of one byte (every event file but the newest goes) and a rule that marks an
// event "quota" on any message of /trigger.
void with_quota_rule(PipelineOptions& options) {
  options.events.max_total_bytes = 1;
  options.events.triggers.push_back(events::TriggerRule{
      "/trigger", "quota", std::chrono::milliseconds(10), std::chrono::nanoseconds(0), {}});
}

// Fires `count` events through `trigger`, each with a log time long past, so that its window is
// over at once, and waits until each one's file is finalized.
void fire_past_events(Pipeline& pipeline, ChannelHandle trigger, uint32_t count) {
  const mcap::Bytes data = test_support::payload(1, 10);
  for (uint32_t i = 0; i < count; ++i) {
    const mcap::Timestamp t = mcap::Timestamp{1'000'000'000} * (i + 1);
    pipeline.push(trigger, t, t, i, data);
    ASSERT_TRUE(testing::eventually([&] {
      const std::vector<EventState> events = pipeline.events();
      return events.size() == i + 1 && events.back().phase == EventPhase::kFinalized;
    }));
  }
}

// The event quota deletes the oldest event files, through the recorder's FileSystem (so that a
// power cut during it is simulated like any other delete), and keeps the newest.
TEST(PipelineEventsTest, EventQuotaDeletesThroughTheFileSystem) {
  ScratchDir dir;
  PipelineOptions options = event_options(dir.path());
  auto file_system = std::make_shared<CountingFileSystem>();
  options.file_system = file_system;
  with_quota_rule(options);
  auto started = Pipeline::start(options);
  ASSERT_TRUE(started.ok());
  Pipeline& pipeline = **started;
  const ChannelHandle trigger = *pipeline.declare_channel(spec("/trigger", false));
  constexpr uint32_t kEvents = 4;
  ASSERT_NO_FATAL_FAILURE(fire_past_events(pipeline, trigger, kEvents));
  ASSERT_TRUE(pipeline.stop().ok());
  const PipelineStats stats = pipeline.stats();
  EXPECT_EQ(stats.events->files_deleted, kEvents - 1);
  EXPECT_EQ(file_system->event_unlinks.load(), kEvents - 1);
  EXPECT_EQ(files_named(dir.path(), "_event_").size(), 1u);
}

// Event files waiting for upload are not deleted by the event quota: it yields until they are
// uploaded (the upload queue's predicate, here: the first two events' files are pending).
TEST(PipelineEventsTest, EventQuotaKeepsFilesWaitingForUpload) {
  ScratchDir dir;
  PipelineOptions options = event_options(dir.path());
  with_quota_rule(options);
  std::mutex mu;
  std::vector<std::string> pending;  // the first two event files finished
  options.on_file_finished = [&](const storage::FinishedFile& file) {
    std::lock_guard lock(mu);
    if (file.path.find("_event_") != std::string::npos && pending.size() < 2)
      pending.push_back(file.path);
  };
  options.upload_pending = [&](const std::string& path) {
    std::lock_guard lock(mu);
    return std::find(pending.begin(), pending.end(), path) != pending.end();
  };
  auto started = Pipeline::start(options);
  ASSERT_TRUE(started.ok());
  Pipeline& pipeline = **started;
  const ChannelHandle trigger = *pipeline.declare_channel(spec("/trigger", false));
  constexpr uint32_t kEvents = 4;
  ASSERT_NO_FATAL_FAILURE(fire_past_events(pipeline, trigger, kEvents));
  ASSERT_TRUE(pipeline.stop().ok());
  // The third went for the quota; the two pending ones and the newest stay.
  EXPECT_EQ(pipeline.stats().events->files_deleted, 1u);
  EXPECT_EQ(files_named(dir.path(), "_event_").size(), 3u);
  std::lock_guard lock(mu);
  for (const std::string& path : pending) EXPECT_TRUE(std::filesystem::exists(path)) << path;
}

}  // namespace
}  // namespace mcaprec::pipeline
