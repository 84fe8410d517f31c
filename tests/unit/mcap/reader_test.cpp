#include "mcap/reader.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "mcap/bytes.hpp"
#include "mcap/crc32.hpp"
#include "mcap/serialize.hpp"
#include "mcap/sink.hpp"
#include "mcap/writer.hpp"
#include "payload.hpp"
#include "scratch_dir.hpp"

using namespace mcaprec::mcap;

namespace {

// A message as the test wrote it, to compare with what the reader yields.
struct Written {
  uint16_t channel_id;
  uint32_t sequence;
  Timestamp log_time;
  Timestamp publish_time;
  Bytes data;
};

struct TestFile {
  Bytes bytes;
  std::vector<Written> messages;
};

TestFile write_file(WriterOptions options, uint32_t message_count = 40, size_t payload = 200,
                    bool with_attachment = false) {
  TestFile file;
  auto writer = Writer::open(std::make_unique<MemorySink>(), options);
  EXPECT_TRUE(writer.ok()) << writer.error().to_string();
  Writer& w = **writer;
  EXPECT_TRUE(w.add_schema(Schema{1, "pkg/Imu", "jsonschema", Bytes{'{', '}'}}).ok());
  EXPECT_TRUE(w.add_channel(Channel{1, 1, "/imu", "json", {{"k", "v"}}}).ok());
  EXPECT_TRUE(w.add_channel(Channel{2, 0, "/raw", "", {}}).ok());
  // Payloads of runs, so that lz4 and zstd chunks really are compressed.
  for (uint32_t i = 0; i < message_count; ++i) {
    Written m{static_cast<uint16_t>(1 + i % 2), i, 1000 + 10 * Timestamp{i},
              1001 + 10 * Timestamp{i}, mcaprec::test_support::payload(i, payload + i)};
    EXPECT_TRUE(
        w.write_message(Message{m.channel_id, m.sequence, m.log_time, m.publish_time, m.data})
            .ok());
    file.messages.push_back(std::move(m));
  }
  if (with_attachment) {
    const uint8_t blob[] = {1, 2, 3, 4, 5};
    EXPECT_TRUE(
        w.write_attachment(Attachment{5, 6, "a.bin", "application/octet-stream", blob, 0}).ok());
    EXPECT_TRUE(w.write_metadata(Metadata{"calib", {{"x", "1"}}}).ok());
  }
  EXPECT_TRUE(w.close().ok());
  file.bytes = static_cast<MemorySink&>(w.sink()).take();
  return file;
}

WriterOptions small_chunks(Compression codec = Compression::kNone) {
  WriterOptions options;
  options.compression = codec;
  options.chunk_size = 2048;
  return options;
}

// Every record the stream reader yields, or the error it stopped with.
// Views into a decompressed chunk die with the next call, so payloads are copied into `owned`.
struct StreamResult {
  std::vector<RecordItem> items;
  std::optional<Error> error;
  std::vector<Bytes> owned;
};

StreamResult read_all(ByteView bytes, ReadOptions options = {}) {
  StreamResult result;
  StreamReader reader(bytes, options);
  for (int guard = 0; guard < 1000000; ++guard) {
    auto next = reader.next();
    if (!next.ok()) {
      result.error = next.error();
      return result;
    }
    if (!next->has_value()) return result;
    RecordItem& item = **next;
    if (auto* message = std::get_if<Message>(&item.record)) {
      message->data = result.owned.emplace_back(message->data.begin(), message->data.end());
    } else if (auto* unknown = std::get_if<UnknownRecord>(&item.record)) {
      unknown->content =
          result.owned.emplace_back(unknown->content.begin(), unknown->content.end());
    }
    result.items.push_back(std::move(item));
  }
  ADD_FAILURE() << "reader did not stop";
  return result;
}

template <class T>
std::vector<const RecordItem*> items_of(const StreamResult& result) {
  std::vector<const RecordItem*> out;
  for (const auto& item : result.items) {
    if (std::holds_alternative<T>(item.record)) out.push_back(&item);
  }
  return out;
}

void expect_same_messages(const StreamResult& result, const std::vector<Written>& expected,
                          bool in_chunk) {
  const auto messages = items_of<Message>(result);
  ASSERT_EQ(messages.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const Message& m = std::get<Message>(messages[i]->record);
    EXPECT_EQ(m.channel_id, expected[i].channel_id);
    EXPECT_EQ(m.sequence, expected[i].sequence);
    EXPECT_EQ(m.log_time, expected[i].log_time);
    EXPECT_EQ(m.publish_time, expected[i].publish_time);
    EXPECT_EQ(Bytes(m.data.begin(), m.data.end()), expected[i].data) << "message " << i;
    EXPECT_EQ(messages[i]->in_chunk, in_chunk);
  }
}

// Hand-assembled files, for inputs the writer never produces.
Bytes file_start() {
  Bytes out(kMagic, kMagic + sizeof(kMagic));
  append_record(out, Header{"", "test"});
  return out;
}

void file_finish(Bytes& out, bool data_end = true) {
  if (data_end) append_record(out, DataEnd{0});
  append_record(out, Footer{0, 0, 0});
  out.insert(out.end(), kMagic, kMagic + sizeof(kMagic));
}

Chunk raw_chunk(ByteView records, uint32_t crc) {
  return Chunk{0, 0, records.size(), crc, "", records};
}

std::string shared_corpus() {
  return std::string(MCAPREC_SHARED_DIR) + "/reference/mcap-conformance";
}

}  // namespace

