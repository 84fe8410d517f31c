#pragma once
// Payload bytes per channel, for `mcaprec info` over a session. An indexed file answers from
// its Message Index records without decompressing a chunk: a message's record reaches to the
// next indexed message of its chunk, or to the chunk's end, so a Schema or Channel record
// written between two messages of a chunk counts toward the first (recorder files hold none).
// A file whose indexes do not cover every message is read whole and counted exactly.
#include <cstdint>
#include <map>

#include "mcap/error.hpp"
#include "mcap/records.hpp"

namespace mcaprec::mcap {

Result<std::map<uint16_t, uint64_t>> message_bytes_by_channel(ByteView file);

// The Metadata record at `offset` of `file` (as a Metadata Index gives it).
Result<Metadata> read_metadata_at(ByteView file, uint64_t offset);

}  // namespace mcaprec::mcap
