#pragma once
// Why a message was deliberately not recorded. Unlike a DropReason, these are decisions the
// user asked for (a pause, a rate limit, a topic selection), so they are never
// counted as drops and never raise a loss alarm. Each is counted per channel, reported in
// /metrics and /status and written into `mcaprec.stats`.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mcaprec::pipeline {

enum class NotRecordedReason : uint8_t {
  kPaused,       // its channel, source or everything was paused (Pipeline::pause)
  kRateLimited,  // above its channel's max_rate (ChannelSpec::max_rate_millihertz)
  kExcluded,     // its source does not record the topic (sources[].topics / exclude_topics)
};
inline constexpr size_t kNotRecordedReasonCount = 3;
std::string_view not_recorded_reason_name(NotRecordedReason reason);  // "paused", ...

}  // namespace mcaprec::pipeline
