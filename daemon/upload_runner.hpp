#pragma once
// Fleet upload in the daemon (an `upload:` section): the durable queue of this recorder's
// finished files and the uploader thread. Started after recovery, so that recovered files are
// found and enqueued; its listener is the pipeline's on_file_finished, so every finalized file
// (continuous and event) is in the journal before it counts as finished. Stopped first at
// shutdown, interrupting a transfer (a multipart upload resumes at the next start); the queue
// itself stays open until the pipeline has finalized its last file.
#include <memory>

#include "base/result.hpp"
#include "config/config.hpp"
#include "storage/finalizer.hpp"
#include "upload/uploader.hpp"

namespace mcaprec::daemon {

// The uploader's settings from the configuration (credentials directory from the environment).
upload::UploaderOptions uploader_options_for(const config::Config& config);

class UploadRunner {
 public:
  static base::Result<std::unique_ptr<UploadRunner>> start(const config::Config& config);
  ~UploadRunner();

  // Enqueues each finalized file, durably; a failed file stays `.active` for recovery.
  storage::FinishedFileListener listener();
  // Interrupts the upload in progress at once; the joining waits for finish_uploading().
  void stop_uploading();
  void finish_uploading();  // joins the uploader thread; idempotent
  // The file was removed on purpose (by retention, or an empty first file after a failed start).
  void forget(const std::string& path);
  upload::UploadStats stats() const;
  const upload::UploadQueue& queue() const { return *queue_; }

 private:
  UploadRunner(std::unique_ptr<upload::UploadQueue> queue, upload::UploaderOptions options);
  std::unique_ptr<upload::UploadQueue> queue_;
  upload::Uploader uploader_;
};

}  // namespace mcaprec::daemon
