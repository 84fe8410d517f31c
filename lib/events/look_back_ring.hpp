#pragma once
// The look-back ring: every chunk the ordered writer handles (always and on-event channels),
// as the exact compressed bytes it has, kept while its newest message is within `look_back` of
// the newest message seen, and longer while a marked event's window still needs it (keep_from).
// Chunks are never recompressed. The newest ones stay in memory up to
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
  // Any thread: chunks whose newest message is at or after `time` stay past the look-back (the
  // windows of marked events need them); kKeepNothing lifts that. Without it an event marked
  // while the event thread was busy lost the start of its window to the look-back.
  static constexpr mcap::Timestamp kKeepNothing = ~mcap::Timestamp{0};
  void keep_from(mcap::Timestamp time);
  // Event thread: moves the oldest in-memory chunks to the spool while memory is over its bound,
  // at most about `max_bytes` in one call, so that events are placed and written in between;
  // while the ring is still filling, first prepares buffers for add() (see prepare_spares).
  // Once memory is near its bound (and the spool holds at least four times it), the newest chunks
  // are written to the spool as they come, still in the cache, and keep their memory copy until
  // memory is over its bound; then they leave memory without any I/O (see next_to_spool_locked).
  // Returns true when memory is still over its bound.
  bool spill(uint64_t max_bytes = ~uint64_t{0});
  // Event thread: the chunks numbered `from_seq` or later that overlap [start, end], into `out`
  // (appended), and into `not_held` (when given) the numbers of such chunks the ring let go.
  // Returns the number after the last chunk looked at.
  uint64_t collect(uint64_t from_seq, mcap::Timestamp start, mcap::Timestamp end,
                   std::vector<RingChunk>& out, std::vector<uint64_t>* not_held = nullptr) const;
  // Event thread: the chunk numbered `seq` as it is now; false once the ring let it go.
  bool find(uint64_t seq, RingChunk& out) const;
  // Event thread: the whole encoded chunk (read back from the spool when spooled).
  base::Result<std::shared_ptr<const mcap::EncodedChunk>> load(const RingChunk& chunk) const;
  // The number the next chunk added gets.
  uint64_t next_seq() const;
  // The log time of the newest message seen.
  mcap::Timestamp newest_end() const;

  RingStats stats() const;

 private:
  enum class Where { kMemory, kSpool, kGone };
  struct Entry {
    RingChunk chunk;
    Where where = Where::kMemory;
    bool spool_copy = false;  // in memory and also in the spool at chunk.spool_position
  };

  void prepare_spares();
  Entry* find_locked(uint64_t seq);
  const Entry* find_locked(uint64_t seq) const;
  void evict_old_locked();
  void drop_memory_locked(uint64_t bound);
  Entry* next_to_spool_locked();
  void keep_only_in_spool_locked(Entry& entry);
  void forget_overwritten_locked();
  void release_locked(std::shared_ptr<const mcap::EncodedChunk>& chunk);

  const RingLimits limits_;
  Spool* const spool_;
  // The spool is large enough that writing chunks to it before memory is full costs no look-back
  // worth having: at most a quarter of it then holds copies of chunks still in memory.
  const bool write_through_;

  mutable std::mutex mu_;
  std::deque<Entry> entries_;                 // by seq, guarded by mu_
  uint64_t front_seq_ = 0;                    // seq of entries_.front()
  uint64_t first_in_memory_ = 0;              // entries before it are spooled or gone
  uint64_t first_unspooled_ = 0;              // entries before it have been written to the spool
  mcap::Timestamp newest_end_ = 0;            // newest message seen
  mcap::Timestamp keep_from_ = kKeepNothing;  // see keep_from(); guarded by mu_
  uint64_t memory_bytes_ = 0;                 // guarded by mu_
  uint64_t spool_bytes_ = 0;                  // guarded by mu_
  // Buffers of chunks that left the ring, for add() to reuse, while ring and spares stay within
  // twice memory_bytes (at least a quarter of memory_bytes), not counted in memory_bytes_: the
  // event thread lets chunks go in bursts, the writer adds one by one.
  std::vector<mcap::Bytes> spare_buffers_;  // guarded by mu_
  uint64_t spare_bytes_ = 0;                // their capacity, guarded by mu_
  uint64_t largest_chunk_ = 0;              // of those added, guarded by mu_

  std::atomic<uint64_t> added_{0};
  std::atomic<uint64_t> evicted_{0};
  std::atomic<uint64_t> not_held_{0};
  std::atomic<uint64_t> spilled_{0};
};

}  // namespace mcaprec::events
