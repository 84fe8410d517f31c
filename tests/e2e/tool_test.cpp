// The real `mcaprec` binary on real files: what info prints (text and JSON), verify's exit
// codes and findings, convert across codecs and input shapes with the content read back, and
// the command line itself (help, version, usage errors).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <tuple>
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

constexpr int kMessages = 300;

using test_support::read_text;
using test_support::run_tool;
using test_support::RunResult;

class ToolTest : public ::testing::Test {
 protected:
  fs::path path(const std::string& name) const { return dir_ / name; }

  // Runs the tool with `args` (each single-quoted for the shell), stdout and stderr apart.
  RunResult run(const std::vector<std::string>& args) const {
    return run_tool(args, dir_ / "stderr.txt");
  }

  test_support::ScratchDir scratch_{"tool"};
  const fs::path dir_ = scratch_.path();
};

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "stderr:\n" + r.err;
}

using test_support::payload;

constexpr Timestamp kStart = 1'763'800'000'123'456'789ULL;  // 2025-11-22T08:26:40.123456789Z

// Three channels at 100 messages each over 2.99 s, one attachment, two metadata records.
void write_sample(const fs::path& file, WriterOptions options) {
  auto writer = storage::create_file_writer(file.string(), options);
  ASSERT_TRUE(writer.ok()) << writer.error().to_string();
  Writer& w = **writer;
  ASSERT_TRUE(w.add_schema(Schema{1, "pkg/Imu", "ros2msg", {'f'}}).ok());
  ASSERT_TRUE(w.add_schema(Schema{2, "pkg/Can", "ros2msg", {'u'}}).ok());
  ASSERT_TRUE(w.add_channel(Channel{1, 1, "/imu", "cdr", {{"qos", "x"}}}).ok());
  ASSERT_TRUE(w.add_channel(Channel{2, 2, "/can", "cdr", {}}).ok());
  ASSERT_TRUE(w.add_channel(Channel{3, 0, "/log", "json", {}}).ok());
  ASSERT_TRUE(w.write_metadata(Metadata{"vehicle", {{"id", "7"}}}).ok());
  for (int i = 0; i < kMessages; ++i) {
    const Bytes data = payload(static_cast<uint32_t>(i), 100 + (i * 41) % 900);
    const Timestamp time = kStart + static_cast<Timestamp>(i) * 10'000'000;
    ASSERT_TRUE(w.write_message(Message{static_cast<uint16_t>(1 + i % 3), static_cast<uint32_t>(i),
                                        time, time + 5, data})
                    .ok());
    if (i == 100) {
      const Bytes blob = payload(5, 2048);
      ASSERT_TRUE(w.write_attachment(
                       Attachment{kStart, 1, "calib.bin", "application/octet-stream", blob, 0})
                      .ok());
    }
  }
  ASSERT_TRUE(w.write_metadata(Metadata{"end", {}}).ok());
  Status status = w.close();
  ASSERT_TRUE(status.ok()) << status.error().to_string();
}

WriterOptions small_chunks() {
  WriterOptions options;
  options.chunk_size = 8192;
  return options;
}

WriterOptions unchunked_unindexed() {
  WriterOptions options;
  options.use_chunks = false;
  options.chunk_indexes = options.statistics = options.repeat_schemas = options.repeat_channels =
      options.attachment_indexes = options.metadata_indexes = options.summary_offsets = false;
  return options;
}

// Everything a reader sees in a file, in order.
struct Content {
  struct Msg {
    std::string topic;
    uint32_t sequence;
    Timestamp log_time;
    Timestamp publish_time;
    Bytes data;
    bool operator==(const Msg&) const = default;
  };
  std::vector<Msg> messages;
  std::vector<std::string> attachments;  // name, media type, data
  std::vector<std::string> metadata;     // name and entries
  std::map<uint16_t, std::string> topics;
};

Content read_content(const fs::path& file) {
  Content content;
  auto mapped = MappedFile::open(file.string());
  EXPECT_TRUE(mapped.ok());
  if (!mapped.ok()) return content;
  StreamReader reader(mapped->bytes());
  while (true) {
    auto item = reader.next();
    EXPECT_TRUE(item.ok()) << item.error().to_string();
    if (!item.ok() || !*item) break;
    const Record& record = (*item)->record;
    if (const auto* channel = std::get_if<Channel>(&record)) {
      content.topics[channel->id] = channel->topic;
    } else if (const auto* m = std::get_if<Message>(&record)) {
      content.messages.push_back({content.topics[m->channel_id], m->sequence, m->log_time,
                                  m->publish_time, Bytes(m->data.begin(), m->data.end())});
    } else if (const auto* a = std::get_if<Attachment>(&record)) {
      content.attachments.push_back(a->name + "|" + a->media_type + "|" +
                                    std::string(a->data.begin(), a->data.end()));
    } else if (const auto* md = std::get_if<Metadata>(&record)) {
      std::string text = md->name;
      for (const auto& [k, v] : md->metadata) text += "|" + k + "=" + v;
      content.metadata.push_back(text);
    }
  }
  return content;
}

