#include "mcap/compression.hpp"

#include <lz4frame.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

namespace mcaprec::mcap {

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "";
    case Compression::kLz4:
      return "lz4";
    case Compression::kZstd:
      return "zstd";
  }
  return "";
}

std::optional<Compression> parse_compression(std::string_view name) {
  if (name.empty() || name == "none") return Compression::kNone;
  if (name == "lz4") return Compression::kLz4;
  if (name == "zstd") return Compression::kZstd;
  return std::nullopt;
}

namespace {

Error codec_error(std::string what) {
  return Error{0, std::move(what)};
}

// Chunk frames use the library's default block layout but with the frame's content size
// recorded, which lets readers size their output before decoding.
LZ4F_preferences_t lz4_preferences(uint64_t content_size) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max1MB;
  prefs.frameInfo.blockMode = LZ4F_blockLinked;
  prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
  prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
  prefs.frameInfo.frameType = LZ4F_frame;
  prefs.frameInfo.contentSize = content_size;
  prefs.compressionLevel = 0;  // lz4's fast default
  return prefs;
}

}  // namespace

// ---- Compressor ----

namespace {

// A growable byte buffer like Bytes whose new bytes are left uninitialized: codecs size their
// output for the worst case up front, and zero-filling that much per chunk is a measurable
// share of encoding an incompressible chunk.
class UninitializedBuffer {
 public:
  uint8_t* data() { return data_.get(); }
  size_t size() const { return size_; }
  void resize(size_t n) {
    if (n > capacity_) {
      // Geometric growth: chunk sizes vary a little, and each should not cost a reallocation.
      const size_t capacity = std::max(n, capacity_ + capacity_ / 2);
      std::unique_ptr<uint8_t[]> grown(new uint8_t[capacity]);
      if (size_ > 0) std::memcpy(grown.get(), data_.get(), size_);
      data_ = std::move(grown);
      capacity_ = capacity;
    }
    size_ = n;
  }

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace

struct Compressor::Contexts {
  ZSTD_CCtx* zstd = nullptr;
  LZ4F_cctx* lz4 = nullptr;
  UninitializedBuffer scratch;  // compress_at_most's output
  ~Contexts() {
    ZSTD_freeCCtx(zstd);
    if (lz4 != nullptr) LZ4F_freeCompressionContext(lz4);
  }
};

Compressor::Compressor() : ctx_(std::make_unique<Contexts>()) {}
Compressor::~Compressor() = default;

namespace {

// `Buffer` is Bytes or UninitializedBuffer: data(), size(), resize().
// Where a compression splits its output by groups of inputs (see compress_at_most).
struct Groups {
  std::span<const uint32_t> ends;
  std::span<uint64_t> sizes;

