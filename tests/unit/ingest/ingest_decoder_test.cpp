// The ingest decoders: what a listener would receive from each network format, whatever the
// split of the bytes, and how each kind of bad input is refused (reason code, offset, text).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ingest/decoder_events.hpp"
#include "ingest/length_prefixed_decoder.hpp"
#include "ingest/mcap_datagram_decoder.hpp"
#include "ingest/mcap_stream_decoder.hpp"
#include "ingest/sender_channels.hpp"
#include "mcap/bytes.hpp"
#include "mcap/chunk.hpp"
#include "mcap/crc32.hpp"
#include "mcap/serialize.hpp"
#include "mcap/sink.hpp"
#include "mcap/writer.hpp"
#include "payload.hpp"

namespace mcaprec::ingest {
namespace {

using mcap::Bytes;
using mcap::ByteView;

// ---- describing events as text, so that expected and received sequences compare directly ----

std::string hex(uint32_t v) {
  char text[16];
  std::snprintf(text, sizeof(text), "%08x", v);
  return text;
}

std::string describe_map(const mcap::KeyValueMap& m) {
  std::string out;
  for (const auto& [k, v] : m) out += k + "=" + v + ";";
  return out;
}

std::string describe_schema(const std::string& name, const std::string& encoding, ByteView data) {
  return name + "/" + encoding + "/" + std::to_string(data.size()) + "/" + hex(mcap::crc32(data));
}

std::string describe_channel(uint16_t id, const std::string& topic, const std::string& encoding,
                             const mcap::KeyValueMap& metadata, const mcap::Schema* schema) {
  return "channel " + std::to_string(id) + " " + topic + " " + encoding + " {" +
         describe_map(metadata) + "} " +
         (schema ? describe_schema(schema->name, schema->encoding, schema->data) : "no-schema");
}

std::string describe_message(const mcap::Message& m) {
  return "message ch=" + std::to_string(m.channel_id) + " seq=" + std::to_string(m.sequence) +
         " log=" + std::to_string(m.log_time) + " pub=" + std::to_string(m.publish_time) +
         " size=" + std::to_string(m.data.size()) + " crc=" + hex(mcap::crc32(m.data));
}

std::string describe_attachment(const mcap::Attachment& a) {
  return "attachment " + a.name + " " + a.media_type + " log=" + std::to_string(a.log_time) +
         " size=" + std::to_string(a.data.size()) + " crc=" + hex(mcap::crc32(a.data));
}

class RecordingEvents : public DecoderEvents {
 public:
  void on_header(const mcap::Header& h) override {
    log.push_back("header " + h.profile + " " + h.library);
  }
  void on_schema(const mcap::Schema& s) override {
    log.push_back("schema " + std::to_string(s.id) + " " +
                  describe_schema(s.name, s.encoding, s.data));
  }
  void on_channel(InBandChannelId id, const ChannelDefinition& d) override {
    std::unique_ptr<mcap::Schema> schema;
    if (d.schema) {
      schema = std::make_unique<mcap::Schema>(
          mcap::Schema{0, d.schema->name, d.schema->encoding, d.schema->data});
    }
    log.push_back(
        describe_channel(record_id(id), d.topic, d.message_encoding, d.metadata, schema.get()));
    definitions.push_back(d);
  }
  void on_message(const mcap::Message& m) override {
    log.push_back(describe_message(m));
    payload_addresses.push_back(m.data.data());
    if (piece_begin != nullptr && !m.data.empty() && m.data.data() >= piece_begin &&
        m.data.data() + m.data.size() <= piece_end) {
      ++messages_viewing_piece;
    }
  }
  void on_metadata(const mcap::Metadata& m) override {
    log.push_back("metadata " + m.name + " {" + describe_map(m.metadata) + "}");
  }
  void on_attachment(const mcap::Attachment& a) override { log.push_back(describe_attachment(a)); }
  void on_end() override { log.push_back("end"); }

