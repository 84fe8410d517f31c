// The file writer: what ends up in the bytes (CRCs, indexes, summary), how misuse is refused,
// and how a failing sink is survived.
#include "mcap/writer.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "failing_sink.hpp"
#include "mcap/bytes.hpp"
#include "mcap/crc32.hpp"
#include "mcap/serialize.hpp"
#include "payload.hpp"
#include "scratch_dir.hpp"
#include "storage/file_sink.hpp"

namespace mcaprec::mcap {
namespace {

// Every top-level record of a file, parsed, with its offset and size.
struct Framed {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint8_t opcode = 0;
  Record record;
};

std::vector<Framed> parse_file(const Bytes& file) {
  std::vector<Framed> out;
  EXPECT_GE(file.size(), 16u);
  if (file.size() < 16) return out;
  EXPECT_TRUE(std::equal(kMagic, kMagic + 8, file.begin()));
  EXPECT_TRUE(std::equal(kMagic, kMagic + 8, file.end() - 8));
  const ByteView body = ByteView(file).first(file.size() - 8);
  uint64_t pos = 8;
  while (pos < body.size()) {
    Result<RecordFrame> f = read_frame(body, pos);
    EXPECT_TRUE(f.ok()) << f.error().to_string();
    if (!f.ok()) break;
    Result<Record> r = parse_record(*f);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    if (!r.ok()) break;
    out.push_back(Framed{pos, f->size(), f->opcode, *r});
    pos += f->size();
  }
  return out;
}

template <class T>
std::vector<std::pair<uint64_t, T>> all_of(const std::vector<Framed>& records) {
  std::vector<std::pair<uint64_t, T>> out;
  for (const Framed& f : records) {
    if (const T* r = std::get_if<T>(&f.record)) out.emplace_back(f.offset, *r);
  }
  return out;
}

const Framed* record_at(const std::vector<Framed>& records, uint64_t offset) {
  for (const Framed& f : records) {
    if (f.offset == offset) return &f;
  }
  return nullptr;
}

using test_support::payload;

WriterOptions small_zstd_chunks() {
  WriterOptions options;
  options.chunk_size = 4096;
  options.compression = Compression::kZstd;
  return options;
}

// Writes two channels' messages (2000 bytes each, times 1000..1000+n-1) to a memory sink.
Bytes write_sample(WriterOptions options, int messages) {
  auto sink = std::make_unique<MemorySink>();
  MemorySink* memory = sink.get();
  auto writer = Writer::open(std::move(sink), options);
  EXPECT_TRUE(writer.ok());
  Writer& w = **writer;
  EXPECT_TRUE(w.add_schema(Schema{1, "pkg/Msg", "ros2msg", {'i', 'n', 't'}}).ok());
  EXPECT_TRUE(w.add_channel(Channel{1, 1, "/a", "cdr", {{"k", "v"}}}).ok());
  EXPECT_TRUE(w.add_channel(Channel{2, 1, "/b", "cdr", {}}).ok());
  for (int i = 0; i < messages; ++i) {
    const Bytes data = payload(i, 2000);
    const uint16_t channel = static_cast<uint16_t>(1 + i % 2);
    EXPECT_TRUE(w.write_message(Message{channel, static_cast<uint32_t>(i),
                                        static_cast<Timestamp>(1000 + i), 0, data})
                    .ok());
  }
  Status s = w.close();
  EXPECT_TRUE(s.ok()) << s.error().to_string();
  return memory->bytes();
}

TEST(WriterTest, MultiChunkZstdFileHasValidCrcsIndexesAndStatistics) {
  const int kMessages = 40;
  const Bytes file = write_sample(small_zstd_chunks(), kMessages);
  const std::vector<Framed> records = parse_file(file);
  ASSERT_FALSE(records.empty());

  // Header first, with our library name.
  const auto* header = std::get_if<Header>(&records.front().record);
  ASSERT_NE(header, nullptr);
  EXPECT_EQ(header->library, default_library_name());
  EXPECT_EQ(default_library_name(), std::string("mcaprec/") + MCAPREC_VERSION);

  // DataEnd's CRC covers every byte before it.
  const auto data_ends = all_of<DataEnd>(records);
  ASSERT_EQ(data_ends.size(), 1u);
  const uint64_t data_end_offset = data_ends[0].first;
  EXPECT_EQ(data_ends[0].second.data_section_crc, crc32(ByteView(file).first(data_end_offset)));

  // Footer: the summary CRC covers the summary through the footer's summary_offset_start.
  const auto footers = all_of<Footer>(records);
  ASSERT_EQ(footers.size(), 1u);
  const Footer& footer = footers[0].second;
  const uint64_t footer_offset = footers[0].first;
  EXPECT_EQ(footer_offset + kFooterRecordSize + 8, file.size());
  EXPECT_EQ(footer.summary_start, data_end_offset + kDataEndRecordSize);
  EXPECT_EQ(footer.summary_crc,
            crc32(ByteView(file).subspan(footer.summary_start,
                                         footer_offset + 25 - footer.summary_start)));

  // Several chunks, each indexed where it really is, all zstd.
  const auto chunk_indexes = all_of<ChunkIndex>(records);
  const auto chunks = all_of<Chunk>(records);
  ASSERT_GT(chunks.size(), 3u);
  ASSERT_EQ(chunk_indexes.size(), chunks.size());
  Decompressor decompressor;
  uint64_t messages_in_chunks = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const ChunkIndex& index = chunk_indexes[i].second;
    const Framed* chunk_record = record_at(records, index.chunk_start_offset);
    ASSERT_NE(chunk_record, nullptr) << "chunk index " << i << " points between records";
    ASSERT_EQ(chunk_record->opcode, static_cast<uint8_t>(Opcode::kChunk));
    EXPECT_EQ(chunk_record->size, index.chunk_length);
    const Chunk& chunk = std::get<Chunk>(chunk_record->record);
    EXPECT_EQ(chunk.compression, "zstd");
    EXPECT_EQ(index.compression, "zstd");
    EXPECT_EQ(index.compressed_size, chunk.records.size());
    EXPECT_EQ(index.uncompressed_size, chunk.uncompressed_size);
    EXPECT_EQ(index.message_start_time, chunk.message_start_time);
    EXPECT_EQ(index.message_end_time, chunk.message_end_time);

    Bytes decoded;
    ASSERT_TRUE(
        decompressor.decompress(chunk.compression, chunk.records, chunk.uncompressed_size, decoded)
            .ok());
    EXPECT_EQ(chunk.uncompressed_crc, crc32(decoded));

    // The message index run follows the chunk and each record is where the index says.
    uint64_t mi_bytes = 0;
    for (const auto& [channel_id, offset] : index.message_index_offsets) {
      const Framed* mi_record = record_at(records, offset);
      ASSERT_NE(mi_record, nullptr);
      const MessageIndex& mi = std::get<MessageIndex>(mi_record->record);
      EXPECT_EQ(mi.channel_id, channel_id);
      mi_bytes += mi_record->size;
      for (const auto& [time, message_offset] : mi.records) {
        Result<RecordFrame> f = read_frame(decoded, message_offset);
        ASSERT_TRUE(f.ok());
        const Message m = std::get<Message>(*parse_record(*f));
        EXPECT_EQ(m.channel_id, channel_id);
        EXPECT_EQ(m.log_time, time);
        ++messages_in_chunks;
      }
    }
    EXPECT_EQ(index.message_index_length, mi_bytes);
    EXPECT_EQ(index.chunk_start_offset + index.chunk_length,
              index.message_index_offsets.begin()->second);
  }
  EXPECT_EQ(messages_in_chunks, static_cast<uint64_t>(kMessages));

