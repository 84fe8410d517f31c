#include "pipeline/not_recorded_reason.hpp"

namespace mcaprec::pipeline {

std::string_view not_recorded_reason_name(NotRecordedReason reason) {
  switch (reason) {
    case NotRecordedReason::kPaused:
      return "paused";
    case NotRecordedReason::kRateLimited:
      return "rate_limited";
    case NotRecordedReason::kExcluded:
      return "excluded";
  }
  return "unknown";
}

}  // namespace mcaprec::pipeline