// The messages in log-time order (ties by topic, then sequence): convert groups a chunk's
// messages by channel, so only this order is the same as the input's.
std::vector<Content::Msg> by_time(std::vector<Content::Msg> messages) {
  std::stable_sort(messages.begin(), messages.end(), [](const auto& a, const auto& b) {
    return std::tie(a.log_time, a.topic, a.sequence) < std::tie(b.log_time, b.topic, b.sequence);
  });
  return messages;
}

Summary read_file_summary(const fs::path& file) {
  auto mapped = MappedFile::open(file.string());
  EXPECT_TRUE(mapped.ok());
  auto summary = read_summary(mapped->bytes());
  EXPECT_TRUE(summary.ok()) << summary.error().to_string();
  return summary.ok() ? *summary : Summary{};
}

void corrupt_byte(const fs::path& file, uint64_t offset) {
  std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
  io.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  io.get(c);
  io.seekp(static_cast<std::streamoff>(offset));
  io.put(static_cast<char>(c ^ 0x20));
}

// --- command line ---

TEST_F(ToolTest, HelpAndVersion) {
  const RunResult overview = run({"--help"});
  EXPECT_EQ(overview.exit_code, 0) << describe(overview);
  for (const char* command : {"info", "verify", "convert", "filter", "cat"}) {
    EXPECT_NE(overview.out.find(std::string("  ") + command + " "), std::string::npos)
        << describe(overview);
    const RunResult r = run({command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find(std::string("Usage: mcaprec ") + command), std::string::npos)
        << describe(r);
  }
  RunResult r = run({"convert", "in.mcap", "-h"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("--chunk-size"), std::string::npos);
  for (const char* version : {"--version", "-V"}) {
    r = run({version});
    EXPECT_EQ(r.exit_code, 0) << version;
    EXPECT_EQ(r.out, std::string("mcaprec ") + MCAPREC_VERSION + "\n") << version;
  }
}

TEST_F(ToolTest, BadCommandLinesAreUsageErrors) {
  const std::string file = path("x.mcap").string();
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"frobnicate"},
      {"--frobnicate"},
      {"info"},
      {"info", file, "--bogus"},
      {"verify"},
      {"convert", file},
      {"convert", file, file + "2", "--compression", "gzip"},
      {"convert", file, file + "2", "--level", "fast"},
      {"convert", file, file + "2", "--level", "99"},
      {"convert", file, file + "2", "--chunk-size", "12XB"},
      {"convert", file, file + "2", "--chunk-size", "0"},
      {"convert", file, file + "2", "--chunk-size"},
      {"convert", file, file + "2", "--threads", "-1"},
      {"convert", file, file + "2", "--threads", "many"},
  };
  for (const auto& args : bad) {
    const RunResult r = run(args);
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_TRUE(r.out.empty()) << describe(r);
    EXPECT_NE(r.err.find("--help"), std::string::npos) << "no hint\n" << describe(r);
  }
  const RunResult typo = run({"verfy", file});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("unknown command 'verfy'"), std::string::npos) << describe(typo);
  EXPECT_NE(typo.err.find("Did you mean 'verify'?"), std::string::npos) << describe(typo);
}

// --- info ---

