#include "config/units.hpp"

#include <array>
#include <cctype>
#include <string>

namespace mcaprec::config {
namespace {

__extension__ typedef unsigned __int128 Wide;

struct Unit {
  std::string_view name;
  uint64_t scale;
};

constexpr std::array<Unit, 5> kSizeUnits = {{{"TiB", uint64_t{1} << 40},
                                             {"GiB", uint64_t{1} << 30},
                                             {"MiB", uint64_t{1} << 20},
                                             {"KiB", uint64_t{1} << 10},
                                             {"B", 1}}};

constexpr std::array<Unit, 4> kDurationUnits = {
    {{"h", 3'600'000}, {"min", 60'000}, {"s", 1'000}, {"ms", 1}}};

// Rates are kept in millihertz, so "0.5Hz" is exact.
constexpr std::array<Unit, 2> kRateUnits = {{{"kHz", 1'000'000}, {"Hz", 1'000}}};

// The text split into its number and its unit, with the number as mantissa / 10^decimals.
struct Quantity {
  uint64_t mantissa = 0;
  int decimals = 0;
  std::string_view unit;
};

std::string in_quotes(std::string_view text) {
  return "'" + std::string(text) + "'";
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Reads "<digits>[.<digits>][spaces]<unit>". Returns an error sentence, or "" on success.
std::string split_quantity(std::string_view text, std::string_view what, Quantity& out) {
  if (text.empty()) return "expected a " + std::string(what) + ", found nothing";
  if (text.front() == '-') return std::string(what) + "s cannot be negative";
  size_t i = 0;
  if (text[i] == '+') ++i;
  if (i >= text.size() || !is_digit(text[i])) {
    return in_quotes(text) + " is not a " + std::string(what) + ": it must start with a number";
  }
  // At most 20 significant digits and 18 decimals, so that the mantissa times the largest unit
  // and the power of ten both fit in 128 bits.
  Wide mantissa = 0;
  int digits = 0;
  auto take_digits = [&](bool fraction) {
    while (i < text.size() && is_digit(text[i])) {
      if (mantissa != 0 || text[i] != '0') ++digits;
      mantissa = mantissa * 10 + static_cast<unsigned>(text[i] - '0');
      if (fraction) ++out.decimals;
      ++i;
      if (digits > 20 || out.decimals > 18) return false;
    }
    return true;
  };
  if (!take_digits(false)) return in_quotes(text) + " is too large";
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (i >= text.size() || !is_digit(text[i])) {
      return in_quotes(text) + " is not a " + std::string(what) + ": a digit must follow '.'";
    }
    if (!take_digits(true)) return in_quotes(text) + " has too many digits";
  }
  if (mantissa > ~uint64_t{0}) return in_quotes(text) + " is too large";
  out.mantissa = static_cast<uint64_t>(mantissa);
  while (i < text.size() && text[i] == ' ') ++i;
  out.unit = text.substr(i);
  return "";
}

// mantissa * scale / 10^decimals, when that is a whole number that fits in 64 bits.
struct Scaled {
  std::optional<uint64_t> value;
  bool fractional = false;  // the result would not be a whole number
};

Scaled scale_exactly(const Quantity& q, uint64_t scale) {
  Wide divisor = 1;
  for (int d = 0; d < q.decimals; ++d) divisor *= 10;
  const Wide product = Wide{q.mantissa} * scale;
  if (product % divisor != 0) return {std::nullopt, true};
  const Wide result = product / divisor;
  if (result > ~uint64_t{0}) return {};
  return {static_cast<uint64_t>(result)};
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

template <size_t N>
const Unit* find_unit(const std::array<Unit, N>& units, std::string_view name) {
  for (const Unit& unit : units) {
    if (unit.name == name) return &unit;
  }
  return nullptr;
}

std::string size_unit_error(std::string_view text, const Quantity& q) {
  const std::string number(text.substr(0, text.size() - q.unit.size()));
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 12> kDecimal = {{
      {"k", "KiB"},
      {"K", "KiB"},
      {"kB", "KiB"},
      {"KB", "KiB"},
      {"M", "MiB"},
      {"MB", "MiB"},
      {"G", "GiB"},
      {"GB", "GiB"},
      {"T", "TiB"},
      {"TB", "TiB"},
      {"Ki", "KiB"},
      {"Mi", "MiB"},
  }};
  for (const auto& [written, meant] : kDecimal) {
    if (q.unit == written) {
      std::string trimmed = number;
      while (!trimmed.empty() && trimmed.back() == ' ') trimmed.pop_back();
      return in_quotes(q.unit) + " is not a size unit: sizes use binary units (1 " +
             std::string(meant) + " = " + std::to_string(find_unit(kSizeUnits, meant)->scale) +
             " bytes); write " + trimmed + std::string(meant);
    }
  }
  for (const Unit& unit : kSizeUnits) {
    if (equals_ignoring_case(q.unit, unit.name)) {
      return "unknown size unit " + in_quotes(q.unit) +
             " (units are case-sensitive); did you mean " + in_quotes(unit.name) + "?";
    }
  }
  return "unknown size unit " + in_quotes(q.unit) + " in " + in_quotes(text) +
         "; use B, KiB, MiB, GiB or TiB";
}

std::string duration_unit_error(std::string_view text, const Quantity& q) {
  struct Hint {
    std::string_view written;
    std::string_view advice;
  };
  static constexpr std::array<Hint, 16> kHints = {{
      {"m", "is ambiguous: write min for minutes or ms for milliseconds"},
      {"M", "is ambiguous: write min for minutes or ms for milliseconds"},
      {"sec", "is not a duration unit; write s"},
      {"secs", "is not a duration unit; write s"},
      {"second", "is not a duration unit; write s"},
      {"seconds", "is not a duration unit; write s"},
      {"mins", "is not a duration unit; write min"},
      {"minute", "is not a duration unit; write min"},
      {"minutes", "is not a duration unit; write min"},
      {"hr", "is not a duration unit; write h"},
      {"hour", "is not a duration unit; write h"},
      {"hours", "is not a duration unit; write h"},
      {"msec", "is not a duration unit; write ms"},
      {"us", "is below the millisecond resolution of durations; write ms"},
      {"ns", "is below the millisecond resolution of durations; write ms"},
      {"d", "is not a duration unit; write hours, e.g. 24h"},
  }};
  for (const Hint& hint : kHints) {
    if (q.unit == hint.written) return in_quotes(q.unit) + " " + std::string(hint.advice);
  }
  return "unknown duration unit " + in_quotes(q.unit) + " in " + in_quotes(text) +
         "; use ms, s, min or h";
}

}  // namespace

Parsed<uint64_t> parse_size(std::string_view text) {
  Quantity q;
  if (std::string error = split_quantity(text, "size", q); !error.empty()) return {{}, error};
  uint64_t scale = 1;
  if (!q.unit.empty()) {
    const Unit* unit = find_unit(kSizeUnits, q.unit);
    if (unit == nullptr) return {{}, size_unit_error(text, q)};
    scale = unit->scale;
  }
  const Scaled bytes = scale_exactly(q, scale);
  if (bytes.fractional) return {{}, in_quotes(text) + " is not a whole number of bytes"};
  if (!bytes.value) return {{}, in_quotes(text) + " is too large"};
  return {bytes.value, ""};
}

Parsed<std::chrono::milliseconds> parse_duration(std::string_view text) {
  Quantity q;
  if (std::string error = split_quantity(text, "duration", q); !error.empty()) return {{}, error};
  if (q.unit.empty()) {
    if (q.mantissa == 0) return {std::chrono::milliseconds(0), ""};
    return {{},
            in_quotes(text) + " needs a unit: ms, s, min or h (for example " + std::string(text) +
                "ms or " + std::string(text) + "s)"};
  }
  const Unit* unit = find_unit(kDurationUnits, q.unit);
  if (unit == nullptr) return {{}, duration_unit_error(text, q)};
  const Scaled ms = scale_exactly(q, unit->scale);
  if (ms.fractional) return {{}, in_quotes(text) + " is not a whole number of milliseconds"};
  if (!ms.value || *ms.value > static_cast<uint64_t>(std::chrono::milliseconds::max().count())) {
    return {{}, in_quotes(text) + " is too large"};
  }
  return {std::chrono::milliseconds(static_cast<int64_t>(*ms.value)), ""};
}

Parsed<uint64_t> parse_rate_millihertz(std::string_view text) {
  Quantity q;
  if (std::string error = split_quantity(text, "rate", q); !error.empty()) return {{}, error};
  const Unit* unit = find_unit(kRateUnits, q.unit);
  if (unit == nullptr) {
    return {{}, in_quotes(text) + " needs the unit Hz or kHz (for example 10Hz)"};
  }
  const Scaled millihertz = scale_exactly(q, unit->scale);
  if (millihertz.fractional || !millihertz.value || *millihertz.value == 0) {
    return {{}, in_quotes(text) + " is not a rate above 0 with at most 3 decimals in Hz"};
  }
  return {*millihertz.value, ""};
}

std::string format_rate_millihertz(uint64_t millihertz) {
  if (millihertz % 1000 == 0) return std::to_string(millihertz / 1000) + "Hz";
  std::string fraction = std::to_string(1000 + millihertz % 1000).substr(1);
  while (fraction.back() == '0') fraction.pop_back();
  return std::to_string(millihertz / 1000) + "." + fraction + "Hz";
}

std::string format_size(uint64_t bytes) {
  if (bytes == 0) return "0";
  for (const Unit& unit : kSizeUnits) {
    if (bytes % unit.scale == 0) return std::to_string(bytes / unit.scale) + std::string(unit.name);
  }
  return std::to_string(bytes) + "B";
}

std::string format_duration(std::chrono::milliseconds duration) {
  const int64_t ms = duration.count();
  if (ms == 0) return "0";
  for (const Unit& unit : kDurationUnits) {
    const auto scale = static_cast<int64_t>(unit.scale);
    if (ms % scale == 0) return std::to_string(ms / scale) + std::string(unit.name);
  }
  return std::to_string(ms) + "ms";
}

}  // namespace mcaprec::config
