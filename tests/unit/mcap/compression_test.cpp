// Chunk codecs: what a reader of our chunks gets back, and how bad input is refused.
#include "mcap/compression.hpp"

#include <gtest/gtest.h>
#include <lz4frame.h>
#include <zstd.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

namespace mcaprec::mcap {
namespace {

Bytes text_bytes(size_t n, uint32_t seed) {
  // Repetitive but not constant, like serialized messages.
  Bytes out(n);
  std::mt19937 rng(seed);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>('a' + (i % 7) + (rng() % 3 == 0));
  return out;
}

Bytes random_bytes(size_t n, uint32_t seed) {
  Bytes out(n);
  std::mt19937 rng(seed);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

Bytes concat(const std::vector<Bytes>& parts) {
  Bytes all;
  for (const Bytes& p : parts) all.insert(all.end(), p.begin(), p.end());
  return all;
}

Bytes compress_or_die(Compressor& c, Compression codec, const std::vector<Bytes>& parts) {
  std::vector<ByteView> views(parts.begin(), parts.end());
  Bytes out;
  Result<uint64_t> n = c.compress(codec, 3, views, out);
  EXPECT_TRUE(n.ok()) << (n.ok() ? "" : n.error().to_string());
  if (n.ok()) {
    EXPECT_EQ(*n, out.size());
  }
  return out;
}

class CodecTest : public ::testing::TestWithParam<Compression> {};

TEST_P(CodecTest, RoundTripsSingleAndMultiPieceInput) {
  Compressor compressor;
  Decompressor decompressor;
  const std::vector<std::vector<Bytes>> cases = {
      {text_bytes(100000, 1)},
      {text_bytes(1000, 2), Bytes{}, text_bytes(70000, 3), random_bytes(5000, 4)},
      {Bytes{}},
      {},
      {text_bytes(3 << 20, 5), text_bytes(17, 6)},  // spans several lz4 blocks
  };
  for (const auto& parts : cases) {
    const Bytes expected = concat(parts);
    const Bytes compressed = compress_or_die(compressor, GetParam(), parts);
    Bytes decoded = {1, 2, 3};  // replaced, not appended to
    Status s =
        decompressor.decompress(compression_name(GetParam()), compressed, expected.size(), decoded);
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    EXPECT_EQ(decoded, expected) << "parts: " << parts.size();
  }
}

TEST_P(CodecTest, AppendsAfterExistingBytes) {
  Compressor compressor;
  Decompressor decompressor;
  const Bytes input = text_bytes(5000, 7);
  const ByteView view = input;
  Bytes out = {9, 9, 9};
  Result<uint64_t> n = compressor.compress(GetParam(), 1, std::span(&view, 1), out);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(out.size(), 3 + *n);
  EXPECT_EQ(out[0], 9);
  Bytes decoded;
  ASSERT_TRUE(
      decompressor
          .decompress(compression_name(GetParam()), ByteView(out).subspan(3), input.size(), decoded)
          .ok());
  EXPECT_EQ(decoded, input);
}

TEST_P(CodecTest, ContextsAreReusedAcrossManyChunks) {
  Compressor compressor;
  Decompressor decompressor;
  for (uint32_t i = 0; i < 20; ++i) {
    const std::vector<Bytes> parts = {text_bytes(1000 + i * 997, i), text_bytes(i * 13, i + 1)};
    const Bytes compressed = compress_or_die(compressor, GetParam(), parts);
    Bytes decoded;
    ASSERT_TRUE(
        decompressor
            .decompress(compression_name(GetParam()), compressed, concat(parts).size(), decoded)
            .ok());
    EXPECT_EQ(decoded, concat(parts));
  }
}

TEST_P(CodecTest, WrongUncompressedSizeIsAnError) {
  Compressor compressor;
  Decompressor decompressor;
  const Bytes input = text_bytes(10000, 8);
  const Bytes compressed = compress_or_die(compressor, GetParam(), {input});
  Bytes decoded;
  Status too_small =
      decompressor.decompress(compression_name(GetParam()), compressed, input.size() - 1, decoded);
  ASSERT_FALSE(too_small.ok());
  EXPECT_NE(too_small.error().message.find("uncompressed_size"), std::string::npos)
      << too_small.error().message;
  Status too_large =
      decompressor.decompress(compression_name(GetParam()), compressed, input.size() + 1, decoded);
  ASSERT_FALSE(too_large.ok());
  EXPECT_NE(too_large.error().message.find("uncompressed_size"), std::string::npos)
      << too_large.error().message;
  // The decompressor stays usable after errors.
  ASSERT_TRUE(
      decompressor.decompress(compression_name(GetParam()), compressed, input.size(), decoded)
          .ok());
  EXPECT_EQ(decoded, input);
}

TEST_P(CodecTest, CorruptOrTruncatedInputIsAnErrorNotACrash) {
  Compressor compressor;
  Decompressor decompressor;
  const Bytes input = text_bytes(50000, 9);
  const Bytes compressed = compress_or_die(compressor, GetParam(), {input});
  const std::string name(compression_name(GetParam()));
  Bytes decoded;
  // Every truncation.
  for (size_t n = 0; n < compressed.size(); n += 1 + n / 8) {
    Status s = decompressor.decompress(name, ByteView(compressed).first(n), input.size(), decoded);
    EXPECT_FALSE(s.ok()) << "truncated to " << n;
  }
  // Flipped bytes anywhere may decode to garbage of the right size (there is no checksum in the
  // frame); what matters is that nothing crashes and the size rule still holds.
  std::mt19937 rng(10);
  for (int i = 0; i < 200; ++i) {
    Bytes broken = compressed;
    broken[rng() % broken.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    Status s = decompressor.decompress(name, broken, input.size(), decoded);
    if (s.ok()) {
      EXPECT_EQ(decoded.size(), input.size());
    }
  }
  // Not a frame at all.
  const Bytes garbage = random_bytes(1000, 11);
  EXPECT_FALSE(decompressor.decompress(name, garbage, input.size(), decoded).ok());
}

// compress_at_most gives the very frame compress() appends, or nothing when that frame is longer
// than allowed. (Fresh contexts on both sides: lz4's output may depend on what a reused context
// compressed before.) A long-lived compressor's own buffer grows and shrinks across calls.
TEST_P(CodecTest, CompressAtMostKeepsOnlyFramesWithinTheLimit) {
  Compressor long_lived;
  Decompressor decompressor;
  const std::vector<std::vector<Bytes>> cases = {
      {text_bytes(100000, 1)},
      {text_bytes(1000, 2), Bytes{}, text_bytes(70000, 3), random_bytes(5000, 4)},
      {random_bytes(200000, 5)},
      {text_bytes(10, 6)},
      {text_bytes(3 << 20, 7), text_bytes(17, 8)},
      {text_bytes(300, 9)},
  };
  for (const auto& parts : cases) {
    const Bytes expected = concat(parts);
    const std::vector<ByteView> views(parts.begin(), parts.end());
    Compressor reference;
    const Bytes frame = compress_or_die(reference, GetParam(), parts);
    {
      Compressor fresh;
      Result<std::optional<ByteView>> kept =
          fresh.compress_at_most(GetParam(), 3, views, frame.size());
      ASSERT_TRUE(kept.ok()) << kept.error().to_string();
      ASSERT_TRUE(kept->has_value());
      EXPECT_EQ(Bytes((*kept)->begin(), (*kept)->end()), frame);
    }
    {
      Compressor fresh;
      Result<std::optional<ByteView>> too_long =
          fresh.compress_at_most(GetParam(), 3, views, frame.size() - 1);
      ASSERT_TRUE(too_long.ok());
      EXPECT_FALSE(too_long->has_value());
    }
    Result<std::optional<ByteView>> kept =
        long_lived.compress_at_most(GetParam(), 3, views, expected.size() + 1000);
    ASSERT_TRUE(kept.ok()) << kept.error().to_string();
    ASSERT_TRUE(kept->has_value());
    Bytes decoded;
    ASSERT_TRUE(
        decompressor.decompress(compression_name(GetParam()), **kept, expected.size(), decoded)
            .ok());
    EXPECT_EQ(decoded, expected);
  }
  Result<std::optional<ByteView>> no_codec =
      long_lived.compress_at_most(Compression::kNone, 1, {}, 100);
  EXPECT_FALSE(no_codec.ok());
}

// Groups of inputs (one per channel in the pipeline): the frame still decodes to all of them,
// the group sizes add up to it, and a group of noise costs about its own size while a group
// of text costs little.
TEST_P(CodecTest, GroupsSplitTheFrameExactly) {
  Compressor compressor;
  Decompressor decompressor;
  const std::vector<Bytes> parts = {text_bytes(30000, 1), random_bytes(40000, 2),
                                    random_bytes(30000, 3), text_bytes(50000, 4), Bytes{}};
  const std::vector<ByteView> views(parts.begin(), parts.end());
  const std::vector<uint32_t> ends = {1, 3, 5};
  std::vector<uint64_t> sizes(ends.size());
  Result<std::optional<ByteView>> frame =
      compressor.compress_at_most(GetParam(), 1, views, 1 << 20, ends, sizes);
  ASSERT_TRUE(frame.ok()) << frame.error().to_string();
  ASSERT_TRUE(frame->has_value());
  EXPECT_EQ(sizes[0] + sizes[1] + sizes[2], (*frame)->size());
  EXPECT_LT(sizes[0], 30000u / 2);
  EXPECT_GT(sizes[1], 70000u * 99 / 100);
  EXPECT_LT(sizes[2], 50000u / 2);
  Bytes decoded;
  const Bytes expected = concat(parts);
  ASSERT_TRUE(
      decompressor.decompress(compression_name(GetParam()), **frame, expected.size(), decoded)
          .ok());
  EXPECT_EQ(decoded, expected);

  // One group: no flush, the same frame as without groups.
  const std::vector<uint32_t> one = {5};
  std::vector<uint64_t> whole(1);
  Compressor plain;
  const Bytes reference = compress_or_die(plain, GetParam(), parts);
  Compressor fresh;  // a reused lz4 context may frame a byte differently
  Result<std::optional<ByteView>> single =
      fresh.compress_at_most(GetParam(), 3, views, 1 << 20, one, whole);
  ASSERT_TRUE(single.ok() && single->has_value());
  EXPECT_EQ(Bytes((*single)->begin(), (*single)->end()), reference);
  EXPECT_EQ(whole[0], reference.size());

  // Groups that do not end with the inputs are refused.
  const std::vector<uint32_t> short_ends = {2};
  EXPECT_FALSE(compressor.compress_at_most(GetParam(), 1, views, 1 << 20, short_ends, whole).ok());
}

INSTANTIATE_TEST_SUITE_P(Codecs, CodecTest,
                         ::testing::Values(Compression::kZstd, Compression::kLz4),
                         [](const auto& param_info) {
                           return std::string(compression_name(param_info.param));
                         });

TEST(Lz4Test, OutputIsAStandardFrameWithContentSize) {
  Compressor compressor;
  const std::vector<Bytes> parts = {text_bytes(200000, 12), text_bytes(300000, 13)};
  const Bytes compressed = compress_or_die(compressor, Compression::kLz4, parts);
  const Bytes expected = concat(parts);

  LZ4F_dctx* dctx = nullptr;
  ASSERT_FALSE(LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)));
  LZ4F_frameInfo_t info{};
  size_t consumed = compressed.size();
  ASSERT_FALSE(LZ4F_isError(LZ4F_getFrameInfo(dctx, &info, compressed.data(), &consumed)));
  EXPECT_EQ(info.contentSize, expected.size());
  EXPECT_EQ(info.blockChecksumFlag, LZ4F_noBlockChecksum);

  Bytes decoded(expected.size());
  size_t out_size = decoded.size();
  size_t in_size = compressed.size() - consumed;
  const size_t rc = LZ4F_decompress(dctx, decoded.data(), &out_size, compressed.data() + consumed,
                                    &in_size, nullptr);
  LZ4F_freeDecompressionContext(dctx);
  EXPECT_EQ(rc, 0u) << "frame should end exactly at the end of the data";
  EXPECT_EQ(in_size, compressed.size() - consumed);
  EXPECT_EQ(out_size, expected.size());
  EXPECT_EQ(decoded, expected);
}

TEST(ZstdTest, MultiPieceFrameDeclaresItsContentSize) {
  Compressor compressor;
  const std::vector<Bytes> parts = {text_bytes(1000, 14), text_bytes(2000, 15)};
  const Bytes compressed = compress_or_die(compressor, Compression::kZstd, parts);
  EXPECT_EQ(ZSTD_getFrameContentSize(compressed.data(), compressed.size()), 3000u);
  EXPECT_EQ(ZSTD_findFrameCompressedSize(compressed.data(), compressed.size()), compressed.size());
}

TEST(DecompressorTest, HostileUncompressedSizeIsRefusedBeforeAllocating) {
  Decompressor decompressor;
  const Bytes small = {1, 2, 3, 4};
  for (const char* name : {"", "zstd", "lz4"}) {
    Bytes out;
    Status s = decompressor.decompress(name, small, uint64_t{1} << 62, out);
    ASSERT_FALSE(s.ok()) << name;
    EXPECT_NE(s.error().message.find("exceeds the limit"), std::string::npos) << s.error().message;
    EXPECT_EQ(out.capacity(), 0u) << "no buffer may be allocated for " << name;
  }
  // The limit is the caller's choice.
  Bytes out;
  EXPECT_FALSE(decompressor.decompress("", small, 4, out, 3).ok());
  EXPECT_TRUE(decompressor.decompress("", small, 4, out, 4).ok());
  EXPECT_EQ(out, small);
}

TEST(DecompressorTest, StoredChunkSizeMustMatch) {
  Decompressor decompressor;
  const Bytes data = {1, 2, 3};
  Bytes out;
  Status s = decompressor.decompress("", data, 4, out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("3 bytes"), std::string::npos) << s.error().message;
}

TEST(DecompressorTest, UnknownCompressionIsNamedInTheError) {
  Decompressor decompressor;
  const Bytes data = {1, 2, 3};
  Bytes out;
  Status s = decompressor.decompress("brotli", data, 3, out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("\"brotli\""), std::string::npos) << s.error().message;
}

TEST(CompressionNameTest, NamesAndParsing) {
  EXPECT_EQ(compression_name(Compression::kNone), "");
  EXPECT_EQ(compression_name(Compression::kLz4), "lz4");
  EXPECT_EQ(compression_name(Compression::kZstd), "zstd");
  EXPECT_EQ(parse_compression(""), Compression::kNone);
  EXPECT_EQ(parse_compression("none"), Compression::kNone);
  EXPECT_EQ(parse_compression("lz4"), Compression::kLz4);
  EXPECT_EQ(parse_compression("zstd"), Compression::kZstd);
  EXPECT_EQ(parse_compression("gzip"), std::nullopt);
  EXPECT_EQ(parse_compression("ZSTD"), std::nullopt);
}

TEST(CompressorTest, NoneIsNotACodec) {
  Compressor compressor;
  Bytes out;
  Result<uint64_t> n = compressor.compress(Compression::kNone, 1, {}, out);
  EXPECT_FALSE(n.ok());
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace mcaprec::mcap
