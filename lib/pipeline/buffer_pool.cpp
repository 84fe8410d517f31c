#include "pipeline/buffer_pool.hpp"

#include <sys/mman.h>

#include <algorithm>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

namespace mcaprec::pipeline {

namespace {

// A Message record is at least 31 bytes; budgeting one index entry per 64 bytes wastes at most
// half a segment on the tiniest messages and little memory on the others.
constexpr size_t kBytesPerIndexEntry = 64;
constexpr uint32_t kMinIndexEntries = 16;
// A segment must hold a Message record's 31-byte header: a chain's head carries it whole.
constexpr size_t kMinSegmentBytes = 256;

// The mapped arenas have no redzones: under AddressSanitizer, a recycled segment is marked so
// that any access before it is taken again is reported.
void mark_recycled([[maybe_unused]] const Segment& segment) {
#if defined(__SANITIZE_ADDRESS__)
  ASAN_POISON_MEMORY_REGION(segment.bytes, segment.capacity);
  ASAN_POISON_MEMORY_REGION(segment.entries, segment.entry_capacity * sizeof(*segment.entries));
#endif
}

void mark_taken([[maybe_unused]] const Segment& segment) {
#if defined(__SANITIZE_ADDRESS__)
  ASAN_UNPOISON_MEMORY_REGION(segment.bytes, segment.capacity);
  ASAN_UNPOISON_MEMORY_REGION(segment.entries, segment.entry_capacity * sizeof(*segment.entries));
#endif
}

// Address space, not memory: pages are committed when first written.
void* reserve_address_space(size_t bytes) {
  void* at = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return at == MAP_FAILED ? nullptr : at;
}

}  // namespace

BufferPool::BufferPool(size_t segment_bytes, uint64_t budget_bytes, SpaceSignal& space)
    : segment_bytes_(std::max(segment_bytes, kMinSegmentBytes)),
      entries_per_segment_(std::max<uint32_t>(
          kMinIndexEntries, static_cast<uint32_t>(segment_bytes_ / kBytesPerIndexEntry))),
      segment_cost_(segment_bytes_ +
                    uint64_t{entries_per_segment_} * sizeof(mcap::MessageIndexEntry)),
      budget_(budget_bytes),
      segment_count_(budget_bytes / segment_cost_),
      space_(space) {
  if (segment_count_ == 0) return;
  void* bytes = reserve_address_space(bytes_arena_size());
  // Every payload byte is written into a segment and read from it twice (CRC, write): huge
  // pages spare those passes most of their TLB misses and a fault per 4 KiB on first use
  // (bench/README, "This VM's fresh memory, and huge pages for the segments"). Advice only: without
  // THP nothing changes.
  if (bytes != nullptr) (void)::madvise(bytes, bytes_arena_size(), MADV_HUGEPAGE);
  void* entries = reserve_address_space(entries_arena_size());
  if (bytes == nullptr || entries == nullptr) {
    if (bytes != nullptr) ::munmap(bytes, bytes_arena_size());
    if (entries != nullptr) ::munmap(entries, entries_arena_size());
    return;
  }
  bytes_arena_ = static_cast<uint8_t*>(bytes);
  // Index entries are an implicit-lifetime type: mapped pages hold them without construction.
  entries_arena_ = static_cast<mcap::MessageIndexEntry*>(entries);
  segments_ = std::make_unique<Segment[]>(segment_count_);
  for (size_t i = 0; i < segment_count_; ++i) {
    Segment& segment = segments_[i];
    segment.bytes = bytes_arena_ + i * segment_bytes_;
    segment.entries = entries_arena_ + i * entries_per_segment_;
    segment.capacity = segment_bytes_;
    segment.entry_capacity = entries_per_segment_;
  }
}

BufferPool::~BufferPool() {
  if (bytes_arena_ == nullptr) return;
#if defined(__SANITIZE_ADDRESS__)
  // Recycled segments are poisoned; a later mapping at these addresses must not inherit that.
  ASAN_UNPOISON_MEMORY_REGION(bytes_arena_, bytes_arena_size());
  ASAN_UNPOISON_MEMORY_REGION(entries_arena_, entries_arena_size());
#endif
  ::munmap(bytes_arena_, bytes_arena_size());
  ::munmap(entries_arena_, entries_arena_size());
}

size_t BufferPool::segments_for(size_t record_bytes) const {
  return std::max<size_t>(1, (record_bytes + segment_bytes_ - 1) / segment_bytes_);
}

bool BufferPool::fits_budget(size_t record_bytes) const {
  return ok() && segments_for(record_bytes) <= segment_count_;
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
    if (free_ != nullptr) {
      segment = free_;
      free_ = segment->next_free;
    } else {
      segment = &segments_[unused_++];  // < segment_count_: see in_use_
      allocated_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  mark_taken(*segment);
  segment->next_free = nullptr;
  segment->used = 0;
  segment->entry_count = 0;
  segment->refs.store(1, std::memory_order_relaxed);
  return segment;
}

void BufferPool::release(Segment* segment) {
  if (segment->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  mark_recycled(*segment);
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