// ---- StreamReader ----

class StreamReaderCodec : public ::testing::TestWithParam<Compression> {};

TEST_P(StreamReaderCodec, ReadsBackExactlyWhatWasWritten) {
  const TestFile file = write_file(small_chunks(GetParam()), 60, 300, true);
  const StreamResult result = read_all(file.bytes);
  ASSERT_FALSE(result.error) << result.error->to_string();
  expect_same_messages(result, file.messages, true);

  const auto chunks = items_of<Chunk>(result);
  ASSERT_GT(chunks.size(), 3u);
  for (const RecordItem* item : chunks) {
    EXPECT_FALSE(item->in_chunk);
    EXPECT_EQ(std::get<Chunk>(item->record).compression, compression_name(GetParam()));
  }
  // Records inside a chunk name the chunk's file offset and their place in the chunk.
  for (const RecordItem* item : items_of<Message>(result)) {
    EXPECT_EQ(file.bytes[item->offset], static_cast<uint8_t>(Opcode::kChunk));
  }
  EXPECT_EQ(items_of<Schema>(result).size(), 2u);  // in a chunk and in the summary
  EXPECT_EQ(items_of<Attachment>(result).size(), 1u);
  EXPECT_EQ(items_of<Metadata>(result).size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Header>(result.items.front().record));
  EXPECT_TRUE(std::holds_alternative<Footer>(result.items.back().record));
}

std::string codec_test_name(const ::testing::TestParamInfo<Compression>& param_info) {
  return param_info.param == Compression::kNone ? "none"
                                                : std::string(compression_name(param_info.param));
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, StreamReaderCodec,
                         ::testing::Values(Compression::kNone, Compression::kLz4,
                                           Compression::kZstd),
                         codec_test_name);

TEST(StreamReader, MessagesOutsideChunks) {
  WriterOptions options;
  options.use_chunks = false;
  const TestFile file = write_file(options, 7);
  const StreamResult result = read_all(file.bytes);
  ASSERT_FALSE(result.error) << result.error->to_string();
  expect_same_messages(result, file.messages, false);
  EXPECT_TRUE(items_of<Chunk>(result).empty());
}

TEST(StreamReader, WithoutDecodingChunksYieldsOnlyTheChunks) {
  const TestFile file = write_file(small_chunks(Compression::kZstd));
  ReadOptions options;
  options.decode_chunks = false;
  const StreamResult result = read_all(file.bytes, options);
  ASSERT_FALSE(result.error) << result.error->to_string();
  EXPECT_TRUE(items_of<Message>(result).empty());
  EXPECT_FALSE(items_of<Chunk>(result).empty());
}

TEST(StreamReader, EndsWithNulloptAndStaysThere) {
  const TestFile file = write_file(small_chunks(), 3);
  StreamReader reader(file.bytes);
  while (true) {
    auto next = reader.next();
    ASSERT_TRUE(next.ok()) << next.error().to_string();
    if (!next->has_value()) break;
  }
  auto again = reader.next();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
}

TEST(StreamReader, CorruptChunkNamesTheChunkOffset) {
  const TestFile file = write_file(small_chunks());
  const StreamResult original = read_all(file.bytes);
  const auto chunks = items_of<Chunk>(original);
  ASSERT_GE(chunks.size(), 2u);
  const uint64_t chunk_offset = chunks[1]->offset;
  Bytes corrupt = file.bytes;
  // Last byte of the chunk's records: a message payload byte.
  const Chunk& chunk = std::get<Chunk>(chunks[1]->record);
  const uint64_t records_end =
      static_cast<uint64_t>(chunk.records.data() - file.bytes.data()) + chunk.records.size();
  corrupt[records_end - 1] ^= 0x40;

  StreamReader reader(corrupt);
  std::optional<Error> error;
  uint64_t messages = 0;
  while (!error) {
    auto next = reader.next();
    if (!next.ok()) {
      error = next.error();
      break;
    }
    ASSERT_TRUE(next->has_value()) << "corruption not detected";
    if (std::holds_alternative<Message>((*next)->record)) ++messages;
  }
  EXPECT_EQ(error->offset, chunk_offset);
  EXPECT_NE(error->message.find("Chunk at offset " + std::to_string(chunk_offset) +
                                ": CRC mismatch: stored 0x"),
            std::string::npos)
      << error->message;
  EXPECT_NE(error->message.find(", computed 0x"), std::string::npos) << error->message;
  // Every message of the first chunk came out before the error.
  EXPECT_GT(messages, 0u);
  // The error is final.
  auto again = reader.next();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message, error->message);

  // Without CRC validation the same bytes read through.
  ReadOptions no_crc;
  no_crc.validate_crcs = false;
  EXPECT_FALSE(read_all(corrupt, no_crc).error);
}

