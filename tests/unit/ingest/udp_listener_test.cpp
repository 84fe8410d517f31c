// The UDP receive path end to end: real sockets on 127.0.0.1, a real pipeline writing to a
// scratch directory, the file read back. Senders that batch with UDP_SEGMENT (GSO) make the
// kernel hand the listener several datagrams in one buffer when coalescing (UDP_GRO) is on;
// every datagram must still come out on its own, byte-exact, in order, and be counted.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "ingest/ingest_server.hpp"
#include "ingest_test_support.hpp"
#include "mcap/bytes.hpp"
#include "mcap/serialize.hpp"
#include "payload.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline_test_support.hpp"

namespace mcaprec::ingest {
namespace {

using pipeline::testing::eventually;
using pipeline::testing::FileContents;
using testing::record;
using testing::UdpSender;
using namespace std::chrono_literals;

// The largest payload one IPv4 UDP datagram can carry.
constexpr size_t kLargestIpv4Payload = 65507;

config::Source udp_source(config::SourceFormat format) {
  return testing::udp_source("in", format);
}

// One source on a pipeline of 64 KiB chunks, read by one ingest thread.
class Listening : public testing::IngestRecording {
 public:
  Listening(const config::Source& source, const IngestOptions& ingest)
      : IngestRecording(testing::ingest_config({source}, {}, 1),
                        testing::small_chunk_options(64 * 1024, 0), ingest, Disk::kDirect) {}