  bool split() const { return ends.size() > 1; }
  // Whether input `i` ends a group; records the group's size when it does.
  bool ends_after(size_t i, size_t& next) const {
    return next < ends.size() && i + 1 == ends[next];
  }
  void record(size_t& next, uint64_t& group_start, uint64_t written) const {
    sizes[next++] = written - group_start;
    group_start = written;
  }
};

template <typename Buffer>
Result<uint64_t> compress_zstd(ZSTD_CCtx*& cctx, int level, std::span<const ByteView> inputs,
                               Buffer& out, const Groups& groups = {}) {
  if (cctx == nullptr) cctx = ZSTD_createCCtx();
  if (cctx == nullptr) return codec_error("zstd: cannot allocate a compression context");
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  size_t rc = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  if (ZSTD_isError(rc)) return codec_error(std::string("zstd: ") + ZSTD_getErrorName(rc));

  uint64_t total = 0;
  for (const ByteView& in : inputs) total += in.size();
  const size_t start = out.size();
  out.resize(start + ZSTD_compressBound(total));

  if (inputs.size() == 1 && !groups.split()) {
    rc = ZSTD_compress2(cctx, out.data() + start, out.size() - start, inputs[0].data(),
                        inputs[0].size());
    if (ZSTD_isError(rc)) {
      out.resize(start);
      return codec_error(std::string("zstd: ") + ZSTD_getErrorName(rc));
    }
    out.resize(start + rc);
    if (!groups.ends.empty()) groups.sizes[0] = rc;
    return uint64_t{rc};
  }

  // Several pieces: one streamed frame, with the total size announced so the frame header
  // records it like a single-shot frame would.
  rc = ZSTD_CCtx_setPledgedSrcSize(cctx, total);
  if (ZSTD_isError(rc)) return codec_error(std::string("zstd: ") + ZSTD_getErrorName(rc));
  ZSTD_outBuffer output{out.data() + start, out.size() - start, 0};
  auto fail = [&](size_t code) -> Result<uint64_t> {
    out.resize(start);
    return codec_error(std::string("zstd: ") + ZSTD_getErrorName(code));
  };
  auto grow = [&]() {
    const size_t used = output.pos;
    out.resize(out.size() + ZSTD_CStreamOutSize());
    output = ZSTD_outBuffer{out.data() + start, out.size() - start, used};
  };
  size_t group = 0;
  uint64_t group_start = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const bool last = i + 1 == inputs.size();
    const bool ends_group = groups.ends_after(i, group);
    ZSTD_inBuffer input{inputs[i].data(), inputs[i].size(), 0};
    const ZSTD_EndDirective mode = last ? ZSTD_e_end : ends_group ? ZSTD_e_flush : ZSTD_e_continue;
    for (;;) {
      const size_t remaining = ZSTD_compressStream2(cctx, &output, &input, mode);
      if (ZSTD_isError(remaining)) return fail(remaining);
      const bool done = mode == ZSTD_e_continue ? input.pos == input.size : remaining == 0;
      if (done) break;
      if (output.pos == output.size) grow();
    }
    if (ends_group) groups.record(group, group_start, output.pos);
  }
  if (inputs.empty()) {
    ZSTD_inBuffer input{nullptr, 0, 0};
    for (;;) {
      const size_t remaining = ZSTD_compressStream2(cctx, &output, &input, ZSTD_e_end);
      if (ZSTD_isError(remaining)) return fail(remaining);
      if (remaining == 0) break;
      grow();
    }
  }
  out.resize(start + output.pos);
  return uint64_t{output.pos};
}

template <typename Buffer>
Result<uint64_t> compress_lz4(LZ4F_cctx*& cctx, std::span<const ByteView> inputs, Buffer& out,
                              const Groups& groups = {}) {
  if (cctx == nullptr) {
    const LZ4F_errorCode_t rc = LZ4F_createCompressionContext(&cctx, LZ4F_VERSION);
    if (LZ4F_isError(rc)) {
      cctx = nullptr;
      return codec_error(std::string("lz4: ") + LZ4F_getErrorName(rc));
    }
  }
  uint64_t total = 0;
  for (const ByteView& in : inputs) total += in.size();
  const LZ4F_preferences_t prefs = lz4_preferences(total);

  const size_t start = out.size();
  size_t written = 0;
  auto fail = [&](size_t code) -> Result<uint64_t> {
    out.resize(start);
    return codec_error(std::string("lz4: ") + LZ4F_getErrorName(code));
  };
  // Room for the whole frame up front; each call still checks its own bound in case the
  // library's per-call estimate is more pessimistic than the frame bound.
  out.resize(start + LZ4F_compressFrameBound(total, &prefs));
  auto ensure = [&](size_t need) {
    if (out.size() - start - written < need) out.resize(start + written + need);
  };

  ensure(LZ4F_HEADER_SIZE_MAX);
  size_t rc = LZ4F_compressBegin(cctx, out.data() + start, out.size() - start, &prefs);
  if (LZ4F_isError(rc)) return fail(rc);
  written += rc;
  size_t group = 0;
  uint64_t group_start = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ByteView& in = inputs[i];
    if (!in.empty()) {
      ensure(LZ4F_compressBound(in.size(), &prefs));
      rc = LZ4F_compressUpdate(cctx, out.data() + start + written, out.size() - start - written,
                               in.data(), in.size(), nullptr);
      if (LZ4F_isError(rc)) return fail(rc);
      written += rc;
    }
    if (i + 1 == inputs.size() || !groups.ends_after(i, group)) continue;
    ensure(LZ4F_compressBound(0, &prefs));
    rc = LZ4F_flush(cctx, out.data() + start + written, out.size() - start - written, nullptr);
    if (LZ4F_isError(rc)) return fail(rc);
    written += rc;
    groups.record(group, group_start, written);
  }
  ensure(LZ4F_compressBound(0, &prefs));
  rc = LZ4F_compressEnd(cctx, out.data() + start + written, out.size() - start - written, nullptr);
  if (LZ4F_isError(rc)) return fail(rc);
  written += rc;
  if (group < groups.ends.size()) groups.record(group, group_start, written);
  out.resize(start + written);
  return uint64_t{written};
}

}  // namespace

