#pragma once
// RecordingFile: the file being recorded, one after another, from opening to the finalizer.
// The writer above decides what goes in and when a file ends (order, rotation); this class
// decides how: it opens each file (named by FileNamer, or the one single path) with the
// recorder's `mcaprec` record and the latched messages (RecordingSource::latched_chunk), declares
// each channel before its first chunk in every file (so every file stands alone), reserves disk
// room for each record plus an estimate of what closing the file writes (SummaryEstimate), asks
// Retention for room, and pauses recording when there is none (RecordingPause). Every file leaves
// through one hand-off: complete (with `mcaprec.stats`) or failed to the Finalizer, or, holding
// nothing worth keeping, deleted.
//
// Durability: each record reaches the OS at once and becomes the checkpoint a later failure
// cuts back to, so a failure never takes a chunk already counted as written with it. The
// Syncer makes the bytes durable at least every sync_interval on its own thread. A write, flush
// or sync that fails is never retried (after a failed fdatasync the OS may have dropped the
// bytes it could not write): the file is cut back to its last checkpoint and handed on there,
// still valid, the error is logged and counted, and the next chunk opens a new file. A single
// output path is never reopened (that would truncate it).
//
// Everything is called from the writer's thread, except stats() and the syncer's failure
// callback (from the syncer's thread; it must only wake the writer, which then calls
// check_sync_failure()). What the file needs from the layer above comes through
// RecordingSource, so storage never sees the pipeline.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "mcap/chunk.hpp"
#include "mcap/records.hpp"
#include "mcap/writer.hpp"
#include "storage/file_naming.hpp"
#include "storage/finalizer.hpp"
#include "storage/output_file.hpp"
#include "storage/recording_pause.hpp"
#include "storage/retention.hpp"
#include "storage/summary_estimate.hpp"
#include "storage/syncer.hpp"

namespace mcaprec::storage {

// Why a file was started: its `mcaprec` record's start_reason.
enum class StartReason { kStart, kSize, kDuration, kRequest, kError, kResume };
const char* start_reason_name(StartReason reason);

// What a recording file asks of the layer that feeds it.
class RecordingSource {
 public:
  struct Declaration {
    const mcap::Channel* channel = nullptr;  // null: no channel has this id
    const mcap::Schema* schema = nullptr;    // null: the channel has none
  };
  virtual ~RecordingSource() = default;
  // The channel a chunk refers to by its file-wide id, with its schema.
  virtual Declaration declaration(uint16_t channel_id) const = 0;
  // Every channel declared so far (into `out`, whose room is reused).
  virtual void declared_channels(std::vector<const mcap::Channel*>& out) const = 0;
  // The `mcaprec.stats` record, with the session's counts as of now.
  virtual mcap::Metadata session_stats() const = 0;
  // Messages that start every file again (latched channels), as one chunk into `out`; false
  // when there are none. They are written after the `mcaprec` record, before anything else.
  virtual bool latched_chunk(mcap::EncodedChunk& /*out*/) const { return false; }
  // The latched chunk went into a file: its messages are counted apart from those written once.
  virtual void note_relatched(const mcap::EncodedChunk& /*chunk*/) const {}
};

struct RecordingFileOptions {
  std::string single_path;  // non-empty: exactly this one file, never rotated
  std::string directory;    // else files named by FileNamer in this directory
  std::string prefix;
  mcap::WriterOptions writer_options;  // use_chunks is forced off: chunks arrive encoded
  bool recorder_metadata = true;       // write `mcaprec` and `mcaprec.stats`
  mcap::KeyValueMap extra_metadata;    // more keys for `mcaprec` (e.g. config digest)
  // Written after `mcaprec` at the start of every file (e.g. `mcaprec.session`, `foxglove`).
  std::vector<mcap::Metadata> start_metadata;
  std::string session_start;          // UTC stamp of the session's start
  size_t stats_keys_per_channel = 2;  // keys per channel in `mcaprec.stats`, for the estimate
  SinkFactory open_sink;              // empty = FileSinks on file_system
  // Every call that changes the disk (files, renames, deletes, directory syncs); null = POSIX.
  std::shared_ptr<FileSystem> file_system;
  std::chrono::nanoseconds sync_interval{0};  // fdatasync at least this often; 0 = never
  // Retention (rotating output only); all 0 = none.
  uint64_t max_total_bytes = 0;
  uint64_t min_free_bytes = 0;
  FreeSpaceProbe free_space;            // empty = statvfs
  UploadPending upload_pending;         // empty = nothing waits for upload (retention.hpp)
  DeletedFileListener on_file_deleted;  // each file retention deleted (retention.hpp)
  // While paused, try to resume this often.
  std::chrono::nanoseconds pause_recheck = std::chrono::seconds(1);
};

struct RecordingFileStats {
  uint64_t files_started = 0;
  uint64_t files_closed_on_error = 0;  // ended early by a failed write, flush or sync
  std::string current_file;            // the .active path, "" between files
  std::optional<base::Error> first_error;
  SyncerStats sync;
  bool paused = false;  // no room to write: chunks are held
  std::string pause_reason;
  uint64_t retention_files_deleted = 0;
  uint64_t retention_bytes_deleted = 0;
  // Deleted by the min_free_bytes emergency before they were uploaded (retention.hpp).
  uint64_t files_lost_before_upload = 0;
};

class RecordingFile {
 public:
  enum class Appended {
    kWritten,  // in the file, counted in bytes_written()
    kHeld,     // recording is paused: offer the chunk again once the pause is over
    kLost,     // it cannot be written (error noted): count its messages as write errors
  };

