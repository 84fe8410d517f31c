// The control endpoint end to end: the real mcaprecd with a control socket (and a loopback TCP
// bind with a token), driven by the real `mcaprec ctl` and by raw HTTP. What a user notices:
// pauses exact by log time in the files (`mcaprec verify`ed, read back), `paused` counts equal to
// what was sent during the pause (in /status and `mcaprec.stats`), split answering with a
// finalized file, recording.start: paused, the socket's permissions, 4xx JSON errors that never
// stop recording, `ctl event`/`ctl events` following an event to its finalized file with the
// exit codes of usage errors and refusals, and 100 half-open clients that do not keep a scrape
// or a command out.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "daemon_fixture.hpp"
#include "daemon_test_support.hpp"
#include "mcap/writer.hpp"
#include "pipeline_test_support.hpp"
#include "producers.hpp"

namespace mcaprec::e2e {
namespace {

using Json = nlohmann::json;

constexpr milliseconds kStopBound = seconds(20);

// A reply over a Unix socket: status line's code and the body; status 0 when nothing came.
struct UnixReply {
  int status = 0;
  std::string body;
};

int connect_unix(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

UnixReply unix_exchange(const std::string& path, const std::string& request) {
  UnixReply reply;
  const int fd = connect_unix(path);
  if (fd < 0) return reply;
  timeval limit{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) text.append(buffer, size_t(n));
  ::close(fd);
  if (text.starts_with("HTTP/1.")) reply.status = std::atoi(text.c_str() + 9);
  const size_t body = text.find("\r\n\r\n");
  if (body != std::string::npos) reply.body = text.substr(body + 4);
  return reply;
}

std::string post(const std::string& target, const std::string& body,
                 const std::string& extra_headers = "") {
  return "POST " + target +
         " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         extra_headers + "\r\n" + body;
}

// A TCP MCAP producer whose messages carry their number and the log time they were stamped
// with (now), one topic per channel, written unchunked so that each goes out at once.
class Producer {
 public:
  Producer(uint16_t port, const std::vector<std::string>& topics) : client_(port) {
    mcap::WriterOptions options;
    options.use_chunks = false;
    auto writer = mcap::Writer::open(std::make_unique<SocketSink>(client_), options);
    if (!writer) return;
    writer_ = std::move(*writer);
    uint16_t id = 1;
    for (const std::string& topic : topics) {
      (void)writer_->add_channel(mcap::Channel{id, 0, topic, "raw", {}});
      ids_[topic] = id++;
    }
  }
  bool ok() const { return client_.connected() && writer_ != nullptr; }

  // Sends message `number` on `topic` stamped now; returns its log time.
  uint64_t send(const std::string& topic, uint32_t number) {
    const uint64_t time = now_ns();
    const mcap::Bytes data = payload(number, 64);
    EXPECT_TRUE(writer_->write_message(mcap::Message{ids_.at(topic), number, time, time, data}));
    return time;
  }
  void finish() {
    (void)writer_->close();
    client_.finish();
  }

 private:
  TcpClient client_;
  std::unique_ptr<mcap::Writer> writer_;
  std::map<std::string, uint16_t> ids_;
};

struct Recorded {
  uint32_t number;
  uint64_t log_time;
};

class ControlE2ETest : public DaemonFixture {
 protected:
  void SetUp() override {
    DaemonFixture::SetUp();
    socket_ = (dir_ / "run" / "control.sock").string();
    port_ = free_port(SOCK_STREAM);
  }

  // `extra` adds whole sections, `control_extra` keys of the control section.
  std::string write_config(const std::string& extra = "", const std::string& control_extra = "") {
    const fs::path path = dir_ / "mcaprecd.yaml";
    std::ofstream(path) << "output:\n  directory: " << output_.string()
                        << "\nmcap:\n  chunk_size: 16KiB\n  chunk_max_age: 100ms\n"
                           "pipeline:\n  compressor_threads: 2\n  memory_budget: 64MiB\n"
                           "  shutdown_timeout: 8s\n"
                           "metrics:\n  bind: 127.0.0.1:"
                        << metrics_port_ << "\ncontrol:\n  socket: " << socket_ << "\n"
                        << control_extra
                        << "sources:\n  - name: producers\n    transport: tcp\n"
                           "    bind: 127.0.0.1:"
                        << port_ << "\n    format: mcap\n"
                        << extra;
    return path.string();
  }

  test_support::RunResult ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"ctl", "--socket", socket_});
    return test_support::run_tool(args, dir_ / "ctl.stderr");
  }
  Json ctl_json(std::vector<std::string> args) {
    args.push_back("--json");
    const test_support::RunResult result = ctl(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return Json::parse(result.out, nullptr, false);
  }

  int stop() {
    daemon_->signal(SIGTERM);
    const std::optional<int> code = daemon_->wait(kStopBound);
    EXPECT_TRUE(code);
    return code.value_or(-1);
  }

  bool wait_received(uint64_t messages) {
    return pipeline::testing::eventually([&] {
      const Json s = status();
      return s.is_object() && s["totals"]["messages_received"].get<uint64_t>() >= messages;
    });
  }

  // Every finalized file, verified, read back: message numbers and log times by topic.
  std::map<std::string, std::vector<Recorded>> recorded(
      const mcap::Metadata** last_stats = nullptr) {
    std::map<std::string, std::vector<Recorded>> by_topic;
    std::vector<std::string> paths;
    for (const auto& entry : fs::directory_iterator(output_)) {
      if (entry.path().extension() == ".mcap") paths.push_back(entry.path().string());
      EXPECT_NE(entry.path().extension(), ".active") << entry.path();
    }
    for (const std::string& path : paths) {
      EXPECT_EQ(verify(path), 0) << path;
      contents_.push_back(pipeline::testing::read_file(path));
      const pipeline::testing::FileContents& contents = contents_.back();
      EXPECT_EQ(contents.error, "") << path;
      for (const auto& message : contents.messages) {
        by_topic[contents.channels.at(message.channel_id).topic].push_back(
            {mcap::load_le<uint32_t>(message.data.data()), message.log_time});
      }
      if (last_stats != nullptr) *last_stats = contents.find_metadata("mcaprec.stats");
    }
    return by_topic;
  }

  std::string socket_;
  uint16_t port_ = 0;
  std::deque<pipeline::testing::FileContents> contents_;  // stable: stats point into it
};

// A producer stamps messages continuously while a pause and a resume happen: exactly the
// messages whose log time lies in [pause at, resume at) are missing, each counted `paused`.
TEST_F(ControlE2ETest, PauseAndResumeAreExactByLogTime) {
  start_recording(write_config());
  Producer producer(port_, {"/numbers"});
  ASSERT_TRUE(producer.ok());
  std::vector<Recorded> sent;
  std::atomic<bool> done{false};
  std::thread sender([&] {
    for (uint32_t i = 0; !done.load(); ++i) {
      sent.push_back({i, producer.send("/numbers", i)});
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
    producer.finish();
  });
  std::this_thread::sleep_for(milliseconds(300));
  const Json paused = ctl_json({"pause"});
  std::this_thread::sleep_for(milliseconds(300));
  const Json resumed = ctl_json({"resume"});
  std::this_thread::sleep_for(milliseconds(300));
  done = true;
  sender.join();
  ASSERT_TRUE(paused.is_object() && resumed.is_object());
  const uint64_t pause_at = paused["at"].get<uint64_t>();
  const uint64_t resume_at = resumed["at"].get<uint64_t>();
  EXPECT_TRUE(paused["paused_by_request"]["everything"].get<bool>());
  EXPECT_FALSE(resumed["paused_by_request"]["everything"].get<bool>());
  ASSERT_TRUE(wait_received(sent.size()));

  uint64_t inside = 0;
  std::set<uint32_t> expected;
  for (const Recorded& message : sent) {
    if (message.log_time >= pause_at && message.log_time < resume_at) {
      ++inside;
    } else {
      expected.insert(message.number);
    }
  }
  EXPECT_GT(inside, 100u);
  const Json during = status();
  EXPECT_EQ(during["channels"][0]["not_recorded"]["paused"].get<uint64_t>(), inside);
  EXPECT_EQ(during["totals"]["messages_dropped"].get<uint64_t>(), 0u);
  EXPECT_NE(
      http_get(metrics_port_, "/metrics")
          .body.find("mcaprec_channel_messages_not_recorded_total{channel=\"1\",topic=\"/numbers\","
                     "reason=\"paused\"} " +
                     std::to_string(inside)),
      std::string::npos);
  ASSERT_EQ(stop(), 0) << daemon_->err();

  const mcap::Metadata* stats = nullptr;
  std::set<uint32_t> found;
  const auto topics = recorded(&stats);
  for (const Recorded& message : topics.at("/numbers")) {
    EXPECT_TRUE(message.log_time < pause_at || message.log_time >= resume_at) << message.number;
    EXPECT_TRUE(found.insert(message.number).second) << "twice: " << message.number;
  }
  std::vector<uint32_t> missing;
  std::set_difference(expected.begin(), expected.end(), found.begin(), found.end(),
                      std::back_inserter(missing));
  EXPECT_TRUE(missing.empty()) << missing.size() << " missing, the first " << missing.front();
  EXPECT_EQ(found.size(), expected.size());
  ASSERT_NE(stats, nullptr);
  EXPECT_EQ(stats->metadata.at("not_recorded_paused"), std::to_string(inside));
  EXPECT_EQ(stats->metadata.at("/numbers.not_recorded_paused"), std::to_string(inside));
  EXPECT_EQ(stats->metadata.at("dropped_queue_full"), "0");
}

// Pausing one topic leaves the other recorded; split answers with the finalized file.
TEST_F(ControlE2ETest, PerTopicPauseAndSplit) {
  start_recording(write_config());
  const test_support::RunResult pause = ctl({"pause", "--topics", "/b"});
  ASSERT_EQ(pause.exit_code, 0) << pause.err;
  EXPECT_NE(pause.out.find("topic /b"), std::string::npos) << pause.out;
  Producer producer(port_, {"/a", "/b"});
  ASSERT_TRUE(producer.ok());
  for (uint32_t i = 0; i < 200; ++i) {
    producer.send("/a", i);
    producer.send("/b", i);
  }
  ASSERT_TRUE(wait_received(400));
  const test_support::RunResult status_text = ctl({"status"});
  EXPECT_EQ(status_text.exit_code, 0);
  EXPECT_NE(status_text.out.find("paused:         topic /b"), std::string::npos) << status_text.out;

  const Json split = ctl_json({"split"});
  ASSERT_TRUE(split.is_object());
  const std::string file = split["file"].get<std::string>();
  ASSERT_TRUE(fs::exists(file)) << file;  // finalized: the name without .active
  EXPECT_EQ(verify(file), 0);
  const pipeline::testing::FileContents contents = pipeline::testing::read_file(file);
  EXPECT_EQ(contents.error, "");
  EXPECT_EQ(contents.messages.size(), 200u);
  for (const auto& message : contents.messages) {
    EXPECT_EQ(contents.channels.at(message.channel_id).topic, "/a");
  }

  ASSERT_EQ(ctl({"resume", "--topics", "/b"}).exit_code, 0);
  for (uint32_t i = 200; i < 300; ++i) producer.send("/b", i);
  producer.finish();
  ASSERT_TRUE(wait_received(500));
  ASSERT_EQ(stop(), 0) << daemon_->err();
  const auto topics = recorded();
  EXPECT_EQ(topics.at("/a").size(), 200u);
  EXPECT_EQ(topics.at("/b").size(), 100u);
  for (const Recorded& message : topics.at("/b")) EXPECT_GE(message.number, 200u);
}

TEST_F(ControlE2ETest, StartsPausedUntilResumed) {
  start_recording(write_config("recording:\n  start: paused\n"));
  const Json before = status();
  EXPECT_TRUE(before["paused_by_request"]["everything"].get<bool>());
  EXPECT_NE(http_get(metrics_port_, "/metrics").body.find("mcaprec_paused_everything 1"),
            std::string::npos);
  Producer producer(port_, {"/numbers"});
  for (uint32_t i = 0; i < 100; ++i) producer.send("/numbers", i);
  ASSERT_TRUE(wait_received(100));
  ASSERT_EQ(ctl({"resume"}).exit_code, 0);
  for (uint32_t i = 100; i < 200; ++i) producer.send("/numbers", i);
  producer.finish();
  ASSERT_TRUE(wait_received(200));
  ASSERT_EQ(stop(), 0) << daemon_->err();
  const mcap::Metadata* stats = nullptr;
  const auto topics = recorded(&stats);
  EXPECT_EQ(topics.at("/numbers").size(), 100u);
  for (const Recorded& message : topics.at("/numbers")) EXPECT_GE(message.number, 100u);
  ASSERT_NE(stats, nullptr);
  EXPECT_EQ(stats->metadata.at("not_recorded_paused"), "100");
}

// `mcaprec ctl event` with a window and fields, then `ctl events`: the event goes from marked to
// finalized, the file it names exists and holds the fields; usage errors exit 2 before anything
// is sent, a refusal by the daemon exits 1 with its reason.
TEST_F(ControlE2ETest, CtlEventAndEventsFollowAnEventToItsFile) {
  start_recording(
      write_config("events:\n  look_back: 5s\n  memory_bytes: 256KiB\n  spool_bytes: 16MiB\n"
                   "channels:\n  - {topic: /camera, record: on_event}\n"));
  Producer producer(port_, {"/numbers", "/camera"});
  ASSERT_TRUE(producer.ok());
  for (uint32_t i = 0; i < 50; ++i) {
    producer.send("/numbers", i);
    producer.send("/camera", i);
  }
  ASSERT_TRUE(wait_received(100));
  // Status keeps apart what went into the continuous files and what only into the ring.
  Json counts;
  ASSERT_TRUE(pipeline::testing::eventually([&] {
    counts = status();
    return counts["totals"]["messages_written"] == 50 && counts["totals"]["messages_kept"] == 50;
  })) << counts.dump();
  EXPECT_EQ(counts["channels"][0]["record"], "always");
  EXPECT_EQ(counts["channels"][1]["record"], "on_event");
  EXPECT_EQ(counts["channels"][1]["written"], 50);
  const test_support::RunResult summary = ctl({"status"});
  EXPECT_NE(summary.out.find("100 received, 50 written to continuous files, 50 kept in the ring, "
                             "0 dropped, 0 not recorded (paused)"),
            std::string::npos)
      << summary.out;
  EXPECT_NE(summary.out.find(" 50 kept "), std::string::npos) << summary.out;

  const test_support::RunResult marked =
      ctl({"event", "brake", "--before", "300ms", "--after", "200ms", "--field", "driver=alice",
           "--field", "note=a=b"});
  ASSERT_EQ(marked.exit_code, 0) << marked.err;
  EXPECT_NE(marked.out.find("event 1 brake: waiting, trigger "), std::string::npos) << marked.out;
  EXPECT_NE(marked.out.find("(0.3s before, 0.2s after), fields driver=alice note=a=b"),
            std::string::npos)
      << marked.out;
  for (uint32_t i = 50; i < 100; ++i) producer.send("/camera", i);
  Json event;
  EXPECT_TRUE(pipeline::testing::eventually([&] {
    event = ctl_json({"events", "1"});
    return event.is_object() && event["phase"] == "finalized";
  })) << event.dump();
  ASSERT_TRUE(event.is_object());
  EXPECT_EQ(event["name"], "brake");
  EXPECT_EQ(event["trigger"], "control");
  EXPECT_EQ(event["window_end"].get<uint64_t>() - event["window_start"].get<uint64_t>(),
            500'000'000u);
  EXPECT_EQ(event["fields"], Json({{"driver", "alice"}, {"note", "a=b"}}));
  const std::string file = event["file"].get<std::string>();
  EXPECT_TRUE(file.ends_with(".mcap") && file.find("_event_brake_") != std::string::npos) << file;
  ASSERT_TRUE(fs::exists(file)) << file;
  EXPECT_EQ(verify(file), 0);
  const pipeline::testing::FileContents contents = pipeline::testing::read_file(file);
  const mcap::Metadata* record = contents.find_metadata("mcaprec.event");
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->metadata.at("field.driver"), "alice");

  const Json listed = ctl_json({"events"});
  ASSERT_TRUE(listed.is_object());
  ASSERT_EQ(listed["events"].size(), 1u);
  EXPECT_EQ(listed["events"][0]["file"], file);
  const test_support::RunResult human = ctl({"events"});
  EXPECT_EQ(human.exit_code, 0);
  EXPECT_NE(human.out.find("event 1 brake: finalized"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find(", file " + file), std::string::npos) << human.out;

  for (const std::vector<std::string>& wrong : {std::vector<std::string>{"event"},
                                                {"event", "a", "b"},
                                                {"event", "x", "--field", "k"},
                                                {"event", "x", "--before"},
                                                {"status", "--field", "k=v"},
                                                {"events", "1", "2"},
                                                {"launch"},
                                                {"status", "--bogus"},
                                                {}}) {
    const test_support::RunResult usage = ctl(wrong);
    EXPECT_EQ(usage.exit_code, 2) << testing::PrintToString(wrong);
    EXPECT_NE(usage.err.find("Run 'mcaprec ctl --help'"), std::string::npos) << usage.err;
  }
  const test_support::RunResult bad_window = ctl({"event", "x", "--before", "soon"});
  EXPECT_EQ(bad_window.exit_code, 1);
  EXPECT_NE(bad_window.err.find("the daemon refused (400): before"), std::string::npos)
      << bad_window.err;
  const test_support::RunResult unknown = ctl({"events", "99"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("the daemon refused (404): no event 99"), std::string::npos)
      << unknown.err;
  EXPECT_EQ(ctl_json({"events"})["events"].size(), 1u);  // nothing was marked by the failures

  producer.finish();
  ASSERT_EQ(stop(), 0) << daemon_->err();
}

// Bad requests get a 4xx JSON error; a TCP bind needs the token; recording goes on throughout.
TEST_F(ControlE2ETest, BadRequestsAreRefusedAndRecordingContinues) {
  const uint16_t control_port = free_port(SOCK_STREAM);
  std::ofstream(dir_ / "token") << "s3cret-token\n";
  start_recording(write_config("", "  bind: 127.0.0.1:" + std::to_string(control_port) +
                                       "\n  token_file: " + (dir_ / "token").string() + "\n"));
  Producer producer(port_, {"/numbers"});
  for (uint32_t i = 0; i < 50; ++i) producer.send("/numbers", i);

  auto expect_error = [&](const UnixReply& reply, int status, const std::string& text) {
    EXPECT_EQ(reply.status, status) << reply.body;
    const Json body = Json::parse(reply.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << reply.body;
    EXPECT_NE(body["error"].get<std::string>().find(text), std::string::npos) << reply.body;
  };
  expect_error(unix_exchange(socket_, post("/v1/pause", "{not json")), 400, "not valid JSON");
  expect_error(unix_exchange(socket_, post("/v1/pause", R"({"topics": "/a"})")), 400, "list");
  expect_error(unix_exchange(socket_, post("/v1/pause", R"({"sources": ["nope"]})")), 400,
               "no source named \"nope\"");
  expect_error(unix_exchange(socket_, post("/v1/nothing", "")), 404, "no such route");
  expect_error(unix_exchange(socket_, "GET /v1/pause HTTP/1.1\r\n\r\n"), 405, "use POST");
  expect_error(unix_exchange(socket_, post("/v1/events", R"({"name": "x"})")), 409,
               "not configured");
  EXPECT_EQ(unix_exchange(socket_, post("/v1/pause", std::string(70 * 1024, ' '))).status, 413);
  const test_support::RunResult refused = ctl({"event", "brake"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("the daemon refused (409)"), std::string::npos) << refused.err;
  EXPECT_EQ(ctl({"pause", "extra"}).exit_code, 2);

  // TCP: the token is required.
  const std::string status_request = "GET /v1/status HTTP/1.1\r\nHost: x\r\n";
  EXPECT_EQ(daemon::testing::http_exchange(control_port, status_request + "\r\n").status, 401);
  EXPECT_EQ(daemon::testing::http_exchange(control_port,
                                           status_request + "Authorization: Bearer wrong\r\n\r\n")
                .status,
            401);
  EXPECT_EQ(daemon::testing::http_exchange(
                control_port, status_request + "Authorization: Bearer s3cret-token\r\n\r\n")
                .status,
            200);
  const test_support::RunResult by_url =
      test_support::run_tool({"ctl", "--url", "http://127.0.0.1:" + std::to_string(control_port),
                              "--token-file", (dir_ / "token").string(), "status"},
                             dir_ / "url.stderr");
  EXPECT_EQ(by_url.exit_code, 0) << by_url.err;
  EXPECT_EQ(daemon_->err().find("s3cret"), std::string::npos);  // never logged

  for (uint32_t i = 50; i < 100; ++i) producer.send("/numbers", i);
  producer.finish();
  ASSERT_TRUE(wait_received(100));
  ASSERT_EQ(stop(), 0) << daemon_->err();
  EXPECT_EQ(recorded().at("/numbers").size(), 100u);
}

// The socket is 0660: a user who is neither its owner nor in its group is refused, and told so.
TEST_F(ControlE2ETest, SocketPermissionsKeepOthersOut) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run ctl as another user";
  start_recording(write_config());
  struct stat info {};
  ASSERT_EQ(::stat(socket_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0660u);
  // Only the socket's own mode may stand in the way.
  fs::permissions(dir_, fs::perms(0755));
  fs::permissions(fs::path(socket_).parent_path(), fs::perms(0755));
  const std::string command = std::string("setpriv --reuid=65534 --regid=65534 --clear-groups '") +
                              MCAPREC_TOOL_PATH + "' ctl --socket '" + socket_ + "' status 2>'" +
                              (dir_ / "nobody.stderr").string() + "'";
  const int status = std::system(command.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(read_text((dir_ / "nobody.stderr").string()).find("permission denied on " + socket_),
            std::string::npos)
      << read_text((dir_ / "nobody.stderr").string());
  // Root (the owner) is served.
  EXPECT_EQ(ctl({"status"}).exit_code, 0);
  ASSERT_EQ(stop(), 0);
  EXPECT_FALSE(fs::exists(socket_));  // removed at exit

  const test_support::RunResult missing = ctl({"status"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no daemon listening at " + socket_), std::string::npos)
      << missing.err;
}

// 100 clients that connect and send half a request line do not keep a scrape or a control
// request waiting: the oldest idle connections are closed to make room.
TEST_F(ControlE2ETest, HalfOpenClientsDoNotBlockScrapesOrCommands) {
  start_recording(write_config());
  std::vector<int> idle;
  for (int i = 0; i < 100; ++i) {
    const int tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address = loopback(metrics_port_);
    ASSERT_EQ(::connect(tcp, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ::send(tcp, "GET /metr", 9, MSG_NOSIGNAL);
    idle.push_back(tcp);
    const int local = connect_unix(socket_);
    ASSERT_GE(local, 0);
    ::send(local, "GET /v1/st", 10, MSG_NOSIGNAL);
    idle.push_back(local);
  }
  std::this_thread::sleep_for(milliseconds(100));
  auto begin = std::chrono::steady_clock::now();
  EXPECT_EQ(http_get(metrics_port_, "/metrics").status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, seconds(1));
  begin = std::chrono::steady_clock::now();
  EXPECT_EQ(unix_exchange(socket_, "GET /v1/status HTTP/1.1\r\n\r\n").status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, seconds(1));
  for (int fd : idle) ::close(fd);
  ASSERT_EQ(stop(), 0);
}

}  // namespace
}  // namespace mcaprec::e2e