  std::vector<std::string> log;
  std::vector<ChannelDefinition> definitions;
  std::vector<const uint8_t*> payload_addresses;
  // The piece being fed, to tell whether payloads are views into it.
  const uint8_t* piece_begin = nullptr;
  const uint8_t* piece_end = nullptr;
  size_t messages_viewing_piece = 0;
};

// ---- building inputs ----

Bytes record(const mcap::Record& r) {
  Bytes out;
  mcap::append_record(out, r);
  return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes magic() {
  return Bytes(mcap::kMagic, mcap::kMagic + sizeof(mcap::kMagic));
}

Bytes text(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

Bytes message_record(uint16_t channel, uint32_t sequence, const Bytes& payload) {
  return record(mcap::Message{channel, sequence, 1000 + sequence, 2000 + sequence, payload});
}

// Payloads of runs that compress, so that codecs shrink chunks.
using test_support::payload;

// A recording made by our file writer, and the events a decoder must report for it.
struct Recording {
  Bytes bytes;
  std::vector<std::string> expected;
};

Recording make_recording(mcap::WriterOptions options) {
  auto sink = std::make_unique<mcap::MemorySink>();
  mcap::MemorySink* memory = sink.get();
  options.profile = "x-test";
  options.library = "ingest-test";
  options.chunk_size = 4096;
  auto opened = mcap::Writer::open(std::move(sink), options);
  EXPECT_TRUE(opened.ok());
  mcap::Writer& w = **opened;
  Recording r;
  r.expected.push_back("header x-test ingest-test");

  const mcap::Schema imu{1, "pkg/Imu", "jsonschema", text(R"({"type":"object"})")};
  const mcap::Schema image{7, "pkg/Image", "ros2msg", payload(7, 3000)};
  const mcap::Channel imu_channel{3, 1, "/imu", "json", {{"rate", "100"}, {"frame", "base"}}};
  const mcap::Channel camera{0, 7, "/camera", "cdr", {}};
  const mcap::Channel raw{9, 0, "/raw", "", {}};
  for (const mcap::Schema& s : {imu, image}) {
    EXPECT_TRUE(w.add_schema(s).ok());
    r.expected.push_back("schema " + std::to_string(s.id) + " " +
                         describe_schema(s.name, s.encoding, s.data));
  }
  auto add_channel = [&](const mcap::Channel& c, const mcap::Schema* s) {
    EXPECT_TRUE(w.add_channel(c).ok());
    r.expected.push_back(describe_channel(c.id, c.topic, c.message_encoding, c.metadata, s));
  };
  add_channel(imu_channel, &imu);
  add_channel(camera, &image);
  add_channel(raw, nullptr);

  std::vector<Bytes> payloads;  // kept alive: messages view them
  for (uint32_t i = 0; i < 60; ++i) {
    // Sizes from empty to larger than a chunk, so some messages get a chunk of their own.
    const size_t size = i % 10 == 9 ? 9000 : (i * 37) % 700;
    payloads.push_back(payload(i, size));
    const uint16_t channel = i % 3 == 0 ? 3 : i % 3 == 1 ? 0 : 9;
    const mcap::Message m{channel, i, 1'000'000 + i * 10, 1'000'000 + i * 10 + 1, payloads.back()};
    EXPECT_TRUE(w.write_message(m).ok());
    r.expected.push_back(describe_message(m));
    if (i == 20) {
      const mcap::Metadata md{"calibration", {{"camera", "front"}, {"fx", "512.5"}}};
      EXPECT_TRUE(w.write_metadata(md).ok());
      r.expected.push_back("metadata calibration {" + describe_map(md.metadata) + "}");
    }
    if (i == 40) {
      const Bytes data = payload(99, 2500);
      mcap::Attachment a{5, 6, "map.png", "image/png", data, 0};
      EXPECT_TRUE(w.write_attachment(a).ok());
      r.expected.push_back(describe_attachment(a));
    }
  }
  EXPECT_TRUE(w.close().ok());
  r.expected.push_back("end");
  r.bytes = memory->take();
  return r;
}

// The compression of every top-level Chunk record of a file.
std::vector<std::string> chunk_codecs(const Bytes& file) {
  std::vector<std::string> out;
  uint64_t pos = sizeof(mcap::kMagic);
  const ByteView body = ByteView(file).first(file.size() - sizeof(mcap::kMagic));
  while (pos < body.size()) {
    auto frame = mcap::read_frame(body, pos);
    if (!frame.ok()) break;
    if (frame->opcode == static_cast<uint8_t>(mcap::Opcode::kChunk)) {
      auto parsed = mcap::parse_record(*frame);
      if (parsed.ok()) out.push_back(std::get<mcap::Chunk>(*parsed).compression);
    }
    pos += frame->size();
  }
  return out;
}

// ---- feeding ----

// Feeds `bytes` in pieces of `split` bytes (0 = all at once), each piece in its own heap buffer
// that is freed right after the call, so that a decoder keeping a view past the call would read
// freed memory (and the sanitizer build would say so).
template <class Decoder>
DecodeStatus feed_in_pieces(Decoder& decoder, const Bytes& bytes, size_t split,
                            RecordingEvents* events = nullptr) {
  const size_t step = split == 0 ? std::max<size_t>(bytes.size(), 1) : split;
  for (size_t pos = 0; pos < bytes.size(); pos += step) {
    const size_t n = std::min(step, bytes.size() - pos);
    Bytes piece(bytes.begin() + pos, bytes.begin() + pos + n);
    if (events != nullptr) {
      events->piece_begin = piece.data();
      events->piece_end = piece.data() + piece.size();
    }
    DecodeStatus st = decoder.feed(piece);
    if (events != nullptr) events->piece_begin = events->piece_end = nullptr;
    if (!st.ok()) return st;
  }
  return decoder.finish();
}

struct StreamOutcome {
  std::vector<std::string> log;
  DecodeStatus status;
};

StreamOutcome decode_stream(const Bytes& bytes, size_t split, const DecoderLimits& limits = {}) {
  RecordingEvents events;
  McapStreamDecoder decoder(events, limits);
  DecodeStatus st = feed_in_pieces(decoder, bytes, split, &events);
  return {events.log, st};
}

constexpr size_t kSplits[] = {1, 7, 4096, 0};

// Decodes with every split and checks that all give the same error; returns it.
DecodeError stream_error(const Bytes& bytes, const DecoderLimits& limits = {}) {
  std::vector<DecodeError> errors;
  for (size_t split : kSplits) {
    StreamOutcome out = decode_stream(bytes, split, limits);
    EXPECT_FALSE(out.status.ok()) << "split " << split;
    if (out.status.ok()) return {};
    errors.push_back(out.status.error());
  }
  for (const DecodeError& e : errors) {
    EXPECT_EQ(e.reason, errors[0].reason) << e.to_string() << " vs " << errors[0].to_string();
    EXPECT_EQ(e.offset, errors[0].offset) << e.to_string() << " vs " << errors[0].to_string();
  }
  return errors[0];
}

std::string reason_of(const DecodeError& e) {
  return std::string(decode_reason_name(e.reason));
}

// ---- common definitions for hand-made streams ----

const mcap::Schema kSchema{1, "pkg/Point", "jsonschema", text("{}")};
const mcap::Channel kChannel{1, 1, "/points", "json", {{"qos", "reliable"}}};

Bytes definitions() {
  return concat({record(kSchema), record(kChannel)});
}

// =============================== MCAP over TCP ===============================

struct CodecCase {
  const char* name;
  bool use_chunks;
  mcap::Compression compression;
};

class StreamCodecTest : public ::testing::TestWithParam<CodecCase> {};

TEST_P(StreamCodecTest, EveryRecordArrivesWithEverySplit) {
  mcap::WriterOptions options;
  options.use_chunks = GetParam().use_chunks;
  options.compression = GetParam().compression;
  const Recording rec = make_recording(options);
  if (GetParam().use_chunks) {
    // The chunks really are stored with the codec under test.
    const std::vector<std::string> codecs = chunk_codecs(rec.bytes);
    ASSERT_GT(codecs.size(), 3u);
    const std::string want(mcap::compression_name(GetParam().compression));
    EXPECT_GT(std::count(codecs.begin(), codecs.end(), want), 3) << GetParam().name;
  } else {
    EXPECT_TRUE(chunk_codecs(rec.bytes).empty());
  }
  for (size_t split : kSplits) {
    StreamOutcome out = decode_stream(rec.bytes, split);
    ASSERT_TRUE(out.status.ok()) << "split " << split << ": " << out.status.error().to_string();
    EXPECT_EQ(out.log, rec.expected) << "split " << split;
  }
  // Random splits, as a socket would deliver them.
  std::mt19937 rng(42);
  RecordingEvents events;
  McapStreamDecoder decoder(events);
  for (size_t pos = 0; pos < rec.bytes.size();) {
    const size_t n = std::min<size_t>(1 + rng() % 3000, rec.bytes.size() - pos);
    Bytes piece(rec.bytes.begin() + pos, rec.bytes.begin() + pos + n);
    ASSERT_TRUE(decoder.feed(piece).ok());
    pos += n;
  }
  EXPECT_TRUE(decoder.finish().ok());
  EXPECT_TRUE(decoder.done());
  EXPECT_EQ(events.log, rec.expected);
}

INSTANTIATE_TEST_SUITE_P(Codecs, StreamCodecTest,
                         ::testing::Values(CodecCase{"unchunked", false, mcap::Compression::kNone},
                                           CodecCase{"none", true, mcap::Compression::kNone},
                                           CodecCase{"lz4", true, mcap::Compression::kLz4},
                                           CodecCase{"zstd", true, mcap::Compression::kZstd}),
                         [](const auto& test) { return std::string(test.param.name); });

TEST(McapStreamDecoder, ChunksEncodedByThePipelineChunkEncoderUnpackForEachCodec) {
  for (mcap::Compression codec :
       {mcap::Compression::kNone, mcap::Compression::kLz4, mcap::Compression::kZstd}) {
    mcap::ChunkBuilder builder;
    builder.add_record(kSchema);
    builder.add_record(kChannel);
    std::vector<std::string> expected = {
        "schema 1 " + describe_schema(kSchema.name, kSchema.encoding, kSchema.data),
        describe_channel(1, "/points", "json", kChannel.metadata, &kSchema)};
    std::vector<Bytes> payloads;
    for (uint32_t i = 0; i < 200; ++i) {
      payloads.push_back(payload(i, 100 + i));
      const mcap::Message m{1, i, i, i, payloads.back()};
      builder.add_message(m);
      expected.push_back(describe_message(m));
    }
    mcap::Compressor compressor;
    mcap::EncodedChunk encoded;
    mcap::ChunkEncodeOptions options;
    options.compression = codec;
    ASSERT_TRUE(mcap::encode_chunk(builder, options, compressor, encoded).ok());
    EXPECT_EQ(encoded.compression, mcap::compression_name(codec));
    // No magic and no Header: a bare run of records is a valid stream too.
    for (size_t split : kSplits) {
      StreamOutcome out = decode_stream(encoded.bytes, split);
      ASSERT_TRUE(out.status.ok()) << out.status.error().to_string();
      EXPECT_EQ(out.log, expected) << encoded.compression << " split " << split;
    }
  }
}

TEST(McapStreamDecoder, PayloadsOfRecordsWithinOnePieceAreViewsIntoIt) {
  mcap::WriterOptions options;
  options.use_chunks = false;
  const Recording rec = make_recording(options);
  {
    RecordingEvents events;
    McapStreamDecoder decoder(events);
    ASSERT_TRUE(feed_in_pieces(decoder, rec.bytes, 0, &events).ok());
    // 60 messages, one of them empty.
    EXPECT_EQ(events.messages_viewing_piece, 59u);
  }
  {
    // With 4 KiB pieces most messages still lie inside one piece and are not copied.
    RecordingEvents events;
    McapStreamDecoder decoder(events);
    ASSERT_TRUE(feed_in_pieces(decoder, rec.bytes, 4096, &events).ok());
    EXPECT_GT(events.messages_viewing_piece, 30u);
    EXPECT_LT(events.messages_viewing_piece, 59u);
  }
}

TEST(McapStreamDecoder, IdenticalRedefinitionsAreSilentAndTheEndComesOnce) {
  const Bytes stream =
      concat({magic(), record(mcap::Header{"", "lib"}), definitions(), definitions(),
              message_record(1, 1, text("a")), record(kChannel), message_record(1, 2, text("b")),
              record(mcap::DataEnd{0}), record(kSchema), record(kChannel),
              record(mcap::Statistics{}), record(mcap::Footer{}), magic()});
  StreamOutcome out = decode_stream(stream, 1);
  ASSERT_TRUE(out.status.ok()) << out.status.error().to_string();
  ASSERT_EQ(out.log.size(), 6u);
  EXPECT_EQ(out.log[0], "header  lib");
  EXPECT_EQ(out.log[1].rfind("schema 1 ", 0), 0u);
  EXPECT_EQ(out.log[2].rfind("channel 1 /points", 0), 0u);
  EXPECT_EQ(out.log[5], "end");
}

TEST(McapStreamDecoder, UnknownAndIndexRecordsAreSkippedWithoutBeingBuffered) {
  DecoderLimits limits;
  limits.max_message_size = 100;
  // A private record and a Message Index far larger than a message may be, then a message.
  const Bytes big = payload(1, 5000);
  const Bytes stream =
      concat({definitions(), record(mcap::UnknownRecord{0x80, big}),
              record(mcap::MessageIndex{1, {{1, 2}, {3, 4}}}),
              record(mcap::UnknownRecord{0x33, big}), message_record(1, 5, text("after"))});
  for (size_t split : kSplits) {
    StreamOutcome out = decode_stream(stream, split, limits);
    ASSERT_TRUE(out.status.ok()) << out.status.error().to_string();
    ASSERT_EQ(out.log.size(), 3u);
    EXPECT_EQ(out.log[2], describe_message({1, 5, 1005, 2005, text("after")}));
  }
}

TEST(McapStreamDecoder, EndingBetweenRecordsIsCleanWithOrWithoutFooter) {
  for (const Bytes& stream :
       {Bytes{}, definitions(), concat({definitions(), record(mcap::DataEnd{0})}),
        concat({magic(), record(mcap::Header{}), record(mcap::DataEnd{0}), record(mcap::Footer{})}),
        concat({definitions(), record(mcap::Footer{}), magic()})}) {
    StreamOutcome out = decode_stream(stream, 1);
    EXPECT_TRUE(out.status.ok()) << out.status.error().to_string();
  }
}

// ---- bad input: each gives its reason, the offset of the offending record, and a message ----

TEST(McapStreamDecoder, OversizedMessageIsRefusedFromItsPrefixAlone) {
  DecoderLimits limits;
  limits.max_message_size = 1000;
  const Bytes ok_message = message_record(1, 1, payload(1, 1000));
  const Bytes big_message = message_record(1, 2, payload(2, 1001));
  const Bytes stream = concat({magic(), definitions(), ok_message, big_message});
  const uint64_t at = stream.size() - big_message.size();

  // Only the 9-byte prefix of the oversized record is fed: the error needs nothing more, so
  // nothing of it was buffered.
  RecordingEvents events;
  McapStreamDecoder decoder(events, limits);
  const Bytes head(stream.begin(), stream.begin() + static_cast<long>(at + 9));
  DecodeStatus st = feed_in_pieces(decoder, head, 1);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(reason_of(st.error()), "oversized");
  EXPECT_EQ(st.error().offset, at);
  EXPECT_EQ(decoder.offset(), at + 9);
  EXPECT_NE(st.error().message.find("Message record of 1023 content bytes exceeds the limit of "
                                    "1022"),
            std::string::npos)
      << st.error().message;
  // The message of exactly the limit got through.
  EXPECT_EQ(events.log.size(), 3u);
  // And the error sticks.
  EXPECT_EQ(decoder.feed(text("x")).error().offset, at);
  EXPECT_TRUE(decoder.failed());
}

TEST(McapStreamDecoder, OversizedKeptRecordsAndChunksAreRefused) {
  DecoderLimits limits;
  limits.max_message_size = 1000;
  limits.max_chunk_bytes = 20000;
  {
    const mcap::Schema huge{2, "big", "x", payload(1, 1000 + kRecordOverhead + 1)};
    const DecodeError e = stream_error(concat({definitions(), record(huge)}), limits);
    EXPECT_EQ(reason_of(e), "oversized");
    EXPECT_EQ(e.offset, definitions().size());
  }
  {
    // A chunk whose uncompressed size is over the limit, although its record is small.
    mcap::ChunkBuilder builder;
    builder.add_record(kSchema);
    builder.add_record(kChannel);
    for (uint32_t i = 0; i < 30; ++i) builder.add_message({1, i, i, i, payload(0, 900)});
    mcap::Compressor compressor;
    mcap::EncodedChunk encoded;
    ASSERT_TRUE(mcap::encode_chunk(builder, {}, compressor, encoded).ok());
    ASSERT_LT(encoded.chunk_record_size, 20000u);
    const DecodeError e = stream_error(encoded.bytes, limits);
    EXPECT_EQ(reason_of(e), "oversized");
    EXPECT_EQ(e.offset, 0u);
    EXPECT_NE(e.message.find("exceeds max_chunk_bytes 20000"), std::string::npos) << e.message;
  }
  {
    // Bytes that are not MCAP at all, after a good start: an absurd length, refused at once.
    const DecodeError e = stream_error(concat({definitions(), text("GET / HTTP/1.1\r\n\r\n")}));
    EXPECT_EQ(reason_of(e), "oversized");
    EXPECT_EQ(e.offset, definitions().size());
  }
}

TEST(McapStreamDecoder, TruncatedStreamsSayWhereTheRecordStarted) {
  const Bytes message = message_record(1, 1, payload(1, 50));
  const Bytes whole = concat({magic(), definitions(), message});
  const uint64_t at = whole.size() - message.size();
  for (size_t cut : {size_t{1}, size_t{5}, size_t{9}, size_t{40}}) {
    const Bytes stream(whole.begin(), whole.end() - static_cast<long>(cut));
    const DecodeError e = stream_error(stream);
    EXPECT_EQ(reason_of(e), "truncated") << e.to_string();
    EXPECT_EQ(e.offset, at) << e.to_string();
  }
  const DecodeError in_magic = stream_error(Bytes(mcap::kMagic, mcap::kMagic + 3));
  EXPECT_EQ(reason_of(in_magic), "truncated");
  EXPECT_EQ(in_magic.offset, 0u);
  const DecodeError in_trailing = stream_error(
      concat({definitions(), record(mcap::Footer{}), Bytes(mcap::kMagic, mcap::kMagic + 4)}));
  EXPECT_EQ(reason_of(in_trailing), "truncated");
  EXPECT_EQ(in_trailing.offset, definitions().size() + mcap::kFooterRecordSize);
}

TEST(McapStreamDecoder, DefinitionProblemsHaveTheirOwnReasons) {
  const uint64_t after = definitions().size();
  {
    const DecodeError e = stream_error(concat({definitions(), message_record(2, 1, text("x"))}));
    EXPECT_EQ(reason_of(e), "unknown_channel");
    EXPECT_EQ(e.offset, after);
    EXPECT_NE(e.message.find("channel id 2"), std::string::npos) << e.message;
  }
  {
    const DecodeError e =
        stream_error(concat({definitions(), record(mcap::Channel{2, 5, "/b", "json", {}})}));
    EXPECT_EQ(reason_of(e), "unknown_schema");
    EXPECT_EQ(e.offset, after);
  }
  {
    mcap::Channel changed = kChannel;
    changed.topic = "/other";
    const DecodeError e = stream_error(concat({definitions(), record(changed)}));
    EXPECT_EQ(reason_of(e), "conflicting_channel");
    EXPECT_EQ(e.offset, after);
    EXPECT_NE(e.message.find("topic \"/other\", was \"/points\""), std::string::npos) << e.message;
  }
  {
    mcap::Channel changed = kChannel;
    changed.metadata["qos"] = "best_effort";
    EXPECT_EQ(reason_of(stream_error(concat({definitions(), record(changed)}))),
              "conflicting_channel");
  }
  {
    mcap::Schema changed = kSchema;
    changed.data = text("{\"a\":1}");
    const DecodeError e = stream_error(concat({definitions(), record(changed)}));
    EXPECT_EQ(reason_of(e), "conflicting_schema");
    EXPECT_EQ(e.offset, after);
  }
  {
    DecoderLimits limits;
    limits.max_channels = 2;
    const Bytes two = concat({definitions(), record(mcap::Channel{2, 0, "/two", "json", {}})});
    const DecodeError e =
        stream_error(concat({two, record(mcap::Channel{3, 0, "/three", "json", {}})}), limits);
    EXPECT_EQ(reason_of(e), "too_many_channels");
    EXPECT_EQ(e.offset, two.size());
  }
  {
    DecoderLimits limits;
    limits.max_definition_bytes = 100;
    const mcap::Schema big{2, "big", "x", payload(1, 90)};
    const DecodeError e = stream_error(concat({definitions(), record(big)}), limits);
    EXPECT_EQ(reason_of(e), "oversized");
    EXPECT_NE(e.message.find("over the limit of 100"), std::string::npos) << e.message;
  }
}

TEST(McapStreamDecoder, BadMagicAndGarbage) {
  {
    Bytes wrong = magic();
    wrong[5] = '1';
    const DecodeError e = stream_error(concat({wrong, definitions()}));
    EXPECT_EQ(reason_of(e), "bad_magic");
    EXPECT_EQ(e.offset, 0u);
    EXPECT_NE(e.message.find("major version"), std::string::npos) << e.message;
  }
  {
    const DecodeError e = stream_error(text("hello"));
    EXPECT_EQ(reason_of(e), "garbage");
    EXPECT_EQ(e.offset, 0u);
  }
  {
    const DecodeError e = stream_error(concat({definitions(), Bytes(12, 0)}));
    EXPECT_EQ(reason_of(e), "garbage");
    EXPECT_EQ(e.offset, definitions().size());
  }
  {
    const Bytes stream = concat({magic(), record(mcap::Header{}), definitions()});
    const DecodeError e = stream_error(concat({stream, record(mcap::Header{})}));
    EXPECT_EQ(reason_of(e), "garbage");
    EXPECT_EQ(e.offset, stream.size());
  }
  {
    const Bytes stream = concat({definitions(), record(mcap::DataEnd{0})});
    const DecodeError e = stream_error(concat({stream, message_record(1, 1, text("late"))}));
    EXPECT_EQ(reason_of(e), "garbage");
    EXPECT_EQ(e.offset, stream.size());
    EXPECT_NE(e.message.find("after Data End"), std::string::npos);
  }
  {
    const Bytes stream = concat({definitions(), record(mcap::Footer{}), magic()});
    const DecodeError e = stream_error(concat({stream, text("more")}));
    EXPECT_EQ(reason_of(e), "garbage");
    EXPECT_EQ(e.offset, stream.size());
  }
  {
    const Bytes stream = concat({definitions(), record(mcap::Footer{})});
    const DecodeError e = stream_error(concat({stream, text("notmagic")}));
    EXPECT_EQ(reason_of(e), "bad_magic");
    EXPECT_EQ(e.offset, stream.size());
  }
}

TEST(McapStreamDecoder, MalformedRecords) {
  {
    // A Message too short for its fixed fields, refused from the prefix.
    Bytes short_message = {0x05, 10, 0, 0, 0, 0, 0, 0, 0};
    short_message.resize(short_message.size() + 10);
    const DecodeError e = stream_error(concat({definitions(), short_message}));
    EXPECT_EQ(reason_of(e), "malformed");
    EXPECT_EQ(e.offset, definitions().size());
  }
  {
    // A Channel whose topic length runs past its record.
    Bytes channel = record(kChannel);
    mcap::store_le<uint32_t>(channel.data() + 9 + 4, 1000);
    const DecodeError e = stream_error(concat({record(kSchema), channel}));
    EXPECT_EQ(reason_of(e), "malformed");
    EXPECT_EQ(e.offset, record(kSchema).size());
  }
  {
    // An attachment whose CRC does not match its bytes.
    const Bytes data = payload(1, 100);
    mcap::Attachment a{1, 2, "a.bin", "application/octet-stream", data, 0};
    a.crc = 0x12345678;
    const DecodeError e = stream_error(concat({definitions(), record(a)}));
    EXPECT_EQ(reason_of(e), "malformed");
    EXPECT_NE(e.message.find("CRC mismatch"), std::string::npos) << e.message;
  }
}

Bytes encoded_chunk(mcap::Compression codec, const std::vector<mcap::Record>& extra = {}) {
  mcap::ChunkBuilder builder;
  builder.add_record(kSchema);
  builder.add_record(kChannel);
  for (uint32_t i = 0; i < 50; ++i) builder.add_message({1, i, i, i, payload(i, 200)});
  for (const mcap::Record& r : extra) builder.add_record(r);
  mcap::Compressor compressor;
  mcap::EncodedChunk encoded;
  mcap::ChunkEncodeOptions options;
  options.compression = codec;
  options.message_indexes = false;
  EXPECT_TRUE(mcap::encode_chunk(builder, options, compressor, encoded).ok());
  return encoded.bytes;
}

TEST(McapStreamDecoder, BadChunks) {
  const Bytes head = concat({magic(), record(mcap::Header{})});
  for (mcap::Compression codec :
       {mcap::Compression::kNone, mcap::Compression::kLz4, mcap::Compression::kZstd}) {
    // One flipped byte in the middle of the records: the codec or the CRC notices.
    Bytes chunk = encoded_chunk(codec);
    chunk[chunk.size() / 2] ^= 0x40;
    const DecodeError e = stream_error(concat({head, chunk}));
    EXPECT_EQ(reason_of(e), "bad_chunk") << e.to_string();
    EXPECT_EQ(e.offset, head.size());
  }
  {
    Bytes chunk = encoded_chunk(mcap::Compression::kZstd);
    // The compression string starts after 8+8+8+4 content bytes and its 4-byte length.
    std::copy_n("zzzz", 4, chunk.begin() + 9 + 28 + 4);
    const DecodeError e = stream_error(concat({head, chunk}));
    EXPECT_EQ(reason_of(e), "bad_chunk");
    EXPECT_NE(e.message.find("unsupported compression \"zzzz\""), std::string::npos) << e.message;
  }
  {
    // A record that may not be nested in a chunk.
    const Bytes chunk = encoded_chunk(mcap::Compression::kLz4, {mcap::Metadata{"m", {}}});
    const DecodeError e = stream_error(concat({head, chunk}));
    EXPECT_EQ(reason_of(e), "bad_chunk");
    EXPECT_NE(e.message.find("Metadata record is not allowed inside a chunk"), std::string::npos)
        << e.message;
  }
  {
    // Problems of the records inside keep their own reason, placed at the chunk.
    const Bytes chunk =
        encoded_chunk(mcap::Compression::kZstd, {mcap::Message{4, 0, 0, 0, text("x")}});
    const DecodeError e = stream_error(concat({head, chunk}));
    EXPECT_EQ(reason_of(e), "unknown_channel");
    EXPECT_EQ(e.offset, head.size());
    EXPECT_NE(e.message.find("in the Chunk, record at chunk offset"), std::string::npos);
  }
  {
    // Messages inside a chunk obey max_message_size too.
    DecoderLimits limits;
    limits.max_message_size = 150;
    const DecodeError e =
        stream_error(concat({head, encoded_chunk(mcap::Compression::kLz4)}), limits);
    EXPECT_EQ(reason_of(e), "oversized");
    EXPECT_EQ(e.offset, head.size());
  }
}

TEST(ChannelDefinition, IdenticalChannelsOfDifferentSendersAreEqualWhateverTheirIds) {
  const Bytes a = definitions();
  const Bytes b = concat({record(mcap::Schema{40, kSchema.name, kSchema.encoding, kSchema.data}),
                          record(mcap::Channel{77, 40, "/points", "json", kChannel.metadata}),
                          record(mcap::Channel{78, 40, "/points", "json", {}})});
  RecordingEvents ea, eb;
  McapStreamDecoder da(ea), db(eb);
  ASSERT_TRUE(da.feed(a).ok());
  ASSERT_TRUE(db.feed(b).ok());
  ASSERT_EQ(ea.definitions.size(), 1u);
  ASSERT_EQ(eb.definitions.size(), 2u);
  EXPECT_EQ(ea.definitions[0], eb.definitions[0]);
  EXPECT_FALSE(ea.definitions[0] == eb.definitions[1]);  // metadata differs
  // What the listener declares to the pipeline, which merges equal declarations.
  const pipeline::ChannelSpec spec = to_channel_spec(eb.definitions[0]);
  EXPECT_EQ(spec.topic, "/points");
  EXPECT_EQ(spec.message_encoding, "json");
  EXPECT_EQ(spec.metadata, kChannel.metadata);
  ASSERT_TRUE(spec.schema.has_value());
  EXPECT_EQ(spec.schema->name, kSchema.name);
  EXPECT_EQ(spec.schema->data, kSchema.data);
  EXPECT_FALSE(to_channel_spec(eb.definitions[1]).schema->data.empty());
}

// =============================== MCAP over UDP ===============================

TEST(McapDatagramDecoder, DecodesWholeRecordsWithIdsScopedToTheSender) {
  McapDatagramDecoder decoder;
  SenderChannels sender_a, sender_b;
  RecordingEvents events;
  const Bytes first = concat({definitions(), message_record(1, 1, text("one"))});
  ASSERT_TRUE(decoder.decode(first, sender_a, events).ok());
  EXPECT_EQ(events.log.size(), 3u);
  // Repeated definitions (a sender may put them in every datagram) are silent.
  ASSERT_TRUE(decoder.decode(first, sender_a, events).ok());
  EXPECT_EQ(events.log.size(), 4u);
  // The other sender has not defined channel 1.
  const DecodeStatus st = decoder.decode(message_record(1, 2, text("x")), sender_b, events);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(reason_of(st.error()), "unknown_channel");
  EXPECT_EQ(events.log.size(), 4u);
  // A datagram cut from a file, with its magic, is accepted.
  ASSERT_TRUE(
      decoder.decode(concat({magic(), message_record(1, 3, text("m"))}), sender_a, events).ok());
  EXPECT_EQ(events.log.back(), describe_message({1, 3, 1003, 2003, text("m")}));
}

TEST(McapDatagramDecoder, OneBadRecordRejectsTheWholeDatagram) {
  McapDatagramDecoder decoder;
  SenderChannels registry;
  RecordingEvents events;
  const Bytes good =
      concat({definitions(), message_record(1, 1, text("one")),
              record(mcap::Channel{2, 0, "/two", "", {}}), message_record(2, 2, text("two"))});
  struct Case {
    Bytes tail;
    const char* reason;
  };
  const Bytes full_message = message_record(1, 3, text("three"));
  const std::vector<Case> cases = {
      {Bytes(full_message.begin(), full_message.end() - 1), "truncated"},
      {Bytes(5, 0x05), "truncated"},
      {Bytes(9, 0), "garbage"},
      {message_record(9, 3, text("x")), "unknown_channel"},
      {record(mcap::Channel{1, 1, "/changed", "json", {}}), "conflicting_channel"},
      {record(mcap::Metadata{"m", {}}), "unsupported"},
      {encoded_chunk(mcap::Compression::kNone), "unsupported"},
  };
  for (const Case& c : cases) {
    const DecodeStatus st = decoder.decode(concat({good, c.tail}), registry, events);
    ASSERT_FALSE(st.ok()) << c.reason;
    EXPECT_EQ(reason_of(st.error()), c.reason) << st.error().to_string();
    EXPECT_EQ(st.error().offset, good.size()) << st.error().to_string();
    EXPECT_TRUE(events.log.empty()) << c.reason;
    // Nothing of the rejected datagram stayed defined.
    EXPECT_EQ(registry.channel_count(), 0u);
    EXPECT_EQ(registry.schema_count(), 0u);
  }
  ASSERT_TRUE(decoder.decode(good, registry, events).ok());
  EXPECT_EQ(events.log.size(), 5u);
  EXPECT_EQ(registry.channel_count(), 2u);
  // Stray traffic is garbage from its first byte.
  const DecodeStatus st = decoder.decode(text("hello world"), registry, events);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(reason_of(st.error()), "garbage");
}

TEST(McapDatagramDecoder, LimitsApplyPerDatagram) {
  DecoderLimits limits;
  limits.max_message_size = 100;
  limits.max_channels = 1;
  McapDatagramDecoder decoder(limits);
  SenderChannels registry(limits);
  RecordingEvents events;
  DecodeStatus st = decoder.decode(concat({definitions(), message_record(1, 1, payload(1, 101))}),
                                   registry, events);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(reason_of(st.error()), "oversized");
  st = decoder.decode(concat({definitions(), record(mcap::Channel{2, 0, "/b", "", {}})}), registry,
                      events);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(reason_of(st.error()), "too_many_channels");
  EXPECT_TRUE(events.log.empty());
}

// =============================== length-prefixed TCP ===============================

class RecordingFrames : public FrameEvents {
 public:
  void on_frame(ByteView payload) override { frames.emplace_back(payload.begin(), payload.end()); }
  std::vector<Bytes> frames;
};

Bytes frame(const Bytes& payload) {
  Bytes out;
  mcap::put_le<uint32_t>(out, static_cast<uint32_t>(payload.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

TEST(LengthPrefixedDecoder, FramesArriveWithEverySplit) {
  std::vector<Bytes> payloads = {text("first"), Bytes{}, payload(1, 5000), text("x"),
                                 payload(2, 4096)};
  Bytes stream;
  for (const Bytes& p : payloads) {
    const Bytes f = frame(p);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  for (size_t split : kSplits) {
    RecordingFrames events;
    LengthPrefixedDecoder decoder(events, 5000);
    ASSERT_TRUE(feed_in_pieces(decoder, stream, split).ok()) << split;
    EXPECT_EQ(events.frames, payloads) << split;
  }
}

TEST(LengthPrefixedDecoder, OversizedFrameIsRefusedFromItsLengthAlone) {
  RecordingFrames events;
  LengthPrefixedDecoder decoder(events, 100);
  const Bytes stream = concat({frame(payload(1, 100)), frame(payload(2, 101))});
  // Only the length of the second frame is fed.
  const DecodeStatus st = decoder.feed(ByteView(stream).first(104 + 4));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(reason_of(st.error()), "oversized");
  EXPECT_EQ(st.error().offset, 104u);
  EXPECT_EQ(st.error().message, "frame of 101 bytes exceeds max_message_size 100");
  EXPECT_EQ(events.frames.size(), 1u);
  EXPECT_FALSE(decoder.feed(text("more")).ok());
}

TEST(LengthPrefixedDecoder, TruncatedFrames) {
  const Bytes stream = concat({frame(text("ok")), frame(text("cut off"))});
  for (size_t cut : {size_t{1}, size_t{7}, size_t{9}}) {
    RecordingFrames events;
    LengthPrefixedDecoder decoder(events, 100);
    const DecodeStatus st = feed_in_pieces(decoder, Bytes(stream.begin(), stream.end() - cut), 1);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(reason_of(st.error()), "truncated");
    EXPECT_EQ(st.error().offset, 6u);
    EXPECT_EQ(events.frames.size(), 1u);
  }
}

TEST(DecodeReason, NamesAreStableMetricLabels) {
  std::vector<std::string> names;
  for (size_t i = 0; i < kDecodeReasonCount; ++i) {
    names.emplace_back(decode_reason_name(static_cast<DecodeReason>(i)));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"truncated", "oversized", "unknown_channel",
                                             "unknown_schema", "conflicting_channel",
                                             "conflicting_schema", "too_many_channels", "bad_magic",
                                             "bad_chunk", "malformed", "unsupported", "garbage"}));
}

}  // namespace
}  // namespace mcaprec::ingest
