#include "upload/s3_error.hpp"

#include <array>
#include <string_view>

namespace mcaprec::upload {

std::string S3Error::to_string() const {
  std::string text = retryable() ? "retryable: " : "permanent: ";
  if (http_status != 0) text += std::to_string(http_status) + " ";
  if (!code.empty()) text += code + ": ";
  return text + message;
}

FailureKind classify_http_failure(long http_status, const std::string& code) {
  // Answers of an overloaded or hiccuping server, and a body the network corrupted (BadDigest):
  // the same request can succeed later without anyone changing anything.
  constexpr std::array<std::string_view, 5> kTransientCodes = {
      "RequestTimeout", "SlowDown", "BadDigest", "InternalError", "ServiceUnavailable"};
  if (http_status >= 500 || http_status == 429 || http_status == 408) return FailureKind::retryable;
  for (std::string_view transient : kTransientCodes) {
    if (code == transient) return FailureKind::retryable;
  }
  return FailureKind::permanent;
}

}  // namespace mcaprec::upload
