#include "events/look_back_ring.hpp"

#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <unistd.h>

#include <utility>

namespace mcaprec::events {

namespace {

// Maps in the pages of a fresh buffer with one system call. Touching them one by one in the copy
// costs a page fault per 4 KiB, and on a virtual machine each fault is an exit to the host:
// perf showed those faults, not the copy, as most of the ring's cost while it fills. Best effort:
// a kernel without MADV_POPULATE_WRITE (before 5.14) faults the pages in as before. (On this VM
// the first write to a populated page still costs about half a fault: 64 MiB took 0.12-0.16 s
// to memset after it, 0.24 s unprepared; writing a byte to each page instead moved the whole
// fault here but cost more in all: 0.25-0.42 s.)
void map_in(mcap::Bytes& buffer) {
  static const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(buffer.data());
  const uintptr_t first = (begin + page - 1) & ~(page - 1);
  const uintptr_t last = (begin + buffer.capacity()) & ~(page - 1);
  if (last > first) {
    ::madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_WRITE);
  }
}

}  // namespace

LookBackRing::LookBackRing(RingLimits limits, Spool* spool)
    : limits_(limits),
      spool_(spool),
      write_through_(spool != nullptr && spool->capacity() / 4 >= limits.memory_bytes) {}

void LookBackRing::add(const mcap::EncodedChunk& chunk, bool on_event) {
  // The copy is made outside the lock (the event thread may be collecting meanwhile), into a
  // buffer of a chunk that left the ring when there is one: a fresh buffer of megabytes costs a
  // page fault per 4 KiB, several times the copy itself.
  mcap::Bytes buffer;
  {
    std::lock_guard lock(mu_);
    if (!spare_buffers_.empty()) {
      buffer = std::move(spare_buffers_.back());
      spare_buffers_.pop_back();
      spare_bytes_ -= buffer.capacity();
    }
  }
  auto copy = std::make_shared<mcap::EncodedChunk>(mcap::description_of(chunk));
  const uint64_t size = chunk.file_size();
  if (buffer.capacity() < size) {
    // Chunks of one stream differ by a few bytes: room for an eighth more lets the next ones fit.
    buffer = mcap::Bytes();
    buffer.reserve(size + size / 8);
    map_in(buffer);
  }
  // Whole: the writer gives the chunk's records back to the pipeline once it returns.
  mcap::copy_chunk_bytes(chunk, buffer);
  copy->bytes = std::move(buffer);

  std::lock_guard lock(mu_);
  Entry& entry = entries_.emplace_back();
  entry.chunk.seq = front_seq_ + entries_.size() - 1;
  entry.chunk.start = chunk.message_start_time;
  entry.chunk.end = chunk.message_end_time;
  entry.chunk.on_event = on_event;
  entry.chunk.size = size;
  entry.chunk.chunk = std::move(copy);
  memory_bytes_ += entry.chunk.size;
  largest_chunk_ = std::max(largest_chunk_, entry.chunk.size);
  newest_end_ = std::max(newest_end_, chunk.message_end_time);
  added_.fetch_add(1, std::memory_order_relaxed);
  evict_old_locked();
  // Without a spool the memory bound is hard; with one, the event thread spills beyond it, and
  // only if it falls behind by as much again are chunks let go here.
  drop_memory_locked(spool_ != nullptr ? 2 * limits_.memory_bytes : limits_.memory_bytes);
}

// Keeps the bytes buffer of an in-memory chunk leaving the ring for the next add(), unless the
// event thread still holds the chunk. Every chunk is created mutable in add(), so taking its
// buffer when the ring holds the only reference is sound.
void LookBackRing::release_locked(std::shared_ptr<const mcap::EncodedChunk>& chunk) {
  if (chunk != nullptr && chunk.use_count() == 1) {
    auto& bytes = const_cast<mcap::EncodedChunk&>(*chunk).bytes;
    // Kept while the ring and its spares stay within the twice memory_bytes it may reach anyway
    // when the event thread falls behind (at least a quarter of memory_bytes): a buffer freed
    // here is a fresh one for add() later, and the first write to fresh memory costs about 4 s
    // per GiB on this VM (a fault per 4 KiB), against 0.1 s for the copy into a reused buffer.
    const uint64_t kept = spare_bytes_ + bytes.capacity();
    if (bytes.capacity() > 0 &&
        (kept <= limits_.memory_bytes / 4 || kept + memory_bytes_ <= 2 * limits_.memory_bytes)) {
      spare_bytes_ += bytes.capacity();
      spare_buffers_.push_back(std::move(bytes));
    }
  }
  chunk.reset();
}

void LookBackRing::keep_from(mcap::Timestamp time) {
  std::lock_guard lock(mu_);
  keep_from_ = time;
}

