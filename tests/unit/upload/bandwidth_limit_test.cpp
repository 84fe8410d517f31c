// The token bucket behind upload.max_bandwidth, on a clock the test moves by hand.
#include "upload/bandwidth_limit.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace mcaprec::upload {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

struct FakeTime {
  std::chrono::steady_clock::time_point now{seconds(1000)};
  nanoseconds slept{0};

  BandwidthLimit limit(uint64_t rate, uint64_t burst) {
    return BandwidthLimit(
        rate, burst, [this] { return now; },
        [this](nanoseconds d) {
          slept += d;
          now += d;
        });
  }
};

TEST(BandwidthLimitTest, FirstBurstGoesAtOnceThenTheRateHolds) {
  FakeTime time;
  BandwidthLimit limit = time.limit(1000, 100);
  EXPECT_EQ(limit.reserve(100), nanoseconds(0));
  // The bucket is empty: 50 more bytes at 1000 B/s are 50 ms away.
  EXPECT_EQ(limit.reserve(50), milliseconds(50));
  // A second booking queues behind the first one's debt.
  EXPECT_EQ(limit.reserve(50), milliseconds(100));
}

TEST(BandwidthLimitTest, SendingForAWhileTakesSizeOverRate) {
  FakeTime time;
  BandwidthLimit limit = time.limit(4'000'000, 0);
  const uint64_t total = 28'000'000;
  for (uint64_t sent = 0; sent < total; sent += limit.max_booking()) {
    limit.acquire(limit.max_booking());
  }
  // 7 s at 4 MB/s, less the first burst that went at once.
  const double expected = 7.0 - static_cast<double>(limit.max_booking()) / 4e6;
  EXPECT_NEAR(std::chrono::duration<double>(time.slept).count(), expected, 0.001);
}

TEST(BandwidthLimitTest, AnIdleMomentRefillsNoMoreThanTheBurst) {
  FakeTime time;
  BandwidthLimit limit = time.limit(1000, 100);
  EXPECT_EQ(limit.reserve(100), nanoseconds(0));
  time.now += seconds(60);  // a minute idle earns one burst, not 60000 bytes
  EXPECT_EQ(limit.reserve(100), nanoseconds(0));
  EXPECT_EQ(limit.reserve(10), milliseconds(10));
}

TEST(BandwidthLimitTest, DebtIsPaidOffAsTimePasses) {
  FakeTime time;
  BandwidthLimit limit = time.limit(1000, 100);
  EXPECT_EQ(limit.reserve(300), milliseconds(200));
  time.now += milliseconds(200);
  EXPECT_EQ(limit.reserve(1), milliseconds(1));
}

TEST(BandwidthLimitTest, DefaultBurstIsATwentiethOfASecondAndAtLeast16KiB) {
  EXPECT_EQ(BandwidthLimit(4'000'000).max_booking(), 200'000u);
  EXPECT_EQ(BandwidthLimit(10'000).max_booking(), 16u * 1024);
}

TEST(BandwidthLimitTest, ZeroMeansNoLimit) {
  EXPECT_EQ(bandwidth_limit_for(0), nullptr);
  ASSERT_NE(bandwidth_limit_for(5000), nullptr);
  EXPECT_EQ(bandwidth_limit_for(5000)->bytes_per_second(), 5000u);
}

TEST(BandwidthLimitTest, ThreadsShareOneRate) {
  // Real clock: four threads book 20 KB each at 400 KB/s; together they take ~0.2 s, not 0.05 s.
  BandwidthLimit limit(400'000, 16 * 1024);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&limit] {
      for (int i = 0; i < 20; ++i) limit.acquire(1000);
    });
  }
  for (std::thread& thread : threads) thread.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // 80 KB, of which the 16 KiB burst is free: at least 0.15 s.
  EXPECT_GE(elapsed, 0.15);
}

}  // namespace
}  // namespace mcaprec::upload
