#include "daemon/upload_runner.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>

#include "upload/bandwidth_limit.hpp"
#include "upload/object_key.hpp"

namespace mcaprec::daemon {

upload::UploaderOptions uploader_options_for(const config::Config& config) {
  const config::Upload& settings = *config.upload;
  upload::UploaderOptions options;
  options.client.endpoint = settings.endpoint;
  options.client.session.region = settings.region;
  options.client.session.ca_file = settings.ca_file;
  options.client.session.bandwidth = upload::bandwidth_limit_for(settings.max_bandwidth);
  options.bucket = settings.bucket;
  options.key_template = settings.key_template;
  options.credentials_file = settings.credentials_file;
  const char* credentials_directory = std::getenv("CREDENTIALS_DIRECTORY");
  options.credentials_directory = credentials_directory ? credentials_directory : "";
  options.part_size = settings.part_size;
  options.delete_after_upload = settings.delete_after_upload;
  options.device_id = upload::device_id_or_hostname(config.session.device_id);
  options.prefix = config.output.prefix;
  options.retry = upload::RetryPolicy{}.scaled(
      upload::retry_scale_from(std::getenv(upload::kRetryScaleVariable)));
  return options;
}

namespace {

void log_start(const upload::QueueStartReport& report, const upload::UploadQueue& queue,
               const upload::UploaderOptions& options) {
  for (const std::string& name : report.lost) {
    spdlog::error("upload: {} was waiting for upload but is no longer in {}; it is lost", name,
                  queue.directory());
  }
  if (report.ignored_journal_lines > 0) {
    spdlog::warn("upload: {} line(s) of {} were torn or unreadable (a crash mid-write) and ignored",
                 report.ignored_journal_lines, queue.journal_path());
  }
  spdlog::info(
      "upload: to s3://{} at {} as {} (device_id {}); {} file(s) pending from the journal ({} "
      "multipart upload(s) to resume), {} found in {} not yet uploaded; journal {}",
      options.bucket, options.client.endpoint, options.key_template, options.device_id,
      report.pending_from_journal, report.resumable_multipart, report.found_in_directory,
      queue.directory(), queue.journal_path());
}

}  // namespace

base::Result<std::unique_ptr<UploadRunner>> UploadRunner::start(const config::Config& config) {
  upload::QueueStartReport report;
  auto queue = upload::UploadQueue::open(
      upload::QueueOptions{config.output.directory, config.output.prefix, ""}, report);
  if (!queue) return base::Error{0, "upload: " + queue.error().message};
  upload::UploaderOptions options = uploader_options_for(config);
  log_start(report, **queue, options);
  return std::unique_ptr<UploadRunner>(new UploadRunner(std::move(*queue), std::move(options)));
}

UploadRunner::UploadRunner(std::unique_ptr<upload::UploadQueue> queue,
                           upload::UploaderOptions options)
    : queue_(std::move(queue)), uploader_(std::move(options), *queue_) {}

UploadRunner::~UploadRunner() {
  uploader_.stop();
}

storage::FinishedFileListener UploadRunner::listener() {
  return [this](const storage::FinishedFile& file) {
    if (!file.ok) return;  // left `.active`: recovered, then found, at the next start
    if (base::Status enqueued = queue_->enqueue(file.path); !enqueued) {
      spdlog::error("upload: {}; it is enqueued again at the next start", enqueued.error().message);
    }
  };
}

void UploadRunner::stop_uploading() {
  uploader_.request_stop();
}

void UploadRunner::finish_uploading() {
  uploader_.stop();
}

void UploadRunner::forget(const std::string& path) {
  (void)queue_->forget(std::filesystem::path(path).filename().string());
}

upload::UploadStats UploadRunner::stats() const {
  return uploader_.stats();
}

}  // namespace mcaprec::daemon