  // Statistics say what was written.
  const auto stats = all_of<Statistics>(records);
  ASSERT_EQ(stats.size(), 1u);
  const Statistics& s = stats[0].second;
  EXPECT_EQ(s.message_count, static_cast<uint64_t>(kMessages));
  EXPECT_EQ(s.schema_count, 1);
  EXPECT_EQ(s.channel_count, 2u);
  EXPECT_EQ(s.chunk_count, chunks.size());
  EXPECT_EQ(s.message_start_time, 1000u);
  EXPECT_EQ(s.message_end_time, 1000u + kMessages - 1);
  EXPECT_EQ(s.channel_message_counts,
            (std::map<uint16_t, uint64_t>{{1, kMessages / 2}, {2, kMessages / 2}}));

  // Summary offsets point at whole groups, in the generator's order.
  const auto offsets = all_of<SummaryOffset>(records);
  std::vector<uint8_t> groups;
  for (const auto& [at, offset] : offsets) {
    groups.push_back(offset.group_opcode);
    const Framed* first = record_at(records, offset.group_start);
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->opcode, offset.group_opcode);
  }
  EXPECT_EQ(groups, (std::vector<uint8_t>{0x03, 0x04, 0x0B, 0x08}));
  EXPECT_EQ(footer.summary_offset_start, offsets.front().first);
}

