// The event recorder with its own thread, ring and spool: an event marked while the event thread
// is busy still gets every message of its window (the ring keeps what marked events need past
// its look-back), and what the ring could not hold is counted, in the event's state and in its
// file. The event thread is made busy for as long as the test wants by holding it in the open
// of the event file.
#include "events/event_recorder.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <set>

#include "pass_through_file_system.hpp"
#include "pipeline_test_support.hpp"
#include "scratch_dir.hpp"

namespace mcaprec::events {
namespace {

using pipeline::testing::FileContents;
using pipeline::testing::read_file;
using pipeline::testing::ReadMessage;
using test_support::ScratchDir;

constexpr mcap::Timestamp kMs = 1'000'000;
constexpr mcap::Timestamp kSecond = 1000 * kMs;
// Far in the future, so that no event file closes by the wall clock: finish() closes it.
const mcap::Timestamp kT0 = (uint64_t{4'000'000'000} * kSecond);

// Two channels, like two compression lanes: small lz4 chunks often, raw chunks less often.
class TwoChannels : public storage::RecordingSource {
 public:
  TwoChannels() {
    channels_[0] = mcap::Channel{1, 0, "/small", "raw", {}};
    channels_[1] = mcap::Channel{2, 0, "/raw", "raw", {}};
  }
  Declaration declaration(uint16_t id) const override {
    if (id < 1 || id > 2) return {};
    return {&channels_[id - 1], nullptr};
  }
  void declared_channels(std::vector<const mcap::Channel*>& out) const override {
    out = {&channels_[0], &channels_[1]};
  }
  mcap::Metadata session_stats() const override { return {"mcaprec.stats", {}}; }

 private:
  mcap::Channel channels_[2];
};

// POSIX, except that opening an event file waits while the gate is closed.
class GatedFileSystem : public test_support::PassThroughFileSystem {
 public:
  void close_gate() { set_open(false); }
  void open_gate() { set_open(true); }
  // Until the event thread waits at the gate (false after `limit`).
  bool wait_for_waiter(std::chrono::seconds limit) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, limit, [&] { return waiting_; });
  }

  int open(const std::string& path, int flags, mode_t mode) override {
    if (path.find("_event_") != std::string::npos) {
      std::unique_lock lock(mu_);
      waiting_ = true;
      changed_.notify_all();
      changed_.wait(lock, [&] { return open_; });
      waiting_ = false;
    }
    return posix().open(path, flags, mode);
  }

 private:
  void set_open(bool open) {
    std::lock_guard lock(mu_);
    open_ = open;
    changed_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable changed_;
  bool open_ = true;
  bool waiting_ = false;
};

// Feeds the recorder as the ordered writer would: channel 1 a chunk of 4 messages every 10 ms,
// channel 2 one of 2 messages every 50 ms (stored raw), by log time; remembers every message.
class Feed {
 public:
  explicit Feed(EventRecorder& recorder) : recorder_(recorder) {}

  // Chunks whose messages lie in [from, to), oldest first; with `paced`, waits before each
  // while the ring is over its memory bound (the event thread spills meanwhile), as a writer
  // at a rate the spool keeps up with.
  void run(mcap::Timestamp from, mcap::Timestamp to, bool paced) {
    for (mcap::Timestamp t = from; t < to; t += 10 * kMs) {
      if (paced) wait_for_spill();
      keep(1, t, 4, 2500 * 1000, mcap::Compression::kLz4);
      if ((t - from) % (50 * kMs) == 40 * kMs) {
        keep(2, t - 40 * kMs, 2, 25 * kMs, mcap::Compression::kNone);
      }
    }
  }
  const std::vector<std::pair<uint16_t, mcap::Timestamp>>& sent() const { return sent_; }

 private:
  void keep(uint16_t channel, mcap::Timestamp start, int count, mcap::Timestamp step,
            mcap::Compression compression) {
    mcap::ChunkBuilder builder;
    for (int i = 0; i < count; ++i) {
      const mcap::Timestamp t = start + static_cast<mcap::Timestamp>(i) * step;
      const mcap::Bytes data =
          test_support::payload(static_cast<uint32_t>(t / kMs), 250, test_support::Filler::kNoise);
      builder.add_message(mcap::Message{channel, sequence_++, t, t, data});
      sent_.emplace_back(channel, t);
    }
    mcap::ChunkEncodeOptions options;
    options.compression = compression;
    mcap::EncodedChunk chunk;
    ASSERT_TRUE(mcap::encode_chunk(builder, options, compressor_, chunk));
    recorder_.keep(chunk, channel == 2);
  }
  void wait_for_spill() {
    for (int i = 0; i < 2000; ++i) {
      const RingStats ring = recorder_.stats().ring;
      if (ring.memory_bytes <= kMemoryBytes) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

 public:
  static constexpr uint64_t kMemoryBytes = 160 << 10;

 private:
  EventRecorder& recorder_;
  mcap::Compressor compressor_;
  uint32_t sequence_ = 0;
  std::vector<std::pair<uint16_t, mcap::Timestamp>> sent_;
};

struct Recording {
  ScratchDir dir{"event-recorder"};
  TwoChannels channels;
  std::shared_ptr<GatedFileSystem> file_system = std::make_shared<GatedFileSystem>();

  EventRecorder make(uint64_t spool_bytes) {
    EventOptions options;
    options.enabled = true;
    options.look_back = std::chrono::seconds(1);
    options.memory_bytes = Feed::kMemoryBytes;
    options.spool_bytes = spool_bytes;
    EventFileOptions files;
    files.directory = dir.path();
    files.prefix = "rec";
    files.file.file_system = file_system;
    files.close_delay = std::chrono::seconds(1);
    return EventRecorder(options, files, channels);
  }
};

EventRequest request(std::chrono::seconds before, std::chrono::seconds after) {
  EventRequest out;
  out.name = "late";
  out.before = before;
  out.after = after;
  return out;
}

std::string only_event_file(const std::string& directory) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    const std::string name = entry.path().filename().string();
    if (name.find("_event_") != std::string::npos && name.ends_with(".mcap")) {
      found.push_back(entry.path().string());
    }
  }
  return found.size() == 1 ? found[0] : "";
}

// The event is marked with 1 s of look-back at 2 s; the event thread then stays busy (held in
// the event file's open) while 1 s more arrives, so that by the look-back alone the ring would
// let the first second of the window go before the event could take it. The rest of the
// window (2 s of look-ahead) and 1 s beyond arrive at a pace the spill keeps up with.
TEST(EventRecorderTest, AnEventMarkedWhileTheEventThreadIsBusyGetsItsWholeWindow) {
  Recording setup;
  EventRecorder recorder = setup.make(64 << 20);
  ASSERT_TRUE(recorder.start());
  Feed feed(recorder);
  feed.run(kT0, kT0 + 2 * kSecond, true);

  setup.file_system->close_gate();
  const mcap::Timestamp trigger = kT0 + 2 * kSecond;
  base::Result<EventState> marked =
      recorder.mark(request(std::chrono::seconds(1), std::chrono::seconds(2)), trigger);
  ASSERT_TRUE(marked);
  ASSERT_TRUE(setup.file_system->wait_for_waiter(std::chrono::seconds(10)));
  feed.run(kT0 + 2 * kSecond, kT0 + 3 * kSecond, false);
  setup.file_system->open_gate();
  feed.run(kT0 + 3 * kSecond, kT0 + 5 * kSecond, true);
  recorder.finish();

  const EventStats stats = recorder.stats();
  EXPECT_GT(stats.ring.chunks_spilled, 100u);  // the window was mostly read back from the spool
  EXPECT_EQ(stats.ring.chunks_not_held, 0u);
  EXPECT_EQ(stats.chunks_missed, 0u);
  const std::optional<EventState> state = recorder.event(marked->id);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->phase, EventPhase::kFinalized);
  EXPECT_EQ(state->chunks_missing, 0u);

  const std::string path = only_event_file(setup.dir.path());
  ASSERT_FALSE(path.empty());
  const FileContents file = read_file(path);
  ASSERT_EQ(file.error, "");
  std::set<std::pair<uint16_t, mcap::Timestamp>> in_file;
  for (const ReadMessage& m : file.messages) in_file.emplace(m.channel_id, m.log_time);
  // Every message inside the window; nothing beyond one chunk (at most 40 ms) of its edges.
  const mcap::Timestamp start = marked->window_start;
  const mcap::Timestamp end = marked->window_end;
  size_t inside = 0;
  size_t missing = 0;
  mcap::Timestamp first_missing = 0;
  for (const auto& [channel, time] : feed.sent()) {
    if (time < start || time > end) continue;
    ++inside;
    if (in_file.count({channel, time}) != 0) continue;
    if (missing++ == 0) first_missing = time;
  }
  EXPECT_GT(inside, 1000u);
  EXPECT_EQ(missing, 0u) << "of " << inside << " messages in the window; the first missing at "
                         << double(first_missing - start) / kSecond << " s into it";
  for (const auto& [channel, time] : in_file) {
    EXPECT_GE(time + 40 * kMs, start);
    EXPECT_LE(time, end + 40 * kMs);
  }
  EXPECT_EQ(file.find_metadata("mcaprec.event_incomplete"), nullptr);
}

// Without a spool, memory is the bound: what arrives while the event thread is held beyond it
// is let go, counted by the ring, and the event's state and file say how much of the window
// is missing.
TEST(EventRecorderTest, WhatTheRingCannotHoldOfAWindowIsCountedAndTheFileSaysSo) {
  Recording setup;
  EventRecorder recorder = setup.make(0);
  ASSERT_TRUE(recorder.start());
  Feed feed(recorder);
  feed.run(kT0, kT0 + kSecond, false);

  setup.file_system->close_gate();
  base::Result<EventState> marked =
      recorder.mark(request(std::chrono::seconds(1), std::chrono::seconds(1)), kT0 + kSecond);
  ASSERT_TRUE(marked);
  ASSERT_TRUE(setup.file_system->wait_for_waiter(std::chrono::seconds(10)));
  feed.run(kT0 + kSecond, kT0 + 2 * kSecond, false);  // over 160 KiB: the oldest go
  setup.file_system->open_gate();
  recorder.finish();

  const EventStats stats = recorder.stats();
  ASSERT_GT(stats.ring.chunks_not_held, 0u);
  EXPECT_GT(stats.chunks_missed, 0u);
  EXPECT_LE(stats.chunks_missed, stats.ring.chunks_not_held);
  const std::optional<EventState> state = recorder.event(marked->id);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->chunks_missing, stats.chunks_missed);

