#pragma once
// Bounds the chunks sealed but not yet written: their record bytes and their number. While
// either bound is reached, groups do not seal: messages wait in their channel queues, where the
// overflow policy applies (drop_oldest can only discard what is not sealed yet). When the writer
// frees room after a seal was deferred, the seal scheduler is woken to seal what waited.
//
// The count is a hard bound in steady state (a seal claims its slot before it takes anything),
// so that the objects a chunk needs on its way (SealedChunk, CompressedChunk, queue and reorder
// slots) can all be made at start and never allocated afterwards. Only seal_all (rotation
// requests and stop) claims past it; see ChunkAssembler::seal_all.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "pipeline/stage_stats.hpp"

namespace mcaprec::pipeline {

class InFlightGate {
 public:
  InFlightGate(uint64_t limit_bytes, uint64_t limit_chunks)
      : limit_(limit_bytes), chunk_limit_(limit_chunks) {}

  bool open() const {
    return bytes_.load(std::memory_order_relaxed) < limit_ &&
           chunks_.load(std::memory_order_relaxed) < chunk_limit_;
  }

  // Claims one chunk's slot before sealing it: false (and the seal is deferred) when the gate is
  // closed, unless `force`. Acquire pairs with release_chunk's release, so that the objects the
  // last holder of a slot recycled before releasing it are seen by the next claimer's pools.
  bool claim_chunk(bool force) {
    uint64_t chunks = chunks_.load(std::memory_order_relaxed);
    for (;;) {
      if (!force && (chunks >= chunk_limit_ || bytes_.load(std::memory_order_relaxed) >= limit_)) {
        defer();
        return false;
      }
      if (chunks_.compare_exchange_weak(chunks, chunks + 1, std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
        break;
      }
    }
    note_peak(chunks + 1);
    return true;
  }
  // A claimed slot that sealed nothing.
  void unclaim_chunk() { release_slot(); }
  // The sealed chunk's bytes, once its slot is claimed.
  void add(uint64_t bytes) { bytes_.fetch_add(bytes, std::memory_order_relaxed); }
  // A seal was skipped because the gate was closed.
  void defer() { deferred_.store(true, std::memory_order_relaxed); }

  // The chunk is written (or dropped): call after recycling its objects.
  void remove(uint64_t bytes) {
    bytes_.fetch_sub(bytes, std::memory_order_relaxed);
    release_slot();
    if (deferred_.exchange(false, std::memory_order_relaxed)) wake();
  }

  // Wakes the seal scheduler now (a deferral was resolved, or the pipeline is stopping).
  void wake() {
    {
      std::lock_guard lock(mu_);
      woken_ = true;
    }
    cv_.notify_all();
  }

  // For the seal scheduler: returns after wake() or at `deadline`.
  void wait_until(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline, [this] { return woken_; });
    woken_ = false;
  }

  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  uint64_t limit() const { return limit_; }
  uint64_t chunks() const { return chunks_.load(std::memory_order_relaxed); }
  uint64_t chunk_limit() const { return chunk_limit_; }
  // Most chunks ever in flight at once (above chunk_limit only after a forced seal).
  uint64_t peak_chunks() const { return peak_chunks_.load(std::memory_order_relaxed); }
  InFlightStats stats() const {
    return {.bytes = bytes(),
            .chunks = chunks(),
            .chunk_limit = chunk_limit_,
            .peak_chunks = peak_chunks()};
  }

 private:
  void release_slot() { chunks_.fetch_sub(1, std::memory_order_release); }
  void note_peak(uint64_t chunks) {
    uint64_t peak = peak_chunks_.load(std::memory_order_relaxed);
    while (chunks > peak &&
           !peak_chunks_.compare_exchange_weak(peak, chunks, std::memory_order_relaxed)) {
    }
  }

  const uint64_t limit_;
  const uint64_t chunk_limit_;
  // Record bytes of the chunks sealed and not yet written: soft bound, a seal that found it
  // under limit_ may take it over by up to one chunk.
  std::atomic<uint64_t> bytes_{0};
  // Chunks claimed and not yet released: <= chunk_limit_ unless a forced claim went past it.
  std::atomic<uint64_t> chunks_{0};
  std::atomic<uint64_t> peak_chunks_{0};
  std::atomic<bool> deferred_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;  // guarded by mu_
};

}  // namespace mcaprec::pipeline