  bool received(uint64_t datagrams) {
    return eventually([&] { return source(0).datagrams == datagrams; });
  }
};

using test_support::payload;

std::vector<mcap::Bytes> payloads_in_file_order(const FileContents& contents) {
  std::vector<mcap::Bytes> out;
  for (const auto& message : contents.messages) out.push_back(message.data);
  return out;
}

// Coalescing on with recvmmsg and with recvmsg, and off (`coalesce: false`).
IngestOptions receive_mode(int mode) {
  IngestOptions options;
  options.batched_receive = mode != 1;
  return options;
}
config::Source in_mode(config::Source source, int mode) {
  source.coalesce = mode != 2;
  return source;
}

std::string receive_mode_name(const ::testing::TestParamInfo<int>& param) {
  const char* names[] = {"coalescing_recvmmsg", "coalescing_recvmsg", "one_by_one"};
  return names[param.param];
}

class UdpReceive : public ::testing::TestWithParam<int> {};

TEST_P(UdpReceive, EveryDatagramOfABatchingSenderIsItsOwnMessageInOrder) {
  Listening listening(in_mode(udp_source(config::SourceFormat::kRaw), GetParam()),
                      receive_mode(GetParam()));
  UdpSender sender(listening.port(0));
  std::vector<mcap::Bytes> sent;
  for (uint32_t batch = 0; batch < 3; ++batch) {
    std::vector<mcap::Bytes> datagrams;
    for (uint32_t i = 0; i < 20; ++i) datagrams.push_back(payload(batch * 100 + i, 1200));
    datagrams.push_back(payload(batch * 100 + 20, 500));  // a shorter last one
    sender.send_batch(datagrams);
    sent.insert(sent.end(), datagrams.begin(), datagrams.end());
  }
  sender.send(payload(999, 1200));  // and one on its own
  sent.push_back(payload(999, 1200));
  ASSERT_TRUE(listening.received(sent.size()));
  const SourceStats stats = listening.source(0);
  EXPECT_EQ(stats.messages, sent.size());
  EXPECT_EQ(stats.bytes, 3 * (20 * 1200 + 500) + 1200u);
  EXPECT_EQ(stats.kernel_drops, 0u);

  const FileContents contents = listening.finish();
  EXPECT_EQ(payloads_in_file_order(contents), sent);
  for (size_t i = 0; i < contents.messages.size(); ++i) {
    EXPECT_EQ(contents.messages[i].sequence, i);  // numbered in arrival order
  }
}

// What the receive buffer cannot hold, the kernel drops. Without coalescing it counts each
// datagram; with it, a dropped buffer counts once in kernel_drops, and kernel_dropped_datagrams
// says how many datagrams that was (exact here: every burst of the sender is alike). Either way
// every datagram sent is received or counted as dropped.
TEST_P(UdpReceive, DatagramsTheKernelDroppedAreCountedOneByOne) {
  config::Source source = in_mode(udp_source(config::SourceFormat::kRaw), GetParam());
  source.receive_buffer = 1;  // raised to the kernel's minimum: about one burst fits
  Listening listening(source, receive_mode(GetParam()));
  UdpSender sender(listening.port(0));
  constexpr uint64_t kBurst = 16;
  const std::vector<mcap::Bytes> burst(kBurst, payload(7, 1000));
  uint64_t sent = 0;
  for (int i = 0; i < 300; ++i, sent += kBurst) sender.send_batch(burst);
  // Once the flood is read, a burst sent to an idle listener carries the kernel's final count;
  // without coalescing a burst overflows the buffer again, so a single datagram does.
  const bool coalescing = GetParam() != 2;
  auto settled = [&] {
    const SourceStats stats = listening.source(0);
    return stats.datagrams + stats.kernel_dropped_datagrams == sent;
  };
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!settled() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    if (coalescing) {
      sender.send_batch(burst);
      sent += kBurst;
    } else {
      sender.send(burst[0]);
      sent += 1;
    }
  }
  const SourceStats stats = listening.source(0);
  ASSERT_TRUE(settled()) << "sent " << sent << ", received " << stats.datagrams
                         << ", counted as dropped " << stats.kernel_dropped_datagrams
                         << " (kernel_drops " << stats.kernel_drops << ")";
  EXPECT_GT(stats.kernel_drops, 0u);
  EXPECT_EQ(stats.kernel_dropped_datagrams, stats.kernel_drops * (coalescing ? kBurst : 1));
  EXPECT_EQ(listening.finish().messages.size(), stats.datagrams);
}

TEST_P(UdpReceive, TheLargestAndTheEmptyDatagramArriveWhole) {
  Listening listening(in_mode(udp_source(config::SourceFormat::kRaw), GetParam()),
                      receive_mode(GetParam()));
  UdpSender sender(listening.port(0));
  const std::vector<mcap::Bytes> sent = {payload(1, kLargestIpv4Payload), mcap::Bytes{},
                                         payload(2, 1), payload(3, kLargestIpv4Payload)};
  for (const mcap::Bytes& d : sent) sender.send(d);
  ASSERT_TRUE(listening.received(sent.size()));
  EXPECT_EQ(listening.source(0).messages, sent.size());
  EXPECT_EQ(payloads_in_file_order(listening.finish()), sent);
}

TEST_P(UdpReceive, OversizedDatagramsOfABatchAreEachCountedAndDropped) {
  config::Source source = udp_source(config::SourceFormat::kRaw);
  source.max_message_size = 1000;
  Listening listening(in_mode(source, GetParam()), receive_mode(GetParam()));
  UdpSender sender(listening.port(0));
  std::vector<mcap::Bytes> big;
  for (uint32_t i = 0; i < 10; ++i) big.push_back(payload(i, 1200));
  sender.send_batch(big);
  sender.send(payload(77, 1000));  // at the limit: kept
  ASSERT_TRUE(listening.received(11));
  EXPECT_EQ(listening.error_count(0, "oversized"), 10u);
  EXPECT_EQ(listening.source(0).messages, 1u);
  EXPECT_EQ(payloads_in_file_order(listening.finish()),
            std::vector<mcap::Bytes>{payload(77, 1000)});
}

TEST_P(UdpReceive, RefusedSendersAreCountedPerDatagramOfABatch) {
  config::Source source = udp_source(config::SourceFormat::kRaw);
  source.allowed_senders.push_back(config::Cidr{false, {10, 0, 0, 0}, 8});
  Listening listening(in_mode(source, GetParam()), receive_mode(GetParam()));
  UdpSender sender(listening.port(0));
  std::vector<mcap::Bytes> batch;
  for (uint32_t i = 0; i < 12; ++i) batch.push_back(payload(i, 800));
  sender.send_batch(batch);
  ASSERT_TRUE(listening.received(12));
  EXPECT_EQ(listening.error_count(0, "not_allowed"), 12u);
  EXPECT_EQ(listening.source(0).messages, 0u);
}

TEST_P(UdpReceive, McapDatagramsOfABatchAreDecodedOneByOne) {
  Listening listening(in_mode(udp_source(config::SourceFormat::kMcap), GetParam()),
                      receive_mode(GetParam()));
  UdpSender sender(listening.port(0));
  mcap::Bytes declarations = record(mcap::Schema{1, "test.Msg", "jsonschema", {'{', '}'}});
  const mcap::Bytes channel = record(mcap::Channel{1, 1, "/imu", "json", {}});
  declarations.insert(declarations.end(), channel.begin(), channel.end());
  sender.send(declarations);
  // Equal-sized datagrams of one Message record each, as a batching producer would send them.
  std::vector<mcap::Bytes> datagrams;
  std::vector<mcap::Bytes> payloads;
  for (uint32_t i = 0; i < 16; ++i) {
    payloads.push_back(payload(i, 300));
    datagrams.push_back(record(mcap::Message{1, i, 1000 + i, 2000 + i, payloads.back()}));
  }
  sender.send_batch(datagrams);
  ASSERT_TRUE(listening.received(17));
  EXPECT_EQ(listening.source(0).messages, 16u);
  EXPECT_TRUE(listening.source(0).errors.empty());
  const FileContents contents = listening.finish();
  EXPECT_EQ(payloads_in_file_order(contents), payloads);
  for (const auto& message : contents.messages) {
    EXPECT_EQ(contents.channels.at(message.channel_id).topic, "/imu");
  }
}

// --- pausing between reads of a busy source ------------------------------------------------

// Times the ingest thread ("mcaprec-in-0") of this process went to sleep so far.
uint64_t ingest_thread_sleeps() {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name != "mcaprec-in-0") continue;
    std::ifstream status(task.path() / "status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0) return std::stoull(line.substr(24));
    }
  }
  ADD_FAILURE() << "no ingest thread";
  return 0;
}

