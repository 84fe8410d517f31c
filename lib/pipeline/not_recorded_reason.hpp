#pragma once
// Why a message was deliberately not recorded. Unlike a DropReason, these are decisions the
// user asked for (a pause now; a rate limit or a topic selection later), so they are never
// counted as drops and never raise a loss alarm. Each is counted per channel, reported in
// /metrics and /status and written into `mcaprec.stats`.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mcaprec::pipeline {

enum class NotRecordedReason : uint8_t {
  kPaused,  // its channel, source or everything was paused (Pipeline::pause)
};
inline constexpr size_t kNotRecordedReasonCount = 1;
std::string_view not_recorded_reason_name(NotRecordedReason reason);  // "paused", ...

}  // namespace mcaprec::pipeline
