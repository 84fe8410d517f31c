// The network listeners end to end: real sockets on 127.0.0.1 (ports chosen by the kernel),
// a real pipeline writing to a scratch directory, and the files read back.
#include "ingest/ingest_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "ingest_test_support.hpp"
#include "mcap/bytes.hpp"
#include "mcap/serialize.hpp"
#include "mcap/sink.hpp"
#include "mcap/writer.hpp"
#include "payload.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline_test_support.hpp"
#include "tcp_client.hpp"

namespace mcaprec::ingest {
namespace {

using pipeline::testing::eventually;
using pipeline::testing::FileContents;
using pipeline::testing::ScratchDir;
using testing::port_of;
using testing::record;
using testing::udp_source;
using testing::UdpSender;
using namespace std::chrono_literals;

config::Source tcp_source(const std::string& name, config::SourceFormat format) {
  config::Source source;
  source.name = name;
  source.transport = config::Transport::kTcp;
  source.bind = config::Endpoint{"127.0.0.1", 0};
  source.format = format;
  if (format == config::SourceFormat::kLengthPrefixed) {
    source.topic = "/" + name;
    source.message_encoding = "raw";
    source.timestamp = config::TimestampSource::kReceive;
  }
  return source;
}

using test_support::TcpClient;

using test_support::payload;

// The payload size of the messages whose size does not matter.
constexpr size_t kPayloadBytes = 32;

mcap::Bytes frame(const mcap::Bytes& payload) {
  mcap::Bytes out(4);
  mcap::store_le(out.data(), uint32_t(payload.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// A length-prefixed stream of `count` payloads of `payload_size` bytes, numbered from 0.
mcap::Bytes framed_payloads(uint32_t count, size_t payload_size) {
  mcap::Bytes stream;
  for (uint32_t i = 0; i < count; ++i) {
    const mcap::Bytes f = frame(payload(i, payload_size));
    stream.insert(stream.end(), f.begin(), f.end());
  }
  return stream;
}

// A channel whose producers wait while its queue of `queue_bytes` is full.
config::ChannelSettings blocking_channel(const std::string& topic, uint64_t queue_bytes) {
  config::ChannelSettings settings;
  settings.topic = topic;
  settings.queue_bytes = queue_bytes;
  settings.overflow = config::Overflow::kBlock;
  return settings;
}

mcap::Bytes concat_records(std::initializer_list<mcap::Bytes> parts) {
  mcap::Bytes out;
  for (const mcap::Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

mcap::Schema test_schema(uint16_t id) {
  return mcap::Schema{id, "test.Msg", "jsonschema", {'{', '}'}};
}

mcap::Channel test_channel(uint16_t id, uint16_t schema_id, const std::string& topic) {
  return mcap::Channel{id, schema_id, topic, "json", {}};
}

mcap::Message test_message(uint16_t channel_id, uint32_t sequence, const mcap::Bytes& data) {
  return mcap::Message{channel_id, sequence, 1000 + sequence, 2000 + sequence, data};
}

// An MCAP stream as a real producer writes it.
mcap::Bytes mcap_stream(const std::string& topic, uint32_t count, bool chunked,
                        uint32_t first = 0) {
  mcap::WriterOptions options;
  options.use_chunks = chunked;
  options.compression = mcap::Compression::kZstd;
  options.chunk_size = 4096;
  auto writer = mcap::Writer::open(std::make_unique<mcap::MemorySink>(), options);
  EXPECT_TRUE(writer.ok());
  EXPECT_TRUE((*writer)->add_schema(test_schema(1)).ok());
  EXPECT_TRUE((*writer)->add_channel(test_channel(1, 1, topic)).ok());
  for (uint32_t i = first; i < first + count; ++i) {
    const mcap::Bytes data = payload(i, kPayloadBytes);
    EXPECT_TRUE((*writer)->write_message(test_message(1, i, data)).ok());
  }
  EXPECT_TRUE((*writer)->close().ok());
  return dynamic_cast<mcap::MemorySink&>((*writer)->sink()).take();
}

// 4 KiB chunks and queue segments, written through a gate the test can close (`stall` closes
// it from the start).
class Recording : public testing::IngestRecording {
 public:
  explicit Recording(std::vector<config::Source> sources,
                     std::vector<config::ChannelSettings> channels = {}, IngestOptions options = {},
                     bool stall = false, uint32_t ingest_threads = 2)
      : IngestRecording(
            testing::ingest_config(std::move(sources), std::move(channels), ingest_threads),
            testing::small_chunk_options(4096, 4096), options,
            stall ? Disk::kStalled : Disk::kGated) {}
};

// Messages per topic, as payload -> count.
std::map<std::string, std::multiset<mcap::Bytes>> by_topic(const FileContents& contents) {
  std::map<std::string, std::multiset<mcap::Bytes>> out;
  for (const auto& message : contents.messages) {
    out[contents.channels.at(message.channel_id).topic].insert(message.data);
  }
  return out;
}

uint64_t now_ns() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count());
}

std::string batching_name(const ::testing::TestParamInfo<bool>& param) {
  return param.param ? "recvmmsg" : "recvmsg";
}

std::string chunking_name(const ::testing::TestParamInfo<bool>& param) {
  return param.param ? "zstd_chunks" : "plain";
}

class IngestRawUdp : public ::testing::TestWithParam<bool> {};

TEST_P(IngestRawUdp, EveryDatagramIsOneMessageWithTheKernelReceiveTime) {
  IngestOptions options;
  options.batched_receive = GetParam();
  Recording recording({udp_source("lidar", config::SourceFormat::kRaw)}, {}, options);
  const uint64_t before = now_ns();
  UdpSender sender(recording.port(0));
  constexpr uint32_t kCount = 300;
  for (uint32_t i = 0; i < kCount; ++i) sender.send(payload(i, 100 + i));
  ASSERT_TRUE(eventually([&] { return recording.source(0).datagrams == kCount; }));
  const uint64_t after = now_ns();
  const SourceStats stats = recording.source(0);
  EXPECT_EQ(stats.messages, kCount);
  EXPECT_EQ(stats.kernel_drops, 0u);
  ASSERT_EQ(stats.peers.size(), 1u);
  EXPECT_EQ(stats.peers[0].rfind("127.0.0.1:", 0), 0u);

  const FileContents contents = recording.finish();
  ASSERT_EQ(contents.messages.size(), kCount);
  ASSERT_EQ(contents.channels.size(), 1u);
  EXPECT_EQ(contents.channels.begin()->second.topic, "/lidar");
  std::multiset<mcap::Bytes> expected;
  for (uint32_t i = 0; i < kCount; ++i) expected.insert(payload(i, 100 + i));
  EXPECT_EQ(by_topic(contents)["/lidar"], expected);
  for (const auto& message : contents.messages) {
    EXPECT_GE(message.log_time, before);
    EXPECT_LE(message.log_time, after);
  }
}

INSTANTIATE_TEST_SUITE_P(Batching, IngestRawUdp, ::testing::Values(true, false), batching_name);

TEST(IngestRawUdpIpv6, DatagramsToTheIpv6LoopbackAreRecorded) {
  const int fd = ::socket(AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0) GTEST_SKIP() << "no IPv6 on this host";
  config::Source source = udp_source("v6", config::SourceFormat::kRaw);
  source.bind.host = "::1";
  Recording recording({source});
  const SourceStats stats = recording.source(0);
  EXPECT_EQ(stats.bind.rfind("[::1]:", 0), 0u) << stats.bind;
  sockaddr_in6 to{};
  to.sin6_family = AF_INET6;
  to.sin6_port = htons(port_of(stats));
  to.sin6_addr = in6addr_loopback;
  const mcap::Bytes payload = test_support::payload(6, kPayloadBytes);
  ASSERT_EQ(
      ::sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
      static_cast<ssize_t>(payload.size()));
  ::close(fd);
  ASSERT_TRUE(eventually([&] { return recording.source(0).messages == 1; }));
  EXPECT_EQ(recording.source(0).peers.at(0).rfind("[::1]:", 0), 0u);
  const FileContents contents = recording.finish();
  ASSERT_EQ(contents.messages.size(), 1u);
  EXPECT_EQ(contents.messages[0].data, payload);
}

TEST(IngestUdpMcap, SendersWithOverlappingIdsKeepTheirOwnChannels) {
  Recording recording({udp_source("bus", config::SourceFormat::kMcap)});
  UdpSender a(recording.port(0));
  UdpSender b(recording.port(0));
  // Both senders use schema 1 and channel 1, for different topics.
  mcap::Bytes definitions_a = record(test_schema(1));
  mcap::Bytes channel_a = record(test_channel(1, 1, "/a"));
  definitions_a.insert(definitions_a.end(), channel_a.begin(), channel_a.end());
  mcap::Bytes definitions_b = record(test_schema(1));
  mcap::Bytes channel_b = record(test_channel(1, 1, "/b"));
  definitions_b.insert(definitions_b.end(), channel_b.begin(), channel_b.end());
  a.send(definitions_a);
  b.send(definitions_b);
  constexpr uint32_t kCount = 50;
  for (uint32_t i = 0; i < kCount; ++i) {
    a.send(record(test_message(1, i, payload(i, kPayloadBytes))));
    b.send(record(test_message(1, i, payload(1000 + i, kPayloadBytes))));
  }
  ASSERT_TRUE(eventually([&] { return recording.source(0).datagrams == 2 + 2 * kCount; }));
  EXPECT_EQ(recording.source(0).messages, 2 * kCount);
  EXPECT_EQ(recording.source(0).peers.size(), 2u);
  const FileContents contents = recording.finish();
  auto topics = by_topic(contents);
  ASSERT_EQ(topics.size(), 2u);
  std::multiset<mcap::Bytes> expected_a, expected_b;
  for (uint32_t i = 0; i < kCount; ++i) {
    expected_a.insert(payload(i, kPayloadBytes));
    expected_b.insert(payload(1000 + i, kPayloadBytes));
  }
  EXPECT_EQ(topics["/a"], expected_a);
  EXPECT_EQ(topics["/b"], expected_b);
  // The sender's log_time is kept (timestamp: sender).
  for (const auto& message : contents.messages)
    EXPECT_EQ(message.log_time, 1000 + message.sequence);
}

TEST(IngestUdpMcap, TimestampReceiveReplacesTheSendersLogTime) {
  config::Source source = udp_source("bus", config::SourceFormat::kMcap);
  source.timestamp = config::TimestampSource::kReceive;
  Recording recording({source});
  UdpSender sender(recording.port(0));
  const uint64_t before = now_ns();
  sender.send(concat_records(
      {record(test_channel(1, 0, "/t")), record(test_message(1, 5, payload(5, kPayloadBytes)))}));
  ASSERT_TRUE(eventually([&] { return recording.source(0).messages == 1; }));
  const FileContents contents = recording.finish();
  ASSERT_EQ(contents.messages.size(), 1u);
  EXPECT_GE(contents.messages[0].log_time, before);
  EXPECT_EQ(contents.messages[0].publish_time, 2005u);  // the sender's
}

TEST(IngestUdpMcap, SendersBeyondTheCapAreRefusedAndCounted) {
  Recording recording({udp_source("bus", config::SourceFormat::kMcap)});
  const mcap::Bytes datagram = concat_records(
      {record(test_channel(1, 0, "/t")), record(test_message(1, 0, payload(0, kPayloadBytes)))});
  constexpr size_t kSenders = 260;  // UdpListener::kMaxSenders is 256
  std::vector<std::unique_ptr<UdpSender>> senders;
  for (size_t i = 0; i < kSenders; ++i) {
    senders.push_back(std::make_unique<UdpSender>(recording.port(0)));
    senders.back()->send(datagram);
    // One at a time, so that which senders are over the cap is certain.
    ASSERT_TRUE(eventually([&] { return recording.source(0).datagrams == i + 1; }));
  }
  EXPECT_EQ(recording.source(0).messages, 256u);
  EXPECT_EQ(recording.error_count(0, "too_many_senders"), kSenders - 256);
  const FileContents contents = recording.finish();
  EXPECT_EQ(contents.channels.size(), 1u);  // identical channels from every sender: one
  EXPECT_EQ(contents.messages.size(), 256u);
}

TEST(IngestUdpMulticast, JoinsTheGroupOnTheNamedInterface) {
  config::Source source = udp_source("mc", config::SourceFormat::kRaw);
  source.bind.host = "239.255.71.3";
  source.multicast = config::Multicast{"239.255.71.3", "127.0.0.1"};
  Recording recording({source});
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  in_addr interface {};
  interface.s_addr = htonl(INADDR_LOOPBACK);
  setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &interface, sizeof(interface));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(recording.port(0));
  inet_pton(AF_INET, "239.255.71.3", &to.sin_addr);
  const mcap::Bytes payload = test_support::payload(1, kPayloadBytes);
  ::sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  ::close(fd);
  if (!eventually([&] { return recording.source(0).messages == 1; }, 2s)) {
    GTEST_SKIP() << "multicast on the loopback interface is not delivered on this host";
  }
  const FileContents contents = recording.finish();
  ASSERT_EQ(contents.messages.size(), 1u);
  EXPECT_EQ(contents.messages[0].data, payload);
}

// What IngestServer::start() says to `source` alone, on a pipeline over a scratch directory: the
// error's message, or nullopt when it started.
std::optional<std::string> start_error(const config::Source& source) {
  ScratchDir dir;
  pipeline::PipelineOptions options;
  options.directory = dir.path();
  auto pipeline = pipeline::Pipeline::start(options);
  EXPECT_TRUE(pipeline.ok());
  if (!pipeline.ok()) return std::nullopt;
  config::Config config;
  config.sources = {source};
  auto server = IngestServer::start(config, **pipeline);
  if (server.ok()) return std::nullopt;
  (void)(*pipeline)->stop();
  return server.error().message;
}

TEST(IngestUdpMulticast, AnUnknownInterfaceIsAStartError) {
  config::Source source = udp_source("mc", config::SourceFormat::kRaw);
  source.bind.host = "239.255.71.4";
  source.multicast = config::Multicast{"239.255.71.4", "no-such-if0"};
  const std::optional<std::string> error = start_error(source);
  ASSERT_TRUE(error.has_value()) << "the server started";
  EXPECT_NE(error->find("source mc"), std::string::npos);
  EXPECT_NE(error->find("no-such-if0"), std::string::npos);
}

class IngestTcpMcap : public ::testing::TestWithParam<bool> {};

TEST_P(IngestTcpMcap, AStreamFromAnMcapWriterIsRecordedExactly) {
  Recording recording({tcp_source("robot", config::SourceFormat::kMcap)});
  constexpr uint32_t kCount = 500;
  {
    TcpClient client(recording.port(0));
    ASSERT_TRUE(client.connected());
    ASSERT_TRUE(client.send(mcap_stream("/pose", kCount, GetParam())));
    client.close_write();
    EXPECT_TRUE(client.closed_by_peer());
  }
  ASSERT_TRUE(eventually([&] { return recording.source(0).messages == kCount; }));
  EXPECT_TRUE(eventually([&] { return recording.source(0).connections_open == 0; }));
  EXPECT_EQ(recording.source(0).connections_accepted, 1u);
  EXPECT_TRUE(recording.source(0).errors.empty());
  const FileContents contents = recording.finish();
  ASSERT_EQ(contents.messages.size(), kCount);
  for (uint32_t i = 0; i < kCount; ++i) {
    EXPECT_EQ(contents.messages[i].data, payload(i, kPayloadBytes));
    EXPECT_EQ(contents.messages[i].log_time, 1000 + i);
    EXPECT_EQ(contents.messages[i].publish_time, 2000 + i);
  }
  ASSERT_EQ(contents.channels.size(), 1u);
  EXPECT_EQ(contents.channels.begin()->second.topic, "/pose");
  ASSERT_EQ(contents.schemas.size(), 1u);
  EXPECT_EQ(contents.schemas.begin()->second.name, "test.Msg");
}

INSTANTIATE_TEST_SUITE_P(Chunking, IngestTcpMcap, ::testing::Values(false, true), chunking_name);

TEST(IngestTcpMcap, MetadataFromTheStreamIsKept) {
  Recording recording({tcp_source("robot", config::SourceFormat::kMcap)});
  mcap::Bytes stream(std::begin(mcap::kMagic), std::end(mcap::kMagic));
  const mcap::Bytes metadata = record(mcap::Metadata{"calibration", {{"camera", "front"}}});
  stream.insert(stream.end(), metadata.begin(), metadata.end());
  TcpClient client(recording.port(0));
  ASSERT_TRUE(client.send(stream));
  client.close_write();
  EXPECT_TRUE(client.closed_by_peer());
  const FileContents contents = recording.finish();
  const mcap::Metadata* kept = contents.find_metadata("calibration");
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->metadata.at("camera"), "front");
}

TEST(IngestTcpMcap, ConnectionsSharingATopicShareOneFileChannel) {
  Recording recording({tcp_source("fleet", config::SourceFormat::kMcap)});
  constexpr uint32_t kPerConnection = 200;
  std::vector<std::thread> senders;
  for (uint32_t c = 0; c < 3; ++c) {
    senders.emplace_back([&, c] {
      TcpClient client(recording.port(0));
      EXPECT_TRUE(client.send(mcap_stream("/shared", kPerConnection, true, c * kPerConnection)));
      client.close_write();
      EXPECT_TRUE(client.closed_by_peer());
    });
  }
  for (std::thread& t : senders) t.join();
  ASSERT_TRUE(eventually([&] { return recording.source(0).messages == 3 * kPerConnection; }));
  const FileContents contents = recording.finish();
  EXPECT_EQ(contents.channels.size(), 1u);
  EXPECT_EQ(contents.schemas.size(), 1u);
  std::multiset<mcap::Bytes> expected;
  for (uint32_t i = 0; i < 3 * kPerConnection; ++i) expected.insert(payload(i, kPayloadBytes));
  EXPECT_EQ(by_topic(contents)["/shared"], expected);
}

TEST(IngestTcpLengthPrefixed, FramesBecomeMessagesOnTheSourceTopic) {
  Recording recording({tcp_source("can", config::SourceFormat::kLengthPrefixed)});
  constexpr uint32_t kCount = 1000;
  mcap::Bytes stream;
  for (uint32_t i = 0; i < kCount; ++i) {
    const mcap::Bytes f = frame(payload(i, i % 50 + 4));
    stream.insert(stream.end(), f.begin(), f.end());
  }
  stream.insert(stream.end(), {0, 0, 0, 0});  // an empty payload is a message too
  TcpClient client(recording.port(0));
  // Split at awkward places so that frames cross reads.
  for (size_t at = 0; at < stream.size(); at += 777) {
    ASSERT_TRUE(client.send(
        mcap::Bytes(stream.begin() + at, stream.begin() + std::min(stream.size(), at + 777))));
  }
  ASSERT_TRUE(eventually([&] { return recording.source(0).messages == kCount + 1; }));
  const FileContents contents = recording.finish();
  ASSERT_EQ(contents.messages.size(), kCount + 1);
  for (uint32_t i = 0; i < kCount; ++i) {
    EXPECT_EQ(contents.messages[i].data, payload(i, i % 50 + 4));
    EXPECT_EQ(contents.messages[i].sequence, i);
  }
  EXPECT_TRUE(contents.messages.back().data.empty());
  EXPECT_EQ(contents.channels.begin()->second.topic, "/can");
}

TEST(IngestBackpressure, ABlockedTcpChannelSlowsTheSenderAndLosesNothing) {
  config::Source source = tcp_source("camera", config::SourceFormat::kLengthPrefixed);
  source.receive_buffer = 64 * 1024;
  Recording recording({source}, {blocking_channel("/camera", 16 * 1024)}, {}, /*stall=*/true);

  constexpr uint32_t kCount = 8192;
  const mcap::Bytes stream = framed_payloads(kCount, 1024);
  std::atomic<uint64_t> sent{0};
  std::atomic<bool> done{false};
  std::thread sender([&] {
    TcpClient client(recording.port(0), 64 * 1024);
    EXPECT_TRUE(client.send(stream, &sent));
    done = true;
  });
  // The disk is stalled: the sender gets stuck well before the end of its data.
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(done.load());
  EXPECT_LT(sent.load(), stream.size());
  recording.gate().open();
  sender.join();
  EXPECT_TRUE(done.load());
  ASSERT_TRUE(eventually([&] { return recording.source(0).messages == kCount; }));
  const pipeline::ChannelStats channel = recording.pipeline().stats().channels.at(0);
  EXPECT_EQ(channel.dropped_total(), 0u);
  const FileContents contents = recording.finish();
  ASSERT_EQ(contents.messages.size(), kCount);
  for (uint32_t i = 0; i < kCount; ++i) EXPECT_EQ(contents.messages[i].sequence, i);
}

// One ingest thread serves both connections: the blocked one must not park it.
TEST(IngestBackpressure, ABlockedConnectionDoesNotStopAnotherOnTheSameThread) {
  config::Source camera = tcp_source("camera", config::SourceFormat::kLengthPrefixed);
  camera.receive_buffer = 64 * 1024;
  config::Source imu = tcp_source("imu", config::SourceFormat::kLengthPrefixed);
  Recording recording(
      {camera, imu},
      {blocking_channel("/camera", 16 * 1024), blocking_channel("/imu", 1024 * 1024)}, {},
      /*stall=*/true, /*ingest_threads=*/1);

  constexpr uint32_t kCameraCount = 8192;
  const mcap::Bytes camera_stream = framed_payloads(kCameraCount, 1024);
  std::atomic<uint64_t> camera_sent{0};
  std::atomic<bool> camera_done{false};
  std::thread camera_sender([&] {
    TcpClient client(recording.port(0), 64 * 1024);
    // In small writes, so that the progress shows where the sender got stuck.
    constexpr size_t kWrite = 4096;
    for (size_t at = 0; at < camera_stream.size(); at += kWrite) {
      const size_t end = std::min(camera_stream.size(), at + kWrite);
      if (!client.send(mcap::Bytes(camera_stream.begin() + at, camera_stream.begin() + end))) {
        ADD_FAILURE() << "the camera connection was closed";
        return;
      }
      camera_sent = end;
    }
    camera_done = true;
  });
  struct OpenAndJoin {  // on an early return too
    Recording& recording;
    std::thread& thread;
    ~OpenAndJoin() {
      recording.gate().open();
      if (thread.joinable()) thread.join();
    }
  } open_and_join{recording, camera_sender};
  // The disk is stalled: the camera's queue fills and its sender gets stuck.
  ASSERT_TRUE(eventually([&] {
    const uint64_t before = camera_sent.load();
    std::this_thread::sleep_for(200ms);
    return before > 0 && camera_sent.load() == before;
  }));

  // Meanwhile a second connection on the same ingest thread is read and pushed at once.
  constexpr uint32_t kImuCount = 200;
  const mcap::Bytes imu_stream = framed_payloads(kImuCount, 64);
  TcpClient imu_client(recording.port(1));
  ASSERT_TRUE(imu_client.connected());
  ASSERT_TRUE(imu_client.send(imu_stream));
  EXPECT_TRUE(eventually([&] { return recording.source(1).messages == kImuCount; }, 5s))
      << "imu messages pushed: " << recording.source(1).messages;

  // The camera's sender was held back the whole time.
  EXPECT_FALSE(camera_done.load());
  EXPECT_LT(camera_sent.load(), camera_stream.size());
  EXPECT_LT(recording.source(0).messages, kCameraCount);

  // Space returns: every camera message arrives, none dropped.
  recording.gate().open();
  camera_sender.join();
  EXPECT_TRUE(camera_done.load());
  ASSERT_TRUE(eventually([&] { return recording.source(0).messages == kCameraCount; }));
  for (const pipeline::ChannelStats& channel : recording.pipeline().stats().channels) {
    EXPECT_EQ(channel.dropped_total(), 0u) << channel.topic;
  }
  const FileContents contents = recording.finish();
  std::vector<uint32_t> camera_sequences;
  size_t imu_messages = 0;
  for (const auto& message : contents.messages) {
    if (contents.channels.at(message.channel_id).topic == "/camera") {
      camera_sequences.push_back(message.sequence);
    } else {
      ++imu_messages;
    }
  }
  EXPECT_EQ(imu_messages, kImuCount);
  ASSERT_EQ(camera_sequences.size(), kCameraCount);
  for (uint32_t i = 0; i < kCameraCount; ++i) EXPECT_EQ(camera_sequences[i], i);
}

TEST(IngestAccounting, EveryUdpDatagramIsRecordedOrCountedAsDropped) {
  config::Source source = udp_source("radar", config::SourceFormat::kRaw);
  source.receive_buffer = 64 * 1024;
  config::ChannelSettings settings;
  settings.topic = "/radar";
  settings.queue_bytes = 16 * 1024;  // small and stalled: the pipeline drops too
  Recording recording({source}, {settings}, {}, /*stall=*/true);
  UdpSender sender(recording.port(0));
  uint64_t sent = 0;
  for (uint32_t i = 0; i < 5000; ++i, ++sent) sender.send(payload(i, 512));
  // Once the burst is read, one datagram at a time carries the kernel's final drop count.
  auto settled = [&] {
    const SourceStats stats = recording.source(0);
    return stats.datagrams + stats.kernel_drops == sent;
  };
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!settled() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    const uint64_t seen = recording.source(0).datagrams;
    sender.send(payload(uint32_t(sent), 512));
    ++sent;
    eventually([&] { return recording.source(0).datagrams > seen; }, 1s);
  }
  ASSERT_TRUE(settled());
  const SourceStats stats = recording.source(0);
  const FileContents contents = recording.finish();
  const pipeline::ChannelStats channel = recording.pipeline().stats().channels.at(0);
  EXPECT_GT(channel.dropped_total(), 0u);  // the stalled queue did drop
  EXPECT_EQ(channel.received, stats.datagrams);
  EXPECT_EQ(contents.messages.size() + channel.dropped_total() + stats.kernel_drops, sent);
}

// --- bad input --------------------------------------------------------------------------------

// Sends `bad` on one connection, expects it closed and counted under `reason`, then checks that
// a good stream on a new connection is still recorded.
void expect_refused_then_good(Recording& recording, const mcap::Bytes& bad,
                              const std::string& reason, bool close_after = false) {
  {
    TcpClient client(recording.port(0));
    ASSERT_TRUE(client.connected());
    client.send(bad);
    if (close_after) client.close_write();
    EXPECT_TRUE(client.closed_by_peer()) << reason;
  }
  EXPECT_TRUE(eventually([&] { return recording.error_count(0, reason) == 1; }))
      << reason << " not counted";
  {
    TcpClient client(recording.port(0));
    ASSERT_TRUE(client.send(mcap_stream("/good", 10, true)));
    client.close_write();
    EXPECT_TRUE(client.closed_by_peer());
  }
  EXPECT_TRUE(eventually([&] { return recording.source(0).messages >= 10; }));
  const FileContents contents = recording.finish();
  EXPECT_EQ(by_topic(contents)["/good"].size(), 10u);
  EXPECT_EQ(recording.error_count(0, reason), 1u);
  uint64_t total = 0;
  for (const auto& [name, count] : recording.source(0).errors) total += count;
  EXPECT_EQ(total, 1u) << "only " << reason << " expected";
}

mcap::Bytes concat(std::initializer_list<mcap::Bytes> parts) {
  mcap::Bytes out(std::begin(mcap::kMagic), std::end(mcap::kMagic));
  for (const mcap::Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(IngestBadInput, TruncatedRecordClosesTheConnection) {
  Recording recording({tcp_source("in", config::SourceFormat::kMcap)});
  mcap::Bytes message = record(test_message(1, 0, payload(0, kPayloadBytes)));
  message.resize(message.size() / 2);
  expect_refused_then_good(
      recording, concat({record(test_schema(1)), record(test_channel(1, 1, "/x")), message}),
      "truncated", /*close_after=*/true);
}

// A large message is read straight into its queue segments once its header is in: cut
// inside it, the connection is refused the same way, and nothing of it is queued or kept.
TEST(IngestBadInput, TruncatedLargeMessageClosesTheConnectionAndQueuesNothing) {
  Recording recording({tcp_source("in", config::SourceFormat::kMcap)});
  mcap::Bytes message = record(test_message(1, 0, payload(0, 1 << 20)));
  message.resize(message.size() / 2);
  expect_refused_then_good(
      recording, concat({record(test_schema(1)), record(test_channel(1, 1, "/x")), message}),
      "truncated", /*close_after=*/true);
  EXPECT_EQ(recording.source(0).direct_bytes, 0u);  // nothing committed
  EXPECT_EQ(recording.pipeline().stats().memory.in_use, 0u);
}

TEST(IngestBadInput, OversizedMessageClosesTheConnection) {
  config::Source source = tcp_source("in", config::SourceFormat::kMcap);
  source.max_message_size = 1000;
  Recording recording({source});
  expect_refused_then_good(recording,
                           concat({record(test_schema(1)), record(test_channel(1, 1, "/x")),
                                   record(test_message(1, 0, payload(0, 5000)))}),
                           "oversized");
}

TEST(IngestBadInput, MessageOnAnUnknownChannelClosesTheConnection) {
  Recording recording({tcp_source("in", config::SourceFormat::kMcap)});
  expect_refused_then_good(recording,
                           concat({record(test_message(7, 0, payload(0, kPayloadBytes)))}),
                           "unknown_channel");
}

TEST(IngestBadInput, ConflictingRedefinitionClosesTheConnection) {
  Recording recording({tcp_source("in", config::SourceFormat::kMcap)});
  expect_refused_then_good(recording,
                           concat({record(test_schema(1)), record(test_channel(1, 1, "/x")),
                                   record(test_channel(1, 1, "/y"))}),
                           "conflicting_channel");
}

TEST(IngestBadInput, GarbageClosesTheConnection) {
  Recording recording({tcp_source("in", config::SourceFormat::kMcap)});
  const std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  expect_refused_then_good(recording, mcap::Bytes(http.begin(), http.end()), "garbage");
}

TEST(IngestBadInput, TooManyConnectionsAreRefused) {
  config::Source source = tcp_source("in", config::SourceFormat::kMcap);
  source.max_connections = 1;
  Recording recording({source});
  TcpClient first(recording.port(0));
  ASSERT_TRUE(eventually([&] { return recording.source(0).connections_open == 1; }));
  TcpClient second(recording.port(0));
  EXPECT_TRUE(second.closed_by_peer());
  EXPECT_EQ(recording.source(0).connections_refused, 1u);
  EXPECT_EQ(recording.error_count(0, "too_many_connections"), 1u);
  // The first one still works.
  ASSERT_TRUE(first.send(mcap_stream("/good", 10, false)));
  first.close_write();
  EXPECT_TRUE(first.closed_by_peer());
  EXPECT_TRUE(eventually([&] { return recording.source(0).messages == 10; }));
}

TEST(IngestBadInput, TcpSendersOutsideTheAllowlistAreRefused) {
  config::Source source = tcp_source("in", config::SourceFormat::kMcap);
  source.allowed_senders.push_back(config::Cidr{false, {10, 0, 0, 0}, 8});
  Recording recording({source});
  TcpClient client(recording.port(0));
  EXPECT_TRUE(client.closed_by_peer());
  EXPECT_EQ(recording.source(0).connections_refused, 1u);
  EXPECT_EQ(recording.source(0).connections_accepted, 0u);
  EXPECT_EQ(recording.error_count(0, "not_allowed"), 1u);
}

TEST(IngestBadInput, IdleConnectionsAreClosed) {
  config::Source source = tcp_source("in", config::SourceFormat::kMcap);
  source.idle_timeout = 100ms;
  Recording recording({source});
  TcpClient client(recording.port(0));
  EXPECT_TRUE(client.closed_by_peer(3s));
  EXPECT_EQ(recording.error_count(0, "idle_timeout"), 1u);
}

TEST(IngestBadInput, UdpSendersOutsideTheAllowlistAreDropped) {
  config::Source source = udp_source("in", config::SourceFormat::kRaw);
  source.allowed_senders.push_back(config::Cidr{false, {10, 0, 0, 0}, 8});
  Recording recording({source, udp_source("open", config::SourceFormat::kRaw)});
  UdpSender refused(recording.port(0));
  UdpSender good(recording.port(1));
  for (uint32_t i = 0; i < 5; ++i) refused.send(payload(i, kPayloadBytes));
  for (uint32_t i = 0; i < 5; ++i) good.send(payload(i, kPayloadBytes));
  ASSERT_TRUE(eventually([&] { return recording.error_count(0, "not_allowed") == 5; }));
  ASSERT_TRUE(eventually([&] { return recording.source(1).messages == 5; }));
  EXPECT_EQ(recording.source(0).messages, 0u);
  const FileContents contents = recording.finish();
  auto topics = by_topic(contents);
  EXPECT_EQ(topics["/in"].size(), 0u);
  EXPECT_EQ(topics["/open"].size(), 5u);
}

TEST(IngestBadInput, BadUdpDatagramsAreDroppedAndCounted) {
  Recording recording({udp_source("in", config::SourceFormat::kMcap)});
  UdpSender sender(recording.port(0));
  const std::string junk = "hello";
  sender.send(mcap::Bytes(junk.begin(), junk.end()));                  // garbage
  sender.send(record(test_message(3, 0, payload(0, kPayloadBytes))));  // unknown channel
  mcap::Bytes cut = record(test_schema(1));
  cut.resize(cut.size() - 1);
  sender.send(cut);  // truncated
  mcap::Bytes good = record(test_schema(1));
  for (const mcap::Bytes& r :
       {record(test_channel(1, 1, "/ok")), record(test_message(1, 0, payload(0, kPayloadBytes)))}) {
    good.insert(good.end(), r.begin(), r.end());
  }
  sender.send(good);
  ASSERT_TRUE(eventually([&] { return recording.source(0).datagrams == 4; }));
  EXPECT_EQ(recording.error_count(0, "garbage"), 1u);
  EXPECT_EQ(recording.error_count(0, "unknown_channel"), 1u);
  EXPECT_EQ(recording.error_count(0, "truncated"), 1u);
  EXPECT_EQ(recording.source(0).messages, 1u);
  const FileContents contents = recording.finish();
  EXPECT_EQ(by_topic(contents)["/ok"].size(), 1u);
}

TEST(IngestServerStart, APortInUseIsAnErrorNamingTheSource) {
  Recording first({tcp_source("one", config::SourceFormat::kMcap)});
  config::Source clash = tcp_source("two", config::SourceFormat::kMcap);
  clash.bind.port = first.port(0);
  const std::optional<std::string> error = start_error(clash);
  ASSERT_TRUE(error.has_value()) << "the server started";
  EXPECT_NE(error->find("source two"), std::string::npos) << *error;
  EXPECT_NE(error->find(std::to_string(first.port(0))), std::string::npos);
}

}  // namespace
}  // namespace mcaprec::ingest