Result<uint64_t> Compressor::compress(Compression codec, int level,
                                      std::span<const ByteView> inputs, Bytes& out) {
  switch (codec) {
    case Compression::kZstd:
      return compress_zstd(ctx_->zstd, level, inputs, out);
    case Compression::kLz4:
      return compress_lz4(ctx_->lz4, inputs, out);
    case Compression::kNone:
      break;
  }
  return codec_error("compress() called without a codec; store the records instead");
}

Result<std::optional<ByteView>> Compressor::compress_at_most(Compression codec, int level,
                                                             std::span<const ByteView> inputs,
                                                             uint64_t max_size,
                                                             std::span<const uint32_t> group_ends,
                                                             std::span<uint64_t> group_sizes) {
  if (codec == Compression::kNone) {
    return codec_error("compress_at_most() called without a codec; store the records instead");
  }
  UninitializedBuffer& scratch = ctx_->scratch;
  scratch.resize(0);
  if (group_ends.size() != group_sizes.size() ||
      (!group_ends.empty() && group_ends.back() != inputs.size())) {
    return codec_error("compress_at_most(): groups do not cover the inputs");
  }
  const Groups groups{group_ends, group_sizes};
  const Result<uint64_t> size = codec == Compression::kZstd
                                    ? compress_zstd(ctx_->zstd, level, inputs, scratch, groups)
                                    : compress_lz4(ctx_->lz4, inputs, scratch, groups);
  if (!size) return size.error();
  if (*size > max_size) return std::optional<ByteView>();
  return std::optional<ByteView>(ByteView(scratch.data(), *size));
}

// ---- Decompressor ----

struct Decompressor::Contexts {
  ZSTD_DCtx* zstd = nullptr;
  LZ4F_dctx* lz4 = nullptr;
  ~Contexts() {
    ZSTD_freeDCtx(zstd);
    if (lz4 != nullptr) LZ4F_freeDecompressionContext(lz4);
  }
};

Decompressor::Decompressor() : ctx_(std::make_unique<Contexts>()) {}
Decompressor::~Decompressor() = default;

