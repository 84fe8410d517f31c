#include "storage/recording_file.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

namespace mcaprec::storage {

namespace {

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

std::optional<Retention> make_retention(const RecordingFileOptions& options) {
  if (!options.single_path.empty()) return std::nullopt;
  if (options.max_total_bytes == 0 && options.min_free_bytes == 0) return std::nullopt;
  RetentionOptions retention;
  retention.directory = options.directory;
  retention.prefix = options.prefix;
  retention.max_total_bytes = options.max_total_bytes;
  retention.min_free_bytes = options.min_free_bytes;
  retention.free_space = options.free_space;
  retention.file_system = options.file_system;
  retention.upload_pending = options.upload_pending;
  return std::optional<Retention>(std::in_place, std::move(retention));
}

}  // namespace

const char* start_reason_name(StartReason reason) {
  switch (reason) {
    case StartReason::kStart:
      return "start";
    case StartReason::kSize:
      return "size";
    case StartReason::kDuration:
      return "duration";
    case StartReason::kRequest:
      return "request";
    case StartReason::kError:
      return "error";
    case StartReason::kResume:
      return "resume";
  }
  return "unknown";
}

RecordingFile::RecordingFile(RecordingFileOptions options, const RecordingSource& source,
                             Finalizer& finalizer, std::function<void()> on_sync_failure)
    : options_(std::move(options)),
      source_(source),
      finalizer_(finalizer),
      namer_(options_.directory, options_.prefix),
      hostname_(host_name()),
      summary_(options_.stats_keys_per_channel),
      retention_(make_retention(options_)),
      pause_(options_.pause_recheck),
      syncer_(options_.sync_interval, std::move(on_sync_failure)) {}

// ---- Opening

bool RecordingFile::open() {
  base::Result<std::unique_ptr<OutputFile>> created = create_file();
  if (!created) {
    // Once per pause, not at every retry.
    if (!pause_.paused()) {
      spdlog::error("cannot start a recording file: {}", created.error().message);
    }
    note_error(created.error());
    return false;
  }
  file_ = std::move(*created);
  file_chunks_ = 0;
  summary_.start_file();
  refresh_stats_estimate();
  if (base::Status s = start_file(*file_, recorder_metadata(file_index_)); !s) {
    if (!pause_.paused()) {
      spdlog::error("cannot start {}: {}", file_->active_path(), s.error().message);
    }
    note_error(s.error());
    end_file(Ending::kDeleted);
    return false;
  }
  checkpointed_bytes_ = file_->writer().bytes_written();
  ++file_index_;
  files_started_.fetch_add(1, std::memory_order_relaxed);
  track_sync();
  std::lock_guard lock(stats_mu_);
  current_path_ = file_->active_path();
  return true;
}

base::Result<std::unique_ptr<OutputFile>> RecordingFile::create_file() {
  const std::string path =
      rotating() ? namer_.next(std::chrono::system_clock::now()) : options_.single_path;
  mcap::WriterOptions writer_options = options_.writer_options;
  writer_options.use_chunks = false;  // chunks arrive encoded
  return OutputFile::create(path, std::move(writer_options), options_.open_sink,
                            options_.file_system);
}

// Room for the opening records (`mcaprec`, the session's) and the summary, the records
// themselves, the latched messages, and the first checkpoint.
base::Status RecordingFile::start_file(OutputFile& file, const mcap::Metadata& info) {
  uint64_t opening_bytes = SummaryEstimate::kIndexEntry * (1 + info.metadata.size());
  for (const mcap::Metadata& record : options_.start_metadata) {
    opening_bytes += SummaryEstimate::metadata_bytes(record);
  }
  base::Status status = file.reserve(opening_bytes + summary_.reserve());
  if (status && options_.recorder_metadata) {
    status = file.writer().write_metadata(info);
    summary_.add_index_entry(info.name.size());
  }
  for (const mcap::Metadata& record : options_.start_metadata) {
    if (status) status = file.writer().write_metadata(record);
    summary_.add_index_entry(record.name.size());
  }
  bool relatched = false;
  if (status) status = write_latched(file, relatched);
  if (status) status = file.writer().flush();
  if (status) file.writer().checkpoint();
  if (status && relatched) source_.note_relatched(latched_);
  return status;
}

// The latched messages, with the Schema and Channel records they need, as the file's first
// chunk. It is not one of the file's own chunks (file_chunks_): alone it neither makes the
// file worth keeping nor starts its duration, and a file holding only it is never rotated.
base::Status RecordingFile::write_latched(OutputFile& file, bool& written) {
  if (!source_.latched_chunk(latched_)) return {};
  if (base::Status s = file.reserve(incoming_bytes(latched_)); !s) return s;
  if (base::Status s = declare_channels(latched_); !s) return s;
  if (base::Status s = file.writer().write_encoded_chunk(latched_); !s) return s;
  summary_.add_chunk(latched_);
  written = true;
  return {};
}

void RecordingFile::track_sync() {
  base::Result<std::shared_ptr<mcap::SyncHandle>> handle = file_->sync_handle();
  if (!handle) {
    // Without it the file is still synced when finalized; say that the policy is not kept.
    spdlog::error("{}: periodic sync unavailable: {}", file_->active_path(),
                  handle.error().message);
    note_error(handle.error());
  }
  syncer_.track(handle ? *handle : nullptr, file_index_);
}

mcap::Metadata RecordingFile::recorder_metadata(uint64_t file_index) const {
  mcap::Metadata metadata;
  metadata.name = "mcaprec";
  metadata.metadata = options_.extra_metadata;
  metadata.metadata["version"] = MCAPREC_VERSION;
  metadata.metadata["hostname"] = hostname_;
  metadata.metadata["start_reason"] = start_reason_name(next_reason_);
  metadata.metadata["file_index"] = std::to_string(file_index);
  metadata.metadata["session_start"] = options_.session_start;
  return metadata;
}

// ---- Writing

RecordingFile::Appended RecordingFile::append(const mcap::EncodedChunk& chunk) {
  // The incoming bytes are counted again once a file is open: its summary starts afresh.
  if (!make_room(incoming_bytes(chunk))) return Appended::kHeld;
  if (!file_ && !rotating()) return lose(base::Error{0, "no output file"});
  if (!file_ && !open()) {
    pause("cannot start a new file");
    return Appended::kHeld;
  }
  return append_to_open_file(chunk, incoming_bytes(chunk));
}

RecordingFile::Appended RecordingFile::append_to_open_file(const mcap::EncodedChunk& chunk,
                                                           uint64_t incoming) {
  if (base::Status s = file_->reserve(incoming); !s) return handle_no_room(chunk, s.error());
  if (base::Status s = declare_channels(chunk); !s) {
    const Appended lost = lose(base::Error{0, "cannot declare channels: " + s.error().message});
    if (file_->writer().failed()) fail(s.error());
    return lost;
  }
  base::Status status = file_->writer().write_encoded_chunk(chunk);
  if (status) status = file_->writer().flush();
  if (!status) {
    const Appended lost = lose(base::Error{0, status.error().message});
    fail(status.error());
    return lost;
  }
  checkpoint();
  if (file_chunks_++ == 0) first_chunk_at_ = std::chrono::steady_clock::now();
  summary_.add_chunk(chunk);
  pause_.note_written(file_->active_path());
  return Appended::kWritten;
}

// Out of space before anything of the chunk was written: the file ends here, valid (its
// summary fits in the room reserved with the previous chunk).
RecordingFile::Appended RecordingFile::handle_no_room(const mcap::EncodedChunk& chunk,
                                                      const base::Error& error) {
  if (!pause_.paused()) {
    spdlog::error("no room for the next chunk in {}: {}", file_->active_path(), error.message);
  }
  note_error(error);
  if (!rotating()) {
    // The one output file ends here; what follows has nowhere to go.
    close();
    return lose(base::Error{0, error.message});
  }
  if (file_chunks_ > 0) {
    // One try in a new file at once (it holds no chunk, so this does not recurse again).
    close();
    next_reason_ = StartReason::kResume;
    return append(chunk);
  }
  end_file(Ending::kDeleted);
  pause("disk full: " + error.message);
  return Appended::kHeld;
}

RecordingFile::Appended RecordingFile::lose(const base::Error& error) {
  note_error(error);
  return Appended::kLost;
}

base::Status RecordingFile::declare_channels(const mcap::EncodedChunk& chunk) {
  mcap::Writer& writer = file_->writer();
  for (const auto& [channel_id, count] : chunk.message_counts) {
    if (writer.has_channel(channel_id)) continue;
    const RecordingSource::Declaration declared = source_.declaration(channel_id);
    if (declared.channel == nullptr) {
      return base::Error{0, "chunk holds unknown channel " + std::to_string(channel_id)};
    }
    if (declared.schema != nullptr && !writer.has_schema(declared.schema->id)) {
      if (base::Status s = writer.add_schema(*declared.schema); !s) return s;
      summary_.add_schema(*declared.schema);
    }
    if (base::Status s = writer.add_channel(*declared.channel); !s) return s;
    summary_.add_channel(*declared.channel);
    stats_estimate_stale_ = true;
  }
  if (stats_estimate_stale_) refresh_stats_estimate();
  return {};
}

// Bytes the chunk's first declarations in this file add: the records themselves, their copies
// in the summary and their `mcaprec.stats` keys. With no file open, every one of its channels.
uint64_t RecordingFile::declaration_bytes(const mcap::EncodedChunk& chunk) const {
  const mcap::Writer* writer = file_ ? &file_->writer() : nullptr;
  uint64_t bytes = 0;
  for (const auto& [channel_id, count] : chunk.message_counts) {
    if (writer != nullptr && writer->has_channel(channel_id)) continue;
    const RecordingSource::Declaration declared = source_.declaration(channel_id);
    if (declared.channel == nullptr) continue;
    bytes += summary_.first_use_bytes(*declared.channel);
    if (declared.schema != nullptr &&
        (writer == nullptr || !writer->has_schema(declared.schema->id))) {
      bytes += SummaryEstimate::first_use_bytes(*declared.schema);
    }
  }
  return bytes;
}

// The chunk, the declarations it needs, and what closing the file will then write.
uint64_t RecordingFile::incoming_bytes(const mcap::EncodedChunk& chunk) const {
  return chunk.file_size() + declaration_bytes(chunk) + summary_.reserve();
}

void RecordingFile::refresh_stats_estimate() {
  source_.declared_channels(channels_scratch_);
  summary_.count_stats_for(channels_scratch_);
  stats_estimate_stale_ = false;
}

void RecordingFile::write_metadata(const mcap::Metadata& metadata) {
  write_record("metadata " + metadata.name,
               SummaryEstimate::kIndexEntry * (1 + metadata.metadata.size()), metadata.name.size(),
               [&](mcap::Writer& writer) { return writer.write_metadata(metadata); });
}

void RecordingFile::write_attachment(const mcap::Attachment& attachment) {
  write_record("attachment " + attachment.name,
               attachment.data.size() + attachment.name.size() + SummaryEstimate::kIndexEntry,
               attachment.name.size(),
               [&](mcap::Writer& writer) { return writer.write_attachment(attachment); });
}

void RecordingFile::write_record(const std::string& what, uint64_t record_bytes,
                                 uint64_t name_bytes,
                                 const std::function<base::Status(mcap::Writer&)>& write) {
  if (pause_.holding()) {
    note_error(base::Error{0, "recording is paused: " + what + " was not written"});
    return;
  }
  if (!file_ && (!rotating() || !open())) {
    note_error(base::Error{0, "no output file for " + what});
    return;
  }
  summary_.add_index_entry(name_bytes);
  if (base::Status s = file_->reserve(record_bytes + summary_.reserve()); !s) {
    note_error(base::Error{0, what + " not written: " + s.error().message});
    return;
  }
  if (base::Status s = write(file_->writer()); !s) fail(s.error());
}

void RecordingFile::flush() {
  if (!file_ || file_->writer().bytes_written() == checkpointed_bytes_) return;
  if (base::Status s = file_->writer().flush(); !s) {
    fail(s.error());
    return;
  }
  checkpoint();
}

void RecordingFile::checkpoint() {
  file_->writer().checkpoint();
  checkpointed_bytes_ = file_->writer().bytes_written();
  syncer_.note_written();
}

// ---- Room

bool RecordingFile::make_room(uint64_t incoming_bytes) {
  if (!retention_) return true;
  const RetentionDecision decision = retention_->make_room(bytes_written(), incoming_bytes);
  for (const std::string& path : decision.deleted) {
    if (std::ranges::find(decision.lost_before_upload, path) != decision.lost_before_upload.end()) {
      spdlog::error("retention: deleted {} before it was uploaded, to keep output.min_free_bytes",
                    path);
    } else {
      spdlog::info("retention: deleted {}", path);
    }
    if (options_.on_file_deleted) options_.on_file_deleted(path);
  }
  if (!decision.total_yields.empty()) spdlog::warn("retention: {}", decision.total_yields);
  const RetentionStats& stats = retention_->stats();
  retention_files_deleted_.store(stats.files_deleted, std::memory_order_relaxed);
  retention_bytes_deleted_.store(stats.bytes_deleted, std::memory_order_relaxed);
  files_lost_before_upload_.store(stats.files_lost_before_upload, std::memory_order_relaxed);
  if (decision.may_write) return true;
  // The file being written ends here, complete (or, holding no chunk, is not kept); recording
  // resumes in a new one.
  if (file_ && file_chunks_ > 0) {
    close();
  } else if (file_) {
    end_file(Ending::kDeleted);
  }
  pause("retention: " + decision.reason);
  return false;
}

void RecordingFile::pause(const std::string& reason) {
  pause_.pause(reason);
  next_reason_ = StartReason::kResume;
}

// ---- Ending

void RecordingFile::rotate(StartReason next_reason) {
  if (!file_ || !rotating()) return;
  close();
  next_reason_ = next_reason;
}

void RecordingFile::close() {
  if (!file_) return;
  if (options_.recorder_metadata) {
    if (base::Status s = file_->writer().write_metadata(source_.session_stats()); !s) {
      note_error(s.error());
    }
  }
  end_file(Ending::kComplete);
}

void RecordingFile::fail(const base::Error& error) {
  if (!file_) return;
  spdlog::error(
      "write to {} failed: {}; ending the file at its last complete chunk and going on "
      "in a new file",
      file_->active_path(), error.message);
  note_error(error);
  files_closed_on_error_.fetch_add(1, std::memory_order_relaxed);
  // Cut back now, so that the stats metadata can still go in; if this fails, the finalizer
  // tries again and, failing too, leaves the `.active` file for recovery.
  if (base::Status s = file_->writer().rewind_after_failure(); !s) {
    spdlog::error("{}: {}", file_->active_path(), s.error().message);
  }
  if (file_->writer().failed()) {
    end_file(Ending::kFailed);
  } else {
    close();
  }
  next_reason_ = StartReason::kError;
}

void RecordingFile::check_sync_failure() {
  std::optional<SyncFailure> failure = syncer_.take_failure();
  if (!failure) return;
  note_error(failure->error);
  // Not retried: after a failed fdatasync the OS may have dropped the bytes it could not write,
  // and a later sync could succeed without them. The file is closed as it is, and recording
  // goes on in a new file.
  if (!file_ || failure->file_id != file_index_) {
    spdlog::error("periodic sync failed: {}; that file was already closed", failure->error.message);
    return;
  }
  spdlog::error(
      "sync of {} failed: {}; what was written since the previous sync may not be on "
      "disk; closing the file and going on in a new one",
      file_->active_path(), failure->error.message);
  files_closed_on_error_.fetch_add(1, std::memory_order_relaxed);
  rotate(StartReason::kError);
}

// The one way out of a file. A complete file counts towards retention (with room for what
// finalizing still writes); a failed one goes to the finalizer as it is, which cuts it back or
// leaves it `.active` for recovery; a deleted one held nothing worth keeping.
void RecordingFile::end_file(Ending ending) {
  syncer_.track(nullptr, 0);
  if (ending == Ending::kDeleted) {
    file_->discard();
    file_.reset();
  } else {
    if (ending == Ending::kComplete && retention_) {
      retention_->note_finalized(file_->final_path(), bytes_written() + summary_.reserve());
    }
    finalizer_.submit(std::move(file_));
  }
  file_chunks_ = 0;
  std::lock_guard lock(stats_mu_);
  current_path_.clear();
}

// ---- Reporting

void RecordingFile::note_error(const base::Error& error) {
  std::lock_guard lock(stats_mu_);
  if (!first_error_) first_error_ = error;
}

RecordingFileStats RecordingFile::stats() const {
  RecordingFileStats stats;
  stats.files_started = files_started_.load(std::memory_order_relaxed);
  stats.files_closed_on_error = files_closed_on_error_.load(std::memory_order_relaxed);
  stats.sync = syncer_.stats();
  stats.paused = pause_.paused();
  if (stats.paused) stats.pause_reason = pause_.reason();
  stats.retention_files_deleted = retention_files_deleted_.load(std::memory_order_relaxed);
  stats.retention_bytes_deleted = retention_bytes_deleted_.load(std::memory_order_relaxed);
  stats.files_lost_before_upload = files_lost_before_upload_.load(std::memory_order_relaxed);
  std::lock_guard lock(stats_mu_);
  stats.current_file = current_path_;
  stats.first_error = first_error_;
  return stats;
}

}  // namespace mcaprec::storage
