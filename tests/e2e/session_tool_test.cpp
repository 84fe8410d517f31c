// The real `mcaprec` on a recording session of several files: info and verify over many files
// and a directory, filter across files (topics, times, chunks copied without recompression),
// and cat's text and JSON lines.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "mcap/reader.hpp"
#include "mcap/serialize.hpp"
#include "mcap/writer.hpp"
#include "payload.hpp"
#include "scratch_dir.hpp"
#include "storage/file_sink.hpp"
#include "tool_runner.hpp"

namespace mcaprec::mcap {
namespace {

namespace fs = std::filesystem;
using test_support::run_tool;
using test_support::RunResult;

constexpr Timestamp kStart = 1'763'800'000'000'000'000ULL;  // 2025-11-22T08:26:40Z
constexpr Timestamp kStep = 10'000'000;                     // 10 ms between messages
constexpr int kPerFile = 300;                               // 100 per topic
constexpr uint64_t kImuSize = 64;

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "stderr:\n" + r.err;
}

// What one file of the session holds: kPerFile messages from `first`, round robin over /imu
// (cdr, kImuSize bytes), /log (json text) and /camera (cdr, larger), a `mcaprec.stats` record
// with cumulative counts like the recorder's, small chunks.
struct FileSpec {
  Timestamp first = kStart;
  uint64_t received = 0;  // cumulative, as the recorder counts since its session start
  uint64_t dropped_queue_full = 0;
  std::string session = "2025-11-22T08:26:39Z";
};

Bytes log_payload(int i) {
  const std::string text = "{\"n\":" + std::to_string(i) + ",\"msg\":\"hello\"}";
  return Bytes(text.begin(), text.end());
}

// `facts`: the `mcaprec.session` record; none when empty.
void write_session_file(const fs::path& path, const FileSpec& spec, const KeyValueMap& facts = {}) {
  WriterOptions options;
  options.chunk_size = 4096;
  auto writer = storage::create_file_writer(path.string(), options);
  ASSERT_TRUE(writer.ok()) << writer.error().to_string();
  Writer& w = **writer;
  ASSERT_TRUE(w.add_schema(Schema{1, "pkg/Imu", "ros2msg", {'i'}}).ok());
  ASSERT_TRUE(w.add_channel(Channel{1, 1, "/imu", "cdr", {}}).ok());
  ASSERT_TRUE(w.add_channel(Channel{2, 0, "/log", "json", {}}).ok());
  ASSERT_TRUE(w.add_channel(Channel{3, 1, "/camera", "cdr", {}}).ok());
  ASSERT_TRUE(w.write_metadata(Metadata{"session", {{"vehicle", "car-7"}}}).ok());
  if (!facts.empty()) {
    ASSERT_TRUE(w.write_metadata(Metadata{"mcaprec.session", facts}).ok());
  }
  for (int i = 0; i < kPerFile; ++i) {
    const uint16_t channel = static_cast<uint16_t>(1 + i % 3);
    const Bytes data = channel == 1   ? test_support::payload(static_cast<uint32_t>(i), kImuSize)
                       : channel == 2 ? log_payload(i)
                                      : test_support::payload(static_cast<uint32_t>(i), 1000);
    const Timestamp time = spec.first + static_cast<Timestamp>(i) * kStep;
    ASSERT_TRUE(w.write_message(Message{channel, static_cast<uint32_t>(i), time, time, data}).ok());
  }
  const std::string written = std::to_string(spec.received - spec.dropped_queue_full);
  ASSERT_TRUE(w.write_metadata(
                   Metadata{"mcaprec.stats",
                            {{"received", std::to_string(spec.received)},
                             {"written", written},
                             {"dropped_queue_full", std::to_string(spec.dropped_queue_full)},
                             {"dropped_stopped", "0"},
                             {"/imu.received", std::to_string(spec.received)},
                             {"/imu.dropped_queue_full", std::to_string(spec.dropped_queue_full)},
                             {"scope", "session"},
                             {"session_start", spec.session}}})
                  .ok());
  ASSERT_TRUE(w.close().ok());
}

class SessionToolTest : public ::testing::Test {
 protected:
  RunResult run(const std::vector<std::string>& args) const {
    return run_tool(args, dir_ / "stderr.txt");
  }
  fs::path path(const std::string& name) const { return dir_ / name; }

