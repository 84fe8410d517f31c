// Pausing by request is decided by log time and is exact: a message stamped at or after the
// instant a pause returns is never recorded, one stamped at or after a resume's instant always
// is, even when it is checked while the pause or resume is still being made.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "pipeline/pause_table.hpp"

namespace mcaprec::pipeline {
namespace {

using std::chrono::milliseconds;

// A log-time clock that, when read by a change, has another thread check a message stamped at
// that very instant, and gives that check time to answer before the change goes on.
class CheckingClock {
 public:
  explicit CheckingClock(mcap::Timestamp now) : now_(now) {}

  mcap::Timestamp read() {
    checker_.emplace([this, stamped = now_] {
      answer_.store(table_->paused(nullptr, nullptr, stamped) ? 1 : 0);
    });
    for (int waited = 0; waited < 200 && answer_.load() < 0; ++waited) {
      std::this_thread::sleep_for(milliseconds(1));
    }
    answered_during_change_ = answer_.load() >= 0;
    return now_;
  }
  // The check's answer once the change is done.
  bool paused_after_change() {
    checker_->join();
    checker_.reset();
    const bool paused = answer_.exchange(-1) == 1;
    return paused;
  }

  PauseTable* table_ = nullptr;
  mcap::Timestamp now_;
  bool answered_during_change_ = false;

 private:
  std::optional<std::thread> checker_;
  std::atomic<int> answer_{-1};
};

TEST(PipelinePauseTest, AMessageStampedAsThePauseIsMadeIsNotRecorded) {
  CheckingClock clock(1'000);
  PauseTable table([&] { return clock.read(); });
  clock.table_ = &table;

  EXPECT_EQ(table.pause(PauseSelector{}), 1'000u);
  EXPECT_TRUE(clock.paused_after_change()) << "stamped at the pause's instant, yet recorded";
  EXPECT_FALSE(clock.answered_during_change_) << "the check did not wait for the pause";

  clock.now_ = 2'000;
  EXPECT_EQ(table.resume(PauseSelector{}), 2'000u);
  EXPECT_FALSE(clock.paused_after_change()) << "stamped at the resume's instant, yet not recorded";
  EXPECT_FALSE(clock.answered_during_change_) << "the check did not wait for the resume";
}

TEST(PipelinePauseTest, WindowsCoverLogTimesNotArrivals) {
  mcap::Timestamp now = 100;
  PauseTable table([&] { return now; });
  const PauseWindow* camera = table.topic("/camera");
  const PauseWindow* radar = table.source("radar");
  EXPECT_FALSE(table.ever_paused());

  EXPECT_EQ(table.pause(PauseSelector{{"/camera"}, {}}), 100u);
  EXPECT_TRUE(table.ever_paused());
  EXPECT_FALSE(table.paused(camera, radar, 99)) << "stamped before the pause";
  EXPECT_TRUE(table.paused(camera, radar, 100));
  EXPECT_FALSE(table.paused(nullptr, radar, 150)) << "another topic";

  now = 200;
  table.pause(PauseSelector{});  // everything
  now = 300;
  table.pause(PauseSelector{{"/camera"}, {}});  // already paused: keeps its start
  PauseState state = table.state();
  EXPECT_TRUE(state.everything);
  EXPECT_EQ(state.everything_since, 200u);
  ASSERT_EQ(state.topics.size(), 1u);
  EXPECT_EQ(state.topics[0].since, 100u);

  now = 400;
  table.resume(PauseSelector{});  // everything, and with it every topic and source
  EXPECT_FALSE(table.state().any());
  EXPECT_TRUE(table.paused(nullptr, nullptr, 250)) << "late, from inside the pause";
  EXPECT_TRUE(table.paused(camera, nullptr, 150)) << "late, from inside the topic's pause";
  EXPECT_FALSE(table.paused(camera, radar, 400));

  now = 500;
  table.pause(PauseSelector{{}, {"radar"}});
  EXPECT_TRUE(table.paused(nullptr, radar, 500));
  EXPECT_FALSE(table.paused(camera, nullptr, 500));
  now = 600;
  table.resume(PauseSelector{{"/camera"}, {}});  // a topic's resume leaves the source paused
  EXPECT_TRUE(table.paused(nullptr, radar, 700));
}

}  // namespace
}  // namespace mcaprec::pipeline
