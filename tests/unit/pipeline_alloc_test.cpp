// No heap allocation per message in steady state: every operator new in this binary is
// counted, and pushing many messages through a warmed-up pipeline (producers, compressors and
// writer all running) may allocate only per chunk, never per message.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <thread>
#include <vector>

#include "pipeline/pipeline.hpp"
#include "pipeline_test_support.hpp"

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

// These replace the global allocation functions as a matched set (malloc/free underneath),
// which GCC cannot see once it inlines them.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace mcaprec::pipeline {
namespace {

TEST(PipelineAllocationTest, SteadyStatePushesDoNotAllocatePerMessage) {
  testing::ScratchDir dir;
  PipelineOptions options;
  options.directory = dir.path();
  options.chunk_size = 64 << 10;
  options.compressor_threads = 2;
  options.max_bytes = 0;
  options.default_overflow = OverflowPolicy::kBlock;
  auto pipeline = Pipeline::start(options);
  ASSERT_TRUE(pipeline.ok());
  std::vector<ChannelHandle> channels;
  for (const char* topic : {"/imu", "/can", "/gps"}) {
    ChannelSpec spec;
    spec.topic = topic;
    channels.push_back(*(*pipeline)->declare_channel(spec));
  }
  std::vector<uint8_t> payload(100, 7);
  auto push_many = [&](uint32_t count, uint32_t first) {
    std::vector<std::thread> producers;
    for (uint32_t p = 0; p < 2; ++p) {
      producers.emplace_back([&, p] {
        for (uint32_t i = 0; i < count; ++i) {
          const uint32_t n = first + i;
          ASSERT_TRUE((*pipeline)->push(channels[(n + p) % 3], n, n, n, payload).ok());
        }
      });
    }
    for (std::thread& t : producers) t.join();
  };
  push_many(20000, 0);  // warm-up: pools, rings and vectors reach their working sizes
  ASSERT_TRUE(testing::eventually([&] { return (*pipeline)->stats().in_flight_bytes == 0; }));

  constexpr uint32_t kMeasured = 50000;  // per producer
  const uint64_t before = g_allocations.load();
  push_many(kMeasured, 20000);
  ASSERT_TRUE(testing::eventually([&] { return (*pipeline)->stats().in_flight_bytes == 0; }));
  const uint64_t allocations = g_allocations.load() - before;
  ASSERT_TRUE((*pipeline)->stop().ok());

  const double per_message = double(allocations) / (2.0 * kMeasured);
  std::printf("steady state: %llu allocations for %u messages (%.4f per message)\n",
              static_cast<unsigned long long>(allocations), 2 * kMeasured, per_message);
  // ~490 messages per chunk here: a few dozen allocations per chunk (index maps, chunk index
  // entries) stay far below one per ten messages.
  EXPECT_LT(per_message, 0.1) << allocations << " allocations for " << 2 * kMeasured << " messages";
}

}  // namespace
}  // namespace mcaprec::pipeline
