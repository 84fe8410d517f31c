#pragma once
// The --start/--end values of `mcaprec filter`: an instant given as RFC 3339
// ("2025-11-22T08:26:40.5Z", "2025-11-22T10:26:40+02:00"), as nanoseconds since the epoch
// ("1763800000123456789"), or relative to the session's first message ("+30s", "+1.5m",
// "+250ms"; units ns, us, ms, s, m, h).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mcaprec::tool {

struct TimeBound {
  bool relative = false;  // nanoseconds after the session start, else since the epoch
  uint64_t nanoseconds = 0;

  uint64_t resolve(uint64_t session_start) const {
    return relative ? session_start + nanoseconds : nanoseconds;
  }
};

// Parses one of the forms above; std::nullopt for anything else.
std::optional<TimeBound> parse_time_bound(std::string_view text);

}  // namespace mcaprec::tool
