// The verifier: clean files of every shape pass, and damage anywhere is found and placed —
// every single-byte flip in a chunk, flips across the file and its summary, and each kind of
// index or statistics inconsistency on its own (with the CRCs recomputed, so the specific check
// has to catch it).
#include "mcap/verify.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "mcap/bytes.hpp"
#include "mcap/compression.hpp"
#include "mcap/crc32.hpp"
#include "mcap/reader.hpp"
#include "mcap/serialize.hpp"
#include "mcap/writer.hpp"
#include "payload.hpp"

namespace mcaprec::mcap {
namespace {

constexpr int kMessages = 300;

using test_support::payload;

// Three channels (one without schema), messages of varying size with log times slightly out
// of order, one attachment and two metadata records.
Bytes write_sample(WriterOptions options) {
  auto sink = std::make_unique<MemorySink>();
  MemorySink* memory = sink.get();
  auto writer = Writer::open(std::move(sink), options);
  EXPECT_TRUE(writer.ok());
  Writer& w = **writer;
  EXPECT_TRUE(w.add_schema(Schema{1, "pkg/Imu", "ros2msg", {'f', 'l', 'o', 'a', 't'}}).ok());
  EXPECT_TRUE(w.add_schema(Schema{2, "pkg/Can", "ros2msg", {'u', '8'}}).ok());
  EXPECT_TRUE(w.add_channel(Channel{1, 1, "/imu", "cdr", {{"qos", "reliable"}}}).ok());
  EXPECT_TRUE(w.add_channel(Channel{2, 2, "/can", "cdr", {}}).ok());
  EXPECT_TRUE(w.add_channel(Channel{3, 0, "/log", "json", {}}).ok());
  EXPECT_TRUE(w.write_metadata(Metadata{"vehicle", {{"id", "7"}}}).ok());
  for (int i = 0; i < kMessages; ++i) {
    const Bytes data = payload(static_cast<uint32_t>(i), 40 + (i * 37) % 400);
    const uint16_t channel = static_cast<uint16_t>(1 + i % 3);
    const Timestamp time = 1'000'000 + static_cast<Timestamp>(i) * 1000 + (i % 4 == 1 ? 1500 : 0);
    EXPECT_TRUE(w.write_message(Message{channel, static_cast<uint32_t>(i), time, time, data}).ok());
    if (i == kMessages / 2) {
      const Bytes blob = payload(99, 3000);
      EXPECT_TRUE(
          w.write_attachment(Attachment{5, 6, "calib.bin", "application/octet-stream", blob, 0})
              .ok());
    }
  }
  EXPECT_TRUE(w.write_metadata(Metadata{"end", {}}).ok());
  Status status = w.close();
  EXPECT_TRUE(status.ok()) << status.error().to_string();
  return memory->bytes();
}

WriterOptions zstd_chunks() {
  WriterOptions options;
  options.chunk_size = 4096;
  options.compression = Compression::kZstd;
  return options;
}

std::string describe(const VerifyReport& report) {
  std::string out;
  for (const Finding& f : report.findings) out += f.to_string() + "\n";
  return out;
}

bool has_error_containing(const VerifyReport& report, const std::string& text) {
  for (const Finding& f : report.findings) {
    if (f.severity == Severity::kError && f.message.find(text) != std::string::npos) return true;
  }
  return false;
}

struct Framed {
  uint64_t offset = 0;
  uint8_t opcode = 0;
  uint64_t size = 0;
};

// Top-level records of a well-formed file.
std::vector<Framed> records_of(const Bytes& file) {
  std::vector<Framed> out;
  const ByteView body = ByteView(file).first(file.size() - sizeof(kMagic));
  for (uint64_t pos = sizeof(kMagic); pos < body.size();) {
    auto frame = read_frame(body, pos);
    EXPECT_TRUE(frame.ok());
    if (!frame.ok()) break;
    out.push_back({pos, frame->opcode, frame->size()});
    pos += frame->size();
  }
  return out;
}

std::vector<Framed> records_of(const Bytes& file, Opcode opcode) {
  std::vector<Framed> out;
  for (const Framed& f : records_of(file)) {
    if (f.opcode == static_cast<uint8_t>(opcode)) out.push_back(f);
  }
  return out;
}

// Recomputes the Data End and summary CRCs after a test edited the bytes, so that only the
// check aimed at can notice the edit.
void refresh_crcs(Bytes& file) {
  const auto data_end = records_of(file, Opcode::kDataEnd);
  ASSERT_EQ(data_end.size(), 1u);
  const uint64_t at = data_end[0].offset;
  store_le<uint32_t>(file.data() + at + kRecordPrefixSize, crc32(ByteView(file).first(at)));
  const uint64_t footer = file.size() - sizeof(kMagic) - kFooterRecordSize;
  const uint64_t summary_start = load_le<uint64_t>(file.data() + footer + kRecordPrefixSize);
  const uint64_t covered_end = footer + kRecordPrefixSize + 16;
  store_le<uint32_t>(file.data() + covered_end,
                     crc32(ByteView(file).subspan(summary_start, covered_end - summary_start)));
}

// --- clean files ---

struct Shape {
  const char* name;
  WriterOptions options;
};

std::vector<Shape> clean_shapes() {
  std::vector<Shape> shapes;
  shapes.push_back({"zstd", zstd_chunks()});
  WriterOptions lz4 = zstd_chunks();
  lz4.compression = Compression::kLz4;
  shapes.push_back({"lz4", lz4});
  WriterOptions none = zstd_chunks();
  none.compression = Compression::kNone;
  shapes.push_back({"none", none});
  WriterOptions unchunked;
  unchunked.use_chunks = false;
  shapes.push_back({"unchunked", unchunked});
  WriterOptions bare = zstd_chunks();
  bare.message_indexes = bare.chunk_indexes = bare.statistics = bare.repeat_schemas =
      bare.repeat_channels = bare.attachment_indexes = bare.metadata_indexes =
          bare.summary_offsets = false;
  bare.chunk_crc = bare.attachment_crc = bare.data_section_crc = bare.summary_crc = false;
  shapes.push_back({"no indexes, no CRCs", bare});
  return shapes;
}

TEST(Verify, CleanFilesOfEveryShapePass) {
  for (const Shape& shape : clean_shapes()) {
    SCOPED_TRACE(shape.name);
    const Bytes file = write_sample(shape.options);
    const VerifyReport report = verify_file(file);
    EXPECT_TRUE(report.ok()) << describe(report);
    EXPECT_TRUE(report.findings.empty()) << describe(report);
    EXPECT_EQ(report.message_count, static_cast<uint64_t>(kMessages));
    EXPECT_EQ(report.attachment_count, 1u);
    EXPECT_EQ(report.metadata_count, 2u);
    if (shape.options.use_chunks) {
      EXPECT_GT(report.chunk_count, 5u);
      EXPECT_EQ(report.chunk_count, records_of(file, Opcode::kChunk).size());
    } else {
      EXPECT_EQ(report.chunk_count, 0u);
    }
  }
}

TEST(Verify, EveryConformanceFileHasNoErrors) {
  const std::filesystem::path corpus =
      std::filesystem::path(MCAPREC_SHARED_DIR) / "reference" / "mcap-conformance";
  if (!std::filesystem::exists(corpus)) GTEST_SKIP() << "conformance corpus absent: " << corpus;
  int files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(corpus)) {
    if (entry.path().extension() != ".mcap") continue;
    auto mapped = MappedFile::open(entry.path().string());
    ASSERT_TRUE(mapped.ok()) << mapped.error().to_string();
    const VerifyReport report = verify_file(mapped->bytes());
    EXPECT_TRUE(report.ok()) << entry.path() << "\n" << describe(report);
    ++files;
  }
  EXPECT_GT(files, 400);
}

// --- byte flips ---

// The uncompressed records of the chunk at `offset`, or nothing when it does not decode.
std::optional<Bytes> decoded_chunk(const Bytes& file, uint64_t offset) {
  auto frame = read_frame(file, offset);
  if (!frame.ok() || frame->opcode != static_cast<uint8_t>(Opcode::kChunk)) return std::nullopt;
  auto record = parse_record(*frame);
  if (!record.ok()) return std::nullopt;
  const Chunk& chunk = std::get<Chunk>(*record);
  Decompressor decompressor;
  Bytes out;
  if (!decompressor.decompress(chunk.compression, chunk.records, chunk.uncompressed_size, out)) {
    return std::nullopt;
  }
  return out;
}

// Flips `mask` into every `step`th byte of [begin, end) in turn and expects an error each time.
// With `harmless_in_chunk`, a flip inside the compressed data of that chunk may go unreported
// if the chunk still decodes to exactly the same records: the codec's encoding has some
// freedom (a match offset one period back in periodic data gives the same bytes), and such a
// flip damages nothing. Only the data-section CRC can see it.
void expect_every_flip_reported(const Bytes& clean, uint64_t begin, uint64_t end, uint64_t step,
                                uint8_t mask, std::optional<uint64_t> harmless_in_chunk = {}) {
  std::optional<Bytes> clean_records;
  if (harmless_in_chunk) clean_records = decoded_chunk(clean, *harmless_in_chunk);
  Bytes file = clean;
  int missed = 0;
  for (uint64_t at = begin; at < end; at += step) {
    file[at] ^= mask;
    const VerifyReport report = verify_file(file);
    const bool harmless = harmless_in_chunk && report.ok() &&
                          decoded_chunk(file, *harmless_in_chunk) == clean_records;
    if (report.ok() && !harmless && ++missed <= 5) {
      ADD_FAILURE() << "flipping byte " << at << " with mask " << int(mask) << " went unnoticed";
    }
    file[at] ^= mask;
  }
  EXPECT_EQ(missed, 0);
}

TEST(Verify, EveryFlippedByteInAChunkIsReported) {
  const Bytes file = write_sample(zstd_chunks());
  const auto chunks = records_of(file, Opcode::kChunk);
  ASSERT_GT(chunks.size(), 3u);
  const Framed& chunk = chunks[2];
  expect_every_flip_reported(file, chunk.offset, chunk.offset + chunk.size, 1, 0xFF);
  expect_every_flip_reported(file, chunk.offset, chunk.offset + chunk.size, 1, 0x01);
}

// Without the data-section CRC, which alone would catch any flip in the data section, the
// chunk's own checks (framing, codec, chunk CRC, indexes) must still catch every flip that
// changes what the chunk holds.
TEST(Verify, EveryFlippedByteInAChunkIsReportedWithoutTheDataSectionCrc) {
  WriterOptions options = zstd_chunks();
  options.chunk_size = 2048;
  options.data_section_crc = false;
  for (Compression codec : {Compression::kZstd, Compression::kLz4, Compression::kNone}) {
    options.compression = codec;
    SCOPED_TRACE(std::string(compression_name(codec)));
    const Bytes file = write_sample(options);
    const auto chunks = records_of(file, Opcode::kChunk);
    ASSERT_GT(chunks.size(), 3u);
    const Framed& chunk = chunks[1];
    expect_every_flip_reported(file, chunk.offset, chunk.offset + chunk.size, 1, 0x80,
                               chunk.offset);
    expect_every_flip_reported(file, chunk.offset, chunk.offset + chunk.size, 1, 0x04,
                               chunk.offset);
  }
}

TEST(Verify, FlippedBytesAcrossOtherChunksAndTheSummaryAreReported) {
  const Bytes file = write_sample(zstd_chunks());
  const auto chunks = records_of(file, Opcode::kChunk);
  ASSERT_GT(chunks.size(), 3u);
  // A sample through every other part of the data section...
  expect_every_flip_reported(file, sizeof(kMagic), chunks[2].offset, 7, 0x10);
  expect_every_flip_reported(file, chunks[3].offset, file.size() - sizeof(kMagic), 11, 0x10);
  // ...and every byte of the summary, summary offsets, footer and trailing magic.
  const auto data_end = records_of(file, Opcode::kDataEnd);
  ASSERT_EQ(data_end.size(), 1u);
  expect_every_flip_reported(file, data_end[0].offset, file.size(), 1, 0x01);
}

// --- specific inconsistencies, with valid CRCs ---

TEST(Verify, WrongStatisticsCountIsReported) {
  Bytes file = write_sample(zstd_chunks());
  const auto stats = records_of(file, Opcode::kStatistics);
  ASSERT_EQ(stats.size(), 1u);
  uint8_t* message_count = file.data() + stats[0].offset + kRecordPrefixSize;
  store_le<uint64_t>(message_count, load_le<uint64_t>(message_count) + 1);
  refresh_crcs(file);
  const VerifyReport report = verify_file(file);
  EXPECT_FALSE(report.ok());
  ASSERT_EQ(report.findings.size(), 1u) << describe(report);
  EXPECT_EQ(report.findings[0].offset, stats[0].offset);
  EXPECT_NE(report.findings[0].message.find("Statistics message_count is 301 but the file has 300"),
            std::string::npos)
      << describe(report);
}

TEST(Verify, WrongPerChannelCountIsReported) {
  Bytes file = write_sample(zstd_chunks());
  const auto stats = records_of(file, Opcode::kStatistics);
  ASSERT_EQ(stats.size(), 1u);
  // The map is the last field: its final entry's count is the record's last 8 bytes.
  uint8_t* last_count = file.data() + stats[0].offset + stats[0].size - 8;
  store_le<uint64_t>(last_count, load_le<uint64_t>(last_count) - 1);
  refresh_crcs(file);
  const VerifyReport report = verify_file(file);
  EXPECT_TRUE(has_error_containing(report, "message count of channel 3 is 99 but the file has 100"))
      << describe(report);
}

TEST(Verify, BrokenMessageIndexIsReported) {
  Bytes file = write_sample(zstd_chunks());
  const auto indexes = records_of(file, Opcode::kMessageIndex);
  ASSERT_GT(indexes.size(), 3u);
  // First entry of a Message Index: channel (2), array length (4), then (log_time, offset).
  uint8_t* entry_offset = file.data() + indexes[3].offset + kRecordPrefixSize + 2 + 4 + 8;
  store_le<uint64_t>(entry_offset, load_le<uint64_t>(entry_offset) + 1);
  refresh_crcs(file);
  VerifyReport report = verify_file(file);
  EXPECT_FALSE(report.ok());
  EXPECT_TRUE(has_error_containing(report, "points at no Message record")) << describe(report);
  EXPECT_TRUE(has_error_containing(report, "1 messages on channel")) << describe(report);

  // A wrong time in an entry that points at the right message.
  store_le<uint64_t>(entry_offset, load_le<uint64_t>(entry_offset) - 1);
  uint8_t* entry_time = entry_offset - 8;
  store_le<uint64_t>(entry_time, load_le<uint64_t>(entry_time) + 3);
  refresh_crcs(file);
  report = verify_file(file);
  EXPECT_TRUE(has_error_containing(report, "has the wrong time")) << describe(report);
}

TEST(Verify, BadSummaryOffsetIsReported) {
  Bytes file = write_sample(zstd_chunks());
  const auto offsets = records_of(file, Opcode::kSummaryOffset);
  ASSERT_GT(offsets.size(), 3u);
  // group_opcode (1), group_start (8), group_length (8).
  uint8_t* group_length = file.data() + offsets[1].offset + kRecordPrefixSize + 1 + 8;
  store_le<uint64_t>(group_length, load_le<uint64_t>(group_length) + 9);
  refresh_crcs(file);
  const VerifyReport report = verify_file(file);
  ASSERT_EQ(report.findings.size(), 1u) << describe(report);
  EXPECT_EQ(report.findings[0].offset, offsets[1].offset);
  EXPECT_TRUE(has_error_containing(report, "Summary Offset for the")) << describe(report);
}

TEST(Verify, ChunkIndexThatDisagreesWithItsChunkIsReported) {
  Bytes file = write_sample(zstd_chunks());
  const auto chunk_indexes = records_of(file, Opcode::kChunkIndex);
  ASSERT_GT(chunk_indexes.size(), 2u);
  // message_end_time is the second field.
  uint8_t* end_time = file.data() + chunk_indexes[2].offset + kRecordPrefixSize + 8;
  store_le<uint64_t>(end_time, load_le<uint64_t>(end_time) + 1);
  refresh_crcs(file);
  const VerifyReport report = verify_file(file);
  ASSERT_EQ(report.findings.size(), 1u) << describe(report);
  EXPECT_TRUE(has_error_containing(report, "message_end_time")) << describe(report);
}

TEST(Verify, WrongCrcsAreReportedWhereTheyAre) {
  Bytes file = write_sample(zstd_chunks());
  const auto chunks = records_of(file, Opcode::kChunk);
  // Chunk.uncompressed_crc sits after the two times and the size.
  file[chunks[0].offset + kRecordPrefixSize + 24] ^= 0x01;
  refresh_crcs(file);
  VerifyReport report = verify_file(file);
  ASSERT_EQ(report.findings.size(), 1u) << describe(report);
  EXPECT_EQ(report.findings[0].offset, chunks[0].offset);
  EXPECT_TRUE(has_error_containing(report, "chunk CRC mismatch")) << describe(report);

  file = write_sample(zstd_chunks());
  const auto data_end = records_of(file, Opcode::kDataEnd);
  file[data_end[0].offset + kRecordPrefixSize] ^= 0x01;
  report = verify_file(file);
  ASSERT_EQ(report.findings.size(), 1u) << describe(report);
  EXPECT_TRUE(has_error_containing(report, "data section CRC mismatch")) << describe(report);

  file = write_sample(zstd_chunks());
  file[file.size() - sizeof(kMagic) - 4] ^= 0x01;  // Footer.summary_crc
  report = verify_file(file);
  ASSERT_EQ(report.findings.size(), 1u) << describe(report);
  EXPECT_TRUE(has_error_containing(report, "summary CRC mismatch")) << describe(report);
}

// --- garbage ---

TEST(Verify, EveryTruncationIsReportedWithoutCrashing) {
  WriterOptions options = zstd_chunks();
  options.chunk_size = 1024;
  const Bytes file = write_sample(options);
  for (uint64_t size = 0; size < file.size(); size += (size < 200 ? 1 : 13)) {
    const VerifyReport report = verify_file(ByteView(file).first(size));
    EXPECT_FALSE(report.ok()) << "truncated to " << size;
  }
}

TEST(Verify, RandomGarbageIsReportedWithoutCrashing) {
  const Bytes clean = write_sample(zstd_chunks());
  std::mt19937_64 random(42);
  for (int round = 0; round < 200; ++round) {
    Bytes file = clean;
    // Overwrite a random run with random bytes (often hitting lengths and offsets).
    const uint64_t at = sizeof(kMagic) + random() % (file.size() - sizeof(kMagic));
    const uint64_t run = 1 + random() % 64;
    for (uint64_t i = at; i < std::min<uint64_t>(file.size(), at + run); ++i) {
      file[i] = static_cast<uint8_t>(random());
    }
    const VerifyReport report = verify_file(file);
    if (file != clean) {
      EXPECT_FALSE(report.ok()) << "round " << round;
    }
  }
  Bytes noise(5000);
  for (auto& b : noise) b = static_cast<uint8_t>(random());
  std::copy(kMagic, kMagic + sizeof(kMagic), noise.begin());
  EXPECT_FALSE(verify_file(noise).ok());
  EXPECT_FALSE(verify_file(ByteView()).ok());
}

TEST(Verify, FindingsAreCappedButCounted) {
  Bytes file = write_sample(zstd_chunks());
  for (const Framed& index : records_of(file, Opcode::kMessageIndex)) {
    file[index.offset + kRecordPrefixSize] ^= 0x40;  // every index names a wrong channel
  }
  refresh_crcs(file);
  VerifyOptions options;
  options.max_findings = 3;
  const VerifyReport report = verify_file(file, options);
  EXPECT_EQ(report.findings.size(), 3u);
  EXPECT_GT(report.error_count, 3u);
  EXPECT_EQ(report.dropped(), report.error_count + report.warning_count - 3);
}

}  // namespace
}  // namespace mcaprec::mcap
