#include "mcap/serialize.hpp"

#include <gtest/gtest.h>

#include "mcap/bytes.hpp"

using namespace mcaprec::mcap;

TEST(Serialize, MessageHeaderHelperMatchesFullRecord) {
  const uint8_t payload[] = {1, 2, 3};
  Bytes full, split;
  append_record(full, Message{7, 9, 100, 99, payload});
  append_message_header(split, 7, 9, 100, 99, sizeof(payload));
  split.insert(split.end(), payload, payload + 3);
  EXPECT_EQ(full, split);
  EXPECT_EQ(full.size(), kRecordPrefixSize + kMessageHeaderSize + 3);
}

TEST(Serialize, EveryRecordTypeRoundTrips) {
  const uint8_t blob[] = {9, 8, 7};
  std::vector<Record> records = {
      Header{"ros2", "lib"},
      Footer{1, 2, 3},
      Schema{1, "pkg/T", "ros2msg", Bytes{1, 2}},
      Channel{2, 1, "/t", "cdr", {{"a", "b"}, {"c", ""}}},
      Message{2, 5, 10, 11, blob},
      Chunk{1, 2, 3, 4, "zstd", blob},
      MessageIndex{2, {{10, 0}, {5, 31}}},
      ChunkIndex{1, 2, 3, 4, {{2, 100}, {3, 200}}, 50, "lz4", 6, 7},
      Attachment{1, 2, "a.bin", "application/octet-stream", blob, 42},
      AttachmentIndex{1, 2, 3, 4, 5, "a.bin", "x/y"},
      Statistics{1, 2, 3, 4, 5, 6, 7, 8, {{2, 1}}},
      Metadata{"m", {{"k", "v"}}},
      MetadataIndex{1, 2, "m"},
      SummaryOffset{3, 4, 5},
      DataEnd{0xdeadbeef},
      UnknownRecord{0x80, blob},
  };
  for (const auto& rec : records) {
    Bytes once;
    append_record(once, rec);
    auto frame = read_frame(once, 0);
    ASSERT_TRUE(frame.ok()) << frame.error().to_string();
    EXPECT_EQ(frame->size(), once.size());
    auto parsed = parse_record(*frame);
    ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
    EXPECT_EQ(parsed->index(), rec.index());
    Bytes twice;
    append_record(twice, *parsed);
    EXPECT_EQ(once, twice) << "record index " << rec.index();
  }
}

TEST(Serialize, TrailingBytesAreSkipped) {
  Bytes rec;
  append_record(rec, Header{"p", "l"});
  rec.push_back(0xAA);
  rec.push_back(0xBB);
  store_le<uint64_t>(rec.data() + 1, rec.size() - kRecordPrefixSize);
  auto parsed = parse_record(*read_frame(rec, 0));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(std::get<Header>(*parsed).library, "l");
}

TEST(Serialize, TruncatedContentIsAnErrorWithOffset) {
  Bytes rec;
  append_record(rec, Channel{2, 1, "/topic", "cdr", {}});
  for (size_t cut = 0; cut + kRecordPrefixSize < rec.size(); ++cut) {
    ByteView content(rec.data() + kRecordPrefixSize, cut);
    auto parsed = parse_record(0x04, content, 1234);
    ASSERT_FALSE(parsed.ok()) << "cut " << cut;
    EXPECT_EQ(parsed.error().offset, 1234u);
    EXPECT_NE(parsed.error().message.find("Channel"), std::string::npos);
  }
  auto frame = read_frame(ByteView(rec.data(), rec.size() - 1), 0, 100);
  ASSERT_FALSE(frame.ok());
  EXPECT_EQ(frame.error().offset, 100u);
}

// A page of zeros inside a Metadata record reads as a map of empty keys: the official reader
// refuses a repeated key, so ours must too (recovery then cuts the file before that record).
TEST(Serialize, RepeatedMapKeysAreAnError) {
  Bytes content;
  const std::string name = "m";
  put_string(content, name);
  put_le<uint32_t>(content, 16);  // two entries of an empty key and an empty value
  content.resize(content.size() + 16, 0);
  auto parsed = parse_record(0x0C, content, 77);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().offset, 77u);

  Bytes counts;  // Statistics.channel_message_counts with channel 2 twice
  append_record(counts, Statistics{1, 2, 3, 4, 5, 6, 7, 8, {{2, 1}, {3, 1}}});
  Bytes frame = counts;
  // The map's last entry starts 10 bytes before the end: make its channel id 2 again.
  store_le<uint16_t>(frame.data() + frame.size() - 10, 2);
  ASSERT_FALSE(parse_record(*read_frame(frame, 0)).ok());
}