TEST(WriterTest, ChunkSizeControlsWhenChunksAreSealed) {
  WriterOptions options = small_zstd_chunks();
  options.chunk_size = 1 << 20;
  EXPECT_EQ(all_of<Chunk>(parse_file(write_sample(options, 40))).size(), 1u);
  options.chunk_size = 1;  // every message seals its chunk
  EXPECT_EQ(all_of<Chunk>(parse_file(write_sample(options, 10))).size(), 10u);
}

TEST(WriterTest, UnchunkedMessagesGoIntoTheDataSection) {
  WriterOptions options;
  options.use_chunks = false;
  const std::vector<Framed> records = parse_file(write_sample(options, 6));
  EXPECT_TRUE(all_of<Chunk>(records).empty());
  EXPECT_TRUE(all_of<ChunkIndex>(records).empty());
  EXPECT_EQ(all_of<Message>(records).size(), 6u);
  ASSERT_EQ(all_of<Statistics>(records).size(), 1u);
  EXPECT_EQ(all_of<Statistics>(records)[0].second.chunk_count, 0u);
}

TEST(WriterTest, EmptyFileHasZeroTimesAndNoChunks) {
  WriterOptions options;
  auto sink = std::make_unique<MemorySink>();
  MemorySink* memory = sink.get();
  auto writer = Writer::open(std::move(sink), options);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->close().ok());
  const std::vector<Framed> records = parse_file(memory->bytes());
  EXPECT_TRUE(all_of<Chunk>(records).empty());
  const auto stats = all_of<Statistics>(records);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].second.message_count, 0u);
  EXPECT_EQ(stats[0].second.message_start_time, 0u);
  EXPECT_EQ(stats[0].second.message_end_time, 0u);
}

TEST(WriterTest, WithoutSummaryTheFooterPointsNowhereAndCoversItself) {
  WriterOptions options;
  options.chunk_indexes = options.statistics = options.repeat_schemas = false;
  options.repeat_channels = options.attachment_indexes = options.metadata_indexes = false;
  options.summary_offsets = false;
  const Bytes file = write_sample(options, 3);
  const std::vector<Framed> records = parse_file(file);
  const auto footers = all_of<Footer>(records);
  ASSERT_EQ(footers.size(), 1u);
  EXPECT_EQ(footers[0].second.summary_start, 0u);
  EXPECT_EQ(footers[0].second.summary_offset_start, 0u);
  EXPECT_EQ(footers[0].second.summary_crc, crc32(ByteView(file).subspan(footers[0].first, 25)));
  EXPECT_EQ(records[records.size() - 2].opcode, static_cast<uint8_t>(Opcode::kDataEnd));
}

TEST(WriterTest, CrcsCanBeTurnedOff) {
  WriterOptions options = small_zstd_chunks();
  options.chunk_crc = options.data_section_crc = options.summary_crc = false;
  const std::vector<Framed> records = parse_file(write_sample(options, 10));
  for (const auto& [at, chunk] : all_of<Chunk>(records)) EXPECT_EQ(chunk.uncompressed_crc, 0u);
  EXPECT_EQ(all_of<DataEnd>(records)[0].second.data_section_crc, 0u);
  EXPECT_EQ(all_of<Footer>(records)[0].second.summary_crc, 0u);
}

