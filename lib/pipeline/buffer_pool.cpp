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
      max_retained_(budget_bytes / 4),
      space_(space) {}

BufferPool::~BufferPool() = default;

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

  std::unique_ptr<Segment> segment;
  {
    std::lock_guard lock(mu_);
    std::vector<std::unique_ptr<Segment>>& list = free_[size_class];
    if (!list.empty()) {
      segment = std::move(list.back());
      list.pop_back();
      retained_ -= segment->cost;
    }
  }
  if (!segment) {
    segment = std::make_unique<Segment>();
    segment->capacity = capacity_of(size_class);
    segment->bytes = std::make_unique_for_overwrite<uint8_t[]>(segment->capacity);
    segment->entry_capacity = entries_per_segment_;
    segment->entries =
        std::make_unique_for_overwrite<mcap::MessageIndexEntry[]>(segment->entry_capacity);
    segment->size_class = size_class;
    segment->cost = cost;
  }
  segment->used = 0;
  segment->entry_count = 0;
  segment->refs.store(1, std::memory_order_relaxed);
  return segment.release();
}

void BufferPool::release(Segment* segment) {
  if (segment->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  std::unique_ptr<Segment> owned(segment);
  const uint64_t cost = owned->cost;
  {
    std::lock_guard lock(mu_);
    if (retained_ + cost <= max_retained_) {
      retained_ += cost;
      free_[owned->size_class].push_back(std::move(owned));
    }
  }
  owned.reset();  // freed outside the lock when not retained
  // seq_cst pairs with SpaceSignal's waiter count (see space_signal.hpp).
  in_use_.fetch_sub(cost, std::memory_order_seq_cst);
  space_.notify();
}

void BufferPool::uncharge(uint64_t bytes) {
  in_use_.fetch_sub(bytes, std::memory_order_seq_cst);
  space_.notify();
}

}  // namespace mcaprec::pipeline
