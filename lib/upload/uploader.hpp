#pragma once
// The daemon's upload thread ("mcaprec-upload"): takes the next file from the UploadQueue,
// uploads it with upload_file (resuming a multipart upload the journal remembers), journals the
// confirmation and, with delete_after_upload, deletes the file then. Failures wait by
// RetryPolicy while other files go ahead; nothing is ever dropped from the queue. A permanent
// failure (keys, bucket) is logged once as an error saying what to fix; retryable ones once per
// run of failures. Never on the recording path: recording only enqueues.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "upload/retry_policy.hpp"
#include "upload/s3_client.hpp"
#include "upload/upload_queue.hpp"

namespace mcaprec::upload {

struct UploaderOptions {
  ClientOptions client;  // endpoint, region, CA file
  std::string bucket;
  std::string key_template;
  std::string credentials_file;
  std::string credentials_directory;  // $CREDENTIALS_DIRECTORY or ""
  uint64_t part_size = 16ull << 20;
  bool delete_after_upload = false;
  std::string device_id;  // already defaulted (device_id_or_hostname)
  std::string prefix;
  RetryPolicy retry;
};

// Why an attempt failed, a small fixed set (a metrics label).
enum class FailureReason { network, server, access, no_bucket, local_file, other };
inline constexpr size_t kFailureReasonCount = 6;
const char* failure_reason_name(FailureReason reason);
FailureReason failure_reason_of(const S3Error& error);

struct UploadStats {
  uint64_t files_pending = 0;
  uint64_t bytes_pending = 0;
  double oldest_pending_age_seconds = 0;
  uint64_t files_uploaded = 0;  // confirmed, including those already there
  uint64_t bytes_uploaded = 0;  // the confirmed files' sizes
  uint64_t bytes_sent = 0;      // body bytes sent, retries included
  double bytes_per_second = 0;  // bytes_sent over the last 10 s
  uint64_t files_deleted = 0;   // delete_after_upload
  uint64_t files_missing = 0;   // gone from the directory before they were uploaded
  std::array<uint64_t, kFailureReasonCount> failures{};
};

class Uploader {
 public:
  Uploader(UploaderOptions options, UploadQueue& queue);
  ~Uploader();  // stop()
  Uploader(const Uploader&) = delete;
  Uploader& operator=(const Uploader&) = delete;

  // Interrupts the transfer in progress (a multipart upload resumes at the next start) without
  // waiting; stop() also joins the thread. Both idempotent.
  void request_stop();
  void stop();
  UploadStats stats() const;

 private:
  void run();
  void attempt(const PendingFile& file);
  std::string key_for(const PendingFile& file) const;
  S3Client* client();  // nullptr when the credentials cannot be read (failure noted)
  void succeeded(const PendingFile& file, const std::string& key, const UploadReport& report,
                 std::chrono::steady_clock::duration took);
  void failed(const PendingFile& file, const S3Error& error);
  void lost(const PendingFile& file);
  void log_failure(const PendingFile& file, const S3Error& error, FailureReason reason);
  void note_sent(uint64_t bytes);
  double rate(std::chrono::steady_clock::time_point now) const;

  const UploaderOptions options_;
  UploadQueue& queue_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<S3Client> client_;  // uploader thread only
  std::string logged_failure_;        // uploader thread only: what was last logged as failing
  std::optional<S3Error> credentials_error_;

  std::atomic<uint64_t> files_uploaded_{0};
  std::atomic<uint64_t> bytes_uploaded_{0};
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> files_deleted_{0};
  std::atomic<uint64_t> files_missing_{0};
  std::array<std::atomic<uint64_t>, kFailureReasonCount> failures_{};
  const std::chrono::steady_clock::time_point started_;
  // Bytes sent per second of the uploader's life, the last few seconds; guarded by rate_mu_.
  struct SecondBytes {
    int64_t second = -1;
    uint64_t bytes = 0;
  };
  mutable std::mutex rate_mu_;
  std::array<SecondBytes, 11> recent_seconds_{};
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace mcaprec::upload