void LookBackRing::evict_old_locked() {
  const auto look_back = static_cast<mcap::Timestamp>(limits_.look_back.count());
  while (!entries_.empty() && entries_.front().chunk.end + look_back < newest_end_ &&
         entries_.front().chunk.end < keep_from_) {
    Entry& front = entries_.front();
    if (front.where == Where::kMemory) {
      memory_bytes_ -= front.chunk.size;
      release_locked(front.chunk.chunk);
    }
    if (front.where == Where::kSpool) spool_bytes_ -= front.chunk.size;
    if (front.where != Where::kGone) evicted_.fetch_add(1, std::memory_order_relaxed);
    entries_.pop_front();
    ++front_seq_;
  }
  first_in_memory_ = std::max(first_in_memory_, front_seq_);
  first_unspooled_ = std::max(first_unspooled_, front_seq_);
}

// Lets the oldest in-memory chunks go until memory is within `bound`: to the spool alone when
// they are already written there, otherwise out of the ring (counted).
void LookBackRing::drop_memory_locked(uint64_t bound) {
  while (memory_bytes_ > bound) {
    Entry* entry = find_locked(first_in_memory_);
    if (entry == nullptr) break;
    ++first_in_memory_;
    if (entry->where != Where::kMemory) continue;
    if (entry->spool_copy) {
      keep_only_in_spool_locked(*entry);
      continue;
    }
    entry->where = Where::kGone;
    release_locked(entry->chunk.chunk);
    memory_bytes_ -= entry->chunk.size;
    not_held_.fetch_add(1, std::memory_order_relaxed);
  }
}

LookBackRing::Entry* LookBackRing::find_locked(uint64_t seq) {
  return const_cast<Entry*>(std::as_const(*this).find_locked(seq));
}

const LookBackRing::Entry* LookBackRing::find_locked(uint64_t seq) const {
  if (seq < front_seq_ || seq - front_seq_ >= entries_.size()) return nullptr;
  return &entries_[seq - front_seq_];
}

// While the ring fills, every add() needs memory never touched before, and the first write to
// each page is slow (a fault, on a VM an exit to the host): perf put it at most of the writer's
// time. Mapping the pages in here, on the event thread, keeps that off the writer. Only while
// the ring plus its spares stay within memory_bytes, and never beyond a quarter of it ahead.
void LookBackRing::prepare_spares() {
  constexpr uint64_t kBuffersAhead = 16;
  for (;;) {
    uint64_t size = 0;
    {
      std::lock_guard lock(mu_);
      size = largest_chunk_ + largest_chunk_ / 8;
      const uint64_t ahead = std::min(limits_.memory_bytes / 4, kBuffersAhead * size);
      if (size == 0 || spare_bytes_ + size > ahead) return;
      if (memory_bytes_ + spare_bytes_ + size > limits_.memory_bytes) return;
    }
    mcap::Bytes buffer;
    buffer.reserve(size);
    map_in(buffer);
    std::lock_guard lock(mu_);
    spare_bytes_ += buffer.capacity();
    spare_buffers_.push_back(std::move(buffer));
  }
}

// The in-memory chunk to write to the spool next, or null. Memory over its bound: the oldest
// in-memory chunk, unless it is already in the spool, in which case it leaves memory here, with
// no I/O (its buffer goes to add()). Memory within its bound but over seven eighths of it: the
// oldest chunk not yet written, which in steady state is the one the writer just added. perf put
// the spill at a third of the daemon's time when it wrote the oldest chunks, hundreds of MB
// after the writer touched them: the copy into the spool then reads from main memory.
LookBackRing::Entry* LookBackRing::next_to_spool_locked() {
  while (memory_bytes_ > limits_.memory_bytes) {
    Entry* entry = find_locked(first_in_memory_);
    if (entry == nullptr) return nullptr;
    if (entry->where == Where::kMemory && !entry->spool_copy) return entry;
    if (entry->where == Where::kMemory) keep_only_in_spool_locked(*entry);
    ++first_in_memory_;
  }
  if (!write_through_ || memory_bytes_ / 7 * 8 <= limits_.memory_bytes) return nullptr;
  for (;; ++first_unspooled_) {
    Entry* entry = find_locked(first_unspooled_);
    if (entry == nullptr) return nullptr;
    if (entry->where == Where::kMemory && !entry->spool_copy) return entry;
  }
}

// An in-memory chunk already written to the spool leaves memory.
void LookBackRing::keep_only_in_spool_locked(Entry& entry) {
  auto described =
      std::make_shared<const mcap::EncodedChunk>(mcap::description_of(*entry.chunk.chunk));
  release_locked(entry.chunk.chunk);
  entry.chunk.chunk = std::move(described);
  entry.chunk.spooled = true;
  entry.where = Where::kSpool;
  entry.spool_copy = false;
  memory_bytes_ -= entry.chunk.size;
  spool_bytes_ += entry.chunk.size;
}

