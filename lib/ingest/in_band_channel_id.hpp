#pragma once
// The id a sender chose for one of its channels, meaningful only to that sender (one TCP
// connection or one UDP sender address), as opposed to the id of the channel in the file
// (pipeline::FileChannelId): a distinct type, so that passing one for the other does not
// compile. ChannelMapping turns the one into the other.
#include <cstdint>

namespace mcaprec::ingest {

enum class InBandChannelId : uint16_t {};

// The id as the sender's MCAP records carry it.
constexpr uint16_t record_id(InBandChannelId id) {
  return static_cast<uint16_t>(id);
}

}  // namespace mcaprec::ingest
