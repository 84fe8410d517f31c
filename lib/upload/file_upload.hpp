#pragma once
// One local file to one S3 object, the whole way: skip it when the object is already there with
// the same size and checksum, a single PUT when it fits in one part, else a multipart upload that
// can resume from an earlier upload id (only the parts S3 does not hold with the right ETag are
// sent again). Every part is read into memory once, so memory stays at one part_size.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "upload/s3_client.hpp"

namespace mcaprec::upload {

// S3's smallest part except the last; RGW enforces it too (rgw_multipart_min_part_size).
inline constexpr uint64_t kMinPartSize = 5ull << 20;

struct UploadTarget {
  std::string path;  // the local file
  ObjectRef object;
  uint64_t part_size = 16ull << 20;  // files up to this size go in one PUT
};

// Where a multipart upload stands, to persist and to resume from after a restart.
struct MultipartState {
  std::string upload_id;
  std::vector<UploadedPart> parts;  // confirmed by S3, ETag checked
};

// Told of each step a journal should persist; default: nothing.
class UploadObserver {
 public:
  virtual ~UploadObserver() = default;
  virtual void on_multipart_started(const std::string& /*upload_id*/) {}
  virtual void on_part_uploaded(const UploadedPart& /*part*/) {}
};

enum class UploadOutcome { uploaded, already_present };

struct UploadReport {
  UploadOutcome outcome = UploadOutcome::uploaded;
  uint64_t file_bytes = 0;
  uint64_t bytes_sent = 0;  // body bytes sent in this call (less than file_bytes on a resume)
  int parts = 0;            // 0 for a single PUT
  int parts_reused = 0;     // parts an earlier attempt had stored
  std::string etag;         // the stored object's ETag (without quotes)
  // Time spent sending bodies (PUT, UploadPart): bytes_sent over it is the transfer rate, the
  // one upload.max_bandwidth bounds.
  std::chrono::nanoseconds sending_time{0};
};

// `resume`: an upload id and parts from an earlier attempt, or nullptr. On failure the multipart
// upload is left as it is (the caller may resume or abort it: see `MultipartState`, filled in
// as it goes when `state_out` is given).
S3Result<UploadReport> upload_file(S3Client& client, const UploadTarget& target,
                                   const MultipartState* resume = nullptr,
                                   UploadObserver* observer = nullptr,
                                   MultipartState* state_out = nullptr);

}  // namespace mcaprec::upload
