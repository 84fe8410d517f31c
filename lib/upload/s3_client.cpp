#include "upload/s3_client.hpp"

#include <cctype>

namespace mcaprec::upload {
namespace {

std::string percent_encode(const std::string& text, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 0xf];
    }
  }
  return out;
}

std::string header_or_empty(const HttpResponse& response, const std::string& name) {
  const auto found = response.headers.find(name);
  return found == response.headers.end() ? std::string() : found->second;
}

// Our ETag check holds where S3 computes ETags as MD5s, which is everywhere but server-side
// encryption with KMS (then ETags are opaque and the server's own Content-MD5 check stands).
bool etag_is_md5(const std::string& etag) {
  if (etag.size() != 32) return false;
  for (unsigned char c : etag) {
    if (!std::isxdigit(c)) return false;
  }
  return true;
}

S3Error etag_mismatch(const std::string& what, const std::string& expected,
                      const std::string& got) {
  return S3Error{
      FailureKind::retryable, 0, "ETagMismatch",
      what + ": the server stored other bytes (ETag " + got + ", sent MD5 " + expected + ")"};
}

// Our whole-file MD5 as object metadata; none when unknown (an empty header value would be
// dropped by curl after signing it, and the signature would no longer match).
std::vector<std::string> md5_metadata(const std::string& whole_md5_hex) {
  if (whole_md5_hex.empty()) return {};
  return {std::string(kMd5MetadataHeader) + ": " + whole_md5_hex};
}

}  // namespace

std::string encode_key(const std::string& key) {
  return percent_encode(key, true);
}
std::string encode_query_value(const std::string& value) {
  return percent_encode(value, false);
}

S3Client::S3Client(ClientOptions options, Credentials credentials)
    : endpoint_(std::move(options.endpoint)),
      session_(std::move(options.session), std::move(credentials)) {
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
}

std::string S3Client::url(const ObjectRef& object, const std::string& sorted_query) const {
  std::string text = endpoint_ + "/" + object.bucket + "/" + encode_key(object.key);
  return sorted_query.empty() ? text : text + "?" + sorted_query;
}

S3Result<HttpResponse> S3Client::send(const HttpRequest& request, const std::string& what) {
  auto response = session_.perform(request);
  if (!response) {
    S3Error error = response.error();
    error.message = what + ": " + error.message;
    return error;
  }
  // CompleteMultipartUpload may answer 200 and still fail, with an <Error> body.
  const S3ErrorBody body_error = parse_error_body(response->body);
  if (response->status >= 200 && response->status < 300 && body_error.code.empty()) return response;
  S3Error error;
  error.http_status = response->status;
  error.code = body_error.code.empty() ? "HTTP" : body_error.code;
  error.kind = classify_http_failure(error.http_status, error.code);
  error.message = what + (body_error.message.empty() ? "" : ": " + body_error.message);
  return error;
}

S3Result<std::optional<ObjectInfo>> S3Client::head_object(const ObjectRef& object) {
  const std::string what = "HEAD " + object.bucket + "/" + object.key;
  auto response = session_.perform({"HEAD", url(object), {}, {}});
  if (!response) return S3Error{response.error().kind, 0, response.error().code, what};
  if (response->status == 404) return std::optional<ObjectInfo>();
  if (response->status != 200) {
    // A HEAD answer has no body: the status alone says what it was.
    const bool denied = response->status == 403;
    const std::string code = denied ? "AccessDenied" : "HTTP";
    return S3Error{
        classify_http_failure(response->status, code), response->status, code,
        what + (denied ? ": wrong keys or no permission (a HEAD answer says no more)" : "")};
  }
  ObjectInfo info;
  info.size = std::stoull("0" + header_or_empty(*response, "content-length"));
  info.etag = unquote_etag(header_or_empty(*response, "etag"));
  info.stored_md5 = header_or_empty(*response, kMd5MetadataHeader);
  return std::optional<ObjectInfo>(std::move(info));
}

