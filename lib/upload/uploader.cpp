#include "upload/uploader.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <random>

#include "base/byte_size_text.hpp"
#include "upload/io_priority.hpp"
#include "upload/object_key.hpp"

namespace mcaprec::upload {
namespace {

using base::byte_size_text;

using Clock = std::chrono::steady_clock;
constexpr int kRateSeconds = 10;
// How long a file found missing waits before it is reported lost (see UploadQueue::defer_missing).
constexpr auto kMissingGrace = std::chrono::milliseconds(200);

double seconds_of(Clock::duration duration) {
  return std::chrono::duration<double>(duration).count();
}

// ", 3 parts (2 stored by an earlier attempt)"; "" for a single PUT.
std::string parts_text(const UploadReport& report) {
  if (report.parts == 0) return "";
  std::string text = ", " + std::to_string(report.parts) + " parts";
  if (report.parts_reused > 0)
    text += " (" + std::to_string(report.parts_reused) + " stored by an earlier attempt)";
  return text;
}

double unit_random() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

// Told by upload_file of each step; journals it so that a restart resumes the upload.
class JournalObserver : public UploadObserver {
 public:
  JournalObserver(UploadQueue& queue, const PendingFile& file, std::string key)
      : queue_(queue),
        name_(file.name),
        key_(std::move(key)),
        upload_id_(file.multipart.upload_id) {}

  void on_multipart_started(const std::string& upload_id) override {
    upload_id_ = upload_id;
    report(queue_.multipart_started(name_, key_, upload_id));
  }
  void on_part_uploaded(const UploadedPart& part) override {
    report(queue_.part_uploaded(name_, upload_id_, part));
  }

