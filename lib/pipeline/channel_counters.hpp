#pragma once
// What happened to one channel's messages. Every message pushed is counted once in `received`
// and ends up counted once more: in `written` or in one `dropped` reason. So after stop(),
// received == written + sum(dropped); before, the difference is what is still in flight.
// Counters only ever grow; relaxed atomics suffice because nobody orders other data by them.
#include <array>
#include <atomic>
#include <cstdint>

#include "pipeline/drop_reason.hpp"

namespace mcaprec::pipeline {

struct ChannelCounters {
  std::atomic<uint64_t> received{0};        // push() calls, accepted or not
  std::atomic<uint64_t> received_bytes{0};  // their payload bytes
  std::atomic<uint64_t> written{0};         // messages in chunks appended to a file
  std::array<std::atomic<uint64_t>, kDropReasonCount> dropped{};

  void count_drop(DropReason reason, uint64_t messages = 1) {
    dropped[static_cast<size_t>(reason)].fetch_add(messages, std::memory_order_relaxed);
  }
};

}  // namespace mcaprec::pipeline
