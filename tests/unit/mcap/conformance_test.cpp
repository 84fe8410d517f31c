// The MCAP conformance corpus (../shared/reference/mcap-conformance): 416 small files, each with
// a .json listing its records. Our stream reader must read every file into exactly that list,
// our writer must reproduce every unpadded file byte for byte from its list, and no prefix of
// any file may crash a reader or pass for a whole file.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "conformance_json.hpp"
#include "mcap/reader.hpp"
#include "mcap/sink.hpp"
#include "mcap/writer.hpp"

namespace mcaprec::mcap {
namespace {

namespace fs = std::filesystem;
using conformance::json;

const fs::path kCorpusDir = MCAPREC_SHARED_DIR "/reference/mcap-conformance";
constexpr int kMaxRecordsPerFile = 10000;  // guards against a reader that never ends

// One corpus file, e.g. TenMessages/TenMessages-ch-mx.mcap with features {ch, mx}.
struct CorpusFile {
  fs::path mcap;
  std::string name;  // file stem
  std::set<std::string> features;

  bool has(const std::string& feature) const { return features.count(feature) != 0; }
  fs::path json_path() const { return fs::path(mcap).replace_extension(".json"); }
};

void PrintTo(const CorpusFile& file, std::ostream* out) {
  *out << file.name;
}

std::vector<CorpusFile> corpus_files(bool with_pad) {
  std::vector<CorpusFile> files;
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(kCorpusDir, ec)) {
    if (entry.path().extension() != ".mcap") continue;
    CorpusFile file{entry.path(), entry.path().stem().string(), {}};
    std::istringstream parts(file.name);
    std::string part;
    std::getline(parts, part, '-');  // the base name
    while (std::getline(parts, part, '-')) file.features.insert(part);
    if (with_pad || !file.has("pad")) files.push_back(std::move(file));
  }
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return files;
}

std::string test_name(const testing::TestParamInfo<CorpusFile>& info) {
  std::string name = info.param.name;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

json read_json(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

// Records as one canonical JSON line each (nlohmann sorts object keys), so that comparing the
// strings is comparing the parsed JSON and a mismatch prints as a line diff.
std::string as_lines(const json& records) {
  std::string out;
  for (const auto& record : records) out += record.dump() + "\n";
  return out;
}

// Every record the stream reader yields, in the corpus shape.
Result<json> stream_read(ByteView file) {
  StreamReader reader(file);
  json records = json::array();
  for (int i = 0; i < kMaxRecordsPerFile; ++i) {
    auto next = reader.next();
    if (!next.ok()) return next.error();
    if (!next->has_value()) return records;
    if (auto record = conformance::corpus_json((*next)->record)) records.push_back(*record);
  }
  return Error{0, "reader did not end after " + std::to_string(kMaxRecordsPerFile) + " records"};
}

std::string hex_window(const Bytes& bytes, size_t center) {
  std::ostringstream out;
  const size_t begin = center < 16 ? 0 : center - 16;
  const size_t end = std::min(bytes.size(), center + 16);
  out << std::hex << std::setfill('0') << "@0x" << begin << ":";
  for (size_t i = begin; i < end; ++i) {
    out << (i == center ? " [" : " ") << std::setw(2) << int{bytes[i]} << (i == center ? "]" : "");
  }
  return out.str();
}

void expect_same_bytes(const Bytes& actual, const Bytes& expected) {
  if (actual == expected) return;
  const auto [a, e] = std::mismatch(actual.begin(), actual.end(), expected.begin(), expected.end());
  const size_t at = static_cast<size_t>(a - actual.begin());
  ADD_FAILURE() << "written " << actual.size() << " bytes, corpus has " << expected.size()
                << "; first difference at offset " << at
                << "\n  written: " << hex_window(actual, at)
                << "\n  corpus:  " << hex_window(expected, at);
}

class Corpus : public testing::TestWithParam<CorpusFile> {};
class CorpusUnpadded : public testing::TestWithParam<CorpusFile> {};

INSTANTIATE_TEST_SUITE_P(Conformance, Corpus, testing::ValuesIn(corpus_files(true)), test_name);
INSTANTIATE_TEST_SUITE_P(Conformance, CorpusUnpadded, testing::ValuesIn(corpus_files(false)),
                         test_name);

TEST(Conformance, CorpusIsPresent) {
  if (!fs::exists(kCorpusDir)) GTEST_SKIP() << "conformance corpus not found at " << kCorpusDir;
  EXPECT_EQ(corpus_files(true).size(), 416u);
}

// 1. Streamed read, every file including the padded ones.
TEST_P(Corpus, StreamReaderYieldsTheListedRecords) {
  const Bytes file = read_bytes(GetParam().mcap);
  const json expected = read_json(GetParam().json_path()).at("records");
  const Result<json> actual = stream_read(file);
  ASSERT_TRUE(actual.ok()) << actual.error().to_string();
  EXPECT_EQ(as_lines(*actual), as_lines(expected));
}

// The summary seen through the footer holds exactly the summary records of the list.
TEST_P(Corpus, ReadSummaryFindsTheListedSummary) {
  const Bytes file = read_bytes(GetParam().mcap);
  const json records = read_json(GetParam().json_path()).at("records");
  json expected = json::array();
  bool in_summary = false;
  for (const auto& record : records) {
    if (record.at("type") == "Footer") break;
    if (in_summary) expected.push_back(record);
    in_summary = in_summary || record.at("type") == "DataEnd";
  }
  const Result<Summary> summary = read_summary(file);
  if (conformance::JsonFields(records.back()).number("summary_start") == 0) {
    ASSERT_FALSE(summary.ok()) << "a file without summary must be reported as not indexed";
    EXPECT_NE(summary.error().message.find("not indexed"), std::string::npos)
        << summary.error().to_string();
    return;
  }
  ASSERT_TRUE(summary.ok()) << summary.error().to_string();
  EXPECT_EQ(conformance::to_json(summary->header), records.front());
  EXPECT_EQ(conformance::to_json(summary->footer), records.back());
  json actual = json::array();
  for (const auto& [id, schema] : summary->schemas) actual.push_back(conformance::to_json(schema));
  for (const auto& [id, channel] : summary->channels) {
    actual.push_back(conformance::to_json(channel));
  }
  if (summary->statistics) actual.push_back(conformance::to_json(*summary->statistics));
  for (const auto& index : summary->metadata_indexes) actual.push_back(conformance::to_json(index));
  for (const auto& index : summary->attachment_indexes) {
    actual.push_back(conformance::to_json(index));
  }
  for (const auto& index : summary->chunk_indexes) actual.push_back(conformance::to_json(index));
  for (const auto& offset : summary->summary_offsets) {
    actual.push_back(conformance::to_json(offset));
  }
  EXPECT_EQ(as_lines(actual), as_lines(expected));
}

TEST_P(Corpus, ScanFindsACompleteFile) {
  const Bytes file = read_bytes(GetParam().mcap);
  const json records = read_json(GetParam().json_path()).at("records");
  const ScanReport report = scan(file);
  EXPECT_TRUE(report.complete) << (report.stopped ? report.stopped->to_string() : "");
  EXPECT_FALSE(report.stopped.has_value()) << report.stopped->to_string();
  EXPECT_LE(report.valid_end, file.size());
  const auto messages = std::count_if(records.begin(), records.end(),
                                      [](const json& r) { return r.at("type") == "Message"; });
  EXPECT_EQ(report.statistics.message_count, static_cast<uint64_t>(messages));
}

// 2. Writing: the unpadded files come out of our writer byte for byte.
WriterOptions options_for(const CorpusFile& file, const Header& header) {
  WriterOptions options;
  options.profile = header.profile;
  options.library = header.library;
  options.use_chunks = file.has("ch");
  options.chunk_size = uint64_t{1} << 20;  // the corpus files have at most one chunk
  options.compression = Compression::kNone;
  options.message_indexes = file.has("mx");
  options.chunk_indexes = file.has("chx");
  options.statistics = file.has("st");
  options.repeat_schemas = file.has("rsh");
  options.repeat_channels = file.has("rch");
  options.attachment_indexes = file.has("ax");
  options.metadata_indexes = file.has("mdx");
  options.summary_offsets = file.has("sum");
  options.chunk_crc = options.attachment_crc = true;
  options.data_section_crc = options.summary_crc = true;
  return options;
}

Status replay(Writer& writer, const Record& record) {
  if (auto* r = std::get_if<Schema>(&record)) return writer.add_schema(*r);
  if (auto* r = std::get_if<Channel>(&record)) return writer.add_channel(*r);
  if (auto* r = std::get_if<Message>(&record)) return writer.write_message(*r);
  if (auto* r = std::get_if<Attachment>(&record)) return writer.write_attachment(*r);
  if (auto* r = std::get_if<Metadata>(&record)) return writer.write_metadata(*r);
  return Error{0, "no writer call for this record"};
}

TEST_P(CorpusUnpadded, WriterReproducesTheFile) {
  const json records = read_json(GetParam().json_path()).at("records");
  const auto header = conformance::record_from_json(records.at(0));
  ASSERT_TRUE(header && std::holds_alternative<Header>(header->record));

  auto sink = std::make_unique<MemorySink>();
  const MemorySink& written = *sink;
  auto writer =
      Writer::open(std::move(sink), options_for(GetParam(), std::get<Header>(header->record)));
  ASSERT_TRUE(writer.ok()) << writer.error().to_string();
  for (size_t i = 1; i < records.size() && records[i].at("type") != "DataEnd"; ++i) {
    const auto record = conformance::record_from_json(records[i]);
    ASSERT_TRUE(record) << "unexpected data-section record " << records[i].dump();
    const Status status = replay(**writer, record->record);
    ASSERT_TRUE(status.ok()) << records[i].dump() << ": " << status.error().to_string();
  }
  const Status closed = (*writer)->close();
  ASSERT_TRUE(closed.ok()) << closed.error().to_string();
  expect_same_bytes(written.bytes(), read_bytes(GetParam().mcap));
}

// 3. Robustness: every proper prefix of every file is an error for each reader, and the scanner
// never claims more than it was given. Each prefix gets its own allocation of exactly its size,
// so that the sanitizers catch any read past its end.
class FailureLog {
 public:
  void add(const std::string& what, size_t length, const std::string& detail) {
    if (counts_[what]++ < 3) first_[what] += "\n  length " + std::to_string(length) + ": " + detail;
  }
  void report() const {
    for (const auto& [what, count] : counts_) {
      ADD_FAILURE() << what << " for " << count << " truncations, e.g." << first_.at(what);
    }
  }

 private:
  std::map<std::string, size_t> counts_;
  std::map<std::string, std::string> first_;
};

void check_stream_reader(ByteView prefix, FailureLog& log) {
  StreamReader reader(prefix);
  for (int i = 0; i < kMaxRecordsPerFile; ++i) {
    const auto next = reader.next();
    if (next.ok() && next->has_value()) continue;
    if (next.ok()) return log.add("StreamReader ended cleanly", prefix.size(), "");
    if (next.error().offset > prefix.size()) {
      log.add("StreamReader error offset past the end", prefix.size(), next.error().to_string());
    }
    const auto again = reader.next();
    if (again.ok()) log.add("StreamReader error not final", prefix.size(), "");
    return;
  }
  log.add("StreamReader never ended", prefix.size(), "");
}

void check_read_summary(ByteView prefix, FailureLog& log) {
  const auto summary = read_summary(prefix);
  if (summary.ok()) log.add("read_summary accepted a truncated file", prefix.size(), "");
}

void check_scan(ByteView prefix, FailureLog& log) {
  const ScanReport report = scan(prefix);
  if (report.valid_end > prefix.size()) {
    log.add("scan valid_end past the end", prefix.size(), std::to_string(report.valid_end));
  }
  if (report.complete) log.add("scan called a truncated file complete", prefix.size(), "");
}

TEST_P(Corpus, EveryTruncationIsRejected) {
  const Bytes file = read_bytes(GetParam().mcap);
  FailureLog log;
  for (size_t length = 0; length < file.size(); ++length) {
    const auto copy = std::make_unique<uint8_t[]>(length);
    std::copy_n(file.begin(), length, copy.get());
    const ByteView prefix(copy.get(), length);
    check_stream_reader(prefix, log);
    check_read_summary(prefix, log);
    check_scan(prefix, log);
  }
  log.report();
}

// Every record type the corpus holds goes through our conversion at least once.
TEST(Conformance, EveryRecordTypeIsExercised) {
  if (!fs::exists(kCorpusDir)) GTEST_SKIP() << "conformance corpus not found at " << kCorpusDir;
  std::set<std::string> seen;
  for (const auto& file : corpus_files(true)) {
    const Result<json> records = stream_read(read_bytes(file.mcap));
    if (!records.ok()) continue;  // reported by the per-file test
    for (const auto& record : *records) seen.insert(record.at("type"));
  }
  const std::set<std::string> expected = {
      "Attachment", "AttachmentIndex", "Channel",      "ChunkIndex", "DataEnd",
      "Footer",     "Header",          "Message",      "Metadata",   "MetadataIndex",
      "Schema",     "Statistics",      "SummaryOffset"};
  EXPECT_EQ(seen, expected);
}

}  // namespace
}  // namespace mcaprec::mcap
