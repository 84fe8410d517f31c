#pragma once
// One channel's queue: the messages pushed but not yet sealed into a chunk, already serialized
// as Message records (the one copy of the payload) in pooled segments, with their index
// entries. It owns the bound on those bytes (queue_bytes), the overflow policy, and the drop
// counters of its channel.
//
// Several producers may push to one channel: a mutex serializes them, and its critical section
// is a bounds check and a memcpy (plus, rarely, taking a segment from the pool). Sealing (the
// group's assembler) takes the oldest unsealed messages as ranges of segments, without copying.
//
// A record larger than a segment is written across a chain of fresh segments: the head holds
// its index entry and the first bytes, each continuation only bytes, and the last one takes no
// further messages. Its segments are taken into one chunk together and discarded together, so
// a chunk never holds part of a message.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "mcap/records.hpp"
#include "pipeline/buffer_pool.hpp"
#include "pipeline/channel_compression.hpp"
#include "pipeline/channel_counters.hpp"
#include "pipeline/outgoing_message.hpp"
#include "pipeline/overflow_policy.hpp"
#include "pipeline/push_result.hpp"
#include "pipeline/reserved_record.hpp"
#include "pipeline/ring.hpp"
#include "pipeline/space_signal.hpp"

namespace mcaprec::pipeline {

class ChunkAssembler;

// A range of one segment handed to a sealed chunk, holding one ref on the segment.
struct SealedPiece {
  Segment* segment = nullptr;
  size_t byte_begin = 0;  // [byte_begin, byte_end) of segment->bytes
  size_t byte_end = 0;
  uint32_t entry_begin = 0;  // [entry_begin, entry_end) of segment->entries
  uint32_t entry_end = 0;
  uint16_t channel_id = 0;
};

struct ChannelQueueConfig {
  uint16_t channel_id = 0;
  uint64_t queue_bytes = 0;  // bound on unsealed record bytes
  OverflowPolicy overflow = OverflowPolicy::kDropNewest;
};

class ChannelQueue {
 public:
  // `accepting` turns false when the pipeline stops; `group` is told about appended bytes.
  // `learns`: the channel decides for itself whether its data is compressed (its group is the
  // shared default group), following `learning`.
  ChannelQueue(ChannelQueueConfig config, BufferPool& pool, SpaceSignal& space,
               const std::atomic<bool>& accepting, ChunkAssembler& group,
               const CompressionLearning& learning = {}, bool learns = false);
  ~ChannelQueue();
  ChannelQueue(const ChannelQueue&) = delete;
  ChannelQueue& operator=(const ChannelQueue&) = delete;

  // From any thread. Serializes the Message record into the queue or drops it (see PushResult).
  PushResult push(mcap::Timestamp log_time, mcap::Timestamp publish_time, uint32_t sequence,
                  mcap::ByteView payload);
  // The same without waiting: where push() would wait (a block-policy channel without room),
  // returns nullopt and counts nothing, after asking for a seal so that room comes.
  std::optional<PushResult> try_push(mcap::Timestamp log_time, mcap::Timestamp publish_time,
                                     uint32_t sequence, mcap::ByteView payload);

  // push() for each message in order, with the same outcomes and counts, but the lock taken
  // once per run of messages and the counters and the group told once per run. A run ends
  // where a single push would have asked for a seal (the group fills a chunk, the queue is half
  // full, a drop for room) or would wait (block policy), so that sealing happens as it would.
  BatchPushResult push_batch(std::span<const OutgoingMessage> messages);

  // A record of `payload_size` bytes whose payload the caller writes in place
  // (reserved_record.hpp), only when there is room now: never discards, waits or counts. False
  // when not (then the caller pushes the message as usual).
  bool reserve(size_t payload_size, ReservedRecord& out);
  // Queues a filled reservation as the channel's newest message, counted as a push. Never
  // waits; drops (kStopped) only when the pipeline stopped meanwhile.
  PushResult commit(ReservedRecord& record, mcap::Timestamp log_time, mcap::Timestamp publish_time,
                    uint32_t sequence);
  // For ReservedRecord::cancel().
  void cancel(ReservedRecord& record);

  // For the group's assembler only (under its seal lock): moves the oldest unsealed messages,
  // about `room` bytes of records and at least one message if there is one, into `out`.
  // Returns the record bytes moved.
  uint64_t take(uint64_t room, std::vector<SealedPiece>& out);

  // Returns once no push is between its `accepting` check and its append. Called by stop()
  // after `accepting` turned false: from then on nothing is appended.
  void quiesce() { std::lock_guard lock(mu_); }