TEST(WriterTest, AttachmentsAndMetadataFlushTheChunkAndAreIndexed) {
  auto sink = std::make_unique<MemorySink>();
  MemorySink* memory = sink.get();
  auto writer = Writer::open(std::move(sink), small_zstd_chunks());
  ASSERT_TRUE(writer.ok());
  Writer& w = **writer;
  ASSERT_TRUE(w.add_channel(Channel{1, 0, "/raw", "json", {}}).ok());
  const Bytes data = {'{', '}'};
  ASSERT_TRUE(w.write_message(Message{1, 0, 5, 5, data}).ok());
  const Bytes content = payload(7, 100);
  ASSERT_TRUE(w.write_attachment(Attachment{7, 6, "calib.yaml", "text/yaml", content, 0}).ok());
  ASSERT_TRUE(w.write_metadata(Metadata{"robot", {{"id", "r2"}}}).ok());
  ASSERT_TRUE(w.close().ok());
  const Bytes& file = memory->bytes();
  const std::vector<Framed> records = parse_file(file);

  // The message's chunk comes before the attachment.
  std::vector<uint8_t> opcodes;
  for (const Framed& f : records) opcodes.push_back(f.opcode);
  const std::vector<uint8_t> data_section(opcodes.begin(), opcodes.begin() + 6);
  EXPECT_EQ(data_section, (std::vector<uint8_t>{0x01, 0x06, 0x07, 0x09, 0x0C, 0x0F}));

  const auto attachments = all_of<Attachment>(records);
  ASSERT_EQ(attachments.size(), 1u);
  const Attachment& a = attachments[0].second;
  EXPECT_EQ(Bytes(a.data.begin(), a.data.end()), content);
  EXPECT_EQ(a.crc, crc32(ByteView(file).subspan(attachments[0].first + kRecordPrefixSize,
                                                attachment_crc_covered_length(a))));
  const auto attachment_indexes = all_of<AttachmentIndex>(records);
  ASSERT_EQ(attachment_indexes.size(), 1u);
  const AttachmentIndex& ai = attachment_indexes[0].second;
  EXPECT_EQ(ai.offset, attachments[0].first);
  EXPECT_EQ(ai.length, record_at(records, ai.offset)->size);
  EXPECT_EQ(ai.data_size, content.size());
  EXPECT_EQ(ai.name, "calib.yaml");
  EXPECT_EQ(ai.media_type, "text/yaml");
  EXPECT_EQ(ai.log_time, 7u);
  EXPECT_EQ(ai.create_time, 6u);

  const auto metadata_indexes = all_of<MetadataIndex>(records);
  ASSERT_EQ(metadata_indexes.size(), 1u);
  EXPECT_EQ(metadata_indexes[0].second.name, "robot");
  const Framed* metadata = record_at(records, metadata_indexes[0].second.offset);
  ASSERT_NE(metadata, nullptr);
  EXPECT_EQ(metadata->opcode, static_cast<uint8_t>(Opcode::kMetadata));
  EXPECT_EQ(metadata->size, metadata_indexes[0].second.length);

  const Statistics s = all_of<Statistics>(records)[0].second;
  EXPECT_EQ(s.attachment_count, 1u);
  EXPECT_EQ(s.metadata_count, 1u);
  EXPECT_EQ(s.schema_count, 0);
}

TEST(WriterTest, AttachmentCrcCanBeTurnedOff) {
  WriterOptions options;
  options.attachment_crc = false;
  auto sink = std::make_unique<MemorySink>();
  MemorySink* memory = sink.get();
  auto writer = Writer::open(std::move(sink), options);
  ASSERT_TRUE(writer.ok());
  const Bytes content = {1, 2, 3};
  ASSERT_TRUE((*writer)->write_attachment(Attachment{1, 1, "a", "b", content, 1234}).ok());
  ASSERT_TRUE((*writer)->close().ok());
  EXPECT_EQ(all_of<Attachment>(parse_file(memory->bytes()))[0].second.crc, 0u);
}

