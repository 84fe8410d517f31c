#pragma once
// The tests' one message payload: its number first, so that a reader can tell which message it
// holds, then filler that differs with the number and the position.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "mcap/bytes.hpp"
#include "mcap/records.hpp"

namespace mcaprec::test_support {

enum class Filler {
  kRuns,   // runs of letters: compresses well
  kNoise,  // pseudo-random bytes: does not compress at all
};

// `size` bytes for message `number`: the number as u32 little-endian (as many of its bytes as
// fit), then filler.
inline mcap::Bytes payload(uint32_t number, size_t size, Filler filler = Filler::kRuns) {
  mcap::Bytes out(size);
  uint32_t state = number * 2654435761u + 1;
  for (size_t i = 0; i < size; ++i) {
    state = state * 1664525u + 1013904223u;
    out[i] = filler == Filler::kRuns ? uint8_t('a' + (number + i / 8) % 26) : uint8_t(state >> 24);
  }
  uint8_t number_bytes[4];
  mcap::store_le(number_bytes, number);
  std::copy_n(number_bytes, std::min<size_t>(size, 4), out.begin());
  return out;
}

}  // namespace mcaprec::test_support
