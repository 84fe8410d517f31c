#include "pipeline/compressor_pool.hpp"

#include <algorithm>
#include <limits>
#include <map>

#include "pipeline/chunk_assembler.hpp"
#include "pipeline/thread_cpu.hpp"

namespace mcaprec::pipeline {

CompressorPool::CompressorPool(CompressorSettings settings, BufferPool& buffers,
                               RecyclingPool<SealedChunk>& sealed,
                               RecyclingPool<CompressedChunk>& compressed,
                               CompressedChunkSink& writer)
    : settings_(settings),
      buffers_(buffers),
      sealed_(sealed),
      compressed_pool_(compressed),
      writer_(writer),
      cpu_ns_(std::max(1u, settings.threads)) {
  queue_.reserve(settings.max_in_flight);
  const unsigned n = std::max(1u, settings.threads);
  threads_.reserve(n);
  for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this, i] { run(i); });
}

CompressorPool::~CompressorPool() {
  finish();
}

void CompressorPool::prepare_output(CompressedChunk& chunk) const {
  // Room for the largest chunk expected and its indexes; pages nobody writes cost no memory.
  chunk.encoded.bytes.reserve(3 * settings_.chunk_size);
  chunk.encoded.message_counts.reserve(CompressedChunk::kReservedChannels);
  chunk.encoded.message_index_offsets.reserve(CompressedChunk::kReservedChannels);
  chunk.encoded.group_compressed_sizes.reserve(CompressedChunk::kReservedChannels);
  chunk.encoded.parts.reserve(SealedChunk::kReservedPieces + 2);
  chunk.segments.reserve(SealedChunk::kReservedPieces);
}

void CompressorPool::submit(SealedChunk* chunk) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(chunk);
  }
  wake_.notify_one();
}

void CompressorPool::finish() {
  {
    std::lock_guard lock(mu_);
    finishing_ = true;
  }
  wake_.notify_all();
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

CompressionStats CompressorPool::stats() const {
  CompressionStats stats;
  stats.chunks_stored_raw = stored_raw_.load(std::memory_order_relaxed);
  stats.chunks_skipped = skipped_.load(std::memory_order_relaxed);
  stats.uncompressed_bytes = uncompressed_.load(std::memory_order_relaxed);
  stats.compressed_bytes = compressed_.load(std::memory_order_relaxed);
  stats.threads = unsigned(threads_.size());
  int64_t cpu_ns = 0;
  for (const std::atomic<int64_t>& ns : cpu_ns_) cpu_ns += ns.load(std::memory_order_relaxed);
  stats.cpu_time = std::chrono::nanoseconds(cpu_ns);
  return stats;
}

void CompressorPool::run(size_t index) {
  name_this_thread(("mcaprec-zip-" + std::to_string(index)).c_str());
  mcap::Compressor compressor;
  std::vector<mcap::ChunkPiece> pieces;
  prepare(compressor, pieces);
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return finishing_ || !queue_.empty(); });
    if (queue_.empty()) return;  // finishing and drained
    SealedChunk* chunk = queue_.front();
    queue_.pop_front();
    lock.unlock();
    encode(chunk, compressor, pieces);
    cpu_ns_[index].store(thread_cpu_ns(), std::memory_order_relaxed);
    lock.lock();
  }
}

void CompressorPool::prepare(mcap::Compressor& compressor,
                             std::vector<mcap::ChunkPiece>& pieces) const {
  pieces.reserve(SealedChunk::kReservedPieces);
  if (settings_.compression == mcap::Compression::kNone || settings_.chunk_size == 0) return;
  const size_t piece_bytes = 2 * settings_.chunk_size / SealedChunk::kReservedPieces + 1;
  const std::vector<uint8_t> zeros(piece_bytes);
  for (size_t i = 0; i < SealedChunk::kReservedPieces; ++i) {
    pieces.push_back(mcap::ChunkPiece{zeros, {}});
  }
  mcap::ChunkEncodeOptions options;
  options.compression = settings_.compression;
  options.level = settings_.level;
  mcap::EncodedChunk discarded;
  (void)mcap::encode_chunk(pieces, options, compressor, discarded);
  pieces.clear();
}