TEST(WriterTest, EncodedChunksAreAppendedAndIndexedAtTheirFileOffset) {
  auto sink = std::make_unique<MemorySink>();
  MemorySink* memory = sink.get();
  auto writer = Writer::open(std::move(sink), small_zstd_chunks());
  ASSERT_TRUE(writer.ok());
  Writer& w = **writer;
  ASSERT_TRUE(w.add_schema(Schema{1, "S", "e", {}}).ok());
  ASSERT_TRUE(w.add_channel(Channel{3, 1, "/c", "cdr", {}}).ok());
  ASSERT_TRUE(w.add_channel(Channel{4, 1, "/d", "cdr", {}}).ok());
  const Bytes data = payload(1, 500);
  // A message of the writer's own, still in its open chunk when the encoded one arrives.
  ASSERT_TRUE(w.write_message(Message{3, 0, 50, 50, data}).ok());

  Compressor compressor;
  ChunkBuilder builder;
  builder.add_message(Message{4, 0, 20, 20, data});
  builder.add_message(Message{3, 1, 90, 90, data});
  EncodedChunk encoded;
  ASSERT_TRUE(encode_chunk(builder, ChunkEncodeOptions{}, compressor, encoded).ok());
  ASSERT_TRUE(w.write_encoded_chunk(encoded).ok());
  EXPECT_EQ(w.statistics().message_count, 3u);
  ASSERT_TRUE(w.close().ok());

  const Bytes& file = memory->bytes();
  const std::vector<Framed> records = parse_file(file);
  const auto chunk_indexes = all_of<ChunkIndex>(records);
  ASSERT_EQ(chunk_indexes.size(), 2u);  // the writer's own, flushed first, then the encoded one
  const ChunkIndex& index = chunk_indexes[1].second;
  EXPECT_TRUE(std::equal(encoded.bytes.begin(), encoded.bytes.end(),
                         file.begin() + static_cast<ptrdiff_t>(index.chunk_start_offset)));
  EXPECT_EQ(index.chunk_length, encoded.chunk_record_size);
  EXPECT_EQ(index.message_index_length, encoded.message_index_length);
  for (const auto& [channel_id, offset] : index.message_index_offsets) {
    const Framed* mi = record_at(records, offset);
    ASSERT_NE(mi, nullptr);
    EXPECT_EQ(std::get<MessageIndex>(mi->record).channel_id, channel_id);
  }
  EXPECT_EQ(index.message_index_offsets.size(), 2u);

  // The data CRC was combined, not recomputed, and still matches the bytes.
  const auto data_end = all_of<DataEnd>(records)[0];
  EXPECT_EQ(data_end.second.data_section_crc, crc32(ByteView(file).first(data_end.first)));

  const Statistics s = all_of<Statistics>(records)[0].second;
  EXPECT_EQ(s.message_count, 3u);
  EXPECT_EQ(s.chunk_count, 2u);
  EXPECT_EQ(s.message_start_time, 20u);
  EXPECT_EQ(s.message_end_time, 90u);
  EXPECT_EQ(s.channel_message_counts, (std::map<uint16_t, uint64_t>{{3, 2}, {4, 1}}));
}

TEST(WriterTest, EncodedChunkOnUnknownChannelIsRefused) {
  auto writer = Writer::open(std::make_unique<MemorySink>(), WriterOptions{});
  ASSERT_TRUE(writer.ok());
  Compressor compressor;
  ChunkBuilder builder;
  const Bytes data = {1};
  builder.add_message(Message{9, 0, 1, 1, data});
  EncodedChunk encoded;
  ASSERT_TRUE(encode_chunk(builder, ChunkEncodeOptions{}, compressor, encoded).ok());
  Status s = (*writer)->write_encoded_chunk(encoded);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("unknown channel 9"), std::string::npos) << s.error().message;
  EXPECT_TRUE((*writer)->close().ok());
}

