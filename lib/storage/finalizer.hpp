#pragma once
// Finalizes output files on its own thread, so that the thread that writes chunks never waits
// for a summary, an fdatasync, a rename or a directory fsync. Files are finalized in the order
// they were submitted.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/result.hpp"
#include "storage/output_file.hpp"

namespace mcaprec::storage {

struct FinalizerStats {
  uint64_t files_finalized = 0;  // summary and footer written, synced, renamed
  uint64_t files_failed = 0;
  std::string last_finalized_file;
  std::optional<base::Error> first_error;  // the first failure
  std::chrono::nanoseconds cpu_time{0};    // the finalizer thread's
};

// What became of one submitted file.
struct FinishedFile {
  std::string path;  // the final path
  bool ok = false;
  std::string error;  // when !ok
};

// Told of every file the finalizer finished (renamed and synced, or failed), on the finalizer's
// thread, before the file counts as finished: a split's answer and the stats come after it.
// Upload enqueues here, so a file is in the upload journal before anyone hears it is done.
using FinishedFileListener = std::function<void(const FinishedFile&)>;

class Finalizer {
 public:
  explicit Finalizer(FinishedFileListener on_finished = {});
  ~Finalizer();  // finish()
  Finalizer(const Finalizer&) = delete;
  Finalizer& operator=(const Finalizer&) = delete;

  void submit(std::unique_ptr<OutputFile> file);
  // Finalizes everything submitted so far, then stops the thread. Idempotent.
  void finish();

  // The first failure, if any.
  std::optional<base::Error> first_error() const;
  FinalizerStats stats() const;
  // The outcome of the file with this final path, if it was among the last few finished
  // (a split waits for its file this way).
  std::optional<FinishedFile> finished(const std::string& final_path) const;

 private:
  void run();

  const FinishedFileListener on_finished_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<OutputFile>> pending_;  // guarded by mu_
  bool finishing_ = false;                           // guarded by mu_
  std::optional<base::Error> first_error_;           // guarded by mu_
  std::string last_path_;                            // guarded by mu_
  std::deque<FinishedFile> recent_;                  // guarded by mu_; the last kRecent
  std::atomic<uint64_t> finalized_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<int64_t> cpu_ns_{0};
  std::thread thread_;  // last: starts after every member above exists
};

}  // namespace mcaprec::storage