TEST(StreamReader, CorruptCompressedChunkIsAnErrorAtTheChunk) {
  for (Compression codec : {Compression::kLz4, Compression::kZstd}) {
    const TestFile file = write_file(small_chunks(codec));
    const StreamResult original = read_all(file.bytes);
    const auto chunks = items_of<Chunk>(original);
    ASSERT_GE(chunks.size(), 2u);
    const Chunk& chunk = std::get<Chunk>(chunks[0]->record);
    ASSERT_EQ(chunk.compression, compression_name(codec));
    Bytes corrupt = file.bytes;
    const uint64_t records_at = static_cast<uint64_t>(chunk.records.data() - file.bytes.data());
    corrupt[records_at + chunk.records.size() / 2] ^= 0xff;
    const StreamResult result = read_all(corrupt);
    ASSERT_TRUE(result.error) << compression_name(codec);
    EXPECT_EQ(result.error->offset, chunks[0]->offset);
    EXPECT_NE(result.error->message.find("Chunk at offset " + std::to_string(chunks[0]->offset)),
              std::string::npos)
        << result.error->message;
  }
}

TEST(StreamReader, EveryTruncationIsACleanError) {
  const TestFile file = write_file(small_chunks(Compression::kZstd), 12, 100, true);
  for (size_t cut = 0; cut < file.bytes.size(); ++cut) {
    const ByteView prefix(file.bytes.data(), cut);
    const StreamResult result = read_all(prefix);
    ASSERT_TRUE(result.error) << "prefix of " << cut << " bytes read as complete";
    EXPECT_LE(result.error->offset, cut);
    EXPECT_FALSE(result.error->message.empty());
  }
}

TEST(StreamReader, MagicErrors) {
  EXPECT_EQ(read_all(Bytes{}).error->message, "not an MCAP file: truncated magic (0 of 8 bytes)");
  const Bytes short_magic(kMagic, kMagic + 5);
  EXPECT_NE(read_all(short_magic).error->message.find("truncated magic"), std::string::npos);
  const Bytes not_mcap = {'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0};
  const auto error = read_all(not_mcap).error;
  EXPECT_EQ(error->message, "not an MCAP file: bad magic");
  EXPECT_EQ(error->offset, 0u);
}

TEST(StreamReader, BytesAfterTheTrailingMagicAreAnError) {
  const TestFile file = write_file(small_chunks(), 3);
  Bytes longer = file.bytes;
  longer.push_back(0);
  const StreamResult result = read_all(longer);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->offset, file.bytes.size());
  EXPECT_NE(result.error->message.find("1 bytes after the trailing magic"), std::string::npos)
      << result.error->message;
}

TEST(StreamReader, RecordsAfterTheFooterAreAnError) {
  Bytes bytes = file_start();
  append_record(bytes, DataEnd{0});
  append_record(bytes, Footer{0, 0, 0});
  append_record(bytes, Metadata{"late", {}});
  bytes.insert(bytes.end(), kMagic, kMagic + sizeof(kMagic));
  const StreamResult result = read_all(bytes);
  ASSERT_TRUE(result.error);
  EXPECT_NE(result.error->message.find("after the Footer"), std::string::npos)
      << result.error->message;
}