TEST_F(ToolTest, InfoPrintsTheSummaryLikeRosbagInfo) {
  const fs::path file = path("sample.mcap");
  write_sample(file, small_chunks());
  const Summary summary = read_file_summary(file);
  const size_t chunks = summary.chunk_indexes.size();
  ASSERT_GT(chunks, 3u);

  const RunResult r = run({"info", file.string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto has = [&](const std::string& text) { return r.out.find(text) != std::string::npos; };
  EXPECT_FALSE(has("scanned")) << r.out;
  EXPECT_TRUE(has("library:     mcaprec/")) << r.out;
  EXPECT_TRUE(has("messages:    300\n")) << r.out;
  EXPECT_TRUE(has("duration:    2.990000000s\n")) << r.out;
  EXPECT_TRUE(has("start:       2025-11-22T08:26:40.123456789Z (1763800000123456789)\n")) << r.out;
  EXPECT_TRUE(has("end:         2025-11-22T08:26:43.113456789Z (1763800003113456789)\n")) << r.out;
  EXPECT_TRUE(has("size:        ")) << r.out;
  EXPECT_TRUE(has(" (" + std::to_string(fs::file_size(file)) + " bytes)")) << r.out;
  EXPECT_TRUE(has("chunks:      " + std::to_string(chunks) + "\n")) << r.out;
  EXPECT_TRUE(has("zstd: [" + std::to_string(chunks) + "/" + std::to_string(chunks) + " chunks] ["))
      << r.out;
  EXPECT_TRUE(has("channels:    3\n")) << r.out;
  // Sorted by topic, each with count, rate (100 messages over 2.99 s) and schema.
  const size_t can = r.out.find("(2) /can ");
  const size_t imu = r.out.find("(1) /imu ");
  const size_t log = r.out.find("(3) /log ");
  ASSERT_NE(can, std::string::npos) << r.out;
  ASSERT_NE(imu, std::string::npos) << r.out;
  ASSERT_NE(log, std::string::npos) << r.out;
  EXPECT_LT(can, imu);
  EXPECT_LT(imu, log);
  EXPECT_TRUE(has("100 msgs (33.44 Hz)")) << r.out;
  EXPECT_TRUE(has(": pkg/Imu [ros2msg]\n")) << r.out;
  EXPECT_TRUE(has(": pkg/Can [ros2msg]\n")) << r.out;
  EXPECT_TRUE(has(": (no schema)\n")) << r.out;
  EXPECT_TRUE(has("attachments: 1\n  calib.bin  application/octet-stream  2.00 KiB\n")) << r.out;
  EXPECT_TRUE(has("metadata:    2\n  vehicle\n  end\n")) << r.out;
}

TEST_F(ToolTest, InfoJsonHoldsTheSameFacts) {
  const fs::path file = path("sample.mcap");
  WriterOptions options = small_chunks();
  options.compression = Compression::kLz4;
  write_sample(file, options);
  const RunResult r = run({"info", "--json", file.string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const nlohmann::json info = nlohmann::json::parse(r.out);
  EXPECT_EQ(info["source"], "summary");
  EXPECT_EQ(info["size"], fs::file_size(file));
  EXPECT_EQ(info["messages"], kMessages);
  EXPECT_EQ(info["start_ns"], kStart);
  EXPECT_EQ(info["end_ns"], kStart + 2'990'000'000ULL);
  EXPECT_EQ(info["duration_ns"], 2'990'000'000ULL);
  EXPECT_EQ(info["start"], "2025-11-22T08:26:40.123456789Z");
  EXPECT_EQ(info["schemas"], 2);
  ASSERT_EQ(info["compression"].size(), 1u);
  EXPECT_EQ(info["compression"][0]["compression"], "lz4");
  EXPECT_EQ(info["compression"][0]["chunks"], info["chunks"]);
  EXPECT_GT(info["compression"][0]["uncompressed_bytes"].get<uint64_t>(),
            info["compression"][0]["compressed_bytes"].get<uint64_t>());
  ASSERT_EQ(info["channels"].size(), 3u);
  EXPECT_EQ(info["channels"][0]["topic"], "/can");
  EXPECT_EQ(info["channels"][1]["topic"], "/imu");
  EXPECT_EQ(info["channels"][1]["id"], 1);
  EXPECT_EQ(info["channels"][1]["messages"], 100);
  EXPECT_EQ(info["channels"][1]["schema_name"], "pkg/Imu");
  EXPECT_EQ(info["channels"][1]["schema_encoding"], "ros2msg");
  EXPECT_EQ(info["channels"][1]["message_encoding"], "cdr");
  EXPECT_NEAR(info["channels"][1]["rate_hz"].get<double>(), 100 / 2.99, 0.001);
  EXPECT_EQ(info["channels"][2]["schema_id"], 0);
  ASSERT_EQ(info["attachments"].size(), 1u);
  EXPECT_EQ(info["attachments"][0]["name"], "calib.bin");
  EXPECT_EQ(info["attachments"][0]["size"], 2048);
  ASSERT_EQ(info["metadata"].size(), 2u);
  EXPECT_EQ(info["metadata"][0]["name"], "vehicle");
}

TEST_F(ToolTest, InfoEscapesJsonStrings) {
  const fs::path file = path("odd.mcap");
  {
    auto writer = storage::create_file_writer(file.string(), WriterOptions{});
    ASSERT_TRUE(writer.ok());
    const std::string topic = "/quote\"back\\slash\nnew\ttab\x01 \xc3\xa9 bad\xff";
    ASSERT_TRUE((*writer)->add_channel(Channel{1, 0, topic, "json", {}}).ok());
    const uint8_t data[] = {'{', '}'};
    ASSERT_TRUE((*writer)->write_message(Message{1, 0, 5, 5, data}).ok());
    ASSERT_TRUE((*writer)->close().ok());
  }
  const RunResult r = run({"info", file.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const nlohmann::json info = nlohmann::json::parse(r.out);
  EXPECT_EQ(info["channels"][0]["topic"],
            "/quote\"back\\slash\nnew\ttab\x01 \xc3\xa9 bad\xef\xbf\xbd");
  EXPECT_TRUE(info["channels"][0]["rate_hz"].is_null());  // one message: no duration
}

TEST_F(ToolTest, InfoScansAFileWithoutSummaryAndSaysSo) {
  const fs::path file = path("unindexed.mcap");
  write_sample(file, unchunked_unindexed());
  RunResult r = run({"info", file.string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("scanned the whole file"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("messages:    300\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("100 msgs"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("chunks:      0\n"), std::string::npos) << r.out;

  r = run({"info", "--json", file.string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const nlohmann::json info = nlohmann::json::parse(r.out);
  EXPECT_EQ(info["source"], "scan");
  EXPECT_EQ(info["messages"], kMessages);
  EXPECT_EQ(info["channels"].size(), 3u);
  EXPECT_EQ(info["attachments"].size(), 1u);
  EXPECT_EQ(info["metadata"].size(), 2u);
}

// The summary is enough: damage inside a chunk does not change what info reads (it never
// touches chunks), while verify finds it.
TEST_F(ToolTest, InfoReadsOnlyTheSummaryOfAnIndexedFile) {
  const fs::path file = path("sample.mcap");
  write_sample(file, small_chunks());
  const Summary summary = read_file_summary(file);
  ASSERT_GT(summary.chunk_indexes.size(), 2u);
  const RunResult before = run({"info", file.string()});
  const ChunkIndex& chunk = summary.chunk_indexes[1];
  for (uint64_t at = chunk.chunk_start_offset; at < chunk.chunk_start_offset + chunk.chunk_length;
       at += 3) {
    corrupt_byte(file, at);
  }
  const RunResult after = run({"info", file.string()});
  EXPECT_EQ(after.exit_code, 0) << describe(after);
  EXPECT_EQ(after.out, before.out);
  EXPECT_EQ(run({"verify", file.string()}).exit_code, 1);
}

TEST_F(ToolTest, InfoFailsClearlyOnUnreadableFiles) {
  RunResult r = run({"info", path("missing.mcap").string()});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("cannot open"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("missing.mcap"), std::string::npos) << describe(r);

  std::ofstream(path("text.mcap")) << "this is not an MCAP file at all\n";
  r = run({"info", path("text.mcap").string()});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("not an MCAP file"), std::string::npos) << describe(r);
}

// --- verify ---

TEST_F(ToolTest, VerifyExitCodesAndFindings) {
  const fs::path file = path("sample.mcap");
  write_sample(file, small_chunks());
  const Summary summary = read_file_summary(file);
  RunResult r = run({"verify", file.string()});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "OK: 300 messages, " + std::to_string(summary.chunk_indexes.size()) +
                       " chunks, all checks passed\n");

  const ChunkIndex& chunk = summary.chunk_indexes[2];
  corrupt_byte(file, chunk.chunk_start_offset + chunk.chunk_length - 20);
  r = run({"verify", file.string()});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.out.find("offset " + std::to_string(chunk.chunk_start_offset) + ": chunk"),
            std::string::npos)
      << describe(r);
  EXPECT_NE(r.out.find("data section CRC mismatch"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("FAILED: " + file.string() + ": "), std::string::npos) << describe(r);

  r = run({"verify", path("missing.mcap").string()});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("cannot open"), std::string::npos) << describe(r);
}

// --- convert ---

TEST_F(ToolTest, ConvertAcrossCodecsKeepsEveryMessage) {
  const fs::path input = path("input.mcap");
  write_sample(input, small_chunks());
  const Content original = read_content(input);
  ASSERT_EQ(original.messages.size(), static_cast<size_t>(kMessages));

  for (const std::string codec : {"zstd", "lz4", "none"}) {
    SCOPED_TRACE(codec);
    const fs::path output = path("out-" + codec + ".mcap");
    RunResult r = run({"convert", input.string(), output.string(), "--compression", codec});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("300 messages"), std::string::npos) << describe(r);
    EXPECT_NE(r.out.find("MB/s"), std::string::npos) << describe(r);
    EXPECT_FALSE(fs::exists(output.string() + ".tmp"));

    r = run({"verify", output.string()});
    EXPECT_EQ(r.exit_code, 0) << describe(r);

    const Content converted = read_content(output);
    EXPECT_EQ(by_time(converted.messages), by_time(original.messages));
    EXPECT_EQ(converted.topics, original.topics);
    EXPECT_EQ(converted.attachments, original.attachments);
    EXPECT_EQ(converted.metadata, original.metadata);

    const Summary summary = read_file_summary(output);
    ASSERT_FALSE(summary.chunk_indexes.empty());
    for (const ChunkIndex& index : summary.chunk_indexes) {
      EXPECT_EQ(index.compression, codec == "none" ? "" : codec);
    }
  }
}

TEST_F(ToolTest, ConvertHonoursChunkSizeAndLevel) {
  const fs::path input = path("input.mcap");
  write_sample(input, small_chunks());
  const fs::path big = path("big.mcap");
  const fs::path small = path("small.mcap");
  RunResult r = run({"convert", input.string(), big.string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  r = run({"convert", input.string(), small.string(), "--chunk-size=16KiB", "--level", "9"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const Summary one = read_file_summary(big);
  const Summary many = read_file_summary(small);
  // ~160 KB of records fit in the default 1 MiB.
  EXPECT_LE(one.chunk_indexes.size(), 3u);
  EXPECT_GT(many.chunk_indexes.size(), one.chunk_indexes.size() + 5);
  for (const ChunkIndex& index : many.chunk_indexes) {
    EXPECT_LT(index.uncompressed_size, 16u * 1024 + 2048);  // sealed once past 16 KiB
  }
  EXPECT_EQ(by_time(read_content(small).messages), by_time(read_content(input).messages));
}

TEST_F(ToolTest, ConvertWithAnyNumberOfCompressorThreadsKeepsEveryMessage) {
  const fs::path input = path("input.mcap");
  write_sample(input, small_chunks());
  const Content original = read_content(input);
  for (const std::string threads : {"1", "3"}) {
    SCOPED_TRACE(threads);
    const fs::path output = path("out-" + threads + ".mcap");
    const RunResult r = run(
        {"convert", input.string(), output.string(), "--threads", threads, "--chunk-size", "4KiB"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find(threads + " compressor threads"), std::string::npos) << describe(r);
    EXPECT_EQ(run({"verify", output.string()}).exit_code, 0);
    const Content converted = read_content(output);
    EXPECT_EQ(by_time(converted.messages), by_time(original.messages));
    EXPECT_EQ(converted.attachments, original.attachments);
    EXPECT_EQ(converted.metadata, original.metadata);
    EXPECT_GT(read_file_summary(output).chunk_indexes.size(), 20u);
  }
}

TEST_F(ToolTest, ConvertGivesEachChannelChunksOfItsOwn) {
  const fs::path input = path("input.mcap");
  write_sample(input, small_chunks());  // its chunks interleave the three channels
  const fs::path output = path("out.mcap");
  const RunResult r = run({"convert", input.string(), output.string(), "--chunk-size", "8KiB"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::set<uint16_t> channels;
  for (const ChunkIndex& index : read_file_summary(output).chunk_indexes) {
    EXPECT_EQ(index.message_index_offsets.size(), 1u);
    for (const auto& [channel, offset] : index.message_index_offsets) channels.insert(channel);
  }
  EXPECT_EQ(channels, (std::set<uint16_t>{1, 2, 3}));
}

TEST_F(ToolTest, ConvertRewritesAnUnchunkedUnindexedFile) {
  const fs::path input = path("plain.mcap");
  write_sample(input, unchunked_unindexed());
  const fs::path output = path("chunked.mcap");
  const RunResult r = run({"convert", input.string(), output.string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(run({"verify", output.string()}).exit_code, 0);
  const Summary summary = read_file_summary(output);
  ASSERT_TRUE(summary.statistics.has_value());
  EXPECT_EQ(summary.statistics->message_count, static_cast<uint64_t>(kMessages));
  ASSERT_FALSE(summary.chunk_indexes.empty());
  EXPECT_EQ(summary.chunk_indexes[0].compression, "zstd");
  const Content original = read_content(input);
  const Content converted = read_content(output);
  EXPECT_EQ(by_time(converted.messages), by_time(original.messages));
  EXPECT_EQ(converted.attachments, original.attachments);
  EXPECT_EQ(converted.metadata, original.metadata);
}

TEST_F(ToolTest, ConvertNeverLeavesAPartialOutput) {
  const fs::path input = path("input.mcap");
  write_sample(input, small_chunks());
  const auto original_size = fs::file_size(input);

  // Over the input itself: refused, input untouched.
  RunResult r = run({"convert", input.string(), input.string()});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("refusing"), std::string::npos) << describe(r);
  EXPECT_EQ(fs::file_size(input), original_size);

  // A truncated input fails part way: neither OUT nor OUT.tmp remains.
  const fs::path truncated = path("truncated.mcap");
  fs::copy_file(input, truncated);
  fs::resize_file(truncated, original_size / 2);
  const fs::path output = path("out.mcap");
  r = run({"convert", truncated.string(), output.string()});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("input"), std::string::npos) << describe(r);
  EXPECT_FALSE(fs::exists(output));
  EXPECT_FALSE(fs::exists(output.string() + ".tmp"));

  r = run({"convert", path("missing.mcap").string(), output.string()});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_FALSE(fs::exists(output));
}

// --- recover ---

TEST_F(ToolTest, RecoverCompletesACutRecordingAndReportsWhatItCut) {
  const fs::path original = path("sample.mcap");
  write_sample(original, small_chunks());
  const Summary summary = read_file_summary(original);
  const ChunkIndex& fourth = summary.chunk_indexes[3];
  const fs::path active = path("rec.mcap.active");
  fs::copy_file(original, active);
  fs::resize_file(active, fourth.chunk_start_offset + 100);  // cut inside the fourth chunk
  const std::string cut_bytes = std::to_string(100);

  // --dry-run reports and changes nothing.
  const std::string before = read_text(active);
  RunResult r = run({"recover", active.string(), "--dry-run"});
  EXPECT_EQ(r.exit_code, 3) << describe(r);  // data would be cut
  EXPECT_NE(r.out.find("would be recovered"), std::string::npos) << describe(r);
  EXPECT_EQ(read_text(active), before);
  EXPECT_FALSE(fs::exists(path("rec.mcap")));

  r = run({"recover", active.string()});
  EXPECT_EQ(r.exit_code, 3) << describe(r);  // recovered, but data was cut
  EXPECT_NE(r.out.find("kept:     3 chunks"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("(" + cut_bytes + " bytes) from offset " +
                       std::to_string(fourth.chunk_start_offset)),
            std::string::npos)
      << describe(r);
  EXPECT_NE(r.out.find("renamed:  to " + path("rec.mcap").string()), std::string::npos)
      << describe(r);
  EXPECT_FALSE(fs::exists(active));
  EXPECT_EQ(run({"verify", path("rec.mcap").string()}).exit_code, 0);
  EXPECT_EQ(read_file_summary(path("rec.mcap")).chunk_indexes.size(), 3u);

  r = run({"recover", path("rec.mcap").string()});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("already complete"), std::string::npos) << describe(r);

  std::ofstream(path("junk.mcap")) << "not a recording";
  r = run({"recover", path("junk.mcap").string()});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("no valid MCAP header"), std::string::npos) << describe(r);
  EXPECT_EQ(run({"recover"}).exit_code, 2);
  EXPECT_EQ(run({"recover", "a", "b"}).exit_code, 2);
}

TEST_F(ToolTest, RecoverExitsZeroWhenOnlyTheSummaryWasMissing) {
  const fs::path original = path("sample.mcap");
  write_sample(original, small_chunks());
  // A copy: the summary read here is a temporary.
  const ChunkIndex fourth = read_file_summary(original).chunk_indexes[3];
  const fs::path active = path("rec.mcap.active");
  fs::copy_file(original, active);
  fs::resize_file(active, fourth.chunk_start_offset);  // three whole chunks and their indexes

  const RunResult r = run({"recover", active.string()});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("cut:      nothing"), std::string::npos) << describe(r);
  EXPECT_EQ(run({"verify", path("rec.mcap").string()}).exit_code, 0);
  EXPECT_EQ(read_file_summary(path("rec.mcap")).chunk_indexes.size(), 3u);
}

}  // namespace
}  // namespace mcaprec::mcap
