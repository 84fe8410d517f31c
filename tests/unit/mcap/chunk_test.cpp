// Chunk encoding: the bytes encode_chunk produces must parse back, as a reader would, into a
// Chunk whose records, CRC and message indexes are right.
#include "mcap/chunk.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "mcap/crc32.hpp"
#include "mcap/serialize.hpp"
#include "payload.hpp"

namespace mcaprec::mcap {
namespace {

struct ParsedChunk {
  Chunk chunk;
  Bytes records;                                           // decompressed
  std::vector<std::pair<uint64_t, MessageIndex>> indexes;  // (offset in bytes, record)
};

// Reads the encoded bytes the way a file reader does: a Chunk record, then Message Index
// records up to the end.
ParsedChunk parse_encoded(const EncodedChunk& encoded) {
  ParsedChunk parsed;
  const ByteView bytes = encoded.bytes;
  Result<RecordFrame> frame = read_frame(bytes, 0);
  EXPECT_TRUE(frame.ok());
  if (!frame.ok()) return parsed;
  EXPECT_EQ(frame->opcode, static_cast<uint8_t>(Opcode::kChunk));
  EXPECT_EQ(frame->size(), encoded.chunk_record_size);
  Result<Record> record = parse_record(*frame);
  EXPECT_TRUE(record.ok());
  parsed.chunk = std::get<Chunk>(*record);

  Decompressor decompressor;
  Status s = decompressor.decompress(parsed.chunk.compression, parsed.chunk.records,
                                     parsed.chunk.uncompressed_size, parsed.records);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().to_string());