TEST(StreamReader, UnknownRecordsPassThroughAndExtraBytesAreSkipped) {
  Bytes inner;
  append_record(inner, Channel{3, 0, "/x", "json", {}});
  append_record(inner, UnknownRecord{0x90, ByteView()});
  const uint8_t payload[] = {7, 7};
  append_record(inner, Message{3, 1, 5, 5, payload});

  Bytes bytes = file_start();
  // A Metadata record with two extra bytes a newer writer might have added.
  Bytes padded;
  append_record(padded, Metadata{"m", {{"a", "b"}}});
  padded.push_back(0xee);
  padded.push_back(0xee);
  store_le<uint64_t>(padded.data() + 1, padded.size() - kRecordPrefixSize);
  bytes.insert(bytes.end(), padded.begin(), padded.end());
  const uint8_t private_content[] = {1, 2, 3};
  append_record(bytes, UnknownRecord{0x81, private_content});
  append_record(bytes, raw_chunk(inner, crc32(inner)));
  file_finish(bytes);

  const StreamResult result = read_all(bytes);
  ASSERT_FALSE(result.error) << result.error->to_string();
  const auto unknown = items_of<UnknownRecord>(result);
  ASSERT_EQ(unknown.size(), 2u);
  EXPECT_EQ(std::get<UnknownRecord>(unknown[0]->record).opcode, 0x81);
  EXPECT_EQ(std::get<UnknownRecord>(unknown[0]->record).content.size(), 3u);
  EXPECT_FALSE(unknown[0]->in_chunk);
  EXPECT_EQ(std::get<UnknownRecord>(unknown[1]->record).opcode, 0x90);
  EXPECT_TRUE(unknown[1]->in_chunk);
  const auto metadata = items_of<Metadata>(result);
  ASSERT_EQ(metadata.size(), 1u);
  EXPECT_EQ(std::get<Metadata>(metadata[0]->record).metadata.at("a"), "b");
  const auto messages = items_of<Message>(result);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0]->chunk_offset, inner.size() - (kRecordPrefixSize + 22 + 2));
}

TEST(StreamReader, SpecRecordsOtherThanSchemaChannelMessageAreRefusedInsideChunks) {
  Bytes inner;
  append_record(inner, Metadata{"nested", {}});
  Bytes bytes = file_start();
  const uint64_t chunk_offset = bytes.size();
  append_record(bytes, raw_chunk(inner, 0));
  file_finish(bytes);
  const StreamResult result = read_all(bytes);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->offset, chunk_offset);
  EXPECT_NE(result.error->message.find("Metadata record is not allowed inside a chunk"),
            std::string::npos)
      << result.error->message;
}

TEST(StreamReader, ChunkLargerThanTheLimitIsRefusedBeforeAllocating) {
  Bytes bytes = file_start();
  const uint8_t junk[] = {1, 2, 3, 4};
  append_record(bytes, Chunk{0, 0, uint64_t{1} << 40, 0, "zstd", junk});
  file_finish(bytes);
  const StreamResult result = read_all(bytes);
  ASSERT_TRUE(result.error);
  EXPECT_NE(result.error->message.find("exceeds the limit"), std::string::npos)
      << result.error->message;
}

TEST(StreamReader, ImpossibleExpansionIsRefusedBeforeAllocating) {
  // 16 bytes of lz4 or zstd data cannot hold a 100 MB chunk; a corrupt size must not cost
  // 100 MB of memory.
  for (const char* codec : {"lz4", "zstd"}) {
    Bytes bytes = file_start();
    const uint8_t junk[16] = {};
    append_record(bytes, Chunk{0, 0, uint64_t{100} << 20, 0, codec, junk});
    file_finish(bytes);
    const StreamResult result = read_all(bytes);
    ASSERT_TRUE(result.error);
    EXPECT_NE(result.error->message.find("is impossible for 16 bytes of " + std::string(codec)),
              std::string::npos)
        << result.error->message;
  }
}

TEST(StreamReader, AttachmentCrcIsChecked) {
  Bytes bytes = file_start();
  const uint8_t data[] = {10, 20, 30};
  Attachment attachment{1, 2, "a", "b", data, 0};
  Bytes content;
  append_record(content, attachment);
  const uint64_t covered = attachment_crc_covered_length(attachment);
  attachment.crc = crc32(ByteView(content).subspan(kRecordPrefixSize, covered)) ^ 1;
  const uint64_t attachment_offset = bytes.size();
  append_record(bytes, attachment);
  file_finish(bytes);
  const StreamResult bad = read_all(bytes);
  ASSERT_TRUE(bad.error);
  EXPECT_EQ(bad.error->offset, attachment_offset);
  EXPECT_NE(bad.error->message.find("CRC mismatch"), std::string::npos) << bad.error->message;

  bytes[attachment_offset + kRecordPrefixSize + covered] ^= 1;  // now the right CRC
  EXPECT_FALSE(read_all(bytes).error);
}

// ---- read_summary ----

TEST(ReadSummary, ReadsWhatTheWriterIndexed) {
  const TestFile file = write_file(small_chunks(Compression::kLz4), 50, 200, true);
  auto summary = read_summary(file.bytes);
  ASSERT_TRUE(summary.ok()) << summary.error().to_string();
  EXPECT_EQ(summary->header.library, default_library_name());
  EXPECT_EQ(summary->schemas.size(), 1u);
  ASSERT_EQ(summary->channels.size(), 2u);
  EXPECT_EQ(summary->channels.at(1).topic, "/imu");
  const StreamResult original = read_all(file.bytes);
  const auto chunks = items_of<Chunk>(original);
  ASSERT_EQ(summary->chunk_indexes.size(), chunks.size());
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(summary->chunk_indexes[i].chunk_start_offset, chunks[i]->offset);
  }
  ASSERT_TRUE(summary->statistics);
  EXPECT_EQ(summary->statistics->message_count, 50u);
  EXPECT_EQ(summary->attachment_indexes.size(), 1u);
  EXPECT_EQ(summary->metadata_indexes.size(), 1u);
  EXPECT_FALSE(summary->summary_offsets.empty());
}