namespace {

std::string size_text(uint64_t n) {
  return std::to_string(n) + " bytes";
}

Status decompress_zstd(ZSTD_DCtx*& dctx, ByteView in, uint64_t expected, Bytes& out) {
  if (dctx == nullptr) dctx = ZSTD_createDCtx();
  if (dctx == nullptr) return codec_error("zstd: cannot allocate a decompression context");
  ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);
  // A frame that declares its size lets us refuse a mismatch before doing any work.
  const unsigned long long declared = ZSTD_getFrameContentSize(in.data(), in.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) {
    return codec_error("zstd: chunk records are not a valid zstd frame");
  }
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared > expected) {
    return codec_error("zstd frame declares " + size_text(declared) +
                       " but the chunk's uncompressed_size is " + size_text(expected));
  }
  out.resize(expected);
  const size_t rc = ZSTD_decompressDCtx(dctx, out.data(), out.size(), in.data(), in.size());
  if (ZSTD_isError(rc)) {
    out.clear();
    if (ZSTD_getErrorCode(rc) == ZSTD_error_dstSize_tooSmall) {
      return codec_error("zstd data decompresses to more than the chunk's uncompressed_size of " +
                         size_text(expected));
    }
    return codec_error(std::string("zstd: ") + ZSTD_getErrorName(rc));
  }
  if (rc != expected) {
    out.clear();
    return codec_error("zstd data decompresses to " + size_text(rc) +
                       " but the chunk's uncompressed_size is " + size_text(expected));
  }
  return {};
}

Status decompress_lz4(LZ4F_dctx*& dctx, ByteView in, uint64_t expected, Bytes& out) {
  if (dctx == nullptr) {
    const LZ4F_errorCode_t rc = LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION);
    if (LZ4F_isError(rc)) {
      dctx = nullptr;
      return codec_error(std::string("lz4: ") + LZ4F_getErrorName(rc));
    }
  }
  LZ4F_resetDecompressionContext(dctx);
  out.resize(expected);
  size_t in_pos = 0;
  size_t out_pos = 0;
  // Output past `expected` lands here only to detect that there is too much of it.
  std::array<uint8_t, 64> overflow{};
  size_t hint = 1;
  while (in_pos < in.size()) {
    const bool full = out_pos == out.size();
    uint8_t* dst = full ? overflow.data() : out.data() + out_pos;
    size_t dst_size = full ? overflow.size() : out.size() - out_pos;
    size_t src_size = in.size() - in_pos;
    hint = LZ4F_decompress(dctx, dst, &dst_size, in.data() + in_pos, &src_size, nullptr);
    if (LZ4F_isError(hint)) {
      out.clear();
      return codec_error(std::string("lz4: ") + LZ4F_getErrorName(hint));
    }
    if (full && dst_size > 0) {
      out.clear();
      return codec_error("lz4 data decompresses to more than the chunk's uncompressed_size of " +
                         size_text(expected));
    }
    if (!full) out_pos += dst_size;
    in_pos += src_size;
    if (hint == 0) LZ4F_resetDecompressionContext(dctx);  // a further frame may follow
    if (src_size == 0 && dst_size == 0 && hint != 0) {
      out.clear();
      return codec_error("lz4: decoder made no progress");
    }
  }
  if (hint != 0) {
    out.clear();
    return codec_error("lz4 frame is truncated");
  }
  if (out_pos != expected) {
    out.clear();
    return codec_error("lz4 data decompresses to " + size_text(out_pos) +
                       " but the chunk's uncompressed_size is " + size_text(expected));
  }
  return {};
}

}  // namespace

Status Decompressor::decompress(std::string_view compression, ByteView in,
                                uint64_t uncompressed_size, Bytes& out, uint64_t max_size) {
  if (uncompressed_size > max_size) {
    return codec_error("chunk uncompressed_size of " + size_text(uncompressed_size) +
                       " exceeds the limit of " + size_text(max_size));
  }
  if (compression.empty()) {
    if (in.size() != uncompressed_size) {
      return codec_error("uncompressed chunk holds " + size_text(in.size()) +
                         " but its uncompressed_size is " + size_text(uncompressed_size));
    }
    out.assign(in.begin(), in.end());
    return {};
  }
  if (compression == "zstd") return decompress_zstd(ctx_->zstd, in, uncompressed_size, out);
  if (compression == "lz4") return decompress_lz4(ctx_->lz4, in, uncompressed_size, out);
  return codec_error("unsupported chunk compression \"" + std::string(compression) + "\"");
}

}  // namespace mcaprec::mcap
