#pragma once
// Byte counts in log lines and error messages, for people.
#include <cstdint>
#include <iterator>
#include <string>

namespace mcaprec::base {

// "1 GiB", "300 B", or "812.3 MiB (851758284 B)" when the short form is not exact: rounded
// down, so that a size just under a limit never reads as the limit.
inline std::string byte_size_text(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  size_t unit = 0;
  uint64_t scale = 1;
  while (unit + 1 < std::size(kUnits) && bytes / scale >= 1024) {
    scale *= 1024;
    ++unit;
  }
  if (bytes % scale == 0) return std::to_string(bytes / scale) + " " + kUnits[unit];
  // Tenths of the unit without floating point: the whole units, then the remainder's tenths.
  const uint64_t tenths = (bytes / scale) * 10 + (bytes % scale) / (scale / 10);
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " " + kUnits[unit] +
         " (" + std::to_string(bytes) + " B)";
}

}  // namespace mcaprec::base
