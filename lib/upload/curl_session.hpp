#pragma once
// One libcurl easy handle signing every request with SigV4 (libcurl's own CURLOPT_AWS_SIGV4).
// It keeps its connection between requests; one session per thread. Transport failures come back
// as S3Error (HTTP error answers are the caller's to read). Nothing here logs, and the keys never
// appear in an error.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "upload/bandwidth_limit.hpp"
#include "upload/credentials.hpp"
#include "upload/s3_error.hpp"

namespace mcaprec::upload {

struct SessionOptions {
  std::string region = "us-east-1";
  std::string ca_file;  // PEM bundle to trust instead of the system's; "" = system
  long connect_timeout_s = 10;
  long stall_timeout_s = 30;  // abort a transfer that moved < 1 KiB/s for this long
  // Optional: set from another thread to abort the transfer in progress (the daemon's stop);
  // the request then fails as retryable "aborted".
  const std::atomic<bool>* cancel = nullptr;
  // Optional: told of the body bytes sent as a transfer goes (for the upload rate).
  std::function<void(uint64_t)> on_bytes_sent;
  // upload.max_bandwidth, shared by every session of the process; null = unlimited. Paces the
  // bodies of PUT and UploadPart (the small XML bodies of the other calls go unpaced).
  std::shared_ptr<BandwidthLimit> bandwidth;
};

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, PUT, POST, DELETE
  std::string url;             // query parameters already sorted (SigV4 in curl 7.88 needs it)
  std::vector<std::string> headers;
  std::span<const uint8_t> body;  // sent with its length (RGW refuses chunked bodies: 411)
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

struct BodyReader;

class CurlSession {
 public:
  CurlSession(SessionOptions options, Credentials credentials);
  ~CurlSession();
  CurlSession(const CurlSession&) = delete;
  CurlSession& operator=(const CurlSession&) = delete;

  S3Result<HttpResponse> perform(const HttpRequest& request);

 private:
  void set_method(const HttpRequest& request, BodyReader& reader);

  SessionOptions options_;
  Credentials credentials_;
  void* handle_;  // CURL*
};

}  // namespace mcaprec::upload
