// `mcaprec send` against receivers inside the test: a TCP listener that parses the MCAP stream
// it gets, and a UDP socket that parses every datagram's records. Replay reproduces the file,
// datagrams respect the MTU and repeat definitions, pacing holds the rate, numbered payloads
// count every message once, and connection problems and bad arguments give their exit codes.
// The recorder's own decoders take everything it sends. Also the packer and pacer of
// lib/synth on their own.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ingest/mcap_datagram_decoder.hpp"
#include "ingest/mcap_stream_decoder.hpp"
#include "ingest/sender_channels.hpp"
#include "mcap/bytes.hpp"
#include "mcap/reader.hpp"
#include "mcap/serialize.hpp"
#include "mcap/writer.hpp"
#include "payload.hpp"
#include "scratch_dir.hpp"
#include "storage/file_sink.hpp"
#include "synth/datagram_packer.hpp"
#include "synth/pacer.hpp"
#include "tool_runner.hpp"

namespace mcaprec::mcap {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kFileMessages = 200;
constexpr size_t kLargePayload = 3000;  // larger than the test MTU: cannot go over UDP
constexpr Timestamp kStart = 1'763'800'000'000'000'000ULL;
constexpr Timestamp kStep = 1'000'000;  // 1 ms between messages: the file spans 0.2 s

using test_support::read_text;
using test_support::run_tool;
using test_support::RunResult;

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "stderr:\n" + r.err;
}

using test_support::payload;

// One message as a receiver sees it.
struct Received {
  std::string topic;
  uint32_t sequence = 0;
  Timestamp log_time = 0;
  Timestamp publish_time = 0;
  Bytes data;
  bool operator==(const Received&) const = default;
};

