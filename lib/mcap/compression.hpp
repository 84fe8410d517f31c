#pragma once
// Chunk compression codecs: "" (none), "lz4" (LZ4 frame format) and "zstd". Contexts are kept
// per object so that a compressor thread reuses them chunk after chunk.
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "mcap/error.hpp"
#include "mcap/records.hpp"

namespace mcaprec::mcap {

enum class Compression { kNone, kLz4, kZstd };

// The string stored in Chunk.compression: "", "lz4" or "zstd".
std::string_view compression_name(Compression c);
// Accepts "none" or "" for no compression, "lz4", "zstd".
std::optional<Compression> parse_compression(std::string_view name);

// Upper bound on a chunk's uncompressed size that readers accept before allocating, so that a
// hostile uncompressed_size cannot exhaust memory.
inline constexpr uint64_t kDefaultMaxChunkBytes = uint64_t{4} << 30;

class Compressor {
 public:
  Compressor();
  ~Compressor();
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  // Appends to `out` the concatenation of `inputs` compressed by `codec` as one frame, at
  // `level` (zstd; lz4 uses its fast default). Returns the number of bytes appended. Codec kNone
  // is not accepted here. Fails only on codec errors.
  Result<uint64_t> compress(Compression codec, int level, std::span<const ByteView> inputs,
                            Bytes& out);

  // Compresses like compress(), but into a buffer the compressor keeps (never zero-filled, so a
  // chunk that does not compress costs no clearing of an output it will not use). Returns the
  // frame, valid until the next call, or std::nullopt when it is longer than `max_size` bytes.
  // With `group_ends` (ascending exclusive ends of groups of inputs, the last one
  // inputs.size()), the codec is flushed after each group and `group_sizes` (as many) gets the
  // frame bytes each group produced: the first includes the frame's header, the last its end.
  // The history is kept across a flush, so it costs a few bytes of framing per group.
  Result<std::optional<ByteView>> compress_at_most(Compression codec, int level,
                                                   std::span<const ByteView> inputs,
                                                   uint64_t max_size,
                                                   std::span<const uint32_t> group_ends = {},
                                                   std::span<uint64_t> group_sizes = {});

 private:
  struct Contexts;
  std::unique_ptr<Contexts> ctx_;
};

class Decompressor {
 public:
  Decompressor();
  ~Decompressor();
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;

  // Replaces `out` with the decompressed `in`. `compression` is the chunk's string; the result
  // must be exactly `uncompressed_size` bytes, which must not exceed `max_size`.
  Status decompress(std::string_view compression, ByteView in, uint64_t uncompressed_size,
                    Bytes& out, uint64_t max_size = kDefaultMaxChunkBytes);

 private:
  struct Contexts;
  std::unique_ptr<Contexts> ctx_;
};

}  // namespace mcaprec::mcap