 private:
  // A journal that cannot be written costs only a resume (the upload itself goes on).
  void report(const base::Status& status) {
    if (!status) spdlog::error("upload journal: {}", status.error().message);
  }
  UploadQueue& queue_;
  const std::string name_;
  const std::string key_;
  std::string upload_id_;
};

}  // namespace

const char* failure_reason_name(FailureReason reason) {
  switch (reason) {
    case FailureReason::network:
      return "network";
    case FailureReason::server:
      return "server";
    case FailureReason::access:
      return "access";
    case FailureReason::no_bucket:
      return "no_bucket";
    case FailureReason::local_file:
      return "local_file";
    case FailureReason::other:
      return "other";
  }
  return "other";
}

FailureReason failure_reason_of(const S3Error& error) {
  if (error.code == "LocalFile") return FailureReason::local_file;
  if (error.code == "Credentials" || error.http_status == 403) return FailureReason::access;
  if (error.code == "NoSuchBucket") return FailureReason::no_bucket;
  if (error.http_status == 0) {
    return error.retryable() ? FailureReason::network : FailureReason::other;
  }
  return error.retryable() ? FailureReason::server : FailureReason::other;
}

Uploader::Uploader(UploaderOptions options, UploadQueue& queue)
    : options_(std::move(options)),
      queue_(queue),
      started_(Clock::now()),
      thread_([this] { run(); }) {}

Uploader::~Uploader() {
  stop();
}

void Uploader::request_stop() {
  stopping_.store(true);
  queue_.stop();
}

void Uploader::stop() {
  request_stop();
  if (thread_.joinable()) thread_.join();
}

void Uploader::run() {
  pthread_setname_np(pthread_self(), "mcaprec-upload");
  // Uploading must never slow recording down: the disk and the CPU go to the recorder first.
  if (auto priority = lower_io_priority_of_this_thread(); priority) {
    spdlog::info("upload: the uploading thread runs at {}", priority->to_string());
  } else {
    spdlog::warn("upload: could not lower the uploading thread's priority: {}",
                 priority.error().message);
  }
  while (std::optional<PendingFile> file = queue_.wait_next()) attempt(*file);
}

std::string Uploader::key_for(const PendingFile& file) const {
  std::error_code error;
  const auto modified = std::filesystem::last_write_time(file.path, error);
  const std::time_t fallback =
      error ? std::time(nullptr)
            : std::chrono::system_clock::to_time_t(std::chrono::file_clock::to_sys(modified));
  return expand_key_template(
      options_.key_template,
      KeyFields{options_.device_id, utc_date_of(file.name, fallback), file.name, options_.prefix});
}

S3Client* Uploader::client() {
  if (client_) return client_.get();
  auto credentials = load_credentials(options_.credentials_file, options_.credentials_directory);
  if (!credentials) {
    credentials_error_ =
        S3Error{FailureKind::permanent, 0, "Credentials", credentials.error().message};
    return nullptr;
  }
  credentials_error_.reset();
  ClientOptions client_options = options_.client;
  client_options.session.cancel = &stopping_;
  client_options.session.on_bytes_sent = [this](uint64_t bytes) { note_sent(bytes); };
  client_ = std::make_unique<S3Client>(std::move(client_options), std::move(*credentials));
  return client_.get();
}

void Uploader::attempt(const PendingFile& file) {
  if (!std::filesystem::exists(file.path)) {
    // Retention forgets a file it deletes right after the unlink: give it that moment.
    if (!file.seen_missing) return queue_.defer_missing(file.name, Clock::now() + kMissingGrace);
    return lost(file);
  }
  // An upload in progress keeps the key it was started under.
  const std::string key = file.multipart.upload_id.empty() ? key_for(file) : file.key;
  S3Client* s3 = client();
  if (s3 == nullptr) return failed(file, *credentials_error_);
  JournalObserver observer(queue_, file, key);
  const UploadTarget target{file.path, {options_.bucket, key}, options_.part_size};
  const Clock::time_point began = Clock::now();
  auto report = upload_file(
      *s3, target, file.multipart.upload_id.empty() ? nullptr : &file.multipart, &observer);
  if (!report && stopping_.load()) return;  // interrupted: the journal resumes it next start
  // Deleted while being sent (the min_free_bytes emergency): already reported where it was lost.
  if (!report && !queue_.is_pending(file.name)) return;
  if (!report) return failed(file, report.error());
  succeeded(file, key, *report, Clock::now() - began);
}

void Uploader::succeeded(const PendingFile& file, const std::string& key,
                         const UploadReport& report, Clock::duration took) {
  const std::string where = "s3://" + options_.bucket + "/" + key;
  if (base::Status journaled = queue_.uploaded(file.name, key, report.etag); !journaled) {
    spdlog::error("upload: {} is stored as {} but the journal cannot say so ({}); trying again",
                  file.name, where, journaled.error().message);
    queue_.defer(file.name, file.failures + 1, Clock::now() + options_.retry.first);
    return;
  }
  files_uploaded_.fetch_add(1, std::memory_order_relaxed);
  bytes_uploaded_.fetch_add(report.file_bytes, std::memory_order_relaxed);
  if (report.outcome == UploadOutcome::already_present) {
    spdlog::info("upload: {} is already stored as {} (same size and MD5); not sent again",
                 file.name, where);
  } else {
    spdlog::info("upload: {} -> {}: {}{} in {:.1f} s", file.name, where,
                 byte_size_text(report.file_bytes), parts_text(report), seconds_of(took));
  }
  if (!logged_failure_.empty()) {
    spdlog::info("upload to s3://{} at {} works again", options_.bucket, options_.client.endpoint);
    logged_failure_.clear();
  }
  if (!options_.delete_after_upload) return;
  std::error_code error;
  if (!std::filesystem::remove(file.path, error) && error) {
    spdlog::warn("upload: cannot delete {} after its upload: {}", file.path, error.message());
    return;
  }
  files_deleted_.fetch_add(1, std::memory_order_relaxed);
  (void)queue_.forget(file.name);
  spdlog::info("upload: deleted {} (delete_after_upload; its upload was confirmed)", file.name);
}

void Uploader::lost(const PendingFile& file) {
  files_missing_.fetch_add(1, std::memory_order_relaxed);
  spdlog::error(
      "upload: {} is gone from {} before it was uploaded (deleted by something other than the "
      "upload); it cannot be uploaded",
      file.name, queue_.directory());
  (void)queue_.forget(file.name);
}

void Uploader::failed(const PendingFile& file, const S3Error& error) {
  const FailureReason reason = failure_reason_of(error);
  failures_[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  // Wrong keys may be corrected in the file: read it again next time.
  if (reason == FailureReason::access) client_.reset();
  log_failure(file, error, reason);
  const int failures = file.failures + 1;
  queue_.defer(file.name, failures,
               Clock::now() + options_.retry.delay(failures, error.kind, unit_random()));
}

// Once per kind of failure, until an upload succeeds again: a vehicle offline for a day must
// not fill the journal of the system with the same line.
void Uploader::log_failure(const PendingFile& file, const S3Error& error, FailureReason reason) {
  // An outage shows itself in several ways (reset, refused, timeouts): one line for all of it.
  const std::string what =
      error.retryable() ? "retryable" : std::string(failure_reason_name(reason)) + " " + error.code;
  if (what == logged_failure_) {
    spdlog::debug("upload of {} failed again: {}", file.name, error.to_string());
    return;
  }
  logged_failure_ = what;
  const std::string target = "s3://" + options_.bucket + " at " + options_.client.endpoint;
  if (error.retryable()) {
    spdlog::warn(
        "upload of {} to {} failed: {}; trying again with backoff (up to {:.0f} s apart), other "
        "files meanwhile",
        file.name, target, error.to_string(), seconds_of(options_.retry.cap));
    return;
  }
  std::string fix = "check the upload: settings (endpoint, region, ca_file)";
  if (reason == FailureReason::access) {
    fix = "check the keys in " + options_.credentials_file +
          " (and that they may write to the bucket; RequestTimeTooSkewed: the clock)";
  } else if (reason == FailureReason::no_bucket) {
    fix = "create the bucket or correct upload.bucket";
  } else if (reason == FailureReason::local_file) {
    fix = "the file cannot be read";
  }
  spdlog::error("upload to {} fails: {}; {}. Files stay queued and are tried again every {:.0f} s",
                target, error.to_string(), fix, seconds_of(options_.retry.permanent));
}

void Uploader::note_sent(uint64_t bytes) {
  bytes_sent_.fetch_add(bytes, std::memory_order_relaxed);
  const int64_t second =
      std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started_).count();
  std::lock_guard lock(rate_mu_);
  SecondBytes& slot = recent_seconds_[static_cast<size_t>(second) % recent_seconds_.size()];
  if (slot.second != second) slot = SecondBytes{second, 0};
  slot.bytes += bytes;
}

// Over the last kRateSeconds whole seconds.
double Uploader::rate(Clock::time_point now) const {
  const int64_t second = std::chrono::duration_cast<std::chrono::seconds>(now - started_).count();
  uint64_t bytes = 0;
  std::lock_guard lock(rate_mu_);
  for (const SecondBytes& slot : recent_seconds_) {
    if (slot.second >= second - kRateSeconds && slot.second < second) bytes += slot.bytes;
  }
  return static_cast<double>(bytes) / kRateSeconds;
}

UploadStats Uploader::stats() const {
  UploadStats stats;
  const QueueTotals pending = queue_.totals();
  stats.files_pending = pending.files;
  stats.bytes_pending = pending.bytes;
  stats.oldest_pending_age_seconds = pending.oldest_age_seconds;
  stats.files_uploaded = files_uploaded_.load(std::memory_order_relaxed);
  stats.bytes_uploaded = bytes_uploaded_.load(std::memory_order_relaxed);
  stats.bytes_sent = bytes_sent_.load(std::memory_order_relaxed);
  stats.bytes_per_second = rate(Clock::now());
  stats.files_deleted = files_deleted_.load(std::memory_order_relaxed);
  stats.files_missing = files_missing_.load(std::memory_order_relaxed);
  for (size_t r = 0; r < kFailureReasonCount; ++r)
    stats.failures[r] = failures_[r].load(std::memory_order_relaxed);
  return stats;
}

}  // namespace mcaprec::upload