TEST(ReadSummary, UnindexedFileSaysSo) {
  Bytes bytes = file_start();
  file_finish(bytes);
  auto summary = read_summary(bytes);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.error().message, "file is not indexed (footer summary_start is 0)");
}

TEST(ReadSummary, EveryTruncationIsACleanError) {
  const TestFile file = write_file(small_chunks(Compression::kZstd), 12, 100, true);
  for (size_t cut = 0; cut < file.bytes.size(); ++cut) {
    auto summary = read_summary(ByteView(file.bytes.data(), cut));
    ASSERT_FALSE(summary.ok()) << "prefix of " << cut << " bytes";
    EXPECT_LE(summary.error().offset, cut);
  }
}

TEST(ReadSummary, SummaryCrcIsChecked) {
  const TestFile file = write_file(small_chunks(), 10);
  auto summary = read_summary(file.bytes);
  ASSERT_TRUE(summary.ok());
  ASSERT_NE(summary->footer.summary_crc, 0u);
  Bytes corrupt = file.bytes;
  // A byte inside the first summary record's content (a Schema name).
  corrupt[summary->footer.summary_start + kRecordPrefixSize + 6] ^= 0x20;
  auto bad = read_summary(corrupt);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("summary CRC mismatch"), std::string::npos)
      << bad.error().message;
  EXPECT_TRUE(read_summary(corrupt, /*validate_crc=*/false).ok());
}

TEST(ReadSummary, RequiresDataEndBeforeTheSummary) {
  const TestFile file = write_file(small_chunks(), 4);
  auto summary = read_summary(file.bytes);
  ASSERT_TRUE(summary.ok());
  Bytes corrupt = file.bytes;
  corrupt[summary->footer.summary_start - kDataEndRecordSize] = 0x0C;
  auto bad = read_summary(corrupt);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("no Data End record"), std::string::npos)
      << bad.error().message;
}

// ---- scan ----

TEST(Scan, CompleteFile) {
  const TestFile file = write_file(small_chunks(Compression::kZstd), 50, 200, true);
  const ScanReport report = scan(file.bytes);
  auto summary = read_summary(file.bytes);
  ASSERT_TRUE(summary.ok());
  EXPECT_TRUE(report.complete);
  EXPECT_FALSE(report.stopped) << report.stopped->to_string();
  const uint64_t data_end_offset = summary->footer.summary_start - kDataEndRecordSize;
  EXPECT_EQ(report.valid_end, data_end_offset);
  EXPECT_EQ(report.data_crc, crc32(ByteView(file.bytes).first(data_end_offset)));
  EXPECT_EQ(report.data_crc, load_le<uint32_t>(file.bytes.data() + data_end_offset + 9));
  EXPECT_EQ(report.header.library, default_library_name());

  // What the scan rebuilt matches what the writer indexed.
  ASSERT_EQ(report.chunk_indexes.size(), summary->chunk_indexes.size());
  for (size_t i = 0; i < report.chunk_indexes.size(); ++i) {
    Bytes rebuilt, written;
    append_record(rebuilt, report.chunk_indexes[i]);
    append_record(written, summary->chunk_indexes[i]);
    EXPECT_EQ(rebuilt, written) << "chunk index " << i;
  }
  ASSERT_TRUE(summary->statistics);
  Bytes rebuilt_stats, written_stats;
  append_record(rebuilt_stats, report.statistics);
  append_record(written_stats, *summary->statistics);
  EXPECT_EQ(rebuilt_stats, written_stats);
  EXPECT_EQ(report.schemas.size(), 1u);
  EXPECT_EQ(report.channels.size(), 2u);
  ASSERT_EQ(report.attachment_indexes.size(), 1u);
  EXPECT_EQ(report.attachment_indexes[0].offset, summary->attachment_indexes[0].offset);
  EXPECT_EQ(report.attachment_indexes[0].length, summary->attachment_indexes[0].length);
  ASSERT_EQ(report.metadata_indexes.size(), 1u);
  EXPECT_EQ(report.metadata_indexes[0].offset, summary->metadata_indexes[0].offset);
}

