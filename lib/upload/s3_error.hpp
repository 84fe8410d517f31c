#pragma once
// What went wrong with a request to S3, as a value, and whether trying again later can help.
// Retryable: the network or the server had a bad moment (5xx, timeouts, refused connections).
// Permanent: a person has to change something (keys, bucket, clock, TLS trust); the queue keeps
// the file and tries again slowly, but says so once, clearly.
#include <string>

#include "base/result.hpp"

namespace mcaprec::upload {

enum class FailureKind { retryable, permanent };

struct S3Error {
  FailureKind kind = FailureKind::retryable;
  long http_status = 0;  // 0 when no response came (connection, timeout, TLS)
  std::string code;      // S3's error code (NoSuchBucket) or the transport's (timeout)
  std::string message;   // for a person; never holds a secret

  bool retryable() const { return kind == FailureKind::retryable; }
  // "permanent: 404 NoSuchBucket: The specified bucket does not exist (PUT b/k)"
  std::string to_string() const;
};

template <class T>
using S3Result = base::Result<T, S3Error>;
using S3Status = base::BasicStatus<S3Error>;

// The class of an HTTP error answer from its status and S3 error code.
FailureKind classify_http_failure(long http_status, const std::string& code);

}  // namespace mcaprec::upload
