#pragma once
// The few S3 XML answers the client reads (errors, InitiateMultipartUploadResult,
// ListPartsResult), parsed with expat, and the CompleteMultipartUpload body it writes.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace mcaprec::upload {

// An element as it ended: its path from the root ("ListPartsResult/Part/ETag") and its text.
struct XmlElement {
  std::string path;
  std::string text;
};

// Every element of `body` in the order they end (children before their parent).
base::Result<std::vector<XmlElement>> parse_xml(const std::string& body);

struct S3ErrorBody {
  std::string code;     // "NoSuchBucket"; empty when the body was not an S3 error
  std::string message;  // "The specified bucket does not exist"; may be empty (RGW)
};
S3ErrorBody parse_error_body(const std::string& body);

// InitiateMultipartUploadResult/UploadId, if the answer holds one.
std::optional<std::string> parse_upload_id(const std::string& body);

struct UploadedPart {
  int number = 0;
  std::string etag;  // without quotes
  uint64_t size = 0;

  bool operator==(const UploadedPart&) const = default;
};

struct PartsPage {
  std::vector<UploadedPart> parts;
  bool truncated = false;
  int next_marker = 0;  // NextPartNumberMarker, for the next page when truncated
};
base::Result<PartsPage> parse_parts_page(const std::string& body);

// <CompleteMultipartUpload> listing the parts in order, ETags quoted as S3 gave them.
std::string complete_multipart_body(const std::vector<UploadedPart>& parts);

// An ETag without the quotes S3 puts around it.
std::string unquote_etag(const std::string& etag);

}  // namespace mcaprec::upload
