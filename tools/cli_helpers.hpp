#pragma once
// Small helpers every `mcaprec` command shares: option parsing, sizes, times and JSON output.
#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mcaprec::tool {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the command ran and found a problem, or could not run
inline constexpr int kExitUsage = 2;    // the command line is wrong
// recover: the file is complete now, but bytes past its last whole chunk had to be cut (the
// `mcap` CLI's convention, so that scripts can tell a clean recovery from a lossy one).
inline constexpr int kExitDataCut = 3;

struct OptionSpec {
  std::string_view name;  // "--level"
  bool takes_value = false;
};

struct ParsedArgs {
  std::vector<std::string> positional;
  std::map<std::string, std::string, std::less<>> options;  // "--level" -> "3"; flags map to ""
  bool help = false;                                        // -h or --help was given

  bool has(std::string_view name) const { return options.find(name) != options.end(); }
};

// Accepts "--name value" and "--name=value" for options that take a value, -h/--help anywhere,
// and "--" to end options. Returns an error text for unknown options or missing values.
std::optional<std::string> parse_args(std::span<const std::string> args,
                                      std::span<const OptionSpec> specs, ParsedArgs& out);

// Prints "mcaprec CMD: message" and a hint to stderr; returns kExitUsage.
int usage_error(std::string_view command, std::string_view message);

// "1048576", "512KiB", "1MiB", "2GiB", "100B" (units case-insensitive). Nothing else.
std::optional<uint64_t> parse_size(std::string_view text);
// A decimal integer in [min, max].
std::optional<int64_t> parse_integer(std::string_view text, int64_t min, int64_t max);

// "512 B", "1.50 KiB", "12.34 MiB", "1.02 GiB".
std::string human_size(uint64_t bytes);
// ISO-8601 UTC with nanoseconds: "2026-11-21T10:15:00.123456789Z".
std::string iso_time(uint64_t nanoseconds);
// "7.780758504s", with "(1h 2m 3s)" appended from one minute on.
std::string human_duration(uint64_t nanoseconds);
// printf-style formatting of a double with `decimals` digits after the point.
std::string fixed(double value, int decimals);

// `value` rounded to `decimals` digits after the point, as fixed() prints it: for JSON reports,
// where the number is written in its shortest form (50.0 for "50.000").
double rounded(double value, int decimals);

// The text of a --json report, with a final newline: on one line (indent < 0) or indented.
// Topics and paths may hold any bytes; invalid UTF-8 is written as U+FFFD.
std::string json_report(const nlohmann::ordered_json& report, int indent = -1);

}  // namespace mcaprec::tool
