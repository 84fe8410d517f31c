#pragma once
// Why a message did not reach a file. Every drop is counted per channel and per reason.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mcaprec::pipeline {

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

}  // namespace mcaprec::pipeline
