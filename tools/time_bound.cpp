#include "time_bound.hpp"

#include <cctype>
#include <charconv>
#include <chrono>

namespace mcaprec::tool {
namespace {

// Reads exactly `width` digits at `pos`.
std::optional<unsigned> digits(std::string_view text, size_t& pos, size_t width) {
  if (pos + width > text.size()) return std::nullopt;
  unsigned value = 0;
  for (size_t i = 0; i < width; ++i) {
    const char c = text[pos + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  pos += width;
  return value;
}

bool expect(std::string_view text, size_t& pos, char c) {
  if (pos >= text.size() || (text[pos] != c && std::tolower(text[pos]) != c)) return false;
  ++pos;
  return true;
}

// ".123" -> 123000000 nanoseconds; up to 9 digits.
std::optional<uint64_t> fraction(std::string_view text, size_t& pos) {
  if (pos >= text.size() || text[pos] != '.') return 0;
  ++pos;
  uint64_t value = 0;
  size_t count = 0;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
    if (count++ >= 9) return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(text[pos++] - '0');
  }
  if (count == 0) return std::nullopt;
  while (count++ < 9) value *= 10;
  return value;
}

// Seconds east of UTC from "Z", "+02:00" or "-05:30" at the end of the text.
std::optional<int64_t> utc_offset(std::string_view text, size_t& pos) {
  if (expect(text, pos, 'z')) return 0;
  if (pos >= text.size() || (text[pos] != '+' && text[pos] != '-')) return std::nullopt;
  const int64_t sign = text[pos++] == '-' ? -1 : 1;
  const auto hours = digits(text, pos, 2);
  if (!hours || !expect(text, pos, ':')) return std::nullopt;
  const auto minutes = digits(text, pos, 2);
  if (!minutes) return std::nullopt;
  return sign * (int64_t{*hours} * 3600 + int64_t{*minutes} * 60);
}

std::optional<uint64_t> rfc3339(std::string_view text) {
  using namespace std::chrono;
  size_t pos = 0;
  const auto y = digits(text, pos, 4);
  if (!y || !expect(text, pos, '-')) return std::nullopt;
  const auto mo = digits(text, pos, 2);
  if (!mo || !expect(text, pos, '-')) return std::nullopt;
  const auto d = digits(text, pos, 2);
  if (!d || !(expect(text, pos, 't') || expect(text, pos, ' '))) return std::nullopt;
  const auto h = digits(text, pos, 2);
  if (!h || !expect(text, pos, ':')) return std::nullopt;
  const auto mi = digits(text, pos, 2);
  if (!mi || !expect(text, pos, ':')) return std::nullopt;
  const auto s = digits(text, pos, 2);
  const auto nanos = s ? fraction(text, pos) : std::nullopt;
  const auto offset = nanos ? utc_offset(text, pos) : std::nullopt;
  if (!offset || pos != text.size()) return std::nullopt;
  const year_month_day date{year{static_cast<int>(*y)}, month{*mo}, day{*d}};
  if (!date.ok() || *h > 23 || *mi > 59 || *s > 60) return std::nullopt;
  const int64_t seconds = sys_days(date).time_since_epoch().count() * 86400 + int64_t{*h} * 3600 +
                          int64_t{*mi} * 60 + int64_t{*s} - *offset;
  if (seconds < 0) return std::nullopt;
  return static_cast<uint64_t>(seconds) * 1'000'000'000 + *nanos;
}

// "+30s", "+1.5m", "+250ms".
std::optional<uint64_t> relative(std::string_view text) {
  size_t pos = 1;
  uint64_t whole = 0;
  const auto [end, error] = std::from_chars(text.data() + pos, text.data() + text.size(), whole);
  if (error != std::errc() || end == text.data() + pos) return std::nullopt;
  pos = static_cast<size_t>(end - text.data());
  const auto nanos = fraction(text, pos);  // of one unit, in billionths
  if (!nanos) return std::nullopt;
  const std::string_view unit = text.substr(pos);
  uint64_t scale = 0;
  if (unit == "ns") scale = 1;
  if (unit == "us") scale = 1'000;
  if (unit == "ms") scale = 1'000'000;
  if (unit == "s") scale = 1'000'000'000;
  if (unit == "m") scale = 60'000'000'000;
  if (unit == "h") scale = 3'600'000'000'000;
  if (scale == 0 || whole > UINT64_MAX / scale / 2) return std::nullopt;
  return whole * scale + static_cast<uint64_t>(static_cast<double>(*nanos) / 1e9 * scale);
}

}  // namespace

std::optional<TimeBound> parse_time_bound(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text[0] == '+') {
    auto ns = relative(text);
    if (!ns) return std::nullopt;
    return TimeBound{true, *ns};
  }
  uint64_t ns = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), ns);
  if (error == std::errc() && end == text.data() + text.size()) return TimeBound{false, ns};
  auto parsed = rfc3339(text);
  if (!parsed) return std::nullopt;
  return TimeBound{false, *parsed};
}

}  // namespace mcaprec::tool