  // The group lane the channel's unsealed bytes count in (see ChunkAssembler). Changed only by
  // the assembler, under its seal lock and this channel's lock; returns the unsealed bytes
  // that move with it.
  Lane lane() const { return lane_.load(std::memory_order_relaxed); }
  uint64_t move_to_lane(Lane lane) {
    std::lock_guard lock(mu_);
    lane_.store(lane, std::memory_order_relaxed);
    return unsealed_.load(std::memory_order_relaxed);
  }
  ChannelCompression& compression() { return compression_; }
  const ChannelCompression& compression() const { return compression_; }

  uint16_t channel_id() const { return config_.channel_id; }
  const ChannelQueueConfig& config() const { return config_; }
  uint64_t unsealed_bytes() const { return unsealed_.load(std::memory_order_relaxed); }
  const ChannelCounters& counters() const { return counters_; }
  // Messages the pipeline decided not to record (a pause): counted, never queued.
  void count_not_recorded(NotRecordedReason reason, uint64_t messages, uint64_t payload_bytes) {
    counters_.count_not_recorded(reason, messages, payload_bytes);
  }

 private:
  // The unsealed messages of one segment: [byte_begin, segment->used), entries
  // [entry_begin, segment->entry_count). The channel holds one ref per run. Only the last run
  // (the segment appended to) may be empty, and a continuation is never the first run: it is
  // taken and discarded with the head before it.
  struct Run {
    Segment* segment = nullptr;
    size_t byte_begin = 0;
    uint32_t entry_begin = 0;
    bool continuation = false;  // holds the rest of the previous run's last record; closed

    bool empty() const { return byte_begin == segment->used; }
  };
  std::optional<PushResult> push_or_refuse(mcap::Timestamp log_time, mcap::Timestamp publish_time,
                                           uint32_t sequence, mcap::ByteView payload,
                                           bool may_wait);
  enum class Room { kYes, kQueueFull, kNoMemory };
  static DropReason drop_reason(Room room) {
    return room == Room::kQueueFull ? DropReason::kQueueFull : DropReason::kMemoryBudget;
  }
  // What counts against queue_bytes: the unsealed records and the reserved ones (they will be
  // queued without asking again).
  uint64_t queued_locked() const { return unsealed_.load(std::memory_order_relaxed) + reserved_; }
  // A record the queue or the memory budget could never hold.
  bool too_large(size_t record_bytes) const {
    return record_bytes > config_.queue_bytes || !pool_.fits_budget(record_bytes);
  }
  // Half a queue waiting for the group to fill a chunk is enough: seal now, so that a
  // chunk_size larger than this queue cannot make it overflow.
  bool half_full_locked() const {
    return unsealed_.load(std::memory_order_relaxed) >= config_.queue_bytes / 2;
  }
  // Appends the message if there is room now, made as the policy allows (drop_oldest discards
  // older messages); otherwise says why not. Never waits.
  Room append_if_room_locked(const OutgoingMessage& message, size_t record_bytes);
  // kYes with `fresh_segments` reserved in the pool (0: the record fits the current segment).
  Room make_room_locked(size_t record_bytes, bool may_discard, size_t& fresh_segments);
  void append_locked(const OutgoingMessage& message, size_t record_bytes, size_t fresh_segments);
  // drop_oldest: discards oldest unsealed messages until `bytes` are freed (or none is left).
  void discard_oldest_locked(uint64_t bytes, DropReason reason);
  // Discards the first run's first message (with its continuations); returns its record size.
  uint64_t discard_front_message_locked();
  // drop_oldest under memory pressure: discards the oldest messages up to and including those
  // of the oldest segment only this channel holds, so that memory really returns. False when
  // no segment would be freed (then nothing is discarded).
  bool discard_segment_locked();
  void release_front_run_locked();

  const ChannelQueueConfig config_;
  BufferPool& pool_;
  SpaceSignal& space_;
  const std::atomic<bool>& accepting_;
  ChunkAssembler& group_;
  ChannelCounters counters_;
  ChannelCompression compression_;
  // Read under mu_ wherever bytes are counted into the group, so that each byte is counted in
  // the lane it was appended in (move_to_lane moves what was counted before).
  std::atomic<Lane> lane_{kCompressedLane};

  std::mutex mu_;
  Ring<Run> runs_;                     // guarded by mu_; oldest first
  uint64_t reserved_ = 0;              // guarded by mu_: record bytes reserved, not committed
  bool pushed_since_take_ = false;     // guarded by mu_
  std::atomic<uint64_t> unsealed_{0};  // written under mu_; read anywhere for statistics
};

// Writes the 31-byte start of a Message record (prefix and fixed fields) at `at`; the payload
// follows it. Same bytes as mcap::append_message_header, into a buffer that must not grow.
void store_message_header(uint8_t* at, uint16_t channel_id, uint32_t sequence,
                          mcap::Timestamp log_time, mcap::Timestamp publish_time,
                          uint64_t data_size);

}  // namespace mcaprec::pipeline
