#pragma once
// The look-back ring: every chunk the ordered writer handles (always and on-event channels),
// as the exact compressed bytes it has, kept while its newest message is within `look_back` of
// the newest message seen. Chunks are never recompressed. The newest ones stay in memory up to
// `memory_bytes`; the event thread spills the oldest beyond that to the Spool. What the ring
// cannot hold for the look-back (the spool is full or off, or the event thread fell so far
// behind that memory reached twice its bound) is dropped from it and counted.
//
// Threads: add() from the writer thread (a copy into a reused buffer and a short lock, never
// disk I/O); spill(), collect() and load() from the event thread.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "base/result.hpp"
#include "events/spool.hpp"
#include "mcap/chunk.hpp"

namespace mcaprec::events {

struct RingLimits {
  std::chrono::nanoseconds look_back{0};
  uint64_t memory_bytes = 0;
};

struct RingStats {
  uint64_t memory_bytes = 0;     // chunk bytes held in memory
  uint64_t spool_bytes = 0;      // chunk bytes held in the spool
  uint64_t chunks_held = 0;      // in memory or spooled
  uint64_t chunks_added = 0;     // every chunk handed to the ring
  uint64_t chunks_evicted = 0;   // left the look-back (normal)
  uint64_t chunks_not_held = 0;  // dropped before the look-back was over (bounds)
  uint64_t chunks_spilled = 0;   // written to the spool
};

// What the event thread gets of a chunk: its description (always) and, while it is in memory,
// its bytes.
struct RingChunk {
  uint64_t seq = 0;  // order of arrival
  mcap::Timestamp start = 0;
  mcap::Timestamp end = 0;
  bool on_event = false;
  std::shared_ptr<const mcap::EncodedChunk> chunk;  // bytes empty once spooled
  bool spooled = false;
  uint64_t spool_position = 0;
  uint64_t size = 0;  // bytes of the encoded chunk
};

class LookBackRing {
 public:
  // `spool` may be null (memory only).
  LookBackRing(RingLimits limits, Spool* spool);

  // Writer thread: keeps a copy of the chunk.
  void add(const mcap::EncodedChunk& chunk, bool on_event);
  // Event thread: moves the oldest in-memory chunks to the spool while memory is over its bound;
  // while the ring is still filling, first prepares buffers for add() (see prepare_spares).
  void spill();
  // Event thread: the chunks numbered `from_seq` or later that overlap [start, end], into `out`
  // (appended). Returns the number after the last chunk looked at.
  uint64_t collect(uint64_t from_seq, mcap::Timestamp start, mcap::Timestamp end,
                   std::vector<RingChunk>& out) const;
  // Event thread: the whole encoded chunk (read back from the spool when spooled).
  base::Result<std::shared_ptr<const mcap::EncodedChunk>> load(const RingChunk& chunk) const;
  // The number the next chunk added gets.
  uint64_t next_seq() const;

  RingStats stats() const;

 private:
  enum class Where { kMemory, kSpool, kGone };
  struct Entry {
    RingChunk chunk;
    Where where = Where::kMemory;
  };

  void prepare_spares();
  Entry* find_locked(uint64_t seq);
  void evict_old_locked();
  void drop_memory_locked(uint64_t bound);
  void forget_overwritten_locked();
  void release_locked(std::shared_ptr<const mcap::EncodedChunk>& chunk);

  const RingLimits limits_;
  Spool* const spool_;

  mutable std::mutex mu_;
  std::deque<Entry> entries_;       // by seq, guarded by mu_
  uint64_t front_seq_ = 0;          // seq of entries_.front()
  uint64_t first_in_memory_ = 0;    // entries before it are spooled or gone
  mcap::Timestamp newest_end_ = 0;  // newest message seen
  uint64_t memory_bytes_ = 0;       // guarded by mu_
  uint64_t spool_bytes_ = 0;        // guarded by mu_
  // Buffers of chunks that left the ring, for add() to reuse, up to a quarter of memory_bytes
  // (not counted in memory_bytes_): the event thread spills in bursts, the writer adds one by one.
  std::vector<mcap::Bytes> spare_buffers_;  // guarded by mu_
  uint64_t spare_bytes_ = 0;                // their capacity, guarded by mu_
  uint64_t largest_chunk_ = 0;              // of those added, guarded by mu_

  std::atomic<uint64_t> added_{0};
  std::atomic<uint64_t> evicted_{0};
  std::atomic<uint64_t> not_held_{0};
  std::atomic<uint64_t> spilled_{0};
};

}  // namespace mcaprec::events
