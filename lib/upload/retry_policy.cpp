#include "upload/retry_policy.hpp"

#include <algorithm>
#include <cmath>

namespace mcaprec::upload {

std::chrono::milliseconds RetryPolicy::delay(int failures, FailureKind kind,
                                             double unit_random) const {
  if (kind == FailureKind::permanent) return permanent;
  const int doublings = std::clamp(failures - 1, 0, 40);
  const double ceiling = std::min(static_cast<double>(cap.count()),
                                  static_cast<double>(first.count()) * std::ldexp(1.0, doublings));
  const double fraction = std::clamp(unit_random, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(ceiling * fraction));
}

RetryPolicy RetryPolicy::scaled(double scale) const {
  const auto times = [scale](std::chrono::milliseconds value) {
    return std::chrono::milliseconds(
        std::max<int64_t>(1, std::llround(static_cast<double>(value.count()) * scale)));
  };
  return RetryPolicy{times(first), times(cap), times(permanent)};
}

double retry_scale_from(const char* value) {
  if (value == nullptr || *value == '\0') return 1.0;
  char* end = nullptr;
  const double scale = std::strtod(value, &end);
  if (end == value || *end != '\0' || !(scale > 0) || !std::isfinite(scale)) return 1.0;
  return scale;
}

}  // namespace mcaprec::upload