  uint64_t pos = frame->size();
  while (pos < bytes.size()) {
    Result<RecordFrame> f = read_frame(bytes, pos);
    EXPECT_TRUE(f.ok());
    if (!f.ok()) break;
    EXPECT_EQ(f->opcode, static_cast<uint8_t>(Opcode::kMessageIndex));
    Result<Record> mi = parse_record(*f);
    EXPECT_TRUE(mi.ok());
    parsed.indexes.emplace_back(pos, std::get<MessageIndex>(*mi));
    pos += f->size();
  }
  return parsed;
}

// The Message record at `offset` in decompressed chunk records.
Message message_at(const Bytes& records, uint64_t offset) {
  Result<RecordFrame> f = read_frame(records, offset);
  EXPECT_TRUE(f.ok());
  if (!f.ok()) return {};
  EXPECT_EQ(f->opcode, static_cast<uint8_t>(Opcode::kMessage)) << "at " << offset;
  Result<Record> r = parse_record(*f);
  EXPECT_TRUE(r.ok());
  return r.ok() ? std::get<Message>(*r) : Message{};
}

using test_support::Filler;
using test_support::payload;

// Schema, channels 2 and 1, then messages with log times out of order on both channels.
void fill(ChunkBuilder& builder, const std::vector<std::pair<uint16_t, Timestamp>>& messages) {
  builder.add_record(Schema{1, "S", "enc", {1, 2}});
  builder.add_record(Channel{2, 1, "/b", "cdr", {}});
  builder.add_record(Channel{1, 1, "/a", "cdr", {}});
  uint32_t seq = 0;
  for (const auto& [channel, time] : messages) {
    const Bytes data = payload(uint32_t(time), 200);
    builder.add_message(Message{channel, seq++, time, time + 1, data});
  }
}

const std::vector<std::pair<uint16_t, Timestamp>> kMixed = {{2, 50}, {1, 10}, {2, 30},
                                                            {1, 70}, {1, 20}, {2, 40}};

TEST(ChunkBuilderTest, IndexesMessagesAndKeepsCapacityOnClear) {
  ChunkBuilder builder;
  EXPECT_TRUE(builder.empty());
  fill(builder, kMixed);
  EXPECT_EQ(builder.message_count(), 6u);
  const ChunkPiece piece = builder.piece();
  ASSERT_EQ(piece.messages.size(), 6u);
  const Bytes records(piece.records.begin(), piece.records.end());
  for (size_t i = 0; i < piece.messages.size(); ++i) {
    const Message m = message_at(records, piece.messages[i].offset);
    EXPECT_EQ(m.channel_id, kMixed[i].first);
    EXPECT_EQ(m.log_time, kMixed[i].second);
    EXPECT_EQ(m.sequence, i);
    EXPECT_EQ(m.data.size(), 200u);
  }
  builder.clear();
  EXPECT_TRUE(builder.empty());
  EXPECT_EQ(builder.size(), 0u);
  EXPECT_EQ(builder.message_count(), 0u);
}

TEST(ChunkBuilderTest, UninitializedMessageIsFilledInPlace) {
  ChunkBuilder builder;
  uint8_t* data = builder.add_message_uninitialized(3, 7, 100, 99, 4);
  const uint8_t bytes[] = {9, 8, 7, 6};
  std::memcpy(data, bytes, 4);
  const ChunkPiece piece = builder.piece();
  const Bytes records(piece.records.begin(), piece.records.end());
  const Message m = message_at(records, 0);
  EXPECT_EQ(m.channel_id, 3);
  EXPECT_EQ(m.sequence, 7u);
  EXPECT_EQ(m.log_time, 100u);
  EXPECT_EQ(m.publish_time, 99u);
  EXPECT_EQ(Bytes(m.data.begin(), m.data.end()), Bytes(bytes, bytes + 4));
}

class EncodeTest : public ::testing::TestWithParam<Compression> {};

TEST_P(EncodeTest, EncodedChunkParsesBackWithRecordsCrcAndIndexes) {
  ChunkBuilder builder;
  fill(builder, kMixed);
  const Bytes original(builder.piece().records.begin(), builder.piece().records.end());
  Compressor compressor;
  ChunkEncodeOptions options;
  options.compression = GetParam();
  EncodedChunk encoded;
  ASSERT_TRUE(encode_chunk(builder, options, compressor, encoded).ok());

  const ParsedChunk parsed = parse_encoded(encoded);
  EXPECT_EQ(parsed.chunk.compression, compression_name(GetParam()));
  EXPECT_EQ(encoded.compression, parsed.chunk.compression);
  EXPECT_EQ(parsed.records, original);
  EXPECT_EQ(parsed.chunk.uncompressed_size, original.size());
  EXPECT_EQ(parsed.chunk.uncompressed_crc, crc32(original));
  EXPECT_EQ(parsed.chunk.message_start_time, 10u);
  EXPECT_EQ(parsed.chunk.message_end_time, 70u);
  EXPECT_EQ(encoded.message_start_time, 10u);
  EXPECT_EQ(encoded.message_end_time, 70u);
  EXPECT_EQ(encoded.uncompressed_size, original.size());
  EXPECT_EQ(encoded.compressed_size, parsed.chunk.records.size());
  if (GetParam() != Compression::kNone) {
    EXPECT_LT(encoded.compressed_size, original.size());
  }
  EXPECT_EQ(encoded.crc, crc32(encoded.bytes));
  EXPECT_EQ(encoded.message_count, 6u);
  EXPECT_EQ(encoded.message_counts, (ChannelValues{{1, 3}, {2, 3}}));

  // One Message Index per channel, by channel id; entries in insertion order (not by time),
  // each pointing at the message it names.
  ASSERT_EQ(parsed.indexes.size(), 2u);
  EXPECT_EQ(parsed.indexes[0].second.channel_id, 1);
  EXPECT_EQ(parsed.indexes[1].second.channel_id, 2);
  EXPECT_EQ(encoded.message_index_offsets,
            (ChannelValues{{1, parsed.indexes[0].first}, {2, parsed.indexes[1].first}}));
  EXPECT_EQ(encoded.message_index_length, encoded.bytes.size() - encoded.chunk_record_size);
  const std::vector<Timestamp> want_times[] = {{10, 70, 20}, {50, 30, 40}};
  for (size_t i = 0; i < 2; ++i) {
    const MessageIndex& mi = parsed.indexes[i].second;
    ASSERT_EQ(mi.records.size(), 3u);
    for (size_t j = 0; j < 3; ++j) {
      EXPECT_EQ(mi.records[j].first, want_times[i][j]);
      const Message m = message_at(parsed.records, mi.records[j].second);
      EXPECT_EQ(m.channel_id, mi.channel_id);
      EXPECT_EQ(m.log_time, mi.records[j].first);
    }
  }
}

TEST_P(EncodeTest, PiecesEncodeAsOneStreamWithOffsetsFromTheWholeRecords) {
  ChunkBuilder first, second, third;
  fill(first, {{1, 5}, {2, 6}});
  // The second piece holds only messages, as a per-channel buffer would.
  const Bytes data = payload(1, 300);
  second.add_message(Message{2, 0, 3, 3, data});
  second.add_message(Message{2, 1, 9, 9, data});
  third.add_message(Message{1, 0, 1, 1, data});
  const ChunkPiece pieces[] = {first.piece(), second.piece(), third.piece()};
  Bytes whole;
  for (const ChunkPiece& p : pieces) whole.insert(whole.end(), p.records.begin(), p.records.end());

  Compressor compressor;
  ChunkEncodeOptions options;
  options.compression = GetParam();
  EncodedChunk encoded;
  ASSERT_TRUE(encode_chunk(pieces, options, compressor, encoded).ok());
  const ParsedChunk parsed = parse_encoded(encoded);
  EXPECT_EQ(parsed.records, whole);
  EXPECT_EQ(parsed.chunk.uncompressed_crc, crc32(whole));
  EXPECT_EQ(encoded.message_start_time, 1u);
  EXPECT_EQ(encoded.message_end_time, 9u);
  ASSERT_EQ(parsed.indexes.size(), 2u);
  // Channel 1: piece 1's message, then piece 3's; channel 2: piece 1's, then piece 2's two.
  const std::vector<Timestamp> want_times[] = {{5, 1}, {6, 3, 9}};
  for (size_t i = 0; i < 2; ++i) {
    const MessageIndex& mi = parsed.indexes[i].second;
    ASSERT_EQ(mi.records.size(), want_times[i].size());
    for (size_t j = 0; j < mi.records.size(); ++j) {
      EXPECT_EQ(mi.records[j].first, want_times[i][j]);
      const Message m = message_at(parsed.records, mi.records[j].second);
      EXPECT_EQ(m.channel_id, mi.channel_id);
      EXPECT_EQ(m.log_time, want_times[i][j]);
    }
  }

  // Stored chunks are byte-identical whether they came as pieces or as one buffer.
  if (GetParam() == Compression::kNone) {
    ChunkBuilder all;
    fill(all, {{1, 5}, {2, 6}});
    all.add_message(Message{2, 0, 3, 3, data});
    all.add_message(Message{2, 1, 9, 9, data});
    all.add_message(Message{1, 0, 1, 1, data});
    EncodedChunk single;
    ASSERT_TRUE(encode_chunk(all, options, compressor, single).ok());
    EXPECT_EQ(single.bytes, encoded.bytes);
  }
}

// Forty channels, first seen in no particular order and interleaved, over more pieces than
// fit a small fixed array: one Message Index per channel, sorted by id, each naming exactly its
// own messages, and the same output when the EncodedChunk is reused.
TEST_P(EncodeTest, ManyChannelsOverManyPiecesAreIndexedByChannelId) {
  constexpr uint16_t kChannels = 40;
  std::vector<ChunkBuilder> builders(24);
  std::map<uint16_t, std::vector<Timestamp>> want;
  Timestamp time = 0;
  for (size_t p = 0; p < builders.size(); ++p) {
    for (int i = 0; i < 7; ++i) {
      const uint16_t channel = uint16_t(1 + (p * 17 + size_t(i) * 29) % kChannels);
      ++time;
      builders[p].add_message(Message{channel, 0, time, time, payload(uint32_t(time), 40)});
      want[channel].push_back(time);
    }
  }
  std::vector<ChunkPiece> pieces;
  Bytes whole;
  for (const ChunkBuilder& b : builders) {
    pieces.push_back(b.piece());
    whole.insert(whole.end(), b.piece().records.begin(), b.piece().records.end());
  }

  Compressor compressor;
  ChunkEncodeOptions options;
  options.compression = GetParam();
  EncodedChunk encoded;
  ChunkBuilder other;
  fill(other, kMixed);
  ASSERT_TRUE(encode_chunk(other, options, compressor, encoded).ok());  // leaves capacity
  ASSERT_TRUE(encode_chunk(pieces, options, compressor, encoded).ok());
  const ParsedChunk parsed = parse_encoded(encoded);
  EXPECT_EQ(parsed.records, whole);
  ASSERT_EQ(parsed.indexes.size(), want.size());
  ASSERT_EQ(encoded.message_counts.size(), want.size());
  ASSERT_EQ(encoded.message_index_offsets.size(), want.size());
  size_t i = 0;
  for (const auto& [channel, times] : want) {
    EXPECT_EQ(encoded.message_counts[i], std::make_pair(channel, uint64_t(times.size())));
    EXPECT_EQ(encoded.message_index_offsets[i], std::make_pair(channel, parsed.indexes[i].first));
    const MessageIndex& mi = parsed.indexes[i].second;
    EXPECT_EQ(mi.channel_id, channel);
    ASSERT_EQ(mi.records.size(), times.size());
    for (size_t j = 0; j < times.size(); ++j) {
      EXPECT_EQ(mi.records[j].first, times[j]);
      const Message m = message_at(parsed.records, mi.records[j].second);
      EXPECT_EQ(m.channel_id, channel);
      EXPECT_EQ(m.log_time, times[j]);
    }
    ++i;
  }
  EXPECT_EQ(encoded.message_count, 24u * 7u);
}

INSTANTIATE_TEST_SUITE_P(Codecs, EncodeTest,
                         ::testing::Values(Compression::kNone, Compression::kZstd,
                                           Compression::kLz4),
                         [](const auto& param_info) {
                           return param_info.param == Compression::kNone
                                      ? std::string("none")
                                      : std::string(compression_name(param_info.param));
                         });

TEST(EncodeChunkTest, IncompressibleChunkIsStoredUncompressed) {
  for (Compression codec : {Compression::kZstd, Compression::kLz4}) {
    ChunkBuilder builder;
    const Bytes noise = payload(3, 20000, Filler::kNoise);
    builder.add_message(Message{1, 0, 1, 1, noise});
    Compressor compressor;
    ChunkEncodeOptions options;
    options.compression = codec;
    EncodedChunk encoded;
    ASSERT_TRUE(encode_chunk(builder, options, compressor, encoded).ok());
    EXPECT_EQ(encoded.compression, "");
    EXPECT_EQ(encoded.compressed_size, encoded.uncompressed_size);
    const ParsedChunk parsed = parse_encoded(encoded);
    EXPECT_EQ(parsed.chunk.compression, "");
    EXPECT_EQ(parsed.chunk.records.size(), builder.size());
    EXPECT_TRUE(std::equal(parsed.chunk.records.begin(), parsed.chunk.records.end(),
                           builder.piece().records.begin()));
    EXPECT_EQ(parsed.chunk.uncompressed_crc, crc32(builder.piece().records));
    EXPECT_EQ(encoded.crc, crc32(encoded.bytes));
  }
}

TEST(EncodeChunkTest, OptionalPartsCanBeTurnedOff) {
  ChunkBuilder builder;
  fill(builder, kMixed);
  Compressor compressor;
  ChunkEncodeOptions options;
  options.chunk_crc = false;
  options.message_indexes = false;
  options.data_crc = false;
  EncodedChunk encoded;
  ASSERT_TRUE(encode_chunk(builder, options, compressor, encoded).ok());
  const ParsedChunk parsed = parse_encoded(encoded);
  EXPECT_EQ(parsed.chunk.uncompressed_crc, 0u);
  EXPECT_TRUE(parsed.indexes.empty());
  EXPECT_EQ(encoded.bytes.size(), encoded.chunk_record_size);
  EXPECT_EQ(encoded.message_index_length, 0u);
  EXPECT_TRUE(encoded.message_index_offsets.empty());
  EXPECT_EQ(encoded.crc, 0u);
  // Counts are still reported: the writer's statistics need them.
  EXPECT_EQ(encoded.message_count, 6u);
}

TEST(EncodeChunkTest, ReusedOutputCarriesNothingOver) {
  Compressor compressor;
  ChunkEncodeOptions options;
  EncodedChunk encoded;
  ChunkBuilder with_messages;
  fill(with_messages, kMixed);
  ASSERT_TRUE(encode_chunk(with_messages, options, compressor, encoded).ok());

  ChunkBuilder schema_only;
  schema_only.add_record(Schema{4, "T", "enc", {}});
  ASSERT_TRUE(encode_chunk(schema_only, options, compressor, encoded).ok());
  const ParsedChunk parsed = parse_encoded(encoded);
  EXPECT_TRUE(parsed.indexes.empty());
  EXPECT_EQ(encoded.message_count, 0u);
  EXPECT_TRUE(encoded.message_counts.empty());
  EXPECT_TRUE(encoded.message_index_offsets.empty());
  EXPECT_EQ(encoded.message_start_time, 0u);
  EXPECT_EQ(encoded.message_end_time, 0u);
  EXPECT_EQ(parsed.chunk.message_start_time, 0u);
  EXPECT_EQ(parsed.chunk.message_end_time, 0u);
  EXPECT_EQ(parsed.records,
            Bytes(schema_only.piece().records.begin(), schema_only.piece().records.end()));
  EXPECT_EQ(encoded.crc, crc32(encoded.bytes));
}

// The data-section CRC of a raw chunk is assembled from the records' CRC rather than read
// again, and a compressed chunk's comes from its bytes: both must equal a CRC computed over the
// encoded bytes from scratch, whatever the codec, the data, the split into pieces or the
// message sizes (empty payloads included).
TEST(EncodeChunkTest, CrcsMatchAFullRecomputation) {
  struct Layout {
    const char* name;
    std::vector<std::vector<size_t>> pieces;  // payload sizes of each piece's messages
  };
  const std::vector<Layout> layouts = {
      {"one piece", {{200, 0, 40000}}},  // longer than the blocks a raw chunk is copied in
      {"many pieces", {{0}, {}, {1, 2, 3}, {5000}, {}, {0, 0}, {64}, {7, 7, 7, 7}, {1}}},
      {"empty payloads only", {{0, 0, 0}, {0}}},
      {"no messages", {{}}},
  };
  for (const bool random_data : {false, true}) {
    for (const Layout& layout : layouts) {
      std::vector<ChunkBuilder> builders(layout.pieces.size());
      Timestamp time = 1;
      for (size_t p = 0; p < layout.pieces.size(); ++p) {
        if (p == 0) builders[0].add_record(Channel{1, 0, "/a", "raw", {}});
        for (size_t size : layout.pieces[p]) {
          const Bytes data =
              payload(uint32_t(time), size, random_data ? Filler::kNoise : Filler::kRuns);
          builders[p].add_message(Message{uint16_t(1 + time % 3), 0, time, time, data});
          ++time;
        }
      }
      std::vector<ChunkPiece> pieces;
      Bytes whole;
      for (const ChunkBuilder& b : builders) {
        pieces.push_back(b.piece());
        whole.insert(whole.end(), b.piece().records.begin(), b.piece().records.end());
      }
      for (Compression codec : {Compression::kNone, Compression::kZstd, Compression::kLz4}) {
        for (const bool indexes : {true, false}) {
          SCOPED_TRACE(std::string(layout.name) + (random_data ? ", random" : ", repetitive") +
                       ", codec " + std::string(compression_name(codec)) +
                       (indexes ? ", indexed" : ", no indexes"));
          Compressor compressor;
          ChunkEncodeOptions options;
          options.compression = codec;
          options.message_indexes = indexes;
          EncodedChunk encoded;
          ASSERT_TRUE(encode_chunk(pieces, options, compressor, encoded).ok());
          EXPECT_EQ(encoded.crc, crc32(encoded.bytes));
          const ParsedChunk parsed = parse_encoded(encoded);
          EXPECT_EQ(parsed.records, whole);
          EXPECT_EQ(parsed.chunk.uncompressed_crc, crc32(whole));
          // Without the records' CRC there is nothing to extend: the full pass must agree.
          options.chunk_crc = false;
          EncodedChunk unchecked;
          ASSERT_TRUE(encode_chunk(pieces, options, compressor, unchecked).ok());
          EXPECT_EQ(unchecked.crc, crc32(unchecked.bytes));
        }
      }
    }
  }
}

// The compressor pool keeps a compressed chunk only when it saves a worthwhile share; below
// that the chunk is stored exactly as if no codec had been asked for.
TEST(EncodeChunkTest, ChunkThatSavesTooLittleIsStoredRaw) {
  ChunkBuilder builder;
  fill(builder, kMixed);  // repetitive payloads: compresses to well under half
  const Bytes original(builder.piece().records.begin(), builder.piece().records.end());
  Compressor compressor;
  ChunkEncodeOptions raw_options;
  raw_options.compression = Compression::kNone;
  EncodedChunk raw;
  ASSERT_TRUE(encode_chunk(builder, raw_options, compressor, raw).ok());

  for (Compression codec : {Compression::kZstd, Compression::kLz4}) {
    SCOPED_TRACE(std::string(compression_name(codec)));
    ChunkEncodeOptions options;
    options.compression = codec;
    EncodedChunk encoded;
    options.min_saving_percent = 2;
    ASSERT_TRUE(encode_chunk(builder, options, compressor, encoded).ok());
    EXPECT_EQ(encoded.compression, compression_name(codec));
    const uint64_t saved_percent =
        100 - (encoded.compressed_size * 100 + original.size() - 1) / original.size();
    ASSERT_GT(saved_percent, 10u);
    ASSERT_LT(saved_percent, 99u);

    // Asking for one percent more than it saves: stored raw, byte for byte the raw encoding.
    options.min_saving_percent = uint32_t(saved_percent + 1);
    ASSERT_TRUE(encode_chunk(builder, options, compressor, encoded).ok());
    EXPECT_EQ(encoded.compression, "");
    EXPECT_EQ(encoded.bytes, raw.bytes);
    EXPECT_EQ(encoded.crc, raw.crc);
    EXPECT_EQ(encoded.compressed_size, original.size());
    // Asking for exactly what it saves keeps it compressed.
    options.min_saving_percent = uint32_t(saved_percent);
    ASSERT_TRUE(encode_chunk(builder, options, compressor, encoded).ok());
    EXPECT_EQ(encoded.compression, compression_name(codec));
    EXPECT_EQ(parse_encoded(encoded).records, original);
  }
}

// A raw chunk may leave its large pieces where they are (written later with a gathering write):
// in file order its bytes, CRCs, lengths and index offsets are exactly those of the copied
// chunk, and the large pieces really are not copied.
TEST(EncodeChunkTest, RawChunkWithRecordsInPlaceIsTheCopiedChunkInFileOrder) {
  constexpr uint64_t kInPlaceMin = 16 << 10;
  std::vector<ChunkBuilder> builders(5);
  fill(builders[0], {{1, 5}, {2, 6}});  // small: copied
  builders[1].add_message(Message{1, 0, 7, 7, payload(7, 40000, Filler::kNoise)});
  builders[2].add_message(Message{2, 0, 3, 3, payload(3, 100, Filler::kNoise)});
  builders[3].add_message(Message{2, 1, 9, 9, payload(9, 70000, Filler::kNoise)});
  builders[3].add_message(Message{1, 1, 8, 8, payload(8, 10, Filler::kNoise)});
  builders[4].add_message(Message{1, 2, 2, 2, payload(2, 30, Filler::kNoise)});
  std::vector<ChunkPiece> pieces;
  for (const ChunkBuilder& b : builders) pieces.push_back(b.piece());

  // zstd cannot shrink the noise: stored raw after the attempt, the same way.
  for (Compression codec : {Compression::kNone, Compression::kZstd}) {
    SCOPED_TRACE(std::string(compression_name(codec)));
    Compressor compressor;
    ChunkEncodeOptions options;
    options.compression = codec;
    options.min_saving_percent = 2;
    EncodedChunk copied;
    ASSERT_TRUE(encode_chunk(pieces, options, compressor, copied).ok());
    options.in_place_min_bytes = kInPlaceMin;
    EncodedChunk placed;
    ASSERT_TRUE(encode_chunk(pieces, options, compressor, placed).ok());

    EXPECT_TRUE(copied.parts.empty());
    ASSERT_EQ(placed.compression, "");
    const uint64_t large = pieces[1].records.size() + pieces[3].records.size();
    EXPECT_EQ(placed.in_place_bytes, large);
    EXPECT_EQ(placed.bytes.size(), copied.bytes.size() - large);
    std::vector<const uint8_t*> in_place;
    for (const ChunkPart& part : placed.parts) {
      if (part.in_place != nullptr) in_place.push_back(part.in_place);
    }
    EXPECT_EQ(in_place,
              (std::vector<const uint8_t*>{pieces[1].records.data(), pieces[3].records.data()}));

    Bytes file_order;
    copy_chunk_bytes(placed, file_order);
    EXPECT_EQ(file_order, copied.bytes);
    EXPECT_EQ(placed.file_size(), copied.bytes.size());
    EXPECT_EQ(placed.crc, crc32(file_order));
    EXPECT_EQ(placed.crc, copied.crc);
    EXPECT_EQ(placed.chunk_record_size, copied.chunk_record_size);
    EXPECT_EQ(placed.message_index_length, copied.message_index_length);
    EXPECT_EQ(placed.message_index_offsets, copied.message_index_offsets);
    EXPECT_EQ(placed.message_counts, copied.message_counts);

    // Reused for a chunk that compresses: nothing is left in place, nothing carried over.
    ChunkBuilder repetitive;
    fill(repetitive, kMixed);
    ASSERT_TRUE(encode_chunk(repetitive, options, compressor, placed).ok());
    if (codec == Compression::kNone) continue;
    EXPECT_EQ(placed.compression, compression_name(codec));
    EXPECT_TRUE(placed.parts.empty());
    EXPECT_EQ(placed.in_place_bytes, 0u);
    EXPECT_EQ(placed.file_size(), placed.bytes.size());
  }
}

}  // namespace
}  // namespace mcaprec::mcap
