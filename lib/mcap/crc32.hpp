#pragma once
// CRC-32 (IEEE 802.3, reflected 0xEDB88320), the checksum of every MCAP CRC field.
// Computed with ISA-L's folding implementation; combination lets the writer assemble the
// data-section CRC from per-chunk CRCs that compressor threads computed out of order.
#include <cstdint>

#include "mcap/records.hpp"

namespace mcaprec::mcap {

// CRC of `data` continuing from `crc` (start with 0): crc32(crc32(0, a), b) == crc32(0, a + b).
uint32_t crc32_update(uint32_t crc, ByteView data);
inline uint32_t crc32(ByteView data) {
  return crc32_update(0, data);
}

// CRC of A followed by B, given crc(A), crc(B) and the length of B. O(log length).
uint32_t crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t length_b);

}  // namespace mcaprec::mcap