TEST(Scan, CompleteUnindexedFile) {
  Bytes bytes = file_start();
  Bytes inner;
  append_record(inner, Channel{1, 0, "/a", "json", {}});
  append_record(bytes, raw_chunk(inner, crc32(inner)));
  const uint64_t data_end = bytes.size();
  file_finish(bytes);
  const ScanReport report = scan(bytes);
  EXPECT_TRUE(report.complete);
  EXPECT_EQ(report.valid_end, data_end);
  EXPECT_EQ(report.channels.size(), 1u);
}

// Messages the stream reader finds in the chunks that start before `limit`.
uint64_t messages_in_chunks_before(const TestFile& file, uint64_t limit,
                                   std::map<uint16_t, uint64_t>* per_channel = nullptr) {
  uint64_t count = 0;
  const StreamResult original = read_all(file.bytes);
  for (const RecordItem* item : items_of<Message>(original)) {
    if (item->offset < limit) {
      ++count;
      if (per_channel) ++(*per_channel)[std::get<Message>(item->record).channel_id];
    }
  }
  return count;
}

TEST(Scan, CutMidChunkKeepsTheCompleteChunksBeforeIt) {
  const TestFile file = write_file(small_chunks(Compression::kZstd), 80, 200);
  auto summary = read_summary(file.bytes);
  ASSERT_TRUE(summary.ok());
  ASSERT_GE(summary->chunk_indexes.size(), 4u);
  const ChunkIndex& third = summary->chunk_indexes[2];
  const Bytes cut(file.bytes.begin(),
                  file.bytes.begin() + third.chunk_start_offset + third.chunk_length / 2);

  const ScanReport report = scan(cut);
  EXPECT_FALSE(report.complete);
  ASSERT_TRUE(report.stopped);
  EXPECT_EQ(report.stopped->offset, third.chunk_start_offset);
  EXPECT_NE(report.stopped->message.find("truncated"), std::string::npos)
      << report.stopped->message;
  ASSERT_EQ(report.chunk_indexes.size(), 2u);
  // The second chunk's message index run ends where the third chunk starts.
  EXPECT_EQ(report.valid_end, third.chunk_start_offset);
  EXPECT_EQ(report.chunk_indexes[1].message_index_offsets,
            summary->chunk_indexes[1].message_index_offsets);
  EXPECT_EQ(report.data_crc, crc32(ByteView(cut).first(report.valid_end)));

  std::map<uint16_t, uint64_t> per_channel;
  const uint64_t kept = messages_in_chunks_before(file, third.chunk_start_offset, &per_channel);
  EXPECT_EQ(report.statistics.message_count, kept);
  EXPECT_EQ(report.statistics.channel_message_counts, per_channel);
  EXPECT_EQ(report.statistics.chunk_count, 2u);
  EXPECT_EQ(report.statistics.message_start_time, summary->chunk_indexes[0].message_start_time);
  EXPECT_EQ(report.statistics.message_end_time, summary->chunk_indexes[1].message_end_time);
  EXPECT_EQ(report.channels.size(), 2u);
}

TEST(Scan, ZeroFilledAndGarbageTailsStopWhereTheCutDoes) {
  const TestFile file = write_file(small_chunks(Compression::kLz4), 80, 200);
  auto summary = read_summary(file.bytes);
  ASSERT_TRUE(summary.ok());
  const ChunkIndex& third = summary->chunk_indexes[2];
  const Bytes cut(file.bytes.begin(), file.bytes.begin() + third.chunk_start_offset + 100);
  const ScanReport truncated = scan(cut);

  Bytes zero_tail = cut;
  zero_tail.resize(zero_tail.size() + 8192, 0);
  // Garbage: the cut chunk is overwritten from the middle on by random bytes.
  Bytes garbage_tail = cut;
  std::mt19937 random(7);
  for (int i = 0; i < 8192; ++i) garbage_tail.push_back(static_cast<uint8_t>(random()));

  for (const Bytes* bytes : {&zero_tail, &garbage_tail}) {
    const ScanReport report = scan(*bytes);
    EXPECT_FALSE(report.complete);
    ASSERT_TRUE(report.stopped);
    EXPECT_EQ(report.valid_end, truncated.valid_end);
    EXPECT_EQ(report.chunk_indexes.size(), 2u);
    EXPECT_EQ(report.statistics.message_count, truncated.statistics.message_count);
    EXPECT_EQ(report.data_crc, truncated.data_crc);
  }
  // A tail of zeros right at a record boundary is reported as such.
  Bytes zeros_at_boundary(file.bytes.begin(), file.bytes.begin() + third.chunk_start_offset);
  zeros_at_boundary.resize(zeros_at_boundary.size() + 4096, 0);
  const ScanReport zeros = scan(zeros_at_boundary);
  ASSERT_TRUE(zeros.stopped);
  EXPECT_NE(zeros.stopped->message.find("zero-filled tail"), std::string::npos)
      << zeros.stopped->message;
  EXPECT_EQ(zeros.valid_end, third.chunk_start_offset);
}

