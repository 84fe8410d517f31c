#pragma once
// Vocabulary shared by the pipeline's API and its stages: what a full queue does, why a
// message was dropped, and what push() answers.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "mcap/records.hpp"

namespace mcaprec::pipeline {

// What push() does when the channel's queue (or the global memory budget) has no room.
enum class OverflowPolicy : uint8_t {
  kDropNewest,  // refuse the new message (UDP sources: the freshest datagram is the one lost)
  kDropOldest,  // discard the channel's oldest messages not yet sealed into a chunk
  kBlock,       // wait until there is room (TCP sources: the sender slows down)
};
std::string_view overflow_policy_name(OverflowPolicy policy);  // "drop_newest", ...
std::optional<OverflowPolicy> parse_overflow_policy(std::string_view name);

// Why a message did not reach a file. Every drop is counted per channel and per reason.
enum class DropReason : uint8_t {
  kQueueFull,     // the channel's queue_bytes were reached
  kMemoryBudget,  // the global memory budget was reached
  kTooLarge,      // the message alone exceeds the queue or the memory budget
  kStopped,       // pushed after (or while blocked during) stop()
  kWriteError,    // its chunk could not be encoded or written to the file
  kNoSpace,       // its chunk was held while recording was paused for lack of room, then stopped
};
inline constexpr size_t kDropReasonCount = 6;
std::string_view drop_reason_name(DropReason reason);  // "queue_full", "memory_budget", ...

// The answer of push(): the message was accepted (it will be written unless stop() finds the
// disk failing), or it was dropped and why. A drop_oldest push that made room by discarding
// older messages is accepted; the discarded ones are counted as drops.
class PushResult {
 public:
  static constexpr PushResult accepted() { return PushResult(true, DropReason::kQueueFull); }
  static constexpr PushResult dropped(DropReason reason) { return PushResult(false, reason); }

  constexpr bool ok() const { return accepted_; }
  // Meaningful only when !ok().
  constexpr DropReason reason() const { return reason_; }

 private:
  constexpr PushResult(bool accepted, DropReason reason) : accepted_(accepted), reason_(reason) {}
  bool accepted_;
  DropReason reason_;
};

// One message of a batch given to push_batch(). The payload is only read during the call.
struct OutgoingMessage {
  mcap::Timestamp log_time = 0;
  mcap::Timestamp publish_time = 0;
  uint32_t sequence = 0;
  mcap::ByteView payload;
};

// What push_batch() answers: how many of the batch were accepted and their payload bytes (the
// others were dropped and counted per reason, as push() would have).
struct BatchPushResult {
  uint64_t accepted = 0;
  uint64_t accepted_bytes = 0;
};

}  // namespace mcaprec::pipeline