void CompressorPool::encode(SealedChunk* chunk, mcap::Compressor& compressor,
                            std::vector<mcap::ChunkPiece>& pieces) {
  CompressedChunk* out = compressed_pool_.acquire();
  // Recycled chunks keep their buffers; one made past the pool's start count (after a forced
  // seal) gets the same room.
  prepare_output(*out);
  out->seq = chunk->seq;
  out->record_bytes = chunk->record_bytes;
  out->on_event = chunk->on_event;
  out->failed = false;
  out->lost_reason = DropReason::kWriteError;
  out->error.clear();
  out->lost.clear();
  if (skip_.load(std::memory_order_relaxed)) {
    lose(*chunk, DropReason::kStopped, "", *out);
    finish_chunk(chunk, out);
    return;
  }

  // Index entries were written relative to their segment; the encoder wants them relative to
  // the piece. Each entry belongs to exactly one sealed piece, so rebasing in place is safe.
  pieces.clear();
  for (const SealedPiece& piece : chunk->pieces) {
    mcap::MessageIndexEntry* entries = piece.segment->entries;
    for (uint32_t i = piece.entry_begin; i < piece.entry_end; ++i) {
      entries[i].offset -= piece.byte_begin;
    }
    pieces.push_back(mcap::ChunkPiece{
        mcap::ByteView(piece.segment->bytes + piece.byte_begin, piece.byte_end - piece.byte_begin),
        std::span<const mcap::MessageIndexEntry>(entries + piece.entry_begin,
                                                 piece.entry_end - piece.entry_begin)});
  }

  // A due probe of the raw lane tries a sample of each channel's records; the chunk stays raw.
  const bool probe = chunk->learning && chunk->raw_lane && chunk->probe &&
                     settings_.compression != mcap::Compression::kNone;
  if (probe) probe_samples(*chunk, pieces, compressor);

  mcap::ChunkEncodeOptions options;
  options.compression = choose_codec(*chunk);
  options.level = settings_.level;
  // A chunk that compresses barely (it would cost readers a decompression for a few bytes) is
  // stored raw by the encoder in the same pass.
  options.min_saving_percent = CompressionChoice::kMinSavingPercent;
  options.in_place_min_bytes = settings_.in_place_min_bytes;
  const bool tried = options.compression != mcap::Compression::kNone;
  // The codec is flushed at each channel's end, so each channel's compressed bytes are known.
  if (tried) options.piece_groups = chunk->share_ends;
  // Stored raw without trying: the group skips for a while, or the chunk is of the raw lane.
  if (!tried && !probe && settings_.compression != mcap::Compression::kNone) {
    skipped_.fetch_add(1, std::memory_order_relaxed);
  }
  const base::Status status = mcap::encode_chunk(pieces, options, compressor, out->encoded);
  if (!status) {
    lose(*chunk, DropReason::kWriteError,
         "cannot encode chunk " + std::to_string(chunk->seq) + ": " + status.error().message, *out);
  } else {
    if (tried && !chunk->learning) chunk->compression->record(out->encoded);
    account_channels(*chunk, out->encoded, tried, probe);
    if (out->encoded.compression.empty()) stored_raw_.fetch_add(1, std::memory_order_relaxed);
    uncompressed_.fetch_add(out->encoded.uncompressed_size, std::memory_order_relaxed);
    compressed_.fetch_add(out->encoded.compressed_size, std::memory_order_relaxed);
  }
  finish_chunk(chunk, out);
}

mcap::Compression CompressorPool::choose_codec(const SealedChunk& chunk) const {
  if (settings_.compression == mcap::Compression::kNone) return mcap::Compression::kNone;
  if (!chunk.learning) return chunk.compression->choose(settings_.compression);
  return chunk.raw_lane ? mcap::Compression::kNone : settings_.compression;
}

void CompressorPool::probe_samples(const SealedChunk& chunk,
                                   std::span<const mcap::ChunkPiece> pieces,
                                   mcap::Compressor& compressor) const {
  thread_local std::vector<mcap::ByteView> views;
  const int64_t now = steady_now_ns();
  uint32_t begin = 0;
  for (const ChannelShare& share : chunk.shares) {
    views.clear();
    const uint64_t sampled =
        probe_sample(pieces.subspan(begin, share.pieces_end - begin), share.record_bytes,
                     share.compression->probe_sample_bytes(), views);
    begin = share.pieces_end;
    const mcap::Result<std::optional<mcap::ByteView>> frame = compressor.compress_at_most(
        settings_.compression, settings_.level, views, std::numeric_limits<uint64_t>::max());
    // A codec error on a sample teaches nothing; the chunk itself is stored raw either way.
    if (frame && frame->has_value()) share.compression->observe(sampled, (*frame)->size(), now);
  }
}

void CompressorPool::account_channels(const SealedChunk& chunk, const mcap::EncodedChunk& encoded,
                                      bool tried, bool probed) const {
  const bool compressed = !encoded.compression.empty();
  const bool skipped = !tried && !probed && settings_.compression != mcap::Compression::kNone;
  const int64_t now = tried ? steady_now_ns() : 0;
  for (size_t i = 0; i < chunk.shares.size(); ++i) {
    const ChannelShare& share = chunk.shares[i];
    // What the attempt made of the channel's records, whether or not the chunk kept it.
    const uint64_t attempt =
        tried && i < encoded.group_compressed_sizes.size() ? encoded.group_compressed_sizes[i] : 0;
    if (tried) share.compression->observe(share.record_bytes, attempt, now);
    share.compression->count(share.record_bytes, compressed ? attempt : share.record_bytes,
                             tried || probed, skipped);
  }
}

void CompressorPool::lose(const SealedChunk& chunk, DropReason reason, std::string why,
                          CompressedChunk& out) {
  out.failed = true;
  out.lost_reason = reason;
  out.error = std::move(why);
  std::map<uint16_t, uint64_t> lost;
  for (const SealedPiece& piece : chunk.pieces) {
    lost[piece.channel_id] += piece.entry_end - piece.entry_begin;
  }
  out.lost.assign(lost.begin(), lost.end());
  out.encoded.bytes.clear();
  out.encoded.parts.clear();
  out.encoded.in_place_bytes = 0;
  out.encoded.message_counts.clear();
}

void CompressorPool::finish_chunk(SealedChunk* chunk, CompressedChunk* out) {
  // The encoded bytes hold everything now, and the segments can go back to the pool, unless
  // the chunk is to be written from them: then it holds them until it is written.
  out->segments.clear();
  for (const SealedPiece& piece : chunk->pieces) {
    if (out->encoded.parts.empty()) {
      buffers_.release(piece.segment);
    } else {
      out->segments.push_back(piece.segment);
    }
  }
  chunk->pieces.clear();
  sealed_.recycle(chunk);

  out->charged_bytes = out->encoded.bytes.size();
  buffers_.charge(out->charged_bytes);
  writer_.submit(out);
}

}  // namespace mcaprec::pipeline
