#pragma once
// The id of a channel in the files the pipeline writes, as opposed to the ids a sender chose for
// its channels (ingest::InBandChannelId): a distinct type, so that passing one for the other
// does not compile. An enum rather than a wrapper struct: no code to write for comparison or
// hashing, and it is a uint16_t in every register and structure.
#include <cstdint>

namespace mcaprec::pipeline {

enum class FileChannelId : uint16_t {};

// The id as the file's MCAP records carry it.
constexpr uint16_t record_id(FileChannelId id) {
  return static_cast<uint16_t>(id);
}

}  // namespace mcaprec::pipeline
