#pragma once
// What happened to each channel's messages, counted where it happened and nowhere else:
// - ChannelCounters, in each channel's queue: every push (`received`) and the drops before a
//   message is sealed into a chunk (queue full, memory budget, too large, stopped);
// - WrittenCounts, one table the pipeline owns: what the ordered writer made of sealed
//   messages, `written` or dropped after sealing (write_error, stopped when the drain was cut,
//   no_space). The writer publishes into it and never touches a queue, so counts flow one way.
// - ChannelCounters also holds what was deliberately not recorded (`not_recorded`, by
//   NotRecordedReason: a pause), decided at push() and never a drop.
// Every message pushed is counted once in `received` and once more, in `written`, in one
// `not_recorded` reason or in one `dropped` reason of either place; read_channel_counts() adds
// them up. So after stop(), received == written + sum(not_recorded) + sum(dropped); before,
// the difference is what is still in flight.
// Counters only ever grow; relaxed atomics suffice because nobody orders other data by them.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "pipeline/drop_reason.hpp"
#include "pipeline/not_recorded_reason.hpp"

namespace mcaprec::pipeline {

using DropCounts = std::array<std::atomic<uint64_t>, kDropReasonCount>;
using NotRecordedCounts = std::array<std::atomic<uint64_t>, kNotRecordedReasonCount>;

inline void count_drop(DropCounts& dropped, DropReason reason, uint64_t messages) {
  dropped[static_cast<size_t>(reason)].fetch_add(messages, std::memory_order_relaxed);
}

struct ChannelCounters {
  std::atomic<uint64_t> received{0};        // push() calls, accepted or not
  std::atomic<uint64_t> received_bytes{0};  // their payload bytes
  DropCounts dropped{};                     // before sealing
  NotRecordedCounts not_recorded{};         // by request (paused), never queued

  void count_drop(DropReason reason, uint64_t messages = 1) {
    pipeline::count_drop(dropped, reason, messages);
  }
  // A push that was not recorded on purpose: received, and accounted for here.
  void count_not_recorded(NotRecordedReason reason, uint64_t messages, uint64_t payload_bytes) {
    received.fetch_add(messages, std::memory_order_relaxed);
    received_bytes.fetch_add(payload_bytes, std::memory_order_relaxed);
    not_recorded[static_cast<size_t>(reason)].fetch_add(messages, std::memory_order_relaxed);
  }
};

// The writer's counts for one channel.
struct WrittenChannelCounts {
  std::atomic<uint64_t> written{0};  // messages in chunks appended to a file
  // Latched messages written again at the start of a later file: not in `written`, so that
  // received == written + not recorded + dropped still holds.
  std::atomic<uint64_t> relatched{0};
  DropCounts dropped{};  // after sealing

  void count_drop(DropReason reason, uint64_t messages) {
    pipeline::count_drop(dropped, reason, messages);
  }
};

// One WrittenChannelCounts per file-wide channel id, found without a lock: the writer looks up
// every channel of every chunk. Slots are made in blocks when channels are declared, so
// looking up and counting never allocate.
class WrittenCounts {
 public:
  WrittenCounts() = default;
  ~WrittenCounts() {
    for (std::atomic<Block*>& block : blocks_) delete block.load(std::memory_order_relaxed);
  }
  WrittenCounts(const WrittenCounts&) = delete;
  WrittenCounts& operator=(const WrittenCounts&) = delete;

  // Makes the slot of a channel id, before any message of it can be pushed. Callers serialize
  // (the registry declares under its lock).
  void add(uint16_t id) {
    std::atomic<Block*>& block = blocks_[id / kBlockSlots];
    if (block.load(std::memory_order_acquire) == nullptr) {
      block.store(new Block(), std::memory_order_release);
    }
  }
  // Null for an id never added.
  WrittenChannelCounts* find(uint16_t id) const {
    Block* block = blocks_[id / kBlockSlots].load(std::memory_order_acquire);
    return block == nullptr ? nullptr : &(*block)[id % kBlockSlots];
  }

 private:
  static constexpr size_t kBlockSlots = 256;
  using Block = std::array<WrittenChannelCounts, kBlockSlots>;
  std::array<std::atomic<Block*>, (size_t{UINT16_MAX} + 1) / kBlockSlots> blocks_{};
};

// One channel's counts as stats and `mcaprec.stats` report them: the queue's and the writer's.
struct ChannelCountsSnapshot {
  uint64_t received = 0;
  uint64_t received_bytes = 0;
  uint64_t written = 0;
  std::array<uint64_t, kDropReasonCount> dropped{};
  std::array<uint64_t, kNotRecordedReasonCount> not_recorded{};
  uint64_t relatched = 0;
};

inline ChannelCountsSnapshot read_channel_counts(const ChannelCounters& queue,
                                                 const WrittenChannelCounts* writer) {
  ChannelCountsSnapshot counts;
  counts.received = queue.received.load(std::memory_order_relaxed);
  counts.received_bytes = queue.received_bytes.load(std::memory_order_relaxed);
  for (size_t r = 0; r < kDropReasonCount; ++r) {
    counts.dropped[r] = queue.dropped[r].load(std::memory_order_relaxed);
  }
  for (size_t r = 0; r < kNotRecordedReasonCount; ++r) {
    counts.not_recorded[r] = queue.not_recorded[r].load(std::memory_order_relaxed);
  }
  if (writer == nullptr) return counts;
  counts.written = writer->written.load(std::memory_order_relaxed);
  counts.relatched = writer->relatched.load(std::memory_order_relaxed);
  for (size_t r = 0; r < kDropReasonCount; ++r) {
    counts.dropped[r] += writer->dropped[r].load(std::memory_order_relaxed);
  }
  return counts;
}

}  // namespace mcaprec::pipeline
