#pragma once
// One output file from creation to finalization. It is written as `<final path>.active`;
// finalize() closes the MCAP writer (Data End, summary, footer), makes the bytes durable with
// fdatasync, renames the file to its final path and fsyncs the directory so that the rename
// survives a power cut. Until then the `.active` name tells recovery that the file is unfinished.
#include <functional>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "mcap/sink.hpp"
#include "mcap/writer.hpp"
#include "storage/file_system.hpp"

namespace mcaprec::storage {

// Opens the sink a file is written through. The default writes to a FileSink; tests substitute
// sinks that stall or fail on demand.
using SinkFactory =
    std::function<base::Result<std::unique_ptr<mcap::ByteSink>>(const std::string& path)>;
// FileSinks whose calls go through `file_system` (null = POSIX).
SinkFactory file_sink_factory(std::shared_ptr<FileSystem> file_system = nullptr);

class OutputFile {
 public:
  // Creates `<final_path>.active` and writes the MCAP magic and header into it. The sink comes
  // from `open_sink` (empty: a FileSink on `file_system`); the rename, the delete and the
  // directory sync go through `file_system` (null = POSIX).
  static base::Result<std::unique_ptr<OutputFile>> create(
      std::string final_path, mcap::WriterOptions options, const SinkFactory& open_sink,
      std::shared_ptr<FileSystem> file_system = nullptr);

  mcap::Writer& writer() { return *writer_; }
  const std::string& final_path() const { return final_path_; }
  const std::string& active_path() const { return active_path_; }

  // Writer close, fdatasync, rename to the final path, fsync of the directory. A file whose
  // writer failed is first cut back to its last whole record (so a write that failed for lack
  // of space or an I/O error still leaves a valid file with everything before it). Stops at
  // the first failure and leaves the `.active` file for recovery. Call once.
  base::Status finalize();

  // Sets disk space aside for `bytes` more bytes (see mcap::ByteSink::reserve).
  base::Status reserve(uint64_t bytes) { return writer_->sink().reserve(bytes); }
  // Gives up a file that is not wanted (nothing recorded in it yet): closes and deletes it.
  void discard();

  // For the syncer: makes this file's bytes durable from another thread, even after the file
  // was handed on (see mcap::SyncHandle). Null when the sink has nothing to sync.
  base::Result<std::shared_ptr<mcap::SyncHandle>> sync_handle();

 private:
  OutputFile(std::string final_path, std::unique_ptr<mcap::Writer> writer,
             std::shared_ptr<FileSystem> file_system);

  std::shared_ptr<FileSystem> fs_;
  std::string final_path_;
  std::string active_path_;
  std::unique_ptr<mcap::Writer> writer_;
};

// Creates `directory` and its missing parents (mode 0755).
base::Status ensure_directory(const std::string& directory);

}  // namespace mcaprec::storage