// A listener on 127.0.0.1 that accepts one connection and reads it to the end, then closes
// (unless told to hold the connection open).
class TcpReceiver {
 public:
  explicit TcpReceiver(bool close_at_end = true) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    ::listen(listener_, 4);
    socklen_t length = sizeof(address);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this, close_at_end] { serve(close_at_end); });
  }
  ~TcpReceiver() {
    join();
    ::close(listener_);
  }

  std::string url() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  // Waits for the connection to end; then bytes() is complete.
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  const Bytes& bytes() const { return bytes_; }

 private:
  void serve(bool close_at_end) {
    pollfd waiting{listener_, POLLIN, 0};
    if (::poll(&waiting, 1, 10'000) != 1) return;
    const int connection = ::accept(listener_, nullptr, nullptr);
    if (connection < 0) return;
    uint8_t buffer[65536];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd readable{connection, POLLIN, 0};
      if (::poll(&readable, 1, 100) != 1) continue;
      const ssize_t n = ::recv(connection, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      bytes_.insert(bytes_.end(), buffer, buffer + n);
    }
    if (!close_at_end) std::this_thread::sleep_for(std::chrono::milliseconds(600));
    ::close(connection);
  }

  int listener_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  Bytes bytes_;
};

// A UDP socket on 127.0.0.1 that keeps every datagram until stopped.
class UdpReceiver {
 public:
  UdpReceiver() {
    socket_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const int buffer = 8 << 20;
    ::setsockopt(socket_, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(socket_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    ::getsockname(socket_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~UdpReceiver() {
    stop();
    ::close(socket_);
  }

  std::string url() const { return "udp://127.0.0.1:" + std::to_string(port_); }
  // Drains what is still queued, then stops; datagrams() is complete after it.
  void stop() {
    stopping_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  const std::vector<Bytes>& datagrams() const { return datagrams_; }

 private:
  void serve() {
    uint8_t buffer[65536];
    while (true) {
      pollfd readable{socket_, POLLIN, 0};
      if (::poll(&readable, 1, 100) != 1) {
        if (stopping_.load()) return;  // nothing queued for 100 ms after the sender ended
        continue;
      }
      const ssize_t n = ::recv(socket_, buffer, sizeof(buffer), 0);
      if (n >= 0) datagrams_.emplace_back(buffer, buffer + n);
    }
  }

  int socket_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::vector<Bytes> datagrams_;
};

// Counts what the daemon's decoders report.
struct CountingEvents : ingest::DecoderEvents {
  void on_channel(ingest::InBandChannelId, const ingest::ChannelDefinition&) override {
    ++channels;
  }
  void on_message(const Message&) override { ++messages; }
  void on_end() override { ended = true; }
  int channels = 0;
  int messages = 0;
  bool ended = false;
};

// Messages the recorder's TCP decoder takes from `stream`, fed in pieces as a socket would.
int messages_the_recorder_takes(const Bytes& stream) {
  CountingEvents events;
  ingest::McapStreamDecoder decoder(events);
  for (size_t pos = 0; pos < stream.size(); pos += 1000) {
    const size_t piece = std::min<size_t>(1000, stream.size() - pos);
    const ingest::DecodeStatus status = decoder.feed(ByteView(stream).subspan(pos, piece));
    EXPECT_TRUE(status.ok()) << status.error().to_string();
    if (!status.ok()) return -1;
  }
  EXPECT_TRUE(events.ended);
  return events.messages;
}

// Messages the recorder's UDP decoder takes from `datagrams` of one sender.
int messages_the_recorder_takes(const std::vector<Bytes>& datagrams) {
  CountingEvents events;
  ingest::SenderChannels registry;
  ingest::McapDatagramDecoder decoder;
  for (const Bytes& datagram : datagrams) {
    const ingest::DecodeStatus status = decoder.decode(datagram, registry, events);
    EXPECT_TRUE(status.ok()) << status.error().to_string();
  }
  return events.messages;
}

// Messages of a complete MCAP stream, in order; fails the test on any read error.
std::vector<Received> messages_of_stream(const Bytes& stream, int* chunks = nullptr) {
  std::vector<Received> out;
  std::map<uint16_t, std::string> topics;
  StreamReader reader(stream);
  while (true) {
    auto item = reader.next();
    EXPECT_TRUE(item.ok()) << item.error().to_string();
    if (!item.ok() || !*item) break;
    if (chunks && std::holds_alternative<Chunk>((*item)->record)) ++*chunks;
    if (auto* channel = std::get_if<Channel>(&(*item)->record))
      topics[channel->id] = channel->topic;
    if (auto* message = std::get_if<Message>(&(*item)->record)) {
      out.push_back(Received{topics.at(message->channel_id), message->sequence, message->log_time,
                             message->publish_time,
                             Bytes(message->data.begin(), message->data.end())});
    }
  }
  return out;
}

class SendTest : public ::testing::Test {
 protected:
  fs::path path(const std::string& name) const { return dir_ / name; }

  RunResult run(std::vector<std::string> args) const {
    args.insert(args.begin(), "send");
    return run_tool(args, dir_ / "stderr.txt");
  }

  // /pose (with a schema) and /blob (without) alternating, 1 ms apart; message 7 is too large
  // for the test MTU. Returns the messages as a receiver should see them.
  std::vector<Received> write_file(const fs::path& file) const {
    std::vector<Received> expected;
    WriterOptions options;
    options.chunk_size = 4096;
    auto writer = storage::create_file_writer(file.string(), options);
    EXPECT_TRUE(writer.ok());
    if (!writer.ok()) return expected;
    Writer& w = **writer;
    EXPECT_TRUE(w.add_schema(Schema{1, "Pose", "jsonschema", {'{', '}'}}).ok());
    EXPECT_TRUE(w.add_channel(Channel{1, 1, "/pose", "json", {{"frame", "map"}}}).ok());
    EXPECT_TRUE(w.add_channel(Channel{2, 0, "/blob", "", {}}).ok());
    for (int i = 0; i < kFileMessages; ++i) {
      const size_t size = i == 7 ? kLargePayload : static_cast<size_t>(i * 37 % 400);
      const Bytes data = payload(static_cast<uint32_t>(i), size);
      const Timestamp time = kStart + static_cast<Timestamp>(i) * kStep;
      const uint16_t channel = static_cast<uint16_t>(1 + i % 2);
      EXPECT_TRUE(
          w.write_message(Message{channel, static_cast<uint32_t>(i), time, time + 3, data}).ok());
      expected.push_back(Received{channel == 1 ? "/pose" : "/blob", static_cast<uint32_t>(i), time,
                                  time + 3, data});
    }
    EXPECT_TRUE(w.close().ok());
    return expected;
  }

  test_support::ScratchDir scratch_{"send"};
  const fs::path dir_ = scratch_.path();
};

json parse_json(const RunResult& r) {
  json report = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(report.is_discarded()) << describe(r);
  return report;
}

TEST_F(SendTest, TcpReplayReproducesEveryMessage) {
  const fs::path file = path("in.mcap");
  const std::vector<Received> expected = write_file(file);
  TcpReceiver receiver;
  const RunResult r = run({receiver.url(), file.string(), "--max", "--json"});
  receiver.join();
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(messages_of_stream(receiver.bytes()), expected);
  EXPECT_EQ(messages_the_recorder_takes(receiver.bytes()), kFileMessages);

  const json report = parse_json(r);
  EXPECT_EQ(report["messages"], kFileMessages);
  EXPECT_EQ(report["skipped"], 0);
  EXPECT_EQ(report["transport"], "tcp");
  EXPECT_EQ(report["source"], "file");
  EXPECT_EQ(report["wire_bytes"], receiver.bytes().size());
  ASSERT_EQ(report["topics"].size(), 2u);
  uint64_t bytes = 0;
  for (const Received& m : expected) bytes += m.data.size();
  EXPECT_EQ(report["bytes"], bytes);
  EXPECT_EQ(report["topics"][0]["topic"], "/pose");
  EXPECT_EQ(report["topics"][0]["messages"], kFileMessages / 2);
}

TEST_F(SendTest, TcpReplayInChunksOfChosenTopics) {
  const fs::path file = path("in.mcap");
  std::vector<Received> expected = write_file(file);
  std::erase_if(expected, [](const Received& m) { return m.topic != "/blob"; });
  TcpReceiver receiver;
  const RunResult r = run({file.string(), receiver.url(), "--max", "--chunked", "--chunk-size",
                           "8KiB", "--topics", "/blob"});
  receiver.join();
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  int chunks = 0;
  EXPECT_EQ(messages_of_stream(receiver.bytes(), &chunks), expected);
  EXPECT_GT(chunks, 1);
  EXPECT_EQ(messages_the_recorder_takes(receiver.bytes()), kFileMessages / 2);
  // The text report: a line per topic and the total.
  EXPECT_NE(r.out.find("sent 100 messages"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/blob"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("/pose"), std::string::npos) << r.out;
}

TEST_F(SendTest, ReplayFollowsRecordedTimeAtTheChosenSpeed) {
  const fs::path file = path("in.mcap");
  write_file(file);
  TcpReceiver real_time;
  const RunResult r1 = run({real_time.url(), file.string(), "--json"});
  real_time.join();
  ASSERT_EQ(r1.exit_code, 0) << describe(r1);
  // The last message is 199 ms after the first.
  EXPECT_GE(parse_json(r1)["seconds"].get<double>(), 0.19);

  TcpReceiver faster;
  const RunResult r4 = run({faster.url(), file.string(), "--speed", "4", "--json"});
  faster.join();
  ASSERT_EQ(r4.exit_code, 0) << describe(r4);
  const double seconds = parse_json(r4)["seconds"].get<double>();
  EXPECT_GE(seconds, 0.045);
  EXPECT_LT(seconds, 0.19);
}

TEST_F(SendTest, UdpReplayPacksRecordsWithinTheMtuAndRepeatsDefinitions) {
  const fs::path file = path("in.mcap");
  std::vector<Received> expected = write_file(file);
  expected.erase(expected.begin() + 7);  // larger than one datagram
  UdpReceiver receiver;
  const RunResult r = run({receiver.url(), file.string(), "--max", "--mtu", "512",
                           "--definitions-every", "10", "--json"});
  receiver.stop();
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json report = parse_json(r);
  EXPECT_EQ(report["messages"], kFileMessages - 1);
  EXPECT_EQ(report["skipped"], 1);
  EXPECT_EQ(report["datagrams"], receiver.datagrams().size());

  std::map<uint16_t, std::string> topics;
  std::vector<Received> received;
  int channel_records = 0;
  int datagrams_with_several_messages = 0;
  for (const Bytes& datagram : receiver.datagrams()) {
    ASSERT_LE(datagram.size(), 512u);
    int messages = 0;
    for (uint64_t pos = 0; pos < datagram.size();) {
      auto frame = read_frame(datagram, pos);
      ASSERT_TRUE(frame.ok()) << frame.error().to_string();
      auto record = parse_record(*frame);
      ASSERT_TRUE(record.ok()) << record.error().to_string();
      pos += frame->size();
      if (auto* channel = std::get_if<Channel>(&*record)) {
        topics[channel->id] = channel->topic;
        ++channel_records;
      } else if (auto* message = std::get_if<Message>(&*record)) {
        ASSERT_EQ(topics.count(message->channel_id), 1u) << "message before its channel";
        received.push_back(Received{topics[message->channel_id], message->sequence,
                                    message->log_time, message->publish_time,
                                    Bytes(message->data.begin(), message->data.end())});
        ++messages;
      } else {
        ASSERT_TRUE(std::holds_alternative<Schema>(*record)) << "unexpected record";
      }
    }
    if (messages > 1) ++datagrams_with_several_messages;
  }
  EXPECT_EQ(received, expected);
  EXPECT_EQ(messages_the_recorder_takes(receiver.datagrams()), kFileMessages - 1);
  EXPECT_GT(datagrams_with_several_messages, 0);  // small records share datagrams
  // Two channels, defined at the start and repeated every 10 datagrams.
  const int datagrams = static_cast<int>(receiver.datagrams().size());
  EXPECT_GE(channel_records, 2 * (1 + datagrams / 11));
}

TEST_F(SendTest, UdpSkipsChannelsWhoseDefinitionsDoNotFitADatagram) {
  // The diagnostics schema is about 300 bytes: over a 200-byte MTU its channel cannot be
  // declared, so its messages are skipped while /imu (131-byte records) goes through.
  UdpReceiver receiver;
  const RunResult r = run({receiver.url(), "--topics", "/imu,/diagnostics", "--mtu", "200",
                           "--count", "100", "--max", "--json"});
  receiver.stop();
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json report = parse_json(r);
  EXPECT_EQ(report["messages"], 100);
  std::map<std::string, json> topics;
  for (const json& topic : report["topics"]) topics[topic["topic"]] = topic;
  EXPECT_EQ(topics["/imu"]["messages"], 100);
  EXPECT_EQ(topics["/diagnostics"]["messages"], 0);
  EXPECT_GE(topics["/diagnostics"]["skipped"].get<int>(), 1);
  int messages = 0;
  for (const Bytes& datagram : receiver.datagrams()) {
    for (uint64_t pos = 0; pos < datagram.size();) {
      auto frame = read_frame(datagram, pos);
      ASSERT_TRUE(frame.ok()) << frame.error().to_string();
      pos += frame->size();
      auto record = parse_record(*frame);
      ASSERT_TRUE(record.ok());
      EXPECT_FALSE(std::holds_alternative<Schema>(*record));  // /imu has no schema
      if (auto* channel = std::get_if<Channel>(&*record)) {
        EXPECT_EQ(channel->topic, "/imu");
      }
      if (std::holds_alternative<Message>(*record)) ++messages;
    }
  }
  EXPECT_EQ(messages, 100);
  EXPECT_EQ(messages_the_recorder_takes(receiver.datagrams()), 100);
}

TEST_F(SendTest, RawRateIsPacedAndNumbered) {
  UdpReceiver receiver;
  const RunResult r = run({receiver.url(), "--raw-size", "32", "--rate", "2000", "--duration",
                           "0.5", "--numbered", "--json"});
  receiver.stop();
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json report = parse_json(r);
  const uint64_t sent = report["messages"];
  EXPECT_GE(sent, 900u);
  EXPECT_LE(sent, 1100u);
  EXPECT_GE(report["seconds"].get<double>(), 0.45);
  EXPECT_LT(report["seconds"].get<double>(), 1.0);
  ASSERT_EQ(receiver.datagrams().size(), sent);
  for (size_t i = 0; i < receiver.datagrams().size(); ++i) {
    const Bytes& datagram = receiver.datagrams()[i];
    ASSERT_EQ(datagram.size(), 32u);
    EXPECT_EQ(load_le<uint64_t>(datagram.data()), i);
  }
}

// Segmentation offload hands the kernel many payloads per call; the receiver must still see
// each payload as its own datagram, in order.
TEST_F(SendTest, RawWithGsoArrivesAsOneDatagramPerPayload) {
  UdpReceiver receiver;
  constexpr uint64_t kCount = 640;
  const RunResult r = run({receiver.url(), "--raw-size", "1200", "--max", "--count",
                           std::to_string(kCount), "--numbered", "--gso", "--json"});
  receiver.stop();
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json report = parse_json(r);
  EXPECT_EQ(report["messages"], kCount);
  EXPECT_EQ(report["datagrams"], kCount);
  EXPECT_EQ(report["wire_bytes"], kCount * 1200);
  ASSERT_EQ(receiver.datagrams().size(), kCount);
  for (size_t i = 0; i < receiver.datagrams().size(); ++i) {
    const Bytes& datagram = receiver.datagrams()[i];
    ASSERT_EQ(datagram.size(), 1200u);
    EXPECT_EQ(load_le<uint64_t>(datagram.data()), i);
  }
}

TEST_F(SendTest, NumberedSensorMixCountsEveryMessageOnce) {
  TcpReceiver receiver;
  const RunResult r = run({receiver.url(), "--topics", "/imu,/can", "--count", "500", "--max",
                           "--numbered", "--seed", "3", "--json"});
  receiver.join();
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const std::vector<Received> received = messages_of_stream(receiver.bytes());
  ASSERT_EQ(received.size(), 500u);
  std::set<std::string> topics;
  for (size_t i = 0; i < received.size(); ++i) {
    ASSERT_GE(received[i].data.size(), 8u);
    EXPECT_EQ(load_le<uint64_t>(received[i].data.data()), i);
    EXPECT_EQ(received[i].sequence, i);
    topics.insert(received[i].topic);
  }
  EXPECT_EQ(topics, (std::set<std::string>{"/imu", "/can"}));
  const json report = parse_json(r);
  EXPECT_EQ(report["messages"], 500);
  EXPECT_EQ(report["source"], "sensor_mix");
}

// The automotive set's small sensors, paced: every topic asked for arrives, and the report says
// how far behind schedule the sender was (an unpaced run has no schedule: lag_ms is null).
TEST_F(SendTest, AutomotiveSetIsPacedAndReportsItsLag) {
  TcpReceiver receiver;
  const RunResult r = run({receiver.url(), "--sensor-set", "automotive", "--topics",
                           "/gps,/imu,/radar/0,/ultrasonic/11", "--duration", "0.4", "--json"});
  receiver.join();
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::map<std::string, size_t> per_topic;
  for (const Received& message : messages_of_stream(receiver.bytes())) ++per_topic[message.topic];
  EXPECT_NEAR(static_cast<double>(per_topic["/imu"]), 40, 2);  // 100 Hz for 0.4 s
  EXPECT_NEAR(static_cast<double>(per_topic["/gps"]), 10, 2);
  EXPECT_NEAR(static_cast<double>(per_topic["/radar/0"]), 20, 2);
  EXPECT_NEAR(static_cast<double>(per_topic["/ultrasonic/11"]), 16, 2);
  const json report = parse_json(r);
  ASSERT_TRUE(report["lag_ms"].is_object()) << r.out;
  EXPECT_GE(report["lag_ms"]["max"].get<double>(), report["lag_ms"]["p99"].get<double>());
  EXPECT_GE(report["lag_ms"]["p99"].get<double>(), 0.0);
  EXPECT_EQ(report["lag_ms"]["max_after_1s"], 0);  // nothing was due after the first second

  TcpReceiver unpaced;
  const RunResult fast = run({unpaced.url(), "--sensor-set", "automotive", "--topics", "/gps",
                              "--count", "5", "--max", "--json"});
  unpaced.join();
  ASSERT_EQ(fast.exit_code, 0) << describe(fast);
  EXPECT_TRUE(parse_json(fast)["lag_ms"].is_null());
}

TEST_F(SendTest, UnknownSensorSetIsAUsageError) {
  const RunResult r = run({"tcp://127.0.0.1:9", "--sensor-set", "marine"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--sensor-set must be mix or automotive"), std::string::npos) << r.err;
}

TEST_F(SendTest, ProgressFileTracksMessagesOverTime) {
  UdpReceiver receiver;
  const fs::path progress = path("progress.txt");
  const RunResult r = run({receiver.url(), "--raw-size", "16", "--rate", "1000", "--duration",
                           "0.45", "--progress-file", progress.string(), "--json"});
  receiver.stop();
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::istringstream lines(read_text(progress));
  std::string line;
  std::vector<std::pair<uint64_t, uint64_t>> points;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    uint64_t time = 0;
    uint64_t count = 0;
    ASSERT_TRUE(fields >> time >> count) << line;
    points.emplace_back(time, count);
  }
  ASSERT_GE(points.size(), 4u);
  for (size_t i = 1; i < points.size(); ++i) {
    EXPECT_GT(points[i].first, points[i - 1].first);
    EXPECT_GE(points[i].second, points[i - 1].second);
  }
  EXPECT_LT(points[1].second, points.back().second);  // it grew while sending
  EXPECT_EQ(points.back().second, parse_json(r)["messages"].get<uint64_t>());
}

TEST_F(SendTest, ConnectionRefusedExitsOneWithTheReason) {
  // A bound socket that does not listen refuses connections, and keeps its port.
  const int bound = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(bound, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  ::getsockname(bound, reinterpret_cast<sockaddr*>(&address), &length);
  const std::string url = "tcp://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  const RunResult r = run({url, "--count", "10"});
  ::close(bound);
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("cannot connect to " + url), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("refused"), std::string::npos) << r.err;
}

TEST_F(SendTest, ReceiverThatDoesNotCloseIsAFailure) {
  TcpReceiver receiver(/*close_at_end=*/false);
  const RunResult r =
      run({receiver.url(), "--raw-size", "8", "--max", "--count", "5", "--close-timeout", "200ms"});
  receiver.join();
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("did not close"), std::string::npos) << r.err;
  EXPECT_EQ(receiver.bytes().size(), 5u * (4 + 8));  // length-prefixed frames
}

TEST_F(SendTest, HelpAndUsageErrors) {
  const RunResult help = run({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--numbered"), std::string::npos);
  const fs::path file = path("in.mcap");
  write_file(file);
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"ftp://127.0.0.1:9"},
      {"tcp://127.0.0.1"},
      {"udp://127.0.0.1:9", "--bogus"},
      {"udp://127.0.0.1:9", "--raw-size", "64"},
      {"udp://127.0.0.1:9", "--raw-size", "70000", "--max"},
      {"udp://127.0.0.1:9", "--rate", "10"},
      {"udp://127.0.0.1:9", file.string(), "--numbered"},
      {"udp://127.0.0.1:9", "--duration", "soon"},
      {"udp://127.0.0.1:9", "--topics", "/nope"},
      {"udp://127.0.0.1:9", "--gso"},
      {"tcp://127.0.0.1:9", "--raw-size", "64", "--max", "--gso"},
  };
  for (const auto& args : bad) {
    const RunResult r = run(args);
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_NE(r.err.find("mcaprec send: "), std::string::npos) << r.err;
  }
  const RunResult missing = run({"udp://127.0.0.1:9", path("missing.mcap").string()});
  EXPECT_EQ(missing.exit_code, 1) << describe(missing);
}

// --- the library parts ---

TEST(DatagramPacker, RepeatsDefinitionsAndRefusesOversizedRecords) {
  synth::DatagramPacker packer(200, 3);
  ASSERT_TRUE(packer.add_channel(Channel{1, 0, "/t", "", {}}));
  const Bytes data(100, 7);
  EXPECT_FALSE(packer.add_message(Message{1, 0, 0, 0, Bytes(200, 1)}));
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(packer.add_message(Message{1, 0, 0, 0, data}));
  packer.finish_datagram();
  // One 131-byte message per datagram; the channel record rides in the first and in every
  // datagram that follows three without it.
  ASSERT_EQ(packer.ready_count(), 8u);
  std::vector<bool> has_channel;
  uint64_t messages = 0;
  for (size_t i = 0; i < packer.ready_count(); ++i) {
    EXPECT_LE(packer.ready(i).size(), 200u);
    has_channel.push_back(packer.ready(i)[0] == static_cast<uint8_t>(Opcode::kChannel));
    messages += packer.ready_messages(i);
  }
  EXPECT_EQ(messages, 8u);
  EXPECT_EQ(has_channel, (std::vector<bool>{true, false, false, false, true, false, false, false}));
  packer.clear_ready();
  EXPECT_EQ(packer.ready_count(), 0u);
}

TEST(Pacer, DueTimesFollowRateAndLogTime) {
  synth::Pacer rate = synth::Pacer::at_rate(2000);
  EXPECT_EQ(rate.due_ns(0, 0), 0u);
  EXPECT_EQ(rate.due_ns(1000, 0), 500'000'000u);
  synth::Pacer replay = synth::Pacer::by_log_time(2);
  EXPECT_EQ(replay.due_ns(0, 5'000), 0u);
  EXPECT_EQ(replay.due_ns(1, 1'005'000), 500'000u);
  EXPECT_EQ(replay.due_ns(2, 1'000), 0u);  // earlier than the first: at once
  EXPECT_EQ(synth::Pacer::unpaced().due_ns(99, 99), 0u);
}

}  // namespace
}  // namespace mcaprec::mcap
