#pragma once
// One message of a batch given to push_batch(). The payload is only read during the call.
#include <cstdint>

#include "mcap/records.hpp"

namespace mcaprec::pipeline {

struct OutgoingMessage {
  mcap::Timestamp log_time = 0;
  mcap::Timestamp publish_time = 0;
  uint32_t sequence = 0;
  mcap::ByteView payload;
};

}  // namespace mcaprec::pipeline