TEST(Scan, CutInTheLastMessageIndexRunKeepsTheChunk) {
  const TestFile file = write_file(small_chunks(Compression::kZstd), 20, 200);
  auto summary = read_summary(file.bytes);
  ASSERT_TRUE(summary.ok());
  const ChunkIndex& last = summary->chunk_indexes.back();
  ASSERT_EQ(last.message_index_offsets.size(), 2u);
  const uint64_t chunk_end = last.chunk_start_offset + last.chunk_length;
  const uint64_t second_index = last.message_index_offsets.rbegin()->second;

  // Cut inside the first Message Index record: the chunk alone is kept.
  ScanReport report = scan(ByteView(file.bytes.data(), chunk_end + 5));
  ASSERT_EQ(report.chunk_indexes.size(), summary->chunk_indexes.size());
  EXPECT_EQ(report.valid_end, chunk_end);
  EXPECT_TRUE(report.chunk_indexes.back().message_index_offsets.empty());
  EXPECT_EQ(report.chunk_indexes.back().message_index_length, 0u);

  // Cut inside the second one: the chunk and the first index are kept.
  report = scan(ByteView(file.bytes.data(), second_index + 3));
  ASSERT_EQ(report.chunk_indexes.size(), summary->chunk_indexes.size());
  EXPECT_EQ(report.valid_end, second_index);
  EXPECT_EQ(report.chunk_indexes.back().message_index_offsets.size(), 1u);
  EXPECT_EQ(report.chunk_indexes.back().message_index_length, second_index - chunk_end);
  EXPECT_EQ(report.statistics.message_count, 20u);
}

TEST(Scan, CorruptChunkEndsTheValidPrefix) {
  const TestFile file = write_file(small_chunks(), 60, 200);
  auto summary = read_summary(file.bytes);
  ASSERT_TRUE(summary.ok());
  const ChunkIndex& second = summary->chunk_indexes[1];
  Bytes corrupt = file.bytes;
  corrupt[second.chunk_start_offset + second.chunk_length - 1] ^= 1;
  const ScanReport report = scan(corrupt);
  EXPECT_FALSE(report.complete);
  ASSERT_TRUE(report.stopped);
  EXPECT_NE(report.stopped->message.find("CRC mismatch"), std::string::npos);
  EXPECT_EQ(report.valid_end, second.chunk_start_offset);
  EXPECT_EQ(report.chunk_indexes.size(), 1u);
  EXPECT_EQ(report.statistics.message_count,
            messages_in_chunks_before(file, second.chunk_start_offset));
}

TEST(Scan, BrokenSummaryLeavesTheDataValidButIncomplete) {
  const TestFile file = write_file(small_chunks(), 10);
  auto summary = read_summary(file.bytes);
  ASSERT_TRUE(summary.ok());
  Bytes no_footer(file.bytes.begin(), file.bytes.end() - 20);
  const ScanReport report = scan(no_footer);
  EXPECT_FALSE(report.complete);
  ASSERT_TRUE(report.stopped);
  EXPECT_EQ(report.valid_end, summary->footer.summary_start - kDataEndRecordSize);
  EXPECT_EQ(report.statistics.message_count, 10u);
}

TEST(Scan, NeverCrashesOnAnyTruncation) {
  const TestFile file = write_file(small_chunks(Compression::kLz4), 12, 100, true);
  uint64_t previous_end = 0;
  for (size_t cut = 0; cut < file.bytes.size(); ++cut) {
    const ScanReport report = scan(ByteView(file.bytes.data(), cut));
    ASSERT_FALSE(report.complete) << cut;
    ASSERT_TRUE(report.stopped) << cut;
    ASSERT_LE(report.valid_end, cut);
    ASSERT_GE(report.valid_end, previous_end) << "valid prefix shrank at cut " << cut;
    previous_end = report.valid_end;
  }
  EXPECT_TRUE(scan(file.bytes).complete);
}

TEST(Scan, NotAnMcapFile) {
  const Bytes bytes = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const ScanReport report = scan(bytes);
  EXPECT_EQ(report.valid_end, 0u);
  ASSERT_TRUE(report.stopped);
  EXPECT_EQ(report.stopped->message, "not an MCAP file: bad magic");
}

// ---- MappedFile ----