  RecordingFile(RecordingFileOptions options, const RecordingSource& source, Finalizer& finalizer,
                std::function<void()> on_sync_failure);
  RecordingFile(const RecordingFile&) = delete;
  RecordingFile& operator=(const RecordingFile&) = delete;

  // Opens a file now (the first one, so that a bad directory is reported at once). False when
  // it could not; the error is noted.
  bool open();
  bool is_open() const { return file_ != nullptr; }
  bool rotating() const { return options_.single_path.empty(); }
  uint64_t chunks() const { return file_chunks_; }  // in the open file
  uint64_t bytes_written() const { return file_ ? file_->writer().bytes_written() : 0; }
  std::chrono::steady_clock::time_point first_chunk_at() const { return first_chunk_at_; }

  Appended append(const mcap::EncodedChunk& chunk);
  // Metadata and attachments are written where they come, between chunks.
  void write_metadata(const mcap::Metadata& metadata);
  void write_attachment(const mcap::Attachment& attachment);
  // Hands the OS what the file buffers, and makes it the point a failure returns to.
  void flush();

  // Ends the file (if rotating and one is open); the next chunk opens the next one.
  void rotate(StartReason next_reason);
  // Ends the file for good (stop).
  void close();
  // The syncer's failure callback came: ends the file if the failure is about it.
  void check_sync_failure();
  // Stops periodic syncing, once the writer thread is done.
  void stop_syncing() { syncer_.stop(); }

  const RecordingPause& pause_state() const { return pause_; }
  // The writer tries held chunks again now.
  void stop_holding() { pause_.stop_holding(); }

  // Keeps the first error of the session, for stats and stop().
  void note_error(const base::Error& error);
  RecordingFileStats stats() const;

 private:
  enum class Ending { kComplete, kFailed, kDeleted };

  base::Result<std::unique_ptr<OutputFile>> create_file();
  base::Status start_file(OutputFile& file, const mcap::Metadata& info);
  base::Status write_latched(OutputFile& file, bool& written);
  void track_sync();
  Appended append_to_open_file(const mcap::EncodedChunk& chunk, uint64_t incoming);
  Appended handle_no_room(const mcap::EncodedChunk& chunk, const base::Error& error);
  Appended lose(const base::Error& error);
  base::Status declare_channels(const mcap::EncodedChunk& chunk);
  uint64_t declaration_bytes(const mcap::EncodedChunk& chunk) const;
  uint64_t incoming_bytes(const mcap::EncodedChunk& chunk) const;
  bool make_room(uint64_t incoming_bytes);
  void write_record(const std::string& what, uint64_t record_bytes, uint64_t name_bytes,
                    const std::function<base::Status(mcap::Writer&)>& write);
  void checkpoint();
  void fail(const base::Error& error);
  void end_file(Ending ending);
  void pause(const std::string& reason);
  void refresh_stats_estimate();
  mcap::Metadata recorder_metadata(uint64_t file_index) const;

  const RecordingFileOptions options_;
  const RecordingSource& source_;
  Finalizer& finalizer_;
  FileNamer namer_;
  const std::string hostname_;

  std::unique_ptr<OutputFile> file_;
  uint64_t file_index_ = 0;  // files opened so far
  uint64_t file_chunks_ = 0;
  std::chrono::steady_clock::time_point first_chunk_at_;
  StartReason next_reason_ = StartReason::kStart;
  uint64_t checkpointed_bytes_ = 0;  // the file's length at its last checkpoint
  SummaryEstimate summary_;
  bool stats_estimate_stale_ = false;
  std::vector<const mcap::Channel*> channels_scratch_;
  mcap::EncodedChunk latched_;  // the latched messages a new file starts with
  std::optional<Retention> retention_;
  RecordingPause pause_;

  // Read by stats().
  mutable std::mutex stats_mu_;
  std::string current_path_;                // guarded by stats_mu_
  std::optional<base::Error> first_error_;  // guarded by stats_mu_
  std::atomic<uint64_t> files_started_{0};
  std::atomic<uint64_t> files_closed_on_error_{0};
  std::atomic<uint64_t> retention_files_deleted_{0};
  std::atomic<uint64_t> retention_bytes_deleted_{0};
  std::atomic<uint64_t> files_lost_before_upload_{0};

  Syncer syncer_;  // last: its thread starts after everything above exists
};

}  // namespace mcaprec::storage
