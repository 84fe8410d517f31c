#include "ingest/decode_error.hpp"

namespace mcaprec::ingest {

std::string_view decode_reason_name(DecodeReason reason) {
  switch (reason) {
    case DecodeReason::kTruncated:
      return "truncated";
    case DecodeReason::kOversized:
      return "oversized";
    case DecodeReason::kUnknownChannel:
      return "unknown_channel";
    case DecodeReason::kUnknownSchema:
      return "unknown_schema";
    case DecodeReason::kConflictingChannel:
      return "conflicting_channel";
    case DecodeReason::kConflictingSchema:
      return "conflicting_schema";
    case DecodeReason::kTooManyChannels:
      return "too_many_channels";
    case DecodeReason::kBadMagic:
      return "bad_magic";
    case DecodeReason::kBadChunk:
      return "bad_chunk";
    case DecodeReason::kMalformed:
      return "malformed";
    case DecodeReason::kUnsupported:
      return "unsupported";
    case DecodeReason::kGarbage:
      return "garbage";
  }
  return "unknown";
}

std::string DecodeError::to_string() const {
  return std::string(decode_reason_name(reason)) + " at offset " + std::to_string(offset) + ": " +
         message;
}

}  // namespace mcaprec::ingest
