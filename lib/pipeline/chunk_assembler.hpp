#pragma once
// One per chunk group: decides when the group's open chunk is sealed and seals it. A chunk is
// sealed when the group's unsealed bytes reach chunk_size, when its oldest unsealed message
// reaches chunk_max_age (checked by the seal scheduler), when a channel's queue is half full,
// or when a blocked producer needs room; but only while the in-flight gate is open. Sealing
// takes the oldest unsealed messages of the group's channels, up to chunk_size, as segment
// ranges (no copy), numbers the chunk N in seal order, and hands it to the compressor pool.
//
// A learning group (the shared default group) has two lanes, each with its own pending bytes
// and age: channels whose data compresses fill the compressed lane's chunks, channels whose
// data does not (ChannelCompression decides) the raw lane's, which are stored without an
// attempt. A channel changes lanes at a seal of its group; its unsealed bytes move with it.
// Other groups use the compressed lane only.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/channel_queue.hpp"
#include "pipeline/compression_choice.hpp"
#include "pipeline/in_flight_gate.hpp"
#include "pipeline/recycling_pool.hpp"
#include "pipeline/sealed_chunk.hpp"
#include "pipeline/space_signal.hpp"

namespace mcaprec::pipeline {

class CompressorPool;

int64_t steady_now_ns();

// What every group shares.
struct SealContext {
  uint64_t chunk_size = 0;
  std::chrono::nanoseconds max_age{0};
  InFlightGate& gate;
  RecyclingPool<SealedChunk>& chunks;
  std::atomic<uint64_t>& next_seq;  // N of the next chunk sealed by any group
  CompressorPool& compressors;
  SpaceSignal& space;  // sealing frees queue bytes: wakes blocked producers
};

class ChunkAssembler {
 public:
  // `on_event`: the group's chunks hold on-event channels only (they go to the look-back ring,
  // not to the continuous files).
  // `learns`: the group's channels decide for themselves whether they are compressed.
  ChunkAssembler(std::string name, SealContext& context, bool on_event = false,
                 bool learns = false);
  ChunkAssembler(const ChunkAssembler&) = delete;
  ChunkAssembler& operator=(const ChunkAssembler&) = delete;

  const std::string& name() const { return name_; }
  bool on_event() const { return on_event_; }
  bool learns() const { return learns_; }
  void add_channel(ChannelQueue* queue);

  // From producers, outside their channel's lock; `lane` is the channel's lane when the bytes
  // were appended (read under its lock).
  void on_appended(uint64_t bytes, bool urgent, Lane lane = kCompressedLane);
  void on_discarded(uint64_t bytes, Lane lane = kCompressedLane) {
    pending_[lane].fetch_sub(int64_t(bytes), std::memory_order_relaxed);
  }
  // A blocked producer needs room: seal at least once (its channel's lane), if the gate allows.
  void request_seal(Lane lane = kCompressedLane) { try_seal(true, lane); }

  // From the seal scheduler: seals a chunk that is full (its seal was deferred) or too old.
  // Returns the steady-clock time in ns when the group's oldest message comes of age
  // (0 when nothing is pending).
  int64_t seal_due(int64_t now_ns);
  // Seals everything pending, ignoring the gate (rotation requests and stop): everything pushed
  // before must reach the file (before the rotation). It may put more chunks in flight than the
  // gate's chunk limit; the recycling pools then make the extra objects (allocation, once, off
  // the steady path) and keep them.
  void seal_all();
  // Memory is short: seals one chunk of whatever is pending (also letting idle channels'
  // segments go), if the gate allows.
  void relieve_pressure();
  // Wakes the seal scheduler at once (it looks at memory pressure and deferred seals).
  void wake_scheduler() { context_.gate.wake(); }

  // Whether `more` bytes appended now would fill a chunk (on_appended would seal).
  bool fills_chunk(uint64_t more, Lane lane = kCompressedLane) const {
    return pending_[lane].load(std::memory_order_relaxed) + int64_t(more) >=
           int64_t(context_.chunk_size);
  }

  CompressionChoice& compression() { return compression_; }
  int64_t pending_bytes() const {
    return pending_[kCompressedLane].load(std::memory_order_relaxed) +
           pending_[kRawLane].load(std::memory_order_relaxed);
  }

 private:
  void try_seal(bool force, Lane lane);
  bool full(Lane lane) const {
    return pending_[lane].load(std::memory_order_relaxed) >= int64_t(context_.chunk_size);
  }
  // Seals one chunk of `lane`; false when nothing was pending or (unless `ignore_gate`) the
  // gate is closed. Call with mu_ held.
  bool seal_one_locked(Lane lane, bool ignore_gate);
  // Seals the lane while it is full or aged; returns the lane's next due time (see seal_due).
  int64_t seal_due_lane(Lane lane, int64_t now_ns);
  // Moves channels whose compression decision changed to their new lane. Call with mu_ held.
  void update_lanes_locked();
  // Takes the lane's channels' oldest messages into `chunk`; returns the record bytes taken.
  uint64_t take_locked(Lane lane, SealedChunk& chunk);
  void note_pending(Lane lane) {
    int64_t none = 0;
    oldest_ns_[lane].compare_exchange_strong(none, steady_now_ns(), std::memory_order_relaxed);
  }

  const std::string name_;
  SealContext& context_;
  const bool on_event_;
  const bool learns_;
  CompressionChoice compression_;

  // Per lane: unsealed record bytes of the group's channels. Producers add after appending and
  // sealing subtracts what it took, so it can be briefly negative.
  std::array<std::atomic<int64_t>, kLaneCount> pending_{};
  // Per lane: steady-clock ns of the oldest unsealed message, 0 when none. Sealing clears it
  // before it takes from the channels: a message it misses was pushed after the clear and set
  // it again.
  std::array<std::atomic<int64_t>, kLaneCount> oldest_ns_{};

  std::mutex mu_;                        // serializes seals
  std::vector<ChannelQueue*> channels_;  // guarded by mu_
  size_t cursor_ = 0;                    // guarded by mu_; first channel asked, rotating
};

}  // namespace mcaprec::pipeline
