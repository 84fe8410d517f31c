#include "pipeline/buffer_pool.hpp"

#include <algorithm>

namespace mcaprec::pipeline {

namespace {

// A Message record is at least 31 bytes; budgeting one index entry per 64 bytes wastes at most
// half a segment on the tiniest messages and little memory on the others.
constexpr size_t kBytesPerIndexEntry = 64;
constexpr uint32_t kMinIndexEntries = 16;

}  // namespace

BufferPool::BufferPool(size_t segment_bytes, uint64_t budget_bytes, SpaceSignal& space)
    : segment_bytes_(std::max<size_t>(segment_bytes, 256)),
      entries_per_segment_(std::max<uint32_t>(
          kMinIndexEntries, static_cast<uint32_t>(segment_bytes_ / kBytesPerIndexEntry))),
      budget_(budget_bytes),
      space_(space) {}

BufferPool::~BufferPool() {
  for (Segment*& list : free_) {
    while (Segment* segment = list) {
      list = segment->next_free;
      delete segment;
    }
  }
}

uint32_t BufferPool::class_for(size_t record_bytes) const {
  uint32_t size_class = 0;
  while (size_class + 1 < kClasses && capacity_of(size_class) < record_bytes) ++size_class;
  return size_class;
}

uint64_t BufferPool::cost_of(uint32_t size_class) const {
  return capacity_of(size_class) + uint64_t{entries_per_segment_} * sizeof(mcap::MessageIndexEntry);
}

bool BufferPool::fits_budget(size_t record_bytes) const {
  const uint32_t size_class = class_for(record_bytes);
  return capacity_of(size_class) >= record_bytes && cost_of(size_class) <= budget_;
}

Segment* BufferPool::try_acquire(size_t record_bytes) {
  const uint32_t size_class = class_for(record_bytes);
  const uint64_t cost = cost_of(size_class);
  // Reserve the budget first; the reservation is what bounds memory, whoever wins the race.
  uint64_t used = in_use_.load(std::memory_order_relaxed);
  do {
    if (used + cost > budget_) return nullptr;
  } while (!in_use_.compare_exchange_weak(used, used + cost, std::memory_order_relaxed));

  Segment* segment = nullptr;
  {
    std::lock_guard lock(mu_);
    if (Segment* top = free_[size_class]) {
      free_[size_class] = top->next_free;
      retained_.store(retained_.load(std::memory_order_relaxed) - top->cost,
                      std::memory_order_relaxed);
      segment = top;
    }
  }
  if (segment == nullptr) {
    evict_for(size_class);
    auto fresh = std::make_unique<Segment>();
    fresh->capacity = capacity_of(size_class);
    fresh->bytes = std::make_unique_for_overwrite<uint8_t[]>(fresh->capacity);
    fresh->entry_capacity = entries_per_segment_;
    fresh->entries =
        std::make_unique_for_overwrite<mcap::MessageIndexEntry[]>(fresh->entry_capacity);
    fresh->size_class = size_class;
    fresh->cost = cost;
    segment = fresh.release();
    allocated_.fetch_add(1, std::memory_order_relaxed);
  }
  segment->next_free = nullptr;
  segment->used = 0;
  segment->entry_count = 0;
  segment->refs.store(1, std::memory_order_relaxed);
  return segment;
}

void BufferPool::evict_for(uint32_t size_class) {
  // in_use_ already holds the new segment's cost.
  for (;;) {
    Segment* victim = nullptr;
    {
      std::lock_guard lock(mu_);
      const uint64_t retained = retained_.load(std::memory_order_relaxed);
      if (retained == 0 || in_use_.load(std::memory_order_relaxed) + retained <= budget_) return;
      // The largest class first: fewest segments freed for the room needed.
      for (uint32_t c = kClasses; c-- > 0;) {
        if (c != size_class && free_[c] != nullptr) {
          victim = free_[c];
          free_[c] = victim->next_free;
          break;
        }
      }
      if (victim == nullptr) {
        // Only segments of the wanted class are free, and one would have been taken.
        return;
      }
      retained_.store(retained - victim->cost, std::memory_order_relaxed);
    }
    delete victim;  // outside the lock
  }
}

void BufferPool::release(Segment* segment) {
  if (segment->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  const uint64_t cost = segment->cost;
  {
    std::lock_guard lock(mu_);
    segment->next_free = free_[segment->size_class];
    free_[segment->size_class] = segment;
    retained_.store(retained_.load(std::memory_order_relaxed) + cost, std::memory_order_relaxed);
  }
  // seq_cst pairs with SpaceSignal's waiter count (see space_signal.hpp).
  in_use_.fetch_sub(cost, std::memory_order_seq_cst);
  space_.notify();
}

void BufferPool::uncharge(uint64_t bytes) {
  in_use_.fetch_sub(bytes, std::memory_order_seq_cst);
  space_.notify();
}

}  // namespace mcaprec::pipeline
