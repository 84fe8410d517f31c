#pragma once
// Errors of the ingest decoders. Each carries a stable short reason code, so that the daemon can
// count bad input per reason (a metrics label), plus the stream or datagram offset and a
// sentence for the log line. Bad input is never an exception.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace mcaprec::ingest {

enum class DecodeReason : uint8_t {
  kTruncated,           // the stream or datagram ends inside a record
  kOversized,           // a record, message, chunk or the sender's definitions exceed a limit
  kUnknownChannel,      // a Message on a channel id that was never defined
  kUnknownSchema,       // a Channel that refers to a schema id that was never defined
  kConflictingChannel,  // a channel id defined again with different content
  kConflictingSchema,   // a schema id defined again with different content
  kTooManyChannels,     // more channels (or schemas) than the limit allows
  kBadMagic,            // the stream starts (or ends) with something that is almost the magic
  kBadChunk,            // a Chunk that cannot be unpacked: codec, CRC or records inside it
  kMalformed,           // a record whose fields do not fit its length, or a bad attachment CRC
  kUnsupported,         // a valid record this transport does not carry (a Chunk over UDP)
  kGarbage,             // bytes that are not a record, or a record where none may be
};
inline constexpr size_t kDecodeReasonCount = 12;

// "truncated", "oversized", "unknown_channel", ... stable: used as metrics labels.
std::string_view decode_reason_name(DecodeReason reason);

struct DecodeError {
  DecodeReason reason = DecodeReason::kGarbage;
  uint64_t offset = 0;  // in the stream (bytes since the connection opened) or the datagram
  std::string message;  // what was wrong, for a person to read

  // "oversized at offset 120: Message record of ... "
  std::string to_string() const;
};

// Success, or a DecodeError; a value or a DecodeError.
using DecodeStatus = base::BasicStatus<DecodeError>;
template <class T>
using DecodeResult = base::Result<T, DecodeError>;

}  // namespace mcaprec::ingest
