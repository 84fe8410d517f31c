#include "storage/finalizer.hpp"

#include <pthread.h>
#include <time.h>

namespace mcaprec::storage {

namespace {

constexpr size_t kRecentFiles = 64;

int64_t thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

Finalizer::Finalizer(FinishedFileListener on_finished)
    : on_finished_(std::move(on_finished)), thread_([this] { run(); }) {}

Finalizer::~Finalizer() {
  finish();
}

void Finalizer::submit(std::unique_ptr<OutputFile> file) {
  {
    std::lock_guard lock(mu_);
    pending_.push_back(std::move(file));
  }
  wake_.notify_one();
}

void Finalizer::finish() {
  {
    std::lock_guard lock(mu_);
    finishing_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

std::optional<base::Error> Finalizer::first_error() const {
  std::lock_guard lock(mu_);
  return first_error_;
}

FinalizerStats Finalizer::stats() const {
  FinalizerStats stats;
  stats.files_finalized = finalized_.load(std::memory_order_relaxed);
  stats.files_failed = failed_.load(std::memory_order_relaxed);
  stats.cpu_time = std::chrono::nanoseconds(cpu_ns_.load(std::memory_order_relaxed));
  std::lock_guard lock(mu_);
  stats.last_finalized_file = last_path_;
  stats.first_error = first_error_;
  return stats;
}

std::optional<FinishedFile> Finalizer::finished(const std::string& final_path) const {
  std::lock_guard lock(mu_);
  for (const FinishedFile& file : recent_) {
    if (file.path == final_path) return file;
  }
  return std::nullopt;
}

void Finalizer::run() {
  ::pthread_setname_np(::pthread_self(), "mcaprec-final");
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return finishing_ || !pending_.empty(); });
    if (pending_.empty()) return;  // finishing and nothing left
    std::unique_ptr<OutputFile> file = std::move(pending_.front());
    pending_.pop_front();
    lock.unlock();
    const base::Status status = file->finalize();
    const std::string path = file->final_path();
    file.reset();
    FinishedFile finished{path, bool(status), status ? std::string() : status.error().message};
    if (on_finished_) on_finished_(finished);
    cpu_ns_.store(thread_cpu_ns(), std::memory_order_relaxed);
    lock.lock();
    recent_.push_back(std::move(finished));
    if (recent_.size() > kRecentFiles) recent_.pop_front();
    if (status) {
      last_path_ = path;
      finalized_.fetch_add(1, std::memory_order_relaxed);
    } else {
      if (!first_error_) first_error_ = status.error();
      failed_.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

}  // namespace mcaprec::storage