  const std::string path = only_event_file(setup.dir.path());
  ASSERT_FALSE(path.empty());
  const FileContents file = read_file(path);
  ASSERT_EQ(file.error, "");
  const mcap::Metadata* incomplete = file.find_metadata("mcaprec.event_incomplete");
  ASSERT_NE(incomplete, nullptr);
  EXPECT_EQ(incomplete->metadata.at("chunks_missing"), std::to_string(stats.chunks_missed));
}

// The writer may run seconds behind the wall clock (full queues at a high rate): an event file
// stays open until the chunks the ring gets are past its window, not only the wall clock.
TEST(EventRecorderTest, AFileWaitsForTheEndOfItsWindowFromAWriterRunningBehind) {
  Recording setup;
  EventRecorder recorder = setup.make(64 << 20);  // close_delay 1 s
  ASSERT_TRUE(recorder.start());
  const auto now =
      static_cast<mcap::Timestamp>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
  // By the wall clock the window [now - 3 s, now - 1 s] and its close delay are over.
  const mcap::Timestamp start = now - 3 * kSecond;
  Feed feed(recorder);
  feed.run(start - kSecond, start + kSecond, true);
  base::Result<EventState> marked =
      recorder.mark(request(std::chrono::seconds(1), std::chrono::seconds(1)), start + kSecond);
  ASSERT_TRUE(marked);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  feed.run(start + kSecond, start + 3500 * kMs, true);  // the rest, late, and 1.5 s beyond
  for (int i = 0; i < 200 && recorder.event(marked->id)->phase != EventPhase::kFinalized; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(recorder.event(marked->id)->phase, EventPhase::kFinalized);
  recorder.finish();

  const FileContents file = read_file(only_event_file(setup.dir.path()));
  ASSERT_EQ(file.error, "");
  mcap::Timestamp last = 0;
  for (const ReadMessage& m : file.messages) last = std::max(last, m.log_time);
  EXPECT_GE(last, marked->window_end - 10 * kMs);
  EXPECT_EQ(recorder.event(marked->id)->chunks_missing, 0u);
}

}  // namespace
}  // namespace mcaprec::events