TEST(UdpBusySource, ReadsManyDatagramsPerWakeUp) {
  config::Source source = udp_source(config::SourceFormat::kRaw);
  source.receive_buffer = 64 * config::kMiB;  // room for the longest pause
  Listening listening(source, IngestOptions{});
  UdpSender sender(listening.port(0));
  sender.send(payload(0, 200));  // the ingest thread is up (and named) once this arrived
  ASSERT_TRUE(listening.received(1));
  const uint64_t sleeps_before = ingest_thread_sleeps();
  // One datagram per call, as fast as this thread can: a wake-up per arrival would be one per
  // few datagrams.
  constexpr uint32_t kCount = 40000;
  for (uint32_t i = 1; i < kCount; ++i) sender.send(payload(i, 200));
  ASSERT_TRUE(listening.received(kCount));
  const uint64_t sleeps = ingest_thread_sleeps() - sleeps_before;
  EXPECT_LT(sleeps, kCount / 20) << "the ingest thread slept " << sleeps << " times";
  EXPECT_EQ(listening.source(0).messages, kCount);
}

TEST(UdpBusySource, ABacklogLongerThanOneWakeUpIsReadWithoutFurtherTraffic) {
  config::Source source = udp_source(config::SourceFormat::kRaw);
  source.receive_buffer = 64 * config::kMiB;
  IngestOptions one_per_call;  // a wake-up reads a few datagrams: a burst leaves a backlog
  one_per_call.batched_receive = false;
  Listening listening(source, one_per_call);
  UdpSender sender(listening.port(0));
  constexpr uint32_t kCount = 5000;
  for (uint32_t i = 0; i < kCount; ++i) sender.send(payload(i, 64));
  // Nothing more is sent: the listener must come back for the rest on its own.
  EXPECT_TRUE(listening.received(kCount)) << listening.source(0).datagrams << " of " << kCount;
}

TEST(UdpBusySource, ALoneDatagramAfterABurstArrivesPromptly) {
  Listening listening(udp_source(config::SourceFormat::kRaw), IngestOptions{});
  UdpSender sender(listening.port(0));
  for (uint32_t i = 0; i < 2000; ++i) sender.send(payload(i, 100));
  ASSERT_TRUE(listening.received(2000));
  std::this_thread::sleep_for(20ms);  // the source went quiet: watched again
  const auto sent_at = std::chrono::steady_clock::now();
  sender.send(payload(2000, 100));
  ASSERT_TRUE(listening.received(2001));
  EXPECT_LT(std::chrono::steady_clock::now() - sent_at, 200ms);
}

TEST(UdpBusySource, StoppingWhileDatagramsFlowClosesTheSocket) {
  config::Source source = udp_source(config::SourceFormat::kRaw);
  source.receive_buffer = 64 * config::kMiB;
  auto listening = std::make_unique<Listening>(source, IngestOptions{});
  const uint16_t port = listening->port(0);
  std::atomic<bool> sending{true};
  std::thread flow([&] {
    UdpSender sender(port);
    for (uint32_t i = 0; sending.load(); ++i) sender.send(payload(i, 100));
  });
  ASSERT_TRUE(eventually([&] { return listening->source(0).datagrams > 10000; }));
  listening.reset();  // stops the listener, most likely within a pause
  sending = false;
  flow.join();
  // The port is free again: the socket was closed, not leaked.
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  const sockaddr_in address = testing::loopback(port);
  EXPECT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0)
      << std::strerror(errno);
  ::close(fd);
}

INSTANTIATE_TEST_SUITE_P(Modes, UdpReceive, ::testing::Values(0, 1, 2), receive_mode_name);

}  // namespace
}  // namespace mcaprec::ingest
