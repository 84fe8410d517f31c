#include "cli_helpers.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

namespace mcaprec::tool {

std::optional<std::string> parse_args(std::span<const std::string> args,
                                      std::span<const OptionSpec> specs, ParsedArgs& out) {
  bool options_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_ended || arg.size() < 2 || arg[0] != '-') {
      out.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      out.help = true;
      continue;
    }
    const size_t equals = arg.find('=');
    const std::string name = arg.substr(0, equals);
    auto spec = std::find_if(specs.begin(), specs.end(),
                             [&](const OptionSpec& s) { return s.name == name; });
    if (spec == specs.end()) return "unknown option '" + name + "'";
    if (!spec->takes_value) {
      if (equals != std::string::npos) return "option '" + name + "' takes no value";
      out.options[name] = "";
    } else if (equals != std::string::npos) {
      out.options[name] = arg.substr(equals + 1);
    } else if (i + 1 < args.size()) {
      out.options[name] = args[++i];
    } else {
      return "option '" + name + "' needs a value";
    }
  }
  return std::nullopt;
}

int usage_error(std::string_view command, std::string_view message) {
  std::cerr << "mcaprec " << command << ": " << message << "\n"
            << "Run 'mcaprec " << command << " --help' for usage.\n";
  return kExitUsage;
}

std::optional<int64_t> parse_integer(std::string_view text, int64_t min, int64_t max) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

std::optional<uint64_t> parse_size(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return std::nullopt;
  uint64_t number = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + digits, number);
  if (error != std::errc()) return std::nullopt;
  std::string unit(text.substr(digits));
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  int shift = 0;
  if (unit.empty() || unit == "b") {
    shift = 0;
  } else if (unit == "kib") {
    shift = 10;
  } else if (unit == "mib") {
    shift = 20;
  } else if (unit == "gib") {
    shift = 30;
  } else {
    return std::nullopt;
  }
  if (number > (UINT64_MAX >> shift)) return std::nullopt;
  return number << shift;
}

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

std::string human_size(uint64_t bytes) {
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes) / 1024.0;
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(kUnits)) {
    value /= 1024.0;
    ++unit;
  }
  return fixed(value, 2) + " " + kUnits[unit];
}

std::string iso_time(uint64_t nanoseconds) {
  using namespace std::chrono;
  const uint64_t seconds_total = nanoseconds / 1'000'000'000;
  const uint64_t fraction = nanoseconds % 1'000'000'000;
  const sys_days day{days{static_cast<int64_t>(seconds_total / 86400)}};
  const year_month_day date{day};
  const uint64_t in_day = seconds_total % 86400;
  char text[64];
  std::snprintf(text, sizeof(text), "%04d-%02u-%02uT%02u:%02u:%02u.%09uZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<unsigned>(in_day / 3600),
                static_cast<unsigned>(in_day / 60 % 60), static_cast<unsigned>(in_day % 60),
                static_cast<unsigned>(fraction));
  return text;
}

std::string human_duration(uint64_t nanoseconds) {
  const uint64_t seconds = nanoseconds / 1'000'000'000;
  char text[96];
  std::snprintf(text, sizeof(text), "%llu.%09llus", static_cast<unsigned long long>(seconds),
                static_cast<unsigned long long>(nanoseconds % 1'000'000'000));
  std::string out = text;
  if (seconds >= 60) {
    const uint64_t hours = seconds / 3600;
    std::string parts;
    if (hours > 0) parts = std::to_string(hours) + "h ";
    parts += std::to_string(seconds / 60 % 60) + "m " + std::to_string(seconds % 60) + "s";
    out += " (" + parts + ")";
  }
  return out;
}

double rounded(double value, int decimals) {
  return std::strtod(fixed(value, decimals).c_str(), nullptr);
}

std::string json_report(const nlohmann::ordered_json& report, int indent) {
  return report.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace mcaprec::tool
