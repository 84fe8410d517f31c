#pragma once
// K threads that turn sealed chunks into the exact bytes the file gets: compression (or raw
// storage when it does not pay, or while the group skips compression), the chunk CRC, the Chunk
// record, its Message Index records and the CRC of all of it for the data-section CRC. This is
// all per-chunk work that needs no file offset, so the ordered writer only appends. Chunks
// complete out of order; the writer puts them back in order.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mcap/chunk.hpp"
#include "mcap/compression.hpp"
#include "pipeline/buffer_pool.hpp"
#include "pipeline/drop_reason.hpp"
#include "pipeline/recycling_pool.hpp"
#include "pipeline/ring.hpp"
#include "pipeline/sealed_chunk.hpp"
#include "pipeline/stage_stats.hpp"

namespace mcaprec::pipeline {

// A chunk ready for the writer.
struct CompressedChunk {
  // Channels a chunk's per-channel vectors have room for from the start; a chunk with more
  // grows them once.
  static constexpr size_t kReservedChannels = 256;

  uint64_t seq = 0;
  uint64_t record_bytes = 0;   // released from the in-flight gate once written
  uint64_t charged_bytes = 0;  // counted against the memory budget until written
  bool on_event = false;       // on-event channels only: the look-back ring gets it, no file
  mcap::EncodedChunk encoded;
  // The segments holding the records `encoded` left in place (its parts), one ref each, given
  // back once the chunk is written.
  std::vector<Segment*> segments;
  // When the chunk was not encoded: why, and the messages lost per channel, counted as
  // `lost_reason` (write_error when encoding failed, stopped when the drain was cut short).
  bool failed = false;
  DropReason lost_reason = DropReason::kWriteError;
  std::string error;
  std::vector<std::pair<uint16_t, uint64_t>> lost;
};

class CompressedChunkSink {
 public:
  virtual ~CompressedChunkSink() = default;
  virtual void submit(CompressedChunk* chunk) = 0;
};

struct CompressorSettings {
  unsigned threads = 1;
  mcap::Compression compression = mcap::Compression::kZstd;
  int level = 1;
  uint64_t chunk_size = 0;     // each thread's codec buffers are sized for twice this at start
  uint64_t max_in_flight = 0;  // chunks in flight at most (the in-flight gate's chunk limit)
  // A chunk stored raw is written straight from its segments' ranges of at least this many
  // bytes (0: always copied behind its header); see lib/pipeline/README.md, "Fewer copies".
  uint64_t in_place_min_bytes = 0;
};

class CompressorPool {
 public:
  CompressorPool(CompressorSettings settings, BufferPool& buffers,
                 RecyclingPool<SealedChunk>& sealed, RecyclingPool<CompressedChunk>& compressed,
                 CompressedChunkSink& writer);

  // From then on chunks are not encoded but passed on as lost (reason `stopped`), so that a
  // stop whose drain takes too long can finish with what is already encoded.
  void skip_remaining() { skip_.store(true, std::memory_order_relaxed); }
  ~CompressorPool();  // finish()
  CompressorPool(const CompressorPool&) = delete;
  CompressorPool& operator=(const CompressorPool&) = delete;

  // Gives a new CompressedChunk the room a chunk's encoding needs, so that a recycled one never
  // grows in steady state.
  void prepare_output(CompressedChunk& chunk) const;

  void submit(SealedChunk* chunk);
  // Encodes everything submitted, then stops the threads. Idempotent.
  void finish();

  CompressionStats stats() const;

 private:
  void run(size_t index);
  // Sizes a thread's codec buffers (they grow to the largest chunk the thread has met) for a
  // chunk of twice chunk_size in as many pieces as a sealed chunk has room for, so that a
  // thread meeting its largest chunk late does not allocate in steady state.
  void prepare(mcap::Compressor& compressor, std::vector<mcap::ChunkPiece>& pieces) const;
  void encode(SealedChunk* chunk, mcap::Compressor& compressor,
              std::vector<mcap::ChunkPiece>& pieces);
  // The codec for a chunk: none without a configured codec; a configured group's choice; for a
  // learning group, none for the raw lane.
  mcap::Compression choose_codec(const SealedChunk& chunk) const;
  // A probe of a raw-lane chunk: each channel's sample (probe_sample()) through the codec, and
  // what it became observed by the channel.
  void probe_samples(const SealedChunk& chunk, std::span<const mcap::ChunkPiece> pieces,
                     mcap::Compressor& compressor) const;
  // Each channel's share of an encoded chunk: its counters, and (when tried) what it taught.
  // `probed`: its sample went through the codec (counted as an attempt).
  void account_channels(const SealedChunk& chunk, const mcap::EncodedChunk& encoded, bool tried,
                        bool probed) const;
  // Marks `out` as not written: its messages are counted as dropped for `reason`.
  static void lose(const SealedChunk& chunk, DropReason reason, std::string why,
                   CompressedChunk& out);
  // Releases the chunk's segments and passes `out` on to the writer.
  void finish_chunk(SealedChunk* chunk, CompressedChunk* out);

  const CompressorSettings settings_;
  BufferPool& buffers_;
  RecyclingPool<SealedChunk>& sealed_;
  RecyclingPool<CompressedChunk>& compressed_pool_;
  CompressedChunkSink& writer_;

  std::mutex mu_;
  std::condition_variable wake_;
  Ring<SealedChunk*> queue_;  // guarded by mu_
  bool finishing_ = false;    // guarded by mu_

  std::atomic<bool> skip_{false};
  std::atomic<uint64_t> stored_raw_{0};
  std::atomic<uint64_t> skipped_{0};
  std::atomic<uint64_t> uncompressed_{0};
  std::atomic<uint64_t> compressed_{0};
  std::vector<std::atomic<int64_t>> cpu_ns_;  // per thread
  std::vector<std::thread> threads_;          // last: started once the rest exists
};

}  // namespace mcaprec::pipeline