  // Three files in rec/: a, b right after a (10 ms), c 5 s after b. Two drops in b.
  void write_session() {
    fs::create_directories(rec_);
    const Timestamp span = (kPerFile - 1) * kStep;
    write_session_file(rec_ / "a.mcap", {kStart, 300, 0});
    write_session_file(rec_ / "b.mcap", {kStart + span + kStep, 602, 2});
    write_session_file(rec_ / "c.mcap", {kStart + 2 * span + kStep + 5'000'000'000ULL, 902, 2});
    std::ofstream(rec_ / "d.mcap.active") << "being written";
  }

  test_support::ScratchDir scratch_{"session-tool"};
  const fs::path dir_ = scratch_.path();
  const fs::path rec_ = dir_ / "rec";
};

// Every Chunk record of a file that holds messages (Message Index records follow it), as raw
// bytes, prefix included. (mcap::Writer puts the declarations in a chunk of their own.)
std::vector<Bytes> chunk_records(const fs::path& file) {
  auto mapped = MappedFile::open(file.string());
  EXPECT_TRUE(mapped.ok());
  std::vector<Bytes> out;
  if (!mapped.ok()) return out;
  const ByteView bytes = mapped->bytes();
  for (uint64_t pos = sizeof(kMagic); pos < bytes.size();) {
    auto frame = read_frame(bytes, pos);
    if (!frame.ok() || frame->opcode == static_cast<uint8_t>(Opcode::kDataEnd)) break;
    const uint64_t next = pos + frame->size();
    if (frame->opcode == static_cast<uint8_t>(Opcode::kChunk) && next < bytes.size() &&
        bytes[next] == static_cast<uint8_t>(Opcode::kMessageIndex)) {
      out.emplace_back(bytes.begin() + static_cast<ptrdiff_t>(pos),
                       bytes.begin() + static_cast<ptrdiff_t>(pos + frame->size()));
    }
    pos += frame->size();
  }
  return out;
}

struct Read {
  std::string topic;
  Timestamp log_time;
  uint32_t sequence;
};

// The messages of a file in file order.
std::vector<Read> read_messages(const fs::path& file) {
  std::vector<Read> out;
  auto mapped = MappedFile::open(file.string());
  EXPECT_TRUE(mapped.ok());
  if (!mapped.ok()) return out;
  std::map<uint16_t, std::string> topics;
  StreamReader reader(mapped->bytes());
  while (true) {
    auto item = reader.next();
    EXPECT_TRUE(item.ok()) << item.error().to_string();
    if (!item.ok() || !*item) break;
    if (const auto* channel = std::get_if<Channel>(&(*item)->record)) {
      topics[channel->id] = channel->topic;
    } else if (const auto* m = std::get_if<Message>(&(*item)->record)) {
      out.push_back({topics[m->channel_id], m->log_time, m->sequence});
    }
  }
  return out;
}

TEST_F(SessionToolTest, InfoSummarizesManyFilesAndADirectoryAndFlagsGaps) {
  write_session();
  const std::string a = (rec_ / "a.mcap").string(), b = (rec_ / "b.mcap").string(),
                    c = (rec_ / "c.mcap").string();
  // Listed out of order: the files are put in time order.
  const RunResult listed = run({"info", c, a, b});
  ASSERT_EQ(listed.exit_code, 0) << describe(listed);
  const RunResult dir = run({"info", rec_.string()});
  ASSERT_EQ(dir.exit_code, 0) << describe(dir);
  EXPECT_EQ(dir.out, listed.out);
  const std::string& out = dir.out;
  const auto has = [&](const std::string& text) { return out.find(text) != std::string::npos; };
  EXPECT_TRUE(has("files:       3 (by first message time)\n")) << out;
  EXPECT_LT(out.find("  " + a + "  2025-11-22T08:26:40.000000000Z  2.990000000s  300 msgs"),
            out.find("  " + b + "  "))
      << out;
  EXPECT_LT(out.find("  " + b + "  "), out.find("  " + c + "  ")) << out;
  EXPECT_FALSE(has("d.mcap.active")) << out;
  EXPECT_TRUE(has("300 msgs  ")) << out;
  EXPECT_NE(out.find("dropped 2\n", out.find("  " + b + "  ")), std::string::npos) << out;
  EXPECT_TRUE(has("messages:    900\n")) << out;
  EXPECT_TRUE(has("start:       2025-11-22T08:26:40.000000000Z (1763800000000000000)\n")) << out;
  // a: 0..2.99 s, b: 3.00..5.99 s, c: 10.99..13.98 s.
  EXPECT_TRUE(has("duration:    13.980000000s\n")) << out;
  EXPECT_TRUE(has("gaps:        2 between files, largest 5.000000000s, 1 longer than 1s\n")) << out;
  EXPECT_TRUE(has("  GAP 5.000000000s between " + b + " and " + c + "\n")) << out;
  EXPECT_TRUE(has("topics:      3\n")) << out;
  // 300 /imu messages of kImuSize bytes over 13.98 s.
  EXPECT_TRUE(has("  /imu    300 msgs  18.75 KiB  (21.46 Hz)  dropped 2\n")) << out;
  EXPECT_TRUE(has("recorder:    3 of 3 files with mcaprec.stats, 1 session\n")) << out;
  EXPECT_TRUE(has("  received 902, written 900, dropped 2 (queue_full 2)\n")) << out;
}

TEST_F(SessionToolTest, InfoJsonOfASession) {
  write_session();
  // A second recorder session in the same directory: its counts add up.
  FileSpec other{kStart + 100'000'000'000ULL, 300, 1, "2025-11-22T08:28:00Z"};
  write_session_file(rec_ / "e.mcap", other);
  const RunResult r = run({"info", "--json", rec_.string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const nlohmann::json info = nlohmann::json::parse(r.out);
  ASSERT_EQ(info["files"].size(), 4u);
  EXPECT_EQ(info["files"][0]["path"], (rec_ / "a.mcap").string());
  EXPECT_EQ(info["files"][1]["recorder"]["dropped_queue_full"], 2);
  EXPECT_EQ(info["files"][1]["recorder"]["received"], 302);  // its share of the session
  const nlohmann::json& s = info["session"];
  EXPECT_EQ(s["files"], 4);
  EXPECT_EQ(s["messages"], 1200);
  EXPECT_EQ(s["start_ns"], kStart);
  EXPECT_EQ(s["end_ns"], other.first + (kPerFile - 1) * kStep);
  ASSERT_EQ(s["gaps"].size(), 3u);
  EXPECT_EQ(s["gaps"][0]["gap_ns"], kStep);
  EXPECT_FALSE(s["gaps"][0]["flagged"]);
  EXPECT_EQ(s["gaps"][1]["gap_ns"], 5'000'000'000LL);
  EXPECT_TRUE(s["gaps"][1]["flagged"]);
  EXPECT_EQ(s["flagged_gaps"], 2);
  ASSERT_EQ(s["topics"].size(), 3u);
  EXPECT_EQ(s["topics"][1]["topic"], "/imu");
  EXPECT_EQ(s["topics"][1]["messages"], 400);
  EXPECT_EQ(s["topics"][1]["bytes"], 400 * kImuSize);
  EXPECT_EQ(s["topics"][1]["recorder"]["dropped_queue_full"], 3);
  EXPECT_EQ(s["recorder"]["sessions"], 2);
  EXPECT_EQ(s["recorder"]["dropped"], 3);
  EXPECT_EQ(s["recorder"]["counters"]["received"], 1202);
  EXPECT_TRUE(info["errors"].empty());
}

TEST_F(SessionToolTest, VerifyChecksEveryFileAndEndsWithAVerdict) {
  write_session();
  RunResult r = run({"verify", rec_.string()});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(r.out.ends_with("3 files verified, 0 failed\n")) << r.out;
  EXPECT_NE(r.out.find("OK: " + (rec_ / "b.mcap").string() + ": 300 messages"), std::string::npos)
      << r.out;

  // Damage inside one chunk of b.
  const std::vector<Bytes> chunks = chunk_records(rec_ / "b.mcap");
  ASSERT_FALSE(chunks.empty());
  {
    std::fstream io(rec_ / "b.mcap", std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(static_cast<std::streamoff>(fs::file_size(rec_ / "b.mcap") / 2));
    io.put('\x5a').put('\xa5').put('\x5a');
  }
  r = run({"verify", (rec_ / "a.mcap").string(), rec_.string()});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(r.out.ends_with("4 files verified, 1 failed\n")) << r.out;
  EXPECT_NE(r.out.find("FAILED: " + (rec_ / "b.mcap").string() + ": "), std::string::npos) << r.out;

  r = run({"verify", "--json", rec_.string(), path("missing.mcap").string()});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  const nlohmann::json report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report["verified"], 4);
  EXPECT_EQ(report["failed"], 2);
  EXPECT_EQ(report["files"][0]["ok"], true);
  EXPECT_EQ(report["files"][0]["messages"], 300);
  EXPECT_EQ(report["files"][1]["ok"], false);
  EXPECT_GT(report["files"][1]["errors"].get<int>(), 0);
  EXPECT_FALSE(report["files"][1]["findings"].empty());
  EXPECT_NE(report["files"][3]["error"].get<std::string>().find("cannot open"), std::string::npos);
}

// Copied chunks are byte for byte the input's; the rest holds exactly the selection.
TEST_F(SessionToolTest, FilterMergesFilesAndCopiesWholeChunks) {
  write_session();
  const fs::path out = path("all.mcap");
  RunResult r = run({"filter", rec_.string(), "-o", out.string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(run({"verify", out.string()}).exit_code, 0);
  std::set<Bytes> input_chunks;
  for (const char* name : {"a.mcap", "b.mcap", "c.mcap"}) {
    for (Bytes& chunk : chunk_records(rec_ / name)) input_chunks.insert(std::move(chunk));
  }
  const std::vector<Bytes> output_chunks = chunk_records(out);
  ASSERT_EQ(output_chunks.size(), input_chunks.size());
  for (const Bytes& chunk : output_chunks) EXPECT_TRUE(input_chunks.contains(chunk));
  EXPECT_NE(r.out.find("900 messages, " + std::to_string(input_chunks.size()) +
                       " chunks copied without recompression, 0 chunks rewritten"),
            std::string::npos)
      << r.out;
  const std::vector<Read> all = read_messages(out);
  ASSERT_EQ(all.size(), 900u);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(),
                             [](const Read& x, const Read& y) { return x.log_time < y.log_time; }));
  // The session metadata, identical in each file, is kept once; each file's stats stay.
  const RunResult info = run({"info", "--json", out.string()});
  const nlohmann::json meta = nlohmann::json::parse(info.out)["metadata"];
  EXPECT_EQ(meta.size(), 4u) << meta.dump();
}

TEST_F(SessionToolTest, FilterByTopicAndTimeAcrossFiles) {
  write_session();
  const fs::path out = path("imu.mcap");
  // From 2.5 s after the session start to the RFC 3339 instant 12 s after it.
  const RunResult r =
      run({"filter", (rec_ / "c.mcap").string(), (rec_ / "a.mcap").string(),
           (rec_ / "b.mcap").string(), "--output", out.string(), "--topics", "^/(imu|log)$",
           "--exclude-topics", "log", "--start", "+2.5s", "--end", "2025-11-22T08:26:52Z"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(run({"verify", out.string()}).exit_code, 0);
  const std::vector<Read> got = read_messages(out);
  std::vector<Read> expected;
  for (const Read& m : read_messages(rec_ / "a.mcap")) expected.push_back(m);
  for (const Read& m : read_messages(rec_ / "b.mcap")) expected.push_back(m);
  for (const Read& m : read_messages(rec_ / "c.mcap")) expected.push_back(m);
  std::erase_if(expected, [](const Read& m) {
    return m.topic != "/imu" || m.log_time < kStart + 2'500'000'000ULL ||
           m.log_time >= kStart + 12'000'000'000ULL;
  });
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].topic, expected[i].topic);
    EXPECT_EQ(got[i].log_time, expected[i].log_time);
  }
  // Every chunk mixed topics: nothing could be copied.
  EXPECT_NE(r.out.find(std::to_string(expected.size()) + " messages, 0 chunks copied"),
            std::string::npos)
      << r.out;
}

TEST_F(SessionToolTest, FilterMergesFilesThatOverlapByTime) {
  fs::create_directories(rec_);
  write_session_file(rec_ / "x.mcap", {kStart});
  write_session_file(rec_ / "y.mcap", {kStart + kStep / 2});  // interleaved with x
  const fs::path out = path("merged.mcap");
  const RunResult r = run({"filter", rec_.string(), "-o", out.string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(run({"verify", out.string()}).exit_code, 0);
  const std::vector<Read> got = read_messages(out);
  ASSERT_EQ(got.size(), 2u * kPerFile);
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end(),
                             [](const Read& x, const Read& y) { return x.log_time < y.log_time; }));
  EXPECT_NE(r.out.find("0 chunks copied"), std::string::npos) << r.out;
}

TEST_F(SessionToolTest, FilterAndCatUsageErrors) {
  write_session();
  const std::string in = rec_.string();
  const std::vector<std::vector<std::string>> bad = {
      {"filter", in},
      {"filter", "-o", path("o.mcap").string()},
      {"filter", in, "-o", path("o.mcap").string(), "--topics", "("},
      {"filter", in, "-o", path("o.mcap").string(), "--start", "yesterday"},
      {"filter", in, "-o", path("o.mcap").string(), "--end", "+5 parsecs"},
      {"cat"},
      {"cat", in, "--bytes", "many"},
  };
  for (const auto& args : bad) {
    const RunResult r = run(args);
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_NE(r.err.find("--help"), std::string::npos) << describe(r);
  }
  const RunResult over = run({"filter", in, "-o", (rec_ / "a.mcap").string()});
  EXPECT_EQ(over.exit_code, 1) << describe(over);
  EXPECT_NE(over.err.find("refusing to write over"), std::string::npos) << describe(over);
}

TEST_F(SessionToolTest, CatPrintsTextHexAndJsonLines) {
  write_session();
  const std::string a = (rec_ / "a.mcap").string();
  RunResult r = run({"cat", a, "--topics", "^/(log|imu)$"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::istringstream lines(r.out);
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  const Bytes imu = test_support::payload(0, kImuSize);
  std::string hex;
  for (size_t i = 0; i < 16; ++i) {
    static const char digits[] = "0123456789abcdef";
    hex += digits[imu[i] >> 4];
    hex += digits[imu[i] & 0xf];
  }
  EXPECT_EQ(first, "2025-11-22T08:26:40.000000000Z  /imu  64 B  " + hex + "...");
  EXPECT_EQ(second, "2025-11-22T08:26:40.010000000Z  /log  21 B  {\"n\":1,\"msg\":\"hello\"}");
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 200);

  r = run({"cat", "--json", rec_.string(), "--topics", "/log", "--bytes", "4"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::istringstream json_lines(r.out);
  std::string line;
  size_t count = 0;
  while (std::getline(json_lines, line)) {
    const nlohmann::json m = nlohmann::json::parse(line);
    if (count == 0) {
      EXPECT_EQ(m["topic"], "/log");
      EXPECT_EQ(m["log_time_ns"], kStart + kStep);
      EXPECT_EQ(m["size"], 21);
      EXPECT_EQ(m["data"]["n"], 1);
      EXPECT_EQ(m["message_encoding"], "json");
    }
    ++count;
  }
  EXPECT_EQ(count, 300u);
  r = run({"cat", "--json", a, "--topics", "camera", "--bytes", "2"});
  const nlohmann::json camera = nlohmann::json::parse(r.out.substr(0, r.out.find('\n')));
  EXPECT_EQ(camera["data_hex"].get<std::string>().size(), 4u + 3u);
  EXPECT_EQ(camera["size"], 1000);
}

// The recorder's `session:` facts: a single file lists its record's keys; a session names the
// device on each file line and lists every value of each key once, in file order.
TEST_F(SessionToolTest, InfoShowsTheSessionMetadataPerFileAndForTheSession) {
  fs::create_directories(rec_);
  const Timestamp span = kPerFile * kStep;
  const KeyValueMap ann = {
      {"device_id", "car-7"}, {"device_name", "Test Car 7"}, {"driver", "ann"}};
  KeyValueMap bob = ann;
  bob["driver"] = "bob";
  write_session_file(rec_ / "a.mcap", {kStart, 300, 0, "s1"}, ann);
  write_session_file(rec_ / "b.mcap", {kStart + span, 600, 0, "s1"}, bob);
  write_session_file(rec_ / "c.mcap", {kStart + 2 * span, 900, 0, "s1"});
  const std::string a = (rec_ / "a.mcap").string(), c = (rec_ / "c.mcap").string();

  const RunResult one = run({"info", a});
  ASSERT_EQ(one.exit_code, 0) << describe(one);
  EXPECT_NE(one.out.find("session:     3 keys (mcaprec.session)\n"
                         "  device_id:   car-7\n"
                         "  device_name: Test Car 7\n"
                         "  driver:      ann\n"),
            std::string::npos)
      << one.out;
  const RunResult one_json = run({"info", "--json", a});
  ASSERT_EQ(one_json.exit_code, 0) << describe(one_json);
  EXPECT_EQ(nlohmann::json::parse(one_json.out)["session_metadata"]["driver"], "ann");
  const RunResult without = run({"info", "--json", c});
  EXPECT_TRUE(nlohmann::json::parse(without.out)["session_metadata"].is_null());

  const RunResult all = run({"info", rec_.string()});
  ASSERT_EQ(all.exit_code, 0) << describe(all);
  const std::string& out = all.out;
  EXPECT_NE(out.find("  " + a + "  "), std::string::npos);
  EXPECT_NE(out.find("device car-7 (Test Car 7)", out.find("  " + a + "  ")), std::string::npos)
      << out;
  const size_t c_line = out.find("  " + c + "  ");
  EXPECT_EQ(out.substr(c_line, out.find('\n', c_line) - c_line).find("device"), std::string::npos)
      << out;
  EXPECT_NE(out.find("session metadata: 2 of 3 files with mcaprec.session\n"
                     "  device_id:   car-7\n"
                     "  device_name: Test Car 7\n"
                     "  driver:      ann | bob\n"),
            std::string::npos)
      << out;

  const RunResult all_json = run({"info", "--json", rec_.string()});
  ASSERT_EQ(all_json.exit_code, 0) << describe(all_json);
  const nlohmann::json report = nlohmann::json::parse(all_json.out);
  EXPECT_EQ(report["session"]["session_metadata"],
            nlohmann::json::parse(R"({"device_id": ["car-7"], "device_name": ["Test Car 7"],
                                      "driver": ["ann", "bob"]})"));
  EXPECT_EQ(report["files"][1]["session_metadata"]["driver"], "bob");
  EXPECT_TRUE(report["files"][2]["session_metadata"].is_null());
}

}  // namespace
}  // namespace mcaprec::mcap