TEST(WriterTest, InvalidIdsAreRefusedWithClearErrorsAndTheWriterCarriesOn) {
  auto sink = std::make_unique<MemorySink>();
  MemorySink* memory = sink.get();
  auto writer = Writer::open(std::move(sink), WriterOptions{});
  ASSERT_TRUE(writer.ok());
  Writer& w = **writer;

  Status s = w.add_schema(Schema{0, "S", "e", {}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("schema id 0"), std::string::npos) << s.error().message;

  s = w.add_channel(Channel{1, 7, "/x", "cdr", {}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("unknown schema 7"), std::string::npos) << s.error().message;
  EXPECT_FALSE(w.has_channel(1));

  const Bytes data = {1, 2};
  s = w.write_message(Message{5, 0, 1, 1, data});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("unknown channel 5"), std::string::npos) << s.error().message;

  ASSERT_TRUE(w.add_schema(Schema{2, "S", "e", {}}).ok());
  s = w.add_schema(Schema{2, "Other", "e", {}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("schema 2"), std::string::npos) << s.error().message;

  // Schemaless channels need no schema.
  ASSERT_TRUE(w.add_channel(Channel{1, 0, "/x", "json", {}}).ok());
  ASSERT_TRUE(w.write_message(Message{1, 0, 1, 1, data}).ok());
  ASSERT_TRUE(w.close().ok());
  const Statistics stats = all_of<Statistics>(parse_file(memory->bytes()))[0].second;
  EXPECT_EQ(stats.message_count, 1u);
  EXPECT_EQ(stats.schema_count, 1);
}

TEST(WriterTest, CallsAfterCloseAreErrors) {
  auto writer = Writer::open(std::make_unique<MemorySink>(), WriterOptions{});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->close().ok());
  Status s = (*writer)->add_schema(Schema{1, "S", "e", {}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("closed"), std::string::npos);
  EXPECT_TRUE((*writer)->close().ok());  // closing twice is harmless
}

TEST(WriterTest, FailingSinkGivesErrorsNeverACrash) {
  const uint64_t full_size = write_sample(small_zstd_chunks(), 12).size();
  for (uint64_t budget = 0; budget < full_size; budget += 1 + budget / 4) {
    // Accepts `budget` bytes, then fails every write.
    test_support::DiskFaults faults;
    faults.capacity = budget;
    faults.can_truncate = false;
    auto writer =
        Writer::open(std::make_unique<test_support::FailingSink>(faults), small_zstd_chunks());
    if (!writer.ok()) {
      EXPECT_NE(writer.error().message.find("disk full"), std::string::npos);
      continue;
    }
    Writer& w = **writer;
    bool failed = false;
    auto track = [&](Status s) {
      if (failed) {
        // Once failed, every call reports it.
        EXPECT_FALSE(s.ok()) << "budget " << budget;
      } else if (!s.ok()) {
        failed = true;
        EXPECT_NE(s.error().message.find("disk full"), std::string::npos) << s.error().message;
      }
    };
    track(w.add_schema(Schema{1, "pkg/Msg", "ros2msg", {'i', 'n', 't'}}));
    track(w.add_channel(Channel{1, 1, "/a", "cdr", {{"k", "v"}}}));
    track(w.add_channel(Channel{2, 1, "/b", "cdr", {}}));
    for (int i = 0; i < 12; ++i) {
      const Bytes data = payload(i, 2000);
      track(w.write_message(Message{static_cast<uint16_t>(1 + i % 2), static_cast<uint32_t>(i),
                                    static_cast<Timestamp>(1000 + i), 0, data}));
    }
    track(w.close());
    EXPECT_TRUE(failed) << "budget " << budget << " of " << full_size;
    Status again = w.close();
    EXPECT_FALSE(again.ok());
    EXPECT_NE(again.error().message.find("disk full"), std::string::npos);
  }
}

Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(WriterTest, CreateWritesTheSameBytesToAFile) {
  const test_support::ScratchDir dir("writer");
  const std::filesystem::path path = dir / "sample.mcap";
  {
    auto writer = storage::create_file_writer(path.string(), small_zstd_chunks());
    ASSERT_TRUE(writer.ok()) << writer.error().to_string();
    Writer& w = **writer;
    ASSERT_TRUE(w.add_schema(Schema{1, "pkg/Msg", "ros2msg", {'i', 'n', 't'}}).ok());
    ASSERT_TRUE(w.add_channel(Channel{1, 1, "/a", "cdr", {{"k", "v"}}}).ok());
    ASSERT_TRUE(w.add_channel(Channel{2, 1, "/b", "cdr", {}}).ok());
    for (int i = 0; i < 20; ++i) {
      const Bytes data = payload(i, 2000);
      ASSERT_TRUE(
          w.write_message(Message{static_cast<uint16_t>(1 + i % 2), static_cast<uint32_t>(i),
                                  static_cast<Timestamp>(1000 + i), 0, data})
              .ok());
    }
    ASSERT_TRUE(w.close().ok());
  }
  EXPECT_EQ(read_file(path), write_sample(small_zstd_chunks(), 20));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  const mode_t umask_now = ::umask(0);
  ::umask(umask_now);
  EXPECT_EQ(st.st_mode & 0777, 0644u & ~umask_now);
}

// Appends to a buffer the test keeps, so the bytes outlive the writer that owns the sink.
class BorrowedSink : public ByteSink {
 public:
  explicit BorrowedSink(Bytes& out) : out_(out) {}
  Status write(ByteView data) override {
    out_.insert(out_.end(), data.begin(), data.end());
    return {};
  }

 private:
  Bytes& out_;
};

TEST(WriterTest, DestructorFinishesAnUnclosedFile) {
  Bytes file;
  {
    auto writer = Writer::open(std::make_unique<BorrowedSink>(file), WriterOptions{});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->add_channel(Channel{1, 0, "/x", "json", {}}).ok());
    const Bytes data = {1};
    ASSERT_TRUE((*writer)->write_message(Message{1, 0, 1, 1, data}).ok());
  }
  const std::vector<Framed> records = parse_file(file);
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back().opcode, static_cast<uint8_t>(Opcode::kFooter));
  EXPECT_EQ(all_of<Chunk>(records).size(), 1u);
  EXPECT_EQ(all_of<Statistics>(records)[0].second.message_count, 1u);
}

}  // namespace
}  // namespace mcaprec::mcap
