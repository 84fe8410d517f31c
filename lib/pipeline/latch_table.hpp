#pragma once
// Latched channels (config `channels[].latch`: static transforms, calibration, maps): the last
// message *written* of each publisher on such a channel, kept so that every later file starts
// with it again (storage::RecordingFile writes it, asked through RecordingSource::latched_chunk)
// and each rotated file can be used alone. The message is the same message: it keeps its log
// time, publish time and sequence.
//
// Why it is followed from push to write: a message still queued when a file rotates belongs to
// the next file anyway; repeating it there too would write it twice. So each lane keeps the
// messages accepted into the channel's queue, in queue order, with their publisher, and the
// ordered writer takes them off as it handles the chunks that hold them (note_handled): written
// ones become the latched message of their publisher, lost ones are forgotten. Queue order is
// kept by a per-lane mutex that pushers of the channel hold around the queue push and
// note_queued (latched channels are low-rate, the lock costs nothing that matters). A latched
// queue never discards older messages (the registry turns drop_oldest into drop_newest), so
// every accepted message reaches the writer in a chunk, written or counted lost.
//
// Memory: per latched channel, one copy of the last message of each publisher (at most
// kMaxPublishersPerChannel, the least recently updated goes first; publishers whose last
// payloads are identical keep one copy), plus a second copy of its messages between push and
// write (bounded by its queue_bytes and the chunks in flight).
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "mcap/chunk.hpp"
#include "mcap/compression.hpp"
#include "mcap/records.hpp"
#include "pipeline/outgoing_message.hpp"

namespace mcaprec::pipeline {

class LatchTable {
 public:
  static constexpr size_t kMaxPublishersPerChannel = 64;

  // One latched channel.
  class Lane {
   public:
    explicit Lane(uint16_t channel_id) : channel_id_(channel_id) {}
    uint16_t channel_id() const { return channel_id_; }
    // Held by a pusher around its queue push and note_queued().
    std::mutex& order() { return order_; }

   private:
    friend class LatchTable;
    struct Message {
      uint64_t publisher = 0;
      mcap::Timestamp log_time = 0;
      mcap::Timestamp publish_time = 0;
      uint32_t sequence = 0;
      mcap::Bytes data;
      uint64_t updated = 0;  // the table's update count when it became latched
    };
    const uint16_t channel_id_;
    std::mutex order_;
    // Guarded by the table's mutex.
    std::deque<Message> queued_;    // accepted into the queue, not yet handled by the writer
    std::deque<bool> owed_;         // handled before noted (a pusher between the two): written?
    std::vector<Message> latched_;  // the last written of each publisher
  };

  LatchTable(mcap::Compression compression, int level) : compression_(compression), level_(level) {}

  // The lane of a latched channel, made at its first call. Any thread.
  Lane* lane(uint16_t channel_id);

  // A pusher, holding lane.order(): the message was accepted into the channel's queue.
  void note_queued(Lane& lane, uint64_t publisher, const OutgoingMessage& message);

  // The writer: a chunk with `counts` messages per channel was written (or, `written` false,
  // lost or kept only for events). Cheap when no channel is latched.
  void note_handled(const mcap::ChannelValues& counts, bool written);

  // The writer (via RecordingSource): the latched messages as one chunk, oldest first. False
  // when there are none.
  bool encode(mcap::EncodedChunk& out);

  // Latched messages held now, for tests and statistics.
  size_t latched_count() const;

 private:
  void latch_locked(Lane& lane, Lane::Message message);

  const mcap::Compression compression_;
  const int level_;
  std::atomic<bool> any_{false};
  mutable std::mutex mu_;
  std::map<uint16_t, std::unique_ptr<Lane>> lanes_;  // guarded by mu_
  uint64_t updates_ = 0;                             // guarded by mu_
  mcap::ChunkBuilder builder_;                       // the writer's
  mcap::Compressor compressor_;                      // the writer's
};

}  // namespace mcaprec::pipeline
