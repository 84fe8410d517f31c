#include "pipeline/channel_queue.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>

#include "mcap/bytes.hpp"
#include "pipeline/chunk_assembler.hpp"

namespace mcaprec::pipeline {

namespace {

constexpr size_t kMessageRecordOverhead = mcap::kRecordPrefixSize + mcap::kMessageHeaderSize;
// A blocked producer re-checks at least this often even if no wake-up reaches it.
constexpr std::chrono::milliseconds kBlockRecheck{20};

// Size of the serialized Message record starting at `record`, prefix included.
uint64_t record_size_at(const uint8_t* record) {
  return mcap::kRecordPrefixSize + mcap::load_le<uint64_t>(record + 1);
}

}  // namespace

void store_message_header(uint8_t* at, uint16_t channel_id, uint32_t sequence,
                          mcap::Timestamp log_time, mcap::Timestamp publish_time,
                          uint64_t data_size) {
  at[0] = static_cast<uint8_t>(mcap::Opcode::kMessage);
  mcap::store_le<uint64_t>(at + 1, mcap::kMessageHeaderSize + data_size);
  mcap::store_le(at + 9, channel_id);
  mcap::store_le(at + 11, sequence);
  mcap::store_le(at + 15, log_time);
  mcap::store_le(at + 23, publish_time);
}

ChannelQueue::ChannelQueue(ChannelQueueConfig config, BufferPool& pool, SpaceSignal& space,
                           const std::atomic<bool>& accepting, ChunkAssembler& group,
                           const CompressionLearning& learning, bool learns)
    : config_(config),
      pool_(pool),
      space_(space),
      accepting_(accepting),
      group_(group),
      compression_(learning, learns) {
  // Runs for a full queue of partly filled segments, so that the ring does not grow in steady
  // state; never more than the segments the budget holds.
  runs_.reserve(std::min<uint64_t>(2 * config_.queue_bytes / pool_.segment_bytes() + 8,
                                   pool_.segment_count() + 1));
}

ChannelQueue::~ChannelQueue() {
  std::lock_guard lock(mu_);
  while (!runs_.empty()) release_front_run_locked();
}

PushResult ChannelQueue::push(mcap::Timestamp log_time, mcap::Timestamp publish_time,
                              uint32_t sequence, mcap::ByteView payload) {
  return *push_or_refuse(log_time, publish_time, sequence, payload, true);
}

std::optional<PushResult> ChannelQueue::try_push(mcap::Timestamp log_time,
                                                 mcap::Timestamp publish_time, uint32_t sequence,
                                                 mcap::ByteView payload) {
  return push_or_refuse(log_time, publish_time, sequence, payload, false);
}

std::optional<PushResult> ChannelQueue::push_or_refuse(mcap::Timestamp log_time,
                                                       mcap::Timestamp publish_time,
                                                       uint32_t sequence, mcap::ByteView payload,
                                                       bool may_wait) {
  const OutgoingMessage message{log_time, publish_time, sequence, payload};
  const size_t record_bytes = kMessageRecordOverhead + payload.size();
  PushResult result = PushResult::accepted();
  bool urgent = false;
  Lane appended_lane = kCompressedLane;
  if (too_large(record_bytes)) {
    result = PushResult::dropped(DropReason::kTooLarge);
  } else {
    bool waiting = false;
    std::unique_lock lock(mu_);
    for (;;) {
      // Read before checking for room, so that room made after the check wakes us.
      const uint64_t seen = waiting ? space_.generation() : 0;
      if (!accepting_.load(std::memory_order_acquire)) {
        result = PushResult::dropped(DropReason::kStopped);
        break;
      }
      const Room room = append_if_room_locked(message, record_bytes);
      if (room == Room::kYes) {
        urgent = half_full_locked();
        appended_lane = lane_.load(std::memory_order_relaxed);
        break;
      }
      if (config_.overflow != OverflowPolicy::kBlock) {
        result = PushResult::dropped(drop_reason(room));
        break;
      }
      if (!may_wait) {
        lock.unlock();
        group_.request_seal(lane());  // the caller comes back later: make sure room is coming
        return std::nullopt;
      }
      if (!waiting) {
        space_.enter();
        waiting = true;
        continue;  // check again with a generation in hand
      }
      lock.unlock();
      group_.request_seal(lane());  // sealing frees queue bytes now and memory once compressed
      space_.wait(seen, kBlockRecheck);
      lock.lock();
    }
    lock.unlock();
    if (waiting) space_.leave();
  }
  // Counted with the outcome, so that a snapshot never sees a message received but neither
  // queued nor dropped.
  counters_.received.fetch_add(1, std::memory_order_relaxed);
  counters_.received_bytes.fetch_add(payload.size(), std::memory_order_relaxed);
  if (!result.ok()) {
    counters_.count_drop(result.reason());
    // A full queue or budget is only freed by sealing: make sure one is coming (cheap when
    // the in-flight gate is closed anyway).
    if (result.reason() == DropReason::kQueueFull || result.reason() == DropReason::kMemoryBudget) {
      group_.request_seal(lane());
    }
    return result;
  }
  group_.on_appended(record_bytes, urgent, appended_lane);
  return result;
}

BatchPushResult ChannelQueue::push_batch(std::span<const OutgoingMessage> messages) {
  BatchPushResult result;
  size_t next = 0;
  while (next < messages.size()) {
    // One run: what push() would do for each message, under one lock, counted at its end.
    uint64_t received = 0;
    uint64_t received_bytes = 0;
    uint64_t appended_bytes = 0;
    std::array<uint64_t, kDropReasonCount> drops{};
    bool urgent = false;
    bool seal_for_room = false;
    bool must_wait = false;
    Lane appended_lane = kCompressedLane;
    {
      std::lock_guard lock(mu_);
      appended_lane = lane_.load(std::memory_order_relaxed);
      while (next < messages.size()) {
        const OutgoingMessage& message = messages[next];
        const size_t record_bytes = kMessageRecordOverhead + message.payload.size();
        DropReason reason = DropReason::kTooLarge;
        if (!too_large(record_bytes)) {
          if (!accepting_.load(std::memory_order_acquire)) {
            reason = DropReason::kStopped;
          } else {
            const Room room = append_if_room_locked(message, record_bytes);
            if (room == Room::kYes) {
              ++next;
              ++received;
              received_bytes += message.payload.size();
              ++result.accepted;
              result.accepted_bytes += message.payload.size();
              appended_bytes += record_bytes;
              urgent = half_full_locked();
              // Where push() would seal, end the run so that the seal can take the messages.
              if (urgent || group_.fills_chunk(appended_bytes, appended_lane)) break;
              continue;
            }
            if (config_.overflow == OverflowPolicy::kBlock) {
              must_wait = true;  // push() waits for this one, outside the run
              break;
            }
            reason = drop_reason(room);
            seal_for_room = true;
          }
        }
        ++next;
        ++received;
        received_bytes += message.payload.size();
        ++drops[static_cast<size_t>(reason)];
        if (seal_for_room) break;
      }
    }
    counters_.received.fetch_add(received, std::memory_order_relaxed);
    counters_.received_bytes.fetch_add(received_bytes, std::memory_order_relaxed);
    for (size_t reason = 0; reason < kDropReasonCount; ++reason) {
      if (drops[reason] != 0) counters_.count_drop(static_cast<DropReason>(reason), drops[reason]);
    }
    if (appended_bytes != 0) group_.on_appended(appended_bytes, urgent, appended_lane);
    if (seal_for_room) group_.request_seal(lane());
    if (must_wait) {
      const OutgoingMessage& message = messages[next++];
      if (push(message.log_time, message.publish_time, message.sequence, message.payload).ok()) {
        ++result.accepted;
        result.accepted_bytes += message.payload.size();
      }
    }
  }
  return result;
}

ChannelQueue::Room ChannelQueue::append_if_room_locked(const OutgoingMessage& message,
                                                       size_t record_bytes) {
  size_t fresh_segments = 0;
  const Room room = make_room_locked(record_bytes, config_.overflow == OverflowPolicy::kDropOldest,
                                     fresh_segments);
  if (room == Room::kYes) {
    append_locked(message, record_bytes, fresh_segments);
  }
  return room;
}

ChannelQueue::Room ChannelQueue::make_room_locked(size_t record_bytes, bool may_discard,
                                                  size_t& fresh_segments) {
  const uint64_t queued = queued_locked();
  if (queued + record_bytes > config_.queue_bytes) {
    if (!may_discard) return Room::kQueueFull;
    discard_oldest_locked(queued + record_bytes - config_.queue_bytes, DropReason::kQueueFull);
  }
  const size_t needed = pool_.segments_for(record_bytes);
  for (;;) {
    if (!runs_.empty() && !runs_.back().continuation &&
        runs_.back().segment->has_room(record_bytes)) {
      fresh_segments = 0;
      return Room::kYes;
    }
    if (pool_.try_reserve(needed)) {
      // The old segment stays only while it has unsealed messages (the run keeps them).
      if (!runs_.empty() && runs_.back().empty()) {
        pool_.release(runs_.back().segment);
        runs_.pop_back();
      }
      fresh_segments = needed;
      return Room::kYes;
    }
    if (!may_discard || !discard_segment_locked()) {
      // Other groups' unsealed messages may be what holds the memory.
      if (pool_.note_pressure()) group_.wake_scheduler();
      return Room::kNoMemory;
    }
  }
}

void ChannelQueue::append_locked(const OutgoingMessage& message, size_t record_bytes,
                                 size_t fresh_segments) {
  const mcap::ByteView payload = message.payload;
  if (fresh_segments > 0) runs_.push_back(Run{pool_.take_reserved()});
  Segment* segment = runs_.back().segment;
  uint8_t* at = segment->bytes + segment->used;
  store_message_header(at, config_.channel_id, message.sequence, message.log_time,
                       message.publish_time, payload.size());
  segment->entries[segment->entry_count++] =
      mcap::MessageIndexEntry{config_.channel_id, message.log_time, segment->used};
  // The payload fills this segment, then (a chain) each further fresh segment in turn.
  size_t copied =
      std::min(payload.size(), segment->capacity - segment->used - kMessageRecordOverhead);
  if (copied > 0) std::memcpy(at + kMessageRecordOverhead, payload.data(), copied);
  segment->used += kMessageRecordOverhead + copied;
  for (size_t i = 1; i < fresh_segments; ++i) {
    Segment* next = pool_.take_reserved();
    const size_t part = std::min(payload.size() - copied, next->capacity);
    std::memcpy(next->bytes, payload.data() + copied, part);
    next->used = part;
    copied += part;
    runs_.push_back(Run{next, 0, 0, true});
  }
  unsealed_.store(unsealed_.load(std::memory_order_relaxed) + record_bytes,
                  std::memory_order_relaxed);
  pushed_since_take_ = true;
}

bool ChannelQueue::reserve(size_t payload_size, ReservedRecord& out) {
  const size_t record_bytes = kMessageRecordOverhead + payload_size;
  if (too_large(record_bytes)) return false;
  const size_t count = pool_.segments_for(record_bytes);
  {
    std::lock_guard lock(mu_);
    if (!accepting_.load(std::memory_order_acquire) ||
        queued_locked() + record_bytes > config_.queue_bytes || !pool_.try_reserve(count)) {
      return false;
    }
    reserved_ += record_bytes;
  }
  out.cancel();
  out.queue_ = this;
  out.payload_size_ = payload_size;
  // The same layout as append_locked() gives a record starting a fresh segment.
  size_t left = payload_size;
  for (size_t i = 0; i < count; ++i) {
    Segment* segment = pool_.take_reserved();
    const size_t at = i == 0 ? kMessageRecordOverhead : 0;
    const size_t part = std::min(left, segment->capacity - at);
    segment->used = at + part;
    out.segments_.push_back(segment);
    out.pieces_.emplace_back(segment->bytes + at, part);
    left -= part;
  }
  return true;
}

PushResult ChannelQueue::commit(ReservedRecord& record, mcap::Timestamp log_time,
                                mcap::Timestamp publish_time, uint32_t sequence) {
  const size_t payload_size = record.payload_size_;
  const size_t record_bytes = kMessageRecordOverhead + payload_size;
  bool stopped = false;
  bool urgent = false;
  Lane appended_lane = kCompressedLane;
  {
    std::lock_guard lock(mu_);
    stopped = !accepting_.load(std::memory_order_acquire);
    if (!stopped) {
      reserved_ -= record_bytes;
      Segment* head = record.segments_.front();
      store_message_header(head->bytes, config_.channel_id, sequence, log_time, publish_time,
                           payload_size);
      head->entries[0] = mcap::MessageIndexEntry{config_.channel_id, log_time, 0};
      head->entry_count = 1;
      // As in make_room_locked(): the current segment stays only while it has messages.
      if (!runs_.empty() && runs_.back().empty()) {
        pool_.release(runs_.back().segment);
        runs_.pop_back();
      }
      runs_.push_back(Run{head});
      for (size_t i = 1; i < record.segments_.size(); ++i) {
        runs_.push_back(Run{record.segments_[i], 0, 0, true});
      }
      unsealed_.store(unsealed_.load(std::memory_order_relaxed) + record_bytes,
                      std::memory_order_relaxed);
      pushed_since_take_ = true;
      urgent = half_full_locked();
      appended_lane = lane_.load(std::memory_order_relaxed);
    }
  }
  counters_.received.fetch_add(1, std::memory_order_relaxed);
  counters_.received_bytes.fetch_add(payload_size, std::memory_order_relaxed);
  if (stopped) {
    record.cancel();
    counters_.count_drop(DropReason::kStopped);
    return PushResult::dropped(DropReason::kStopped);
  }
  record.reset();  // its segments belong to the runs now
  group_.on_appended(record_bytes, urgent, appended_lane);
  return PushResult::accepted();
}

void ChannelQueue::cancel(ReservedRecord& record) {
  {
    std::lock_guard lock(mu_);
    reserved_ -= kMessageRecordOverhead + record.payload_size_;
  }
  for (Segment* segment : record.segments_) pool_.release(segment);
}

void ChannelQueue::discard_oldest_locked(uint64_t bytes, DropReason reason) {
  uint64_t freed = 0;
  uint64_t messages = 0;
  while (freed < bytes && !runs_.empty()) {
    if (runs_.front().empty()) {
      if (runs_.size() == 1) break;
      release_front_run_locked();
      continue;
    }
    freed += discard_front_message_locked();
    ++messages;
  }
  while (runs_.size() > 1 && runs_.front().empty()) release_front_run_locked();
  if (messages == 0) return;
  unsealed_.store(unsealed_.load(std::memory_order_relaxed) - freed, std::memory_order_relaxed);
  counters_.count_drop(reason, messages);
  group_.on_discarded(freed, lane_.load(std::memory_order_relaxed));
}

uint64_t ChannelQueue::discard_front_message_locked() {
  Run& run = runs_.front();
  const uint64_t size = record_size_at(run.segment->bytes + run.byte_begin);
  ++run.entry_begin;
  run.byte_begin = std::min<uint64_t>(run.byte_begin + size, run.segment->used);
  if (runs_.size() > 1 && runs_.at(1).continuation) {
    // A chain's head holds only its record: the head and its continuations all go.
    release_front_run_locked();
    while (!runs_.empty() && runs_.front().continuation) release_front_run_locked();
  }
  return size;
}

bool ChannelQueue::discard_segment_locked() {
  // The oldest segment that only this channel holds returns its memory once its messages are
  // gone; older (shared) runs go first, so that the discarded messages are still the oldest.
  size_t target = runs_.size();
  uint64_t bytes = 0;
  for (size_t i = 0; i < runs_.size(); ++i) {
    const Run& run = runs_.at(i);
    bytes += run.segment->used - run.byte_begin;
    if (run.segment->refs.load(std::memory_order_acquire) == 1) {
      target = i;
      break;
    }
  }
  if (target == runs_.size() || bytes == 0) return false;
  const bool target_is_last = target + 1 == runs_.size();
  discard_oldest_locked(bytes, DropReason::kMemoryBudget);
  if (target_is_last && !runs_.empty()) {
    // The current segment, now empty and ours alone: start over in it. (A chain's last
    // segment went with its chain.)
    Run& only = runs_.front();
    only.segment->used = 0;
    only.segment->entry_count = 0;
    only.byte_begin = 0;
    only.entry_begin = 0;
  }
  return true;
}

void ChannelQueue::release_front_run_locked() {
  pool_.release(runs_.front().segment);
  runs_.pop_front();
}

uint64_t ChannelQueue::take(uint64_t room, std::vector<SealedPiece>& out) {
  std::lock_guard lock(mu_);
  uint64_t taken = 0;
  // Continuations are taken past the room: a chunk never ends inside a message.
  while (!runs_.empty() && (taken < room || runs_.front().continuation)) {
    Run& run = runs_.front();
    Segment* segment = run.segment;
    const bool last = runs_.size() == 1;
    if (run.empty()) {
      if (last) break;
      release_front_run_locked();
      continue;
    }
    size_t split_byte = segment->used;
    uint32_t split_entry = segment->entry_count;
    if (!run.continuation && split_byte - run.byte_begin > room - taken) {
      // Take the messages that start within the room; always at least the first one.
      const uint64_t limit = run.byte_begin + (room - taken);
      const mcap::MessageIndexEntry* first = segment->entries + run.entry_begin + 1;
      const mcap::MessageIndexEntry* end = segment->entries + segment->entry_count;
      const mcap::MessageIndexEntry* split = std::lower_bound(
          first, end, limit,
          [](const mcap::MessageIndexEntry& e, uint64_t at) { return e.offset < at; });
      split_entry = static_cast<uint32_t>(split - segment->entries);
      if (split != end) split_byte = split->offset;
    }
    out.push_back(SealedPiece{segment, run.byte_begin, split_byte, run.entry_begin, split_entry,
                              config_.channel_id});
    taken += split_byte - run.byte_begin;
    if (split_byte == segment->used && (!last || run.continuation)) {
      runs_.pop_front();  // the channel's ref passes to the piece (a closed run takes no more)
    } else {
      segment->refs.fetch_add(1, std::memory_order_relaxed);  // the channel still holds one
      run.byte_begin = split_byte;
      run.entry_begin = split_entry;
    }
  }
  // An emptied current segment is let go when the channel is idle or the segment nearly full,
  // so that quiet channels do not pin memory and sealed chunks recycle it sooner.
  if (runs_.size() == 1) {
    Run& only = runs_.front();
    Segment* segment = only.segment;
    if (only.empty() &&
        (!pushed_since_take_ || segment->capacity - segment->used < segment->capacity / 8)) {
      release_front_run_locked();
    }
  }
  pushed_since_take_ = false;
  unsealed_.store(unsealed_.load(std::memory_order_relaxed) - taken, std::memory_order_relaxed);
  return taken;
}

}  // namespace mcaprec::pipeline