S3Status S3Client::put_object(const ObjectRef& object, std::span<const uint8_t> body,
                              const std::string& whole_md5_hex,
                              const std::optional<Md5Digest>& body_md5) {
  const std::string what = "PUT " + object.bucket + "/" + object.key;
  const Md5Digest digest = body_md5 ? *body_md5 : md5(body);
  HttpRequest request{"PUT", url(object), md5_metadata(whole_md5_hex), body};
  request.headers.push_back("Content-MD5: " + to_base64(digest));
  auto response = send(request, what);
  if (!response) return response.error();
  const std::string etag = unquote_etag(header_or_empty(*response, "etag"));
  if (etag_is_md5(etag) && etag != to_hex(digest)) return etag_mismatch(what, to_hex(digest), etag);
  return {};
}

S3Result<std::string> S3Client::create_multipart_upload(const ObjectRef& object,
                                                        const std::string& whole_md5_hex) {
  const std::string what = "CreateMultipartUpload " + object.bucket + "/" + object.key;
  auto response = send({"POST", url(object, "uploads="), md5_metadata(whole_md5_hex), {}}, what);
  if (!response) return response.error();
  auto upload_id = parse_upload_id(response->body);
  if (!upload_id)
    return S3Error{FailureKind::retryable, response->status, "BadAnswer", what + ": no UploadId"};
  return *upload_id;
}

S3Result<std::string> S3Client::upload_part(const ObjectRef& object, const std::string& upload_id,
                                            int part_number, std::span<const uint8_t> body,
                                            const std::optional<Md5Digest>& body_md5) {
  const std::string what =
      "UploadPart " + std::to_string(part_number) + " of " + object.bucket + "/" + object.key;
  const Md5Digest digest = body_md5 ? *body_md5 : md5(body);
  const std::string query =
      "partNumber=" + std::to_string(part_number) + "&uploadId=" + encode_query_value(upload_id);
  auto response =
      send({"PUT", url(object, query), {"Content-MD5: " + to_base64(digest)}, body}, what);
  if (!response) return response.error();
  const std::string etag = unquote_etag(header_or_empty(*response, "etag"));
  if (etag_is_md5(etag) && etag != to_hex(digest)) return etag_mismatch(what, to_hex(digest), etag);
  return etag;
}

S3Status S3Client::complete_multipart_upload(const ObjectRef& object, const std::string& upload_id,
                                             const std::vector<UploadedPart>& parts) {
  const std::string what = "CompleteMultipartUpload " + object.bucket + "/" + object.key;
  const std::string xml = complete_multipart_body(parts);
  const std::span<const uint8_t> body(reinterpret_cast<const uint8_t*>(xml.data()), xml.size());
  auto response = send({"POST",
                        url(object, "uploadId=" + encode_query_value(upload_id)),
                        {"Content-MD5: " + to_base64(md5(body)), "Content-Type: application/xml"},
                        body},
                       what);
  if (!response) return response.error();
  return {};
}

S3Status S3Client::abort_multipart_upload(const ObjectRef& object, const std::string& upload_id) {
  const std::string what = "AbortMultipartUpload " + object.bucket + "/" + object.key;
  auto response =
      send({"DELETE", url(object, "uploadId=" + encode_query_value(upload_id)), {}, {}}, what);
  if (!response) return response.error();
  return {};
}

S3Result<std::vector<UploadedPart>> S3Client::list_parts(const ObjectRef& object,
                                                         const std::string& upload_id) {
  const std::string what = "ListParts " + object.bucket + "/" + object.key;
  std::vector<UploadedPart> parts;
  int marker = 0;
  for (;;) {
    const std::string query = "part-number-marker=" + std::to_string(marker) +
                              "&uploadId=" + encode_query_value(upload_id);
    auto response = send({"GET", url(object, query), {}, {}}, what);
    if (!response) return response.error();
    auto page = parse_parts_page(response->body);
    if (!page)
      return S3Error{FailureKind::retryable, response->status, "BadAnswer",
                     what + ": " + page.error().message};
    parts.insert(parts.end(), page->parts.begin(), page->parts.end());
    if (!page->truncated || page->next_marker <= marker) return parts;
    marker = page->next_marker;
  }
}

}  // namespace mcaprec::upload
