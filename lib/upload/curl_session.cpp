#include "upload/curl_session.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>

namespace mcaprec::upload {

struct BodyReader {
  std::span<const uint8_t> remaining;
  BandwidthLimit* bandwidth = nullptr;  // null = unlimited
};

// What the progress callback needs of one transfer.
struct TransferProgress {
  const SessionOptions* options = nullptr;
  curl_off_t reported_sent = 0;
};

namespace {

size_t read_body(char* buffer, size_t size, size_t count, void* data) {
  auto* reader = static_cast<BodyReader*>(data);
  size_t length = std::min(size * count, reader->remaining.size());
  if (reader->bandwidth != nullptr && length > 0) {
    // Handing libcurl less than it asked for is allowed; it keeps each wait short.
    length = std::min<size_t>(length, reader->bandwidth->max_booking());
    reader->bandwidth->acquire(length);
  }
  std::memcpy(buffer, reader->remaining.data(), length);
  reader->remaining = reader->remaining.subspan(length);
  return length;
}

size_t write_body(char* data, size_t size, size_t count, void* out) {
  static_cast<HttpResponse*>(out)->body.append(data, size * count);
  return size * count;
}

size_t write_header(char* data, size_t size, size_t count, void* out) {
  const std::string_view line(data, size * count);
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() &&
           (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    static_cast<HttpResponse*>(out)->headers[name] = std::string(value);
  }
  return size * count;
}

int on_progress(void* data, curl_off_t, curl_off_t, curl_off_t, curl_off_t sent) {
  auto* progress = static_cast<TransferProgress*>(data);
  const SessionOptions& options = *progress->options;
  if (options.on_bytes_sent && sent > progress->reported_sent) {
    options.on_bytes_sent(static_cast<uint64_t>(sent - progress->reported_sent));
    progress->reported_sent = sent;
  }
  const bool cancelled = options.cancel && options.cancel->load(std::memory_order_relaxed);
  return cancelled ? 1 : 0;  // non-zero: libcurl aborts with CURLE_ABORTED_BY_CALLBACK
}

// Which transport failures are worth trying again: the network and the server's moods are;
// a URL we cannot use or a certificate we do not trust is not, until someone changes the config.
S3Error transport_error(CURLcode code, const std::string& what) {
  S3Error error;
  error.code = curl_easy_strerror(code);
  error.message = what;
  switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_NOT_BUILT_IN:
      error.kind = FailureKind::permanent;
      break;
    default:
      error.kind = FailureKind::retryable;
  }
  return error;
}

}  // namespace

CurlSession::CurlSession(SessionOptions options, Credentials credentials)
    : options_(std::move(options)), credentials_(std::move(credentials)) {
  static std::once_flag global_init;
  std::call_once(global_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  handle_ = curl_easy_init();
}

CurlSession::~CurlSession() {
  curl_easy_cleanup(static_cast<CURL*>(handle_));
}

void CurlSession::set_method(const HttpRequest& request, BodyReader& reader) {
  CURL* curl = static_cast<CURL*>(handle_);
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(curl, CURLOPT_READDATA, &reader);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
}

S3Result<HttpResponse> CurlSession::perform(const HttpRequest& request) {
  CURL* curl = static_cast<CURL*>(handle_);
  curl_easy_reset(curl);  // options only; the connection stays for the next request
  const std::string signing = "aws:amz:" + options_.region + ":s3";
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, signing.c_str());
  curl_easy_setopt(curl, CURLOPT_USERNAME, credentials_.access_key_id.c_str());
  curl_easy_setopt(curl, CURLOPT_PASSWORD, credentials_.secret_access_key.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, options_.connect_timeout_s);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, options_.stall_timeout_s);
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());

  // RGW checks the payload hash header, which curl's SigV4 does not add by itself; the bodies
  // are protected by Content-MD5 instead of a signed hash.
  curl_slist* headers = curl_slist_append(nullptr, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
  if (!credentials_.session_token.empty()) {
    headers =
        curl_slist_append(headers, ("x-amz-security-token: " + credentials_.session_token).c_str());
  }
  for (const std::string& header : request.headers)
    headers = curl_slist_append(headers, header.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

  BodyReader reader{request.body, options_.bandwidth.get()};
  set_method(request, reader);
  TransferProgress progress{&options_, 0};
  if (options_.cancel || options_.on_bytes_sent) {
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &progress);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  }
  HttpResponse response;
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, write_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);
  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (code != CURLE_OK) return transport_error(code, request.method + " " + request.url);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace mcaprec::upload
