#pragma once
// The S3 operations upload needs, one request each, on a CurlSession: HEAD, PUT, and the
// multipart calls. Path-style URLs (endpoint/bucket/key), which RGW, MinIO and AWS all accept.
// Every body sent carries its Content-MD5, and the ETag of every part or object stored is
// checked against it. Not thread-safe: one client per thread.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "upload/curl_session.hpp"
#include "upload/md5.hpp"
#include "upload/s3_xml.hpp"

namespace mcaprec::upload {

struct ClientOptions {
  std::string endpoint;  // http(s)://host[:port], no path
  SessionOptions session;
};

struct ObjectRef {
  std::string bucket;
  std::string key;
};

struct ObjectInfo {
  uint64_t size = 0;
  std::string etag;        // without quotes
  std::string stored_md5;  // hex MD5 of the whole object as we stored it (our metadata), or ""
};

// The metadata header holding the whole file's MD5: a multipart object's ETag is not its MD5.
inline constexpr const char* kMd5MetadataHeader = "x-amz-meta-mcaprec-md5";

class S3Client {
 public:
  S3Client(ClientOptions options, Credentials credentials);

  // The object's size and checksums, or nullopt when there is none under that key.
  S3Result<std::optional<ObjectInfo>> head_object(const ObjectRef& object);
  // Stores `body` whole; `whole_md5_hex` goes into the object's metadata. `body_md5`, when
  // given, is the body's digest already computed (it is sent as Content-MD5 and checked against
  // the ETag, so a body that changed since is refused by the server); else it is computed here.
  S3Status put_object(const ObjectRef& object, std::span<const uint8_t> body,
                      const std::string& whole_md5_hex,
                      const std::optional<Md5Digest>& body_md5 = std::nullopt);

  S3Result<std::string> create_multipart_upload(const ObjectRef& object,
                                                const std::string& whole_md5_hex);
  // The part's ETag (checked to be the MD5 of `body`). `body_md5` as for put_object.
  S3Result<std::string> upload_part(const ObjectRef& object, const std::string& upload_id,
                                    int part_number, std::span<const uint8_t> body,
                                    const std::optional<Md5Digest>& body_md5 = std::nullopt);
  S3Status complete_multipart_upload(const ObjectRef& object, const std::string& upload_id,
                                     const std::vector<UploadedPart>& parts);
  S3Status abort_multipart_upload(const ObjectRef& object, const std::string& upload_id);
  // Every part stored so far (all pages).
  S3Result<std::vector<UploadedPart>> list_parts(const ObjectRef& object,
                                                 const std::string& upload_id);

 private:
  std::string url(const ObjectRef& object, const std::string& sorted_query = "") const;
  // The answer when it is 2xx (and, for `complete`, not an error in a 200), else its S3Error.
  S3Result<HttpResponse> send(const HttpRequest& request, const std::string& what);

  std::string endpoint_;
  CurlSession session_;
};

// Percent-encodes a key for the URL path: unreserved characters and '/' stay.
std::string encode_key(const std::string& key);
// Percent-encodes a query parameter value.
std::string encode_query_value(const std::string& value);

}  // namespace mcaprec::upload
