#pragma once
// Pooled segments into which producers serialize Message records, and the one global memory
// budget (segments in use by queues and sealed chunks + encoded chunks waiting for the writer).
//
// Every segment has the same size, so that a freed segment serves any later need. The pool
// reserves address space for as many segments as the budget holds when it is made; a segment's
// pages become memory when first written, and nothing is allocated afterwards. A segment is filled
// front to back by one channel; sealing hands ranges of it to chunks while the channel keeps
// appending after them, so a segment can be shared by the channel and several chunks in flight. It
// returns to the pool when the last of them lets go (refs reaches 0). A record larger than a
// segment is written across a chain of fresh segments (see channel_queue.hpp).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "mcap/chunk.hpp"
#include "pipeline/space_signal.hpp"
#include "pipeline/stage_stats.hpp"

namespace mcaprec::pipeline {

struct Segment {
  // Slots of the pool's arenas, fixed for its life: views into them stay valid while refs > 0.
  uint8_t* bytes = nullptr;
  mcap::MessageIndexEntry* entries = nullptr;  // offsets relative to bytes[0]
  size_t capacity = 0;
  uint32_t entry_capacity = 0;
  Segment* next_free = nullptr;  // in the pool's free list

  // Appended to only by the channel holding the segment, under that channel's lock. Ranges
  // below these marks that were handed to a sealed chunk are read (and, for the entries,
  // rebased) by that chunk's compressor thread; nobody else touches them.
  size_t used = 0;
  uint32_t entry_count = 0;

  // One per holder: the channel while it may still append or has unsealed messages in it, and
  // each sealed chunk with a range in it. acq_rel on release so that the thread recycling the
  // segment sees every holder's accesses as finished.
  std::atomic<uint32_t> refs{0};

  bool has_room(size_t record_bytes) const {
    return capacity - used >= record_bytes && entry_count < entry_capacity;
  }
};

class BufferPool {
 public:
  // `segment_bytes`: the size of every segment. `budget_bytes`: the global memory budget.
  BufferPool(size_t segment_bytes, uint64_t budget_bytes, SpaceSignal& space);
  // False when the address space for the budget's segments could not be reserved.
  bool ok() const { return segment_count_ == 0 || bytes_arena_ != nullptr; }
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // Segments a record of `record_bytes` takes when it starts a fresh segment (a chain when
  // more than one).
  size_t segments_for(size_t record_bytes) const;
  // Whether a record of this size could ever get its segments within the budget.
  bool fits_budget(size_t record_bytes) const;

  // Reserves budget for `count` segments at once (a whole chain or nothing); false when that
  // would take the memory in use past the budget. The caller then takes each of them with
  // take_reserved().
  bool try_reserve(size_t count);
  // A reserved segment, empty, holding one ref for the caller.
  Segment* take_reserved();
  // Drops one ref; the last one recycles the segment and wakes producers waiting for memory.
  void release(Segment* segment);

  // Encoded chunks waiting for the writer count against the same budget. They are never
  // refused (their segments were just released, and they are smaller), only counted.
  void charge(uint64_t bytes) { in_use_.fetch_add(bytes, std::memory_order_relaxed); }
  void uncharge(uint64_t bytes);

  // A producer found the budget exhausted. The seal scheduler then seals every group once, so
  // that memory held by other groups' unsealed messages (or idle channels' segments) returns
  // even when those groups are far from chunk_size.
  // Returns true when the pressure is news (the scheduler should be woken).
  bool note_pressure() { return !pressure_.exchange(true, std::memory_order_relaxed); }
  bool take_pressure() { return pressure_.exchange(false, std::memory_order_relaxed); }

  uint64_t in_use() const { return in_use_.load(std::memory_order_relaxed); }
  // Segments used at least once so far (their pages touched); at most the budget's worth.
  uint64_t segments_allocated() const { return allocated_.load(std::memory_order_relaxed); }
  uint64_t budget() const { return budget_; }
  MemoryStats stats() const { return {.in_use = in_use(), .budget = budget_}; }
  size_t segment_count() const { return segment_count_; }  // as many as the budget holds
  size_t segment_bytes() const { return segment_bytes_; }

 private:
  size_t bytes_arena_size() const { return segment_count_ * segment_bytes_; }
  size_t entries_arena_size() const {
    return segment_count_ * entries_per_segment_ * sizeof(mcap::MessageIndexEntry);
  }

  const size_t segment_bytes_;
  const uint32_t entries_per_segment_;
  const uint64_t segment_cost_;  // what one segment counts against the budget
  const uint64_t budget_;
  const size_t segment_count_;  // as many as the budget holds
  SpaceSignal& space_;

  // The segments' bytes and index entries, address space reserved for all of them at once.
  uint8_t* bytes_arena_ = nullptr;
  mcap::MessageIndexEntry* entries_arena_ = nullptr;
  std::unique_ptr<Segment[]> segments_;

  // Reserved and acquired segments' costs + charged bytes. A reservation succeeds only while
  // the segments in use, the reserved ones included, cost no more than the budget, so a
  // reserved segment always finds a free or an unused slot.
  std::atomic<uint64_t> in_use_{0};
  std::atomic<bool> pressure_{false};
  std::atomic<uint64_t> allocated_{0};

  // Free segments are reused newest first (still in cache); slots never used yet (untouched
  // pages) only when none is free.
  std::mutex mu_;
  Segment* free_ = nullptr;  // guarded by mu_: a stack linked by next_free
  size_t unused_ = 0;        // guarded by mu_: slots [unused_, segment_count_) never used yet
};

}  // namespace mcaprec::pipeline
