#pragma once
// Pooled segments into which producers serialize Message records, and the one global memory
// budget (segments in use by queues and sealed chunks + encoded chunks waiting for the writer).
//
// A segment is filled front to back by one channel; sealing hands ranges of it to chunks while
// the channel keeps appending after them, so a segment can be shared by the channel and several
// chunks in flight. It returns to the pool when the last of them lets go (refs reaches 0).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "mcap/chunk.hpp"
#include "pipeline/space_signal.hpp"

namespace mcaprec::pipeline {

struct Segment {
  // Fixed at allocation; never reallocated, so views into it stay valid while refs > 0.
  std::unique_ptr<uint8_t[]> bytes;
  std::unique_ptr<mcap::MessageIndexEntry[]> entries;  // offsets relative to bytes[0]
  size_t capacity = 0;
  uint32_t entry_capacity = 0;
  uint32_t size_class = 0;
  uint64_t cost = 0;             // what it counts against the memory budget
  Segment* next_free = nullptr;  // in the pool's free list of its class

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
  // `segment_bytes`: size of an ordinary segment; a message that does not fit gets a segment of
  // the next power-of-two multiple. `budget_bytes`: the global memory budget.
  BufferPool(size_t segment_bytes, uint64_t budget_bytes, SpaceSignal& space);
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A segment with room for one record of `record_bytes`, holding one ref for the caller; or
  // nullptr when it would take the memory in use past the budget.
  Segment* try_acquire(size_t record_bytes);
  // Drops one ref; the last one recycles the segment and wakes producers waiting for memory.
  void release(Segment* segment);

  // Whether a record of this size could ever get a segment within the budget.
  bool fits_budget(size_t record_bytes) const;

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
  uint64_t retained() const { return retained_.load(std::memory_order_relaxed); }
  // Segments allocated so far (not reused): steady state allocates none.
  uint64_t segments_allocated() const { return allocated_.load(std::memory_order_relaxed); }
  uint64_t budget() const { return budget_; }
  size_t segment_bytes() const { return segment_bytes_; }

 private:
  static constexpr uint32_t kClasses = 40;
  uint32_t class_for(size_t record_bytes) const;
  size_t capacity_of(uint32_t size_class) const { return segment_bytes_ << size_class; }
  uint64_t cost_of(uint32_t size_class) const;

  // Frees retained segments of other classes until memory in use plus retained fits the
  // budget again (a segment of `size_class` is about to be allocated).
  void evict_for(uint32_t size_class);

  const size_t segment_bytes_;
  const uint32_t entries_per_segment_;
  const uint64_t budget_;
  SpaceSignal& space_;

  std::atomic<uint64_t> in_use_{0};  // costs of acquired segments + charged bytes
  std::atomic<bool> pressure_{false};
  std::atomic<uint64_t> allocated_{0};

  // Free segments are kept for reuse, every one of them: allocating and first-touching a
  // segment (page faults) is what the pool is for avoiding, and a size class that was needed
  // once (camera frames) is needed again. What bounds them is the budget: memory in use plus
  // retained stays within it, because allocating a new segment first frees retained segments
  // of other classes when it would not. Segments are reused newest first (still in cache).
  std::mutex mu_;
  Segment* free_[kClasses] = {};       // guarded by mu_: owned stacks linked by next_free
  std::atomic<uint64_t> retained_{0};  // written under mu_: cost of the free segments
};

}  // namespace mcaprec::pipeline
