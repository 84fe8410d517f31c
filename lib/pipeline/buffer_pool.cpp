#include "pipeline/buffer_pool.hpp"

#include <algorithm>

namespace mcaprec::pipeline {

namespace {

// A Message record is at least 31 bytes; budgeting one index entry per 64 bytes wastes at most
// half a segment on the tiniest messages and little memory on the others.
constexpr size_t kBytesPerIndexEntry = 64;
constexpr uint32_t kMinIndexEntries = 16;
// A segment must hold a Message record's 31-byte header: a chain's head carries it whole.
constexpr size_t kMinSegmentBytes = 256;

}  // namespace

BufferPool::BufferPool(size_t segment_bytes, uint64_t budget_bytes, SpaceSignal& space)
    : segment_bytes_(std::max(segment_bytes, kMinSegmentBytes)),
      entries_per_segment_(std::max<uint32_t>(
          kMinIndexEntries, static_cast<uint32_t>(segment_bytes_ / kBytesPerIndexEntry))),
      segment_cost_(segment_bytes_ +
                    uint64_t{entries_per_segment_} * sizeof(mcap::MessageIndexEntry)),
      budget_(budget_bytes),
      space_(space) {}

BufferPool::~BufferPool() {
  while (Segment* segment = free_) {
    free_ = segment->next_free;
    delete segment;
  }
}

size_t BufferPool::segments_for(size_t record_bytes) const {
  return std::max<size_t>(1, (record_bytes + segment_bytes_ - 1) / segment_bytes_);
}

bool BufferPool::fits_budget(size_t record_bytes) const {
  const size_t count = segments_for(record_bytes);
  return count <= budget_ / segment_cost_;
}

bool BufferPool::try_reserve(size_t count) {
  const uint64_t cost = count * segment_cost_;
  // The reservation is what bounds memory, whoever wins the race.
  uint64_t used = in_use_.load(std::memory_order_relaxed);
  do {
    if (used + cost > budget_) return false;
  } while (!in_use_.compare_exchange_weak(used, used + cost, std::memory_order_relaxed));
  return true;
}

Segment* BufferPool::take_reserved() {
  Segment* segment = nullptr;
  {
    std::lock_guard lock(mu_);
    if ((segment = free_) != nullptr) free_ = segment->next_free;
  }
  if (segment == nullptr) {
    auto fresh = std::make_unique<Segment>();
    fresh->capacity = segment_bytes_;
    fresh->bytes = std::make_unique_for_overwrite<uint8_t[]>(fresh->capacity);
    fresh->entry_capacity = entries_per_segment_;
    fresh->entries =
        std::make_unique_for_overwrite<mcap::MessageIndexEntry[]>(fresh->entry_capacity);
    segment = fresh.release();
    allocated_.fetch_add(1, std::memory_order_relaxed);
  }
  segment->next_free = nullptr;
  segment->used = 0;
  segment->entry_count = 0;
  segment->refs.store(1, std::memory_order_relaxed);
  return segment;
}

void BufferPool::release(Segment* segment) {
  if (segment->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  {
    std::lock_guard lock(mu_);
    segment->next_free = free_;
    free_ = segment;
  }
  // seq_cst pairs with SpaceSignal's waiter count (see space_signal.hpp).
  in_use_.fetch_sub(segment_cost_, std::memory_order_seq_cst);
  space_.notify();
}

void BufferPool::uncharge(uint64_t bytes) {
  in_use_.fetch_sub(bytes, std::memory_order_seq_cst);
  space_.notify();
}

}  // namespace mcaprec::pipeline
