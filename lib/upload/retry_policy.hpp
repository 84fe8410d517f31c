#pragma once
// How long the upload queue waits before it tries a file again. Retryable failures (the network,
// a busy server) back off exponentially with full jitter: a random wait between zero and
// min(cap, first * 2^(failures-1)), so that a fleet coming back online does not retry in step.
// Permanent failures (keys, bucket) wait a fixed, long time: someone has to fix something, and
// the file is kept and tried again until they do.
#include <chrono>
#include <cstdlib>

#include "upload/s3_error.hpp"

namespace mcaprec::upload {

struct RetryPolicy {
  // 1 s: a dropped connection usually works again at once. 5 min: long enough that an offline
  // vehicle costs nothing, short enough that uploads restart soon after the link returns.
  std::chrono::milliseconds first{1000};
  std::chrono::milliseconds cap{300'000};
  std::chrono::milliseconds permanent{300'000};

  // The wait after `failures` failures in a row (1 = the first); `unit_random` in [0, 1).
  std::chrono::milliseconds delay(int failures, FailureKind kind, double unit_random) const;

  // Every delay multiplied by `scale` (tests make minutes into seconds).
  RetryPolicy scaled(double scale) const;
};

// The environment variable that scales every retry delay of the daemon's upload (a positive
// number, e.g. 0.01): for tests and for trying a configuration out, documented in
// lib/upload/README.md. Unset or invalid: 1.
inline constexpr const char* kRetryScaleVariable = "MCAPREC_UPLOAD_RETRY_SCALE";
double retry_scale_from(const char* value);

}  // namespace mcaprec::upload
