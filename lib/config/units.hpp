#pragma once
// Sizes and durations as people write them in the configuration: "64MiB", "1.5GiB", "4096",
// "500ms", "10min". Units are binary (KiB = 1024 B) because memory and chunk sizes are; the
// decimal spellings (KB, MB, GB) are refused with a hint rather than guessed, since guessing
// wrong by 5 % silently changes a budget. Durations have millisecond resolution.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mcaprec::config {

// A parsed value, or a sentence saying why the text is not one.
template <class T>
struct Parsed {
  std::optional<T> value;
  std::string error;

  bool ok() const { return value.has_value(); }
};

// "<number>[ ]<unit>" with unit B, KiB, MiB, GiB or TiB; a plain integer means bytes. The number
// may have a decimal fraction if the result is a whole number of bytes ("1.5KiB" = 1536).
Parsed<uint64_t> parse_size(std::string_view text);

// "<number>[ ]<unit>" with unit ms, s, min or h; "0" needs no unit. The result must be a whole
// number of milliseconds ("1.5s" is fine, "0.5ms" is not).
Parsed<std::chrono::milliseconds> parse_duration(std::string_view text);

// "<number>[ ]Hz" or "kHz", above 0, in millihertz ("10Hz" = 10000, "0.5Hz" = 500): rates such
// as channels[].max_rate.
Parsed<uint64_t> parse_rate_millihertz(std::string_view text);
std::string format_rate_millihertz(uint64_t millihertz);  // 10000 -> "10Hz", 500 -> "0.5Hz"

// The shortest exact spelling that parse_size/parse_duration read back to the same value:
// 2147483648 -> "2GiB", 1536 -> "1536B", 0 -> "0"; 600000 ms -> "10min", 1500 ms -> "1500ms".
std::string format_size(uint64_t bytes);
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace mcaprec::config
