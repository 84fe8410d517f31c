// When mcaprecd deserves a watchdog ping (the writer moves, or has nothing to do) and when it
// does not (work pending and the writer still, for longer than the stall bound); and the rates
// and status line derived from the counters.
#include <gtest/gtest.h>

#include "daemon/progress_watchdog.hpp"
#include "daemon/rates.hpp"

namespace mcaprec::daemon {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::seconds;

WriterProgress progress(uint64_t chunks, uint64_t pending) {
  WriterProgress p;
  p.chunks_written = chunks;
  p.bytes_written = chunks * 1000;
  p.pending_bytes = pending;
  return p;
}

TEST(DaemonWatchdogTest, PingsWhileTheWriterMovesOrIsIdle) {
  const Clock::time_point t0 = Clock::now();
  ProgressWatchdog watchdog(seconds(10), t0);
  EXPECT_TRUE(watchdog.observe(progress(0, 0), t0).ping);
  EXPECT_TRUE(watchdog.observe(progress(0, 0), t0 + seconds(60)).ping);  // idle for a minute
  EXPECT_TRUE(watchdog.observe(progress(5, 4096), t0 + seconds(61)).ping);
  EXPECT_TRUE(watchdog.observe(progress(9, 4096), t0 + seconds(80)).ping);  // moved
  EXPECT_FALSE(watchdog.stalled());
}

TEST(DaemonWatchdogTest, PendingWorkWithoutProgressStopsThePingsAfterTheBound) {
  const Clock::time_point t0 = Clock::now();
  ProgressWatchdog watchdog(seconds(10), t0);
  EXPECT_TRUE(watchdog.observe(progress(3, 0), t0).ping);
  EXPECT_TRUE(watchdog.observe(progress(3, 8192), t0 + seconds(1)).ping);
  EXPECT_TRUE(watchdog.observe(progress(3, 8192), t0 + seconds(9)).ping);  // within the bound
  EXPECT_EQ(watchdog.stalled_for(t0 + seconds(9)), seconds(9));

  const ProgressWatchdog::Verdict stall = watchdog.observe(progress(3, 8192), t0 + seconds(11));
  EXPECT_FALSE(stall.ping);
  EXPECT_TRUE(stall.stall_began);
  EXPECT_TRUE(watchdog.stalled());
  const ProgressWatchdog::Verdict still = watchdog.observe(progress(3, 9000), t0 + seconds(20));
  EXPECT_FALSE(still.ping);
  EXPECT_FALSE(still.stall_began);  // reported once

  const ProgressWatchdog::Verdict moved = watchdog.observe(progress(4, 9000), t0 + seconds(21));
  EXPECT_TRUE(moved.ping);
  EXPECT_TRUE(moved.stall_ended);
  EXPECT_FALSE(watchdog.stalled());
  EXPECT_EQ(watchdog.stalled_for(t0 + seconds(21)), seconds(0));
}

TEST(DaemonWatchdogTest, ProgressComesFromTheWriterCounters) {
  pipeline::PipelineStats stats;
  stats.writer.chunks_written = 2;
  stats.in_flight.bytes = 100;
  stats.channels.resize(2);
  stats.channels[0].queued_bytes = 10;
  stats.channels[1].queued_bytes = 5;
  EXPECT_EQ(WriterProgress::from(stats, false).pending_bytes, 100u);
  EXPECT_EQ(WriterProgress::from(stats, true).pending_bytes, 115u);
  WriterProgress later = WriterProgress::from(stats, false);
  later.files_finalized = 1;  // finishing a file is progress too
  EXPECT_FALSE(later.same_counters(WriterProgress::from(stats, false)));
}

TEST(DaemonRatesTest, RatesCoverTheWindow) {
  RateTracker tracker(seconds(5));
  const Clock::time_point t0 = Clock::now();
  Totals totals;
  tracker.add(t0, totals);
  EXPECT_EQ(tracker.rates().messages_received, 0);
  for (int s = 1; s <= 10; ++s) {
    totals.messages_received += 100 * s;  // speeding up
    totals.bytes_written += 1000;
    tracker.add(t0 + seconds(s), totals);
  }
  const Rates rates = tracker.rates();
  // Seconds 6..10 (the window) received 600+700+800+900+1000 messages.
  EXPECT_DOUBLE_EQ(rates.messages_received, 4000.0 / 5);
  EXPECT_DOUBLE_EQ(rates.bytes_written, 1000.0);
}

TEST(DaemonRatesTest, StatusLineSaysWhatIsRecorded) {
  pipeline::PipelineStats stats;
  stats.file.current_file = "/var/lib/mcaprec/recordings/rec_2026-01-01T00-00-00Z_3.mcap.active";
  stats.finalizer.files_finalized = 3;
  stats.channels.resize(1);
  stats.channels[0].dropped[size_t(pipeline::DropReason::kQueueFull)] = 7;
  Rates rates;
  rates.messages_received = 1234;
  rates.bytes_received = 5.5 * 1024 * 1024;
  rates.bytes_written = 2048;
  EXPECT_EQ(status_line(stats, rates),
            "Recording rec_2026-01-01T00-00-00Z_3.mcap.active: 1234 msg/s, 5.50 MiB/s in, "
            "2.00 KiB/s to disk, 3 files finished, 7 dropped");
}

}  // namespace
}  // namespace mcaprec::daemon
