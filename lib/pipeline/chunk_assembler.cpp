#include "pipeline/chunk_assembler.hpp"

#include "pipeline/compressor_pool.hpp"

namespace mcaprec::pipeline {

int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

ChunkAssembler::ChunkAssembler(std::string name, SealContext& context, bool on_event)
    : name_(std::move(name)), context_(context), on_event_(on_event) {}

void ChunkAssembler::add_channel(ChannelQueue* queue) {
  std::lock_guard lock(mu_);
  channels_.push_back(queue);
}

void ChunkAssembler::on_appended(uint64_t bytes, bool urgent) {
  pending_.fetch_add(int64_t(bytes), std::memory_order_relaxed);
  if (oldest_ns_.load(std::memory_order_relaxed) == 0) {
    int64_t none = 0;
    oldest_ns_.compare_exchange_strong(none, steady_now_ns(), std::memory_order_relaxed);
  }
  if (urgent || full()) try_seal(urgent);
}

void ChunkAssembler::try_seal(bool force) {
  if (!context_.gate.open()) {
    context_.gate.defer();
    return;
  }
  std::unique_lock lock(mu_, std::try_to_lock);
  // Another thread is sealing this group; it checks again for a full chunk before it leaves
  // (and the scheduler would find one).
  if (!lock.owns_lock()) return;
  for (;;) {
    while (context_.gate.open() && (force || full())) {
      force = false;
      if (!seal_one_locked(false)) break;
    }
    lock.unlock();
    if (!full()) return;
    if (!context_.gate.open()) {
      context_.gate.defer();
      return;
    }
    if (!lock.try_lock()) return;
  }
}

int64_t ChunkAssembler::seal_due(int64_t now_ns) {
  const int64_t max_age = context_.max_age.count();
  int64_t oldest = oldest_ns_.load(std::memory_order_relaxed);
  bool aged = oldest != 0 && max_age > 0 && now_ns - oldest >= max_age;
  if (aged || full()) {
    if (!context_.gate.open()) {
      context_.gate.defer();
    } else {
      std::lock_guard lock(mu_);
      while (context_.gate.open() && (aged || full())) {
        aged = false;
        if (!seal_one_locked(false)) break;
      }
    }
  }
  oldest = oldest_ns_.load(std::memory_order_relaxed);
  return oldest == 0 || max_age <= 0 ? 0 : oldest + max_age;
}

void ChunkAssembler::relieve_pressure() {
  if (!context_.gate.open()) {
    context_.gate.defer();
    return;
  }
  std::lock_guard lock(mu_);
  seal_one_locked(false);
}

void ChunkAssembler::seal_all() {
  std::lock_guard lock(mu_);
  while (seal_one_locked(true)) {
  }
}

bool ChunkAssembler::seal_one_locked(bool ignore_gate) {
  if (channels_.empty()) return false;
  // The slot first: the pools hold an object for every slot, so a claimed seal never allocates.
  if (!context_.gate.claim_chunk(ignore_gate)) return false;
  oldest_ns_.store(0, std::memory_order_relaxed);
  SealedChunk* chunk = context_.chunks.acquire();
  chunk->pieces.clear();
  const uint64_t room = context_.chunk_size;
  uint64_t taken = 0;
  const size_t n = channels_.size();
  for (size_t i = 0; i < n && taken < room; ++i) {
    taken += channels_[(cursor_ + i) % n]->take(room - taken, chunk->pieces);
  }
  // Start with the next channel next time, so that a chunk that cannot take every channel's
  // messages does not always favour the same ones.
  cursor_ = (cursor_ + 1) % n;
  const int64_t left =
      pending_.fetch_sub(int64_t(taken), std::memory_order_relaxed) - int64_t(taken);
  if (left > 0) {
    // What stayed behind is at least as old as now.
    int64_t none = 0;
    oldest_ns_.compare_exchange_strong(none, steady_now_ns(), std::memory_order_relaxed);
  }
  if (taken == 0) {
    context_.chunks.recycle(chunk);
    context_.gate.unclaim_chunk();
    return false;
  }
  context_.space.notify();  // the channels' queues have room again
  chunk->record_bytes = taken;
  chunk->compression = &compression_;
  chunk->on_event = on_event_;
  chunk->seq = context_.next_seq.fetch_add(1, std::memory_order_relaxed);
  context_.gate.add(taken);
  context_.compressors.submit(chunk);
  return true;
}

}  // namespace mcaprec::pipeline