bool LookBackRing::spill(uint64_t max_bytes) {
  prepare_spares();
  if (spool_ == nullptr) return false;
  for (uint64_t spilled_bytes = 0;;) {
    RingChunk victim;
    {
      std::lock_guard lock(mu_);
      const Entry* entry = next_to_spool_locked();
      if (entry == nullptr) return false;
      if (spilled_bytes >= max_bytes) return memory_bytes_ > limits_.memory_bytes;
      victim = entry->chunk;
    }
    // The disk write happens without the lock, so the writer thread never waits for it.
    base::Result<uint64_t> position = spool_->write(victim.chunk->bytes);
    spilled_bytes += victim.size;
    victim.chunk.reset();  // so that release_locked() may reuse its buffer
    std::lock_guard lock(mu_);
    first_unspooled_ = std::max(first_unspooled_, victim.seq + 1);
    Entry* entry = find_locked(victim.seq);
    if (!position) {
      spdlog::warn("look-back ring: {}", position.error().message);
      // Over the bound it was the oldest in memory: it goes, or the next call would retry it.
      if (entry != nullptr && entry->where == Where::kMemory &&
          memory_bytes_ > limits_.memory_bytes) {
        drop_memory_locked(memory_bytes_ - entry->chunk.size);
      }
      continue;
    }
    forget_overwritten_locked();
    spilled_.fetch_add(1, std::memory_order_relaxed);
    if (entry == nullptr || entry->where != Where::kMemory) continue;  // left meanwhile
    entry->spool_copy = true;
    entry->chunk.spool_position = *position;
  }
}

// Spooled chunks whose bytes the spool has overwritten are no longer held (or, still in memory,
// no longer have a copy there).
void LookBackRing::forget_overwritten_locked() {
  const uint64_t oldest = spool_->oldest_kept();
  for (Entry& entry : entries_) {
    // Chunks are spooled in order: the first one still on disk (or never written) ends the search.
    if (entry.where == Where::kGone) continue;
    if (entry.where == Where::kMemory && !entry.spool_copy) break;
    if (entry.chunk.spool_position >= oldest) break;
    if (entry.where == Where::kMemory) {
      entry.spool_copy = false;
      continue;
    }
    entry.where = Where::kGone;
    entry.chunk.chunk.reset();
    spool_bytes_ -= entry.chunk.size;
    not_held_.fetch_add(1, std::memory_order_relaxed);
  }
}

uint64_t LookBackRing::collect(uint64_t from_seq, mcap::Timestamp start, mcap::Timestamp end,
                               std::vector<RingChunk>& out, std::vector<uint64_t>* not_held) const {
  std::lock_guard lock(mu_);
  const uint64_t next = front_seq_ + entries_.size();
  for (uint64_t seq = std::max(from_seq, front_seq_); seq < next; ++seq) {
    const Entry& entry = entries_[seq - front_seq_];
    if (entry.chunk.end < start || entry.chunk.start > end) continue;
    if (entry.where != Where::kGone) {
      out.push_back(entry.chunk);
    } else if (not_held != nullptr) {
      not_held->push_back(seq);
    }
  }
  return next;
}

bool LookBackRing::find(uint64_t seq, RingChunk& out) const {
  std::lock_guard lock(mu_);
  const Entry* entry = find_locked(seq);
  if (entry == nullptr || entry->where == Where::kGone) return false;
  out = entry->chunk;
  return true;
}

base::Result<std::shared_ptr<const mcap::EncodedChunk>> LookBackRing::load(
    const RingChunk& chunk) const {
  if (!chunk.spooled) return chunk.chunk;
  auto whole = std::make_shared<mcap::EncodedChunk>(*chunk.chunk);
  if (base::Status s = spool_->read(chunk.spool_position, chunk.size, whole->bytes); !s) {
    return s.error();
  }
  return std::shared_ptr<const mcap::EncodedChunk>(std::move(whole));
}

uint64_t LookBackRing::next_seq() const {
  std::lock_guard lock(mu_);
  return front_seq_ + entries_.size();
}

mcap::Timestamp LookBackRing::newest_end() const {
  std::lock_guard lock(mu_);
  return newest_end_;
}

RingStats LookBackRing::stats() const {
  RingStats stats;
  {
    std::lock_guard lock(mu_);
    stats.memory_bytes = memory_bytes_;
    stats.spool_bytes = spool_bytes_;
    for (const Entry& entry : entries_) stats.chunks_held += entry.where != Where::kGone;
  }
  stats.chunks_added = added_.load(std::memory_order_relaxed);
  stats.chunks_evicted = evicted_.load(std::memory_order_relaxed);
  stats.chunks_not_held = not_held_.load(std::memory_order_relaxed);
  stats.chunks_spilled = spilled_.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace mcaprec::events