TEST(MappedFile, MapsAFileAndNamesThePathOnError) {
  const mcaprec::test_support::ScratchDir dir("reader");
  const std::string path = (dir / "mapped.mcap").string();
  const TestFile file = write_file(small_chunks(), 5);
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(file.bytes.data()),
              static_cast<std::streamsize>(file.bytes.size()));
  }
  auto mapped = MappedFile::open(path);
  ASSERT_TRUE(mapped.ok()) << mapped.error().to_string();
  EXPECT_EQ(Bytes(mapped->bytes().begin(), mapped->bytes().end()), file.bytes);
  MappedFile moved = std::move(*mapped);
  EXPECT_EQ(moved.bytes().size(), file.bytes.size());
  EXPECT_TRUE(read_summary(moved.bytes()).ok());

  const std::string empty_path = path + ".empty";
  { std::ofstream out(empty_path, std::ios::binary); }
  auto empty = MappedFile::open(empty_path);
  ASSERT_TRUE(empty.ok()) << empty.error().to_string();
  EXPECT_EQ(empty->bytes().size(), 0u);
  EXPECT_NE(read_all(empty->bytes()).error->message.find("truncated magic"), std::string::npos);

  auto missing = MappedFile::open(path + ".missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find(path + ".missing"), std::string::npos);
  EXPECT_NE(missing.error().message.find("No such file or directory"), std::string::npos);
}

// ---- a few files of the conformance corpus (the full corpus has its own test) ----

TEST(Corpus, ReadsConformanceFiles) {
  const std::string corpus = shared_corpus();
  if (!std::filesystem::exists(corpus)) GTEST_SKIP() << "conformance corpus absent: " << corpus;
  const std::string indexed = corpus + "/TenMessages/TenMessages-ch-chx-mx-pad-rch-rsh-st-sum.mcap";
  auto file = MappedFile::open(indexed);
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  const StreamResult result = read_all(file->bytes());
  ASSERT_FALSE(result.error) << result.error->to_string();
  const auto messages = items_of<Message>(result);
  ASSERT_EQ(messages.size(), 10u);
  const Timestamp expected_times[] = {0, 2, 1, 3, 3, 5, 4, 7, 8, 9};
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(std::get<Message>(messages[i]->record).log_time, expected_times[i]);
  }
  auto summary = read_summary(file->bytes());
  ASSERT_TRUE(summary.ok()) << summary.error().to_string();
  ASSERT_TRUE(summary->statistics);
  EXPECT_EQ(summary->statistics->message_count, 10u);
  const ScanReport report = scan(file->bytes());
  EXPECT_TRUE(report.complete) << (report.stopped ? report.stopped->to_string() : "");
  EXPECT_EQ(report.statistics.message_count, 10u);

  const std::string plain = corpus + "/OneMessage/OneMessage.mcap";
  auto unindexed = MappedFile::open(plain);
  ASSERT_TRUE(unindexed.ok()) << unindexed.error().to_string();
  EXPECT_FALSE(read_all(unindexed->bytes()).error);
  auto no_summary = read_summary(unindexed->bytes());
  ASSERT_FALSE(no_summary.ok());
  EXPECT_NE(no_summary.error().message.find("not indexed"), std::string::npos);
  const ScanReport plain_report = scan(unindexed->bytes());
  EXPECT_TRUE(plain_report.complete);
  EXPECT_EQ(plain_report.statistics.message_count, 1u);
}

// ---- hostile input ----

TEST(Robustness, RandomCorruptionIsAnErrorOrAValidReadNeverACrash) {
  // Chunk CRCs off, so that corrupted chunk records reach the record parser instead of being
  // caught by the CRC first.
  WriterOptions options = small_chunks(Compression::kNone);
  options.chunk_crc = false;
  std::vector<Bytes> originals = {write_file(options, 16, 60, true).bytes,
                                  write_file(small_chunks(Compression::kLz4), 16, 60, true).bytes,
                                  write_file(small_chunks(Compression::kZstd), 16, 60, true).bytes};
  std::mt19937 random(12345);
  for (const Bytes& original : originals) {
    for (int round = 0; round < 300; ++round) {
      Bytes corrupt = original;
      const int changes = 1 + static_cast<int>(random() % 4);
      for (int c = 0; c < changes; ++c) {
        const size_t at = random() % corrupt.size();
        if (random() % 2) {
          corrupt[at] = static_cast<uint8_t>(random());
        } else {
          // Length fields are the interesting target: make one huge or slightly off.
          const size_t len_at = std::min(at, corrupt.size() - 8);
          store_le<uint64_t>(corrupt.data() + len_at,
                             random() % 2 ? ~uint64_t{0} - random() % 64 : random() % 64);
        }
      }
      const StreamResult streamed = read_all(corrupt);
      if (streamed.error) {
        EXPECT_LE(streamed.error->offset, corrupt.size());
        EXPECT_FALSE(streamed.error->message.empty());
      }
      (void)read_summary(corrupt);
      const ScanReport report = scan(corrupt);
      EXPECT_LE(report.valid_end, corrupt.size());
      EXPECT_EQ(report.data_crc, crc32(ByteView(corrupt).first(report.valid_end)));
      EXPECT_TRUE(report.complete || report.stopped);
    }
  }
}
