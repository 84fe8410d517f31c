#include "pipeline/chunk_assembler.hpp"

#include "pipeline/compressor_pool.hpp"

namespace mcaprec::pipeline {

int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

ChunkAssembler::ChunkAssembler(std::string name, SealContext& context, bool on_event, bool learns)
    : name_(std::move(name)), context_(context), on_event_(on_event), learns_(learns) {}

void ChunkAssembler::add_channel(ChannelQueue* queue) {
  std::lock_guard lock(mu_);
  channels_.push_back(queue);
}

void ChunkAssembler::on_appended(uint64_t bytes, bool urgent, Lane lane) {
  pending_[lane].fetch_add(int64_t(bytes), std::memory_order_relaxed);
  if (oldest_ns_[lane].load(std::memory_order_relaxed) == 0) note_pending(lane);
  if (urgent || full(lane)) try_seal(urgent, lane);
}

void ChunkAssembler::try_seal(bool force, Lane lane) {
  if (!context_.gate.open()) {
    context_.gate.defer();
    return;
  }
  std::unique_lock lock(mu_, std::try_to_lock);
  // Another thread is sealing this group; it checks again for a full chunk before it leaves
  // (and the scheduler would find one).
  if (!lock.owns_lock()) return;
  for (;;) {
    while (context_.gate.open() && (force || full(lane))) {
      force = false;
      if (!seal_one_locked(lane, false)) break;
    }
    lock.unlock();
    if (!full(lane)) return;
    if (!context_.gate.open()) {
      context_.gate.defer();
      return;
    }
    if (!lock.try_lock()) return;
  }
}

int64_t ChunkAssembler::seal_due(int64_t now_ns) {
  int64_t due = seal_due_lane(kCompressedLane, now_ns);
  if (!learns_) return due;
  const int64_t raw_due = seal_due_lane(kRawLane, now_ns);
  if (due == 0 || (raw_due != 0 && raw_due < due)) due = raw_due;
  return due;
}

int64_t ChunkAssembler::seal_due_lane(Lane lane, int64_t now_ns) {
  const int64_t max_age = context_.max_age.count();
  int64_t oldest = oldest_ns_[lane].load(std::memory_order_relaxed);
  bool aged = oldest != 0 && max_age > 0 && now_ns - oldest >= max_age;
  if (aged || full(lane)) {
    if (!context_.gate.open()) {
      context_.gate.defer();
    } else {
      std::lock_guard lock(mu_);
      while (context_.gate.open() && (aged || full(lane))) {
        aged = false;
        if (!seal_one_locked(lane, false)) break;
      }
    }
  }
  oldest = oldest_ns_[lane].load(std::memory_order_relaxed);
  return oldest == 0 || max_age <= 0 ? 0 : oldest + max_age;
}

void ChunkAssembler::relieve_pressure() {
  if (!context_.gate.open()) {
    context_.gate.defer();
    return;
  }
  std::lock_guard lock(mu_);
  const bool raw_first = learns_ && pending_[kRawLane].load(std::memory_order_relaxed) >
                                        pending_[kCompressedLane].load(std::memory_order_relaxed);
  if (!seal_one_locked(raw_first ? kRawLane : kCompressedLane, false) && learns_) {
    seal_one_locked(raw_first ? kCompressedLane : kRawLane, false);
  }
}

void ChunkAssembler::seal_all() {
  std::lock_guard lock(mu_);
  while (seal_one_locked(kCompressedLane, true)) {
  }
  if (!learns_) return;
  while (seal_one_locked(kRawLane, true)) {
  }
}

void ChunkAssembler::update_lanes_locked() {
  for (ChannelQueue* channel : channels_) {
    const Lane wanted = channel->compression().wants_raw() ? kRawLane : kCompressedLane;
    const Lane current = channel->lane();
    if (wanted == current) continue;
    const int64_t moved = int64_t(channel->move_to_lane(wanted));
    pending_[current].fetch_sub(moved, std::memory_order_relaxed);
    pending_[wanted].fetch_add(moved, std::memory_order_relaxed);
    if (moved > 0) note_pending(wanted);
  }
}

uint64_t ChunkAssembler::take_locked(Lane lane, SealedChunk& chunk) {
  const uint64_t room = context_.chunk_size;
  uint64_t taken = 0;
  const size_t n = channels_.size();
  for (size_t i = 0; i < n && taken < room; ++i) {
    ChannelQueue* channel = channels_[(cursor_ + i) % n];
    if (channel->lane() != lane) continue;
    const size_t pieces_before = chunk.pieces.size();
    const uint64_t bytes = channel->take(room - taken, chunk.pieces);
    taken += bytes;
    if (chunk.pieces.size() == pieces_before) continue;
    const auto end = uint32_t(chunk.pieces.size());
    chunk.shares.push_back(ChannelShare{&channel->compression(), end, bytes});
    chunk.share_ends.push_back(end);
  }
  // Start with the next channel next time, so that a chunk that cannot take every channel's
  // messages does not always favour the same ones.
  cursor_ = (cursor_ + 1) % n;
  return taken;
}

bool ChunkAssembler::seal_one_locked(Lane lane, bool ignore_gate) {
  if (channels_.empty()) return false;
  if (learns_) update_lanes_locked();
  // The slot first: the pools hold an object for every slot, so a claimed seal never allocates.
  if (!context_.gate.claim_chunk(ignore_gate)) return false;
  oldest_ns_[lane].store(0, std::memory_order_relaxed);
  SealedChunk* chunk = context_.chunks.acquire();
  chunk->pieces.clear();
  chunk->shares.clear();
  chunk->share_ends.clear();
  const uint64_t taken = take_locked(lane, *chunk);
  const int64_t left =
      pending_[lane].fetch_sub(int64_t(taken), std::memory_order_relaxed) - int64_t(taken);
  if (left > 0) note_pending(lane);  // what stayed behind is at least as old as now
  if (taken == 0) {
    context_.chunks.recycle(chunk);
    context_.gate.unclaim_chunk();
    return false;
  }
  context_.space.notify();  // the channels' queues have room again
  chunk->record_bytes = taken;
  chunk->compression = &compression_;
  chunk->on_event = on_event_;
  chunk->learning = learns_;
  chunk->raw_lane = lane == kRawLane;
  chunk->probe = false;
  if (chunk->raw_lane) {
    // Every channel of the chunk counts it; one due probe tries the whole chunk.
    const int64_t now = steady_now_ns();
    for (const ChannelShare& share : chunk->shares) {
      if (share.compression->probe_due(now)) chunk->probe = true;
    }
  }
  chunk->seq = context_.next_seq.fetch_add(1, std::memory_order_relaxed);
  context_.gate.add(taken);
  context_.compressors.submit(chunk);
  return true;
}

}  // namespace mcaprec::pipeline
