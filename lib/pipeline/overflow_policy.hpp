#pragma once
// What push() does when a channel's queue (or the global memory budget) has no room.
#include <cstdint>
#include <optional>
#include <string_view>

namespace mcaprec::pipeline {

enum class OverflowPolicy : uint8_t {
  kDropNewest,  // refuse the new message (UDP sources: the freshest datagram is the one lost)
  kDropOldest,  // discard the channel's oldest messages not yet sealed into a chunk
  kBlock,       // wait until there is room (TCP sources: the sender slows down)
};
std::string_view overflow_policy_name(OverflowPolicy policy);  // "drop_newest", ...
std::optional<OverflowPolicy> parse_overflow_policy(std::string_view name);

}  // namespace mcaprec::pipeline
