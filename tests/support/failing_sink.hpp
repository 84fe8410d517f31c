#pragma once
// The tests' one failing disk: a sink that refuses writes past a capacity (a full disk) or from
// a given write on (a broken disk), fails a chosen sync, and can refuse to cut back. It hands
// what it accepts to a real sink, or keeps it in memory.
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "mcap/sink.hpp"

namespace mcaprec::test_support {

// What goes wrong, set by the test before the sink is used, and what happened. One DiskFaults
// may serve several sinks and their sync handles; it must outlive them.
struct DiskFaults {
  uint64_t capacity = UINT64_MAX;  // a write that would pass this many bytes is refused
  bool write_what_fits = false;    // the refused write first stores the bytes that fit
  bool once = false;               // after the first refusal, the space is there again
  uint64_t failing_write = 0;      // this write (1-based) and every one after it fail; 0 = none
  int error_number = ENOSPC;       // what refused writes fail with (ENOSPC, EIO, ...)
  bool can_truncate = true;        // false: cutting back fails, as a plain ByteSink's does
  bool reserve_checks_capacity = false;  // reserve() refuses room past capacity; else a no-op
  int failing_sync = 0;                  // this sync of a handle (1-based) fails with EIO

  std::atomic<int> syncs{0};            // syncs through the sinks' handles
  std::atomic<uint64_t> refused_at{0};  // the sink's size after the last refused write
};

// "<what>: <strerror(error_number)>", marked as the test's full disk for ENOSPC.
inline mcap::Error disk_error(uint64_t offset, const std::string& what, int error_number) {
  std::string message = what + ": " + std::strerror(error_number);
  if (error_number == ENOSPC) message += " (test disk full)";
  return mcap::Error{offset, std::move(message)};
}

// Syncs through `inner` (when there is one) and counts; the sync numbered
// DiskFaults::failing_sync fails.
class FailingSyncHandle : public mcap::SyncHandle {
 public:
  FailingSyncHandle(std::shared_ptr<mcap::SyncHandle> inner, DiskFaults& faults)
      : inner_(std::move(inner)), faults_(faults) {}
  mcap::Status sync() override {
    if (++faults_.syncs == faults_.failing_sync) return disk_error(0, "cannot sync", EIO);
    return inner_ ? inner_->sync() : mcap::Status{};
  }

 private:
  std::shared_ptr<mcap::SyncHandle> inner_;
  DiskFaults& faults_;
};

class FailingSink : public mcap::ByteSink {
 public:
  // Keeps what it accepts in memory (bytes()).
  explicit FailingSink(DiskFaults& faults) : faults_(faults) {}
  // Hands what it accepts to `inner`, a real file for instance.
  FailingSink(std::unique_ptr<mcap::ByteSink> inner, DiskFaults& faults)
      : inner_(std::move(inner)), faults_(faults) {}

  mcap::Status write(mcap::ByteView data) override {
    ++writes_;
    if (faults_.failing_write != 0 && writes_ >= faults_.failing_write) {
      return refuse();
    }
    if (!(faults_.once && refused_) && size_ + data.size() > faults_.capacity) {
      const uint64_t fits = faults_.capacity > size_ ? faults_.capacity - size_ : 0;
      if (faults_.write_what_fits) {
        if (mcap::Status s = store(data.first(fits)); !s) return s;
      }
      return refuse();
    }
    return store(data);
  }
  mcap::Status flush() override { return inner_ ? inner_->flush() : mcap::Status{}; }
  mcap::Status sync() override { return inner_ ? inner_->sync() : mcap::Status{}; }
  mcap::Result<std::shared_ptr<mcap::SyncHandle>> sync_handle() override {
    if (!inner_) return std::shared_ptr<mcap::SyncHandle>();
    auto inner = inner_->sync_handle();
    if (!inner) return inner.error();
    return std::shared_ptr<mcap::SyncHandle>(std::make_shared<FailingSyncHandle>(*inner, faults_));
  }
  mcap::Status truncate(uint64_t size) override {
    if (!faults_.can_truncate) return ByteSink::truncate(size);
    if (inner_) {
      if (mcap::Status s = inner_->truncate(size); !s) return s;
    } else {
      if (size > bytes_.size()) return mcap::Error{size, "too long"};
      bytes_.resize(size);
    }
    size_ = size;
    return {};
  }
  mcap::Status reserve(uint64_t bytes) override {
    if (!faults_.reserve_checks_capacity) return {};
    if (size_ + bytes > faults_.capacity) return disk_error(size_, "cannot reserve", ENOSPC);
    return inner_ ? inner_->reserve(bytes) : mcap::Status{};
  }

  // What it accepted, when it keeps it in memory.
  const mcap::Bytes& bytes() const { return bytes_; }

 private:
  mcap::Status store(mcap::ByteView data) {
    if (inner_) {
      if (mcap::Status s = inner_->write(data); !s) return s;
    } else {
      bytes_.insert(bytes_.end(), data.begin(), data.end());
    }
    size_ += data.size();
    return {};
  }
  mcap::Status refuse() {
    refused_ = true;
    faults_.refused_at = size_;
    return disk_error(size_, "cannot write", faults_.error_number);
  }

  std::unique_ptr<mcap::ByteSink> inner_;  // null: in memory
  DiskFaults& faults_;
  mcap::Bytes bytes_;
  uint64_t size_ = 0;  // bytes accepted (after any cut back)
  uint64_t writes_ = 0;
  bool refused_ = false;
};

}  // namespace mcaprec::test_support
