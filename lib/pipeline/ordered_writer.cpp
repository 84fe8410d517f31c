#include "pipeline/ordered_writer.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "pipeline/thread_cpu.hpp"

namespace mcaprec::pipeline {

namespace {

bool later(const CompressedChunk* a, const CompressedChunk* b) {
  return a->seq > b->seq;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

// What closing a file writes whatever it held: Data End, Footer, Magic, summary offsets,
// Statistics and the `mcaprec.stats` totals, with a wide margin.
constexpr uint64_t kSummaryBase = 16 << 10;
// Record overhead of a summary entry, rounded up (opcode, length, fixed fields).
constexpr uint64_t kIndexEntry = 128;

uint64_t schema_record_bytes(const mcap::Schema& schema) {
  return kIndexEntry + schema.name.size() + schema.encoding.size() + schema.data.size();
}

uint64_t channel_record_bytes(const mcap::Channel& channel) {
  uint64_t bytes = kIndexEntry + channel.topic.size() + channel.message_encoding.size();
  for (const auto& [key, value] : channel.metadata) bytes += 8 + key.size() + value.size();
  return bytes;
}

// The channel's keys in `mcaprec.stats` (received, written, one per drop reason) and its
// statistics entry.
uint64_t channel_stats_bytes(const mcap::Channel& channel) {
  return (2 + kDropReasonCount) * (64 + channel.topic.size()) + 16;
}

}  // namespace

const char* OrderedWriter::reason_name(StartReason reason) {
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

OrderedWriter::OrderedWriter(OutputConfig config, ChannelRegistry& registry,
                             storage::Finalizer& finalizer, InFlightGate& gate, BufferPool& buffers,
                             RecyclingPool<CompressedChunk>& chunks)
    : config_(std::move(config)),
      registry_(registry),
      finalizer_(finalizer),
      gate_(gate),
      buffers_(buffers),
      chunk_pool_(chunks),
      namer_(config_.directory, config_.prefix),
      hostname_(host_name()),
      syncer_(config_.sync_interval, [this] {
        {
          std::lock_guard lock(mu_);
          sync_failed_ = true;
        }
        wake_.notify_one();
      }) {
  if (config_.single_path.empty() && (config_.max_total_bytes > 0 || config_.min_free_bytes > 0)) {
    storage::RetentionOptions options;
    options.directory = config_.directory;
    options.prefix = config_.prefix;
    options.max_total_bytes = config_.max_total_bytes;
    options.min_free_bytes = config_.min_free_bytes;
    options.free_space = config_.free_space;
    retention_.emplace(std::move(options));
  }
  waiting_.reserve(gate_.chunk_limit());
}

OrderedWriter::~OrderedWriter() {
  if (thread_.joinable()) {
    uint64_t end;
    {
      std::lock_guard lock(mu_);
      end = finishing_ ? end_seq_ : next_seq_;
    }
    finish(end);
  }
}

mcap::Status OrderedWriter::start() {
  if (!open_file()) {
    std::lock_guard lock(stats_mu_);
    return *first_error_;
  }
  thread_ = std::thread([this] { run(); });
  return {};
}

void OrderedWriter::submit(CompressedChunk* chunk) {
  bool ready;
  {
    std::lock_guard lock(mu_);
    waiting_.push_back(chunk);
    std::push_heap(waiting_.begin(), waiting_.end(), later);
    ready = waiting_.front()->seq == next_seq_;
  }
  if (ready) wake_.notify_one();
}

void OrderedWriter::request_rotation(uint64_t before_seq) {
  {
    std::lock_guard lock(mu_);
    rotation_requests_.push_back(before_seq);
  }
  wake_.notify_one();
}

void OrderedWriter::submit_metadata(mcap::Metadata metadata) {
  {
    std::lock_guard lock(mu_);
    PassThrough& record = pass_through_.emplace_back();
    record.metadata = std::move(metadata);
  }
  wake_.notify_one();
}

void OrderedWriter::submit_attachment(const mcap::Attachment& attachment) {
  {
    std::lock_guard lock(mu_);
    PassThrough& record = pass_through_.emplace_back();
    record.is_attachment = true;
    record.attachment = attachment;
    record.data.assign(attachment.data.begin(), attachment.data.end());
  }
  wake_.notify_one();
}

void OrderedWriter::finish(uint64_t end_seq) {
  {
    std::lock_guard lock(mu_);
    finishing_ = true;
    end_seq_ = end_seq;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  syncer_.stop();
}

WriterStats OrderedWriter::stats() const {
  WriterStats stats;
  stats.chunks_written = chunks_written_.load(std::memory_order_relaxed);
  stats.messages_written = messages_written_.load(std::memory_order_relaxed);
  stats.bytes_written = bytes_written_.load(std::memory_order_relaxed);
  stats.files_started = files_started_.load(std::memory_order_relaxed);
  stats.write_errors = write_errors_.load(std::memory_order_relaxed);
  stats.files_closed_on_error = files_closed_on_error_.load(std::memory_order_relaxed);
  stats.cpu_time = std::chrono::nanoseconds(cpu_ns_.load(std::memory_order_relaxed));
  stats.sync = syncer_.stats();
  stats.paused = paused_.load(std::memory_order_relaxed);
  stats.retention_files_deleted = retention_files_deleted_.load(std::memory_order_relaxed);
  stats.retention_bytes_deleted = retention_bytes_deleted_.load(std::memory_order_relaxed);
  std::lock_guard lock(stats_mu_);
  stats.current_file = current_path_;
  stats.first_error = first_error_;
  if (stats.paused) stats.pause_reason = pause_reason_;
  return stats;
}

void OrderedWriter::run() {
  name_this_thread("mcaprec-writer");
  // Taken in order, not yet written. A vector whose written prefix is erased keeps its room,
  // so steady state allocates nothing (a deque would allocate a block every few chunks). It and
  // waiting_ have room for every chunk the in-flight gate lets be in flight.
  std::vector<CompressedChunk*> held;
  held.reserve(gate_.chunk_limit());
  std::vector<PassThrough> pass_through;
  std::deque<uint64_t> rotations;  // boundaries: rotate before the chunk with this number
  std::unique_lock lock(mu_);
  for (;;) {
    while (!waiting_.empty() && waiting_.front()->seq == next_seq_) {
      std::pop_heap(waiting_.begin(), waiting_.end(), later);
      held.push_back(waiting_.back());
      waiting_.pop_back();
      ++next_seq_;
    }
    for (uint64_t boundary : rotation_requests_) rotations.push_back(boundary);
    rotation_requests_.clear();
    pass_through.swap(pass_through_);
    const bool finishing = finishing_;
    const bool done = finishing_ && next_seq_ >= end_seq_;
    const bool sync_failed = std::exchange(sync_failed_, false);
    const uint64_t taken_up_to = next_seq_;
    // Every chunk below this number is written (or dropped).
    const uint64_t written_up_to = held.empty() ? next_seq_ : held.front()->seq;
    const bool rotation_ready = !rotations.empty() && rotations.front() <= written_up_to;
    const auto now = std::chrono::steady_clock::now();
    const bool retry_due = holding_ && (finishing || now >= retry_at_);
    const bool can_write = !held.empty() && (!holding_ || retry_due);
    if (!can_write && pass_through.empty() && !done && !rotation_ready && !sync_failed &&
        !retry_due) {
      const auto ready = [this] {
        return finishing_ || sync_failed_ || !rotation_requests_.empty() ||
               !pass_through_.empty() || (!waiting_.empty() && waiting_.front()->seq == next_seq_);
      };
      std::optional<std::chrono::steady_clock::time_point> deadline;
      if (file_ && file_chunks_ > 0 && config_.max_duration.count() > 0) {
        deadline = first_chunk_at_ + config_.max_duration;
      }
      if (holding_ && !held.empty() && (!deadline || retry_at_ < *deadline)) deadline = retry_at_;
      if (deadline) {
        if (!wake_.wait_until(lock, *deadline, ready)) {
          lock.unlock();
          if (duration_reached(std::chrono::steady_clock::now())) rotate(StartReason::kDuration);
          cpu_ns_.store(thread_cpu_ns(), std::memory_order_relaxed);
          lock.lock();
        }
      } else {
        wake_.wait(lock, ready);
      }
      continue;
    }
    lock.unlock();

    if (sync_failed) check_sync_failure();
    for (PassThrough& record : pass_through) write_pass_through(record);
    pass_through.clear();
    if (can_write) holding_ = false;  // try again
    size_t written = 0;
    while (!holding_ && written < held.size()) {
      CompressedChunk* chunk = held[written];
      while (!rotations.empty() && rotations.front() <= chunk->seq) {
        rotations.pop_front();
        rotate(StartReason::kRequest);
      }
      if (!write_chunk(chunk)) break;  // paused: the chunk waits
      ++written;
    }
    held.erase(held.begin(), held.begin() + static_cast<ptrdiff_t>(written));
    if (holding_ && done) drop_held(held);
    flush_file();
    const uint64_t now_written_up_to = held.empty() ? taken_up_to : held.front()->seq;
    while (!rotations.empty() && rotations.front() <= now_written_up_to) {
      rotations.pop_front();
      rotate(StartReason::kRequest);
    }
    if (duration_reached(std::chrono::steady_clock::now())) rotate(StartReason::kDuration);
    if (done && held.empty()) {
      close_file();
      cpu_ns_.store(thread_cpu_ns(), std::memory_order_relaxed);
      return;
    }
    cpu_ns_.store(thread_cpu_ns(), std::memory_order_relaxed);
    lock.lock();
  }
}

void OrderedWriter::write_pass_through(PassThrough& record) {
  const std::string what = std::string(record.is_attachment ? "attachment " : "metadata ") +
                           (record.is_attachment ? record.attachment.name : record.metadata.name);
  if (holding_) {
    note_error(mcap::Error{0, "recording is paused: " + what + " was not written"});
    return;
  }
  if (!file_ && (!config_.single_path.empty() || !open_file())) {
    note_error(mcap::Error{0, "no output file for " + what});
    return;
  }
  const uint64_t size = record.is_attachment
                            ? record.data.size() + record.attachment.name.size() + kIndexEntry
                            : kIndexEntry * (1 + record.metadata.metadata.size());
  summary_reserve_ += kIndexEntry + record.attachment.name.size() + record.metadata.name.size();
  if (mcap::Status s = file_->reserve(size + summary_reserve()); !s) {
    note_error(mcap::Error{0, what + " not written: " + s.error().message});
    return;
  }
  mcap::Status status;
  if (record.is_attachment) {
    record.attachment.data = record.data;
    status = file_->writer().write_attachment(record.attachment);
  } else {
    status = file_->writer().write_metadata(record.metadata);
  }
  if (!status) fail_file(status.error());
}

bool OrderedWriter::duration_reached(std::chrono::steady_clock::time_point now) const {
  return file_ && file_chunks_ > 0 && config_.single_path.empty() &&
         config_.max_duration.count() > 0 && now - first_chunk_at_ >= config_.max_duration;
}

bool OrderedWriter::write_chunk(CompressedChunk* chunk) {
  if (chunk->failed) {
    count_lost(*chunk, chunk->error);
    release(chunk);
    return true;
  }
  const mcap::EncodedChunk& encoded = chunk->encoded;
  if (file_ && file_chunks_ > 0 && config_.single_path.empty()) {
    if (config_.max_bytes > 0 &&
        file_->writer().bytes_written() + encoded.bytes.size() > config_.max_bytes) {
      rotate(StartReason::kSize);
    } else if (duration_reached(std::chrono::steady_clock::now())) {
      rotate(StartReason::kDuration);
    }
  }
  // The chunk, the declarations it needs, and what closing the file will then write.
  auto incoming = [&] {
    return encoded.bytes.size() + declaration_bytes(encoded) + summary_reserve();
  };
  if (!make_room(incoming())) return false;
  // After a failed file, a single output path is not reopened (that would truncate it).
  if (!file_ && !config_.single_path.empty()) {
    count_lost(*chunk, "no output file");
    release(chunk);
    return true;
  }
  if (!file_ && !open_file()) {
    pause("cannot start a new file", std::chrono::steady_clock::now() + config_.pause_recheck);
    return false;
  }
  if (mcap::Status s = file_->reserve(incoming()); !s) {
    // Out of space before anything of the chunk was written: the file ends here, valid (its
    // summary fits in the room reserved with the previous chunk), and the chunk waits.
    if (!paused_.load(std::memory_order_relaxed)) {
      spdlog::error("no room for the next chunk in {}: {}", file_->active_path(),
                    s.error().message);
    }
    note_error(s.error());
    if (!config_.single_path.empty()) {
      // The one output file ends here; what follows has nowhere to go.
      close_file();
      count_lost(*chunk, s.error().message);
      release(chunk);
      return true;
    }
    if (file_chunks_ > 0) {
      // One try in a new file at once (it holds no chunk, so this does not recurse again).
      close_file();
      next_reason_ = StartReason::kResume;
      return write_chunk(chunk);
    }
    discard_file();
    pause("disk full: " + s.error().message,
          std::chrono::steady_clock::now() + config_.pause_recheck);
    return false;
  }
  if (mcap::Status s = declare_channels(encoded); !s) {
    count_lost(*chunk, "cannot declare channels: " + s.error().message);
    if (file_->writer().failed()) fail_file(s.error());
    release(chunk);
    return true;
  }
  // Each chunk goes to the OS at once and becomes the point a later failure cuts back to, so
  // that a failure never takes chunks already counted as written with it.
  mcap::Status status = file_->writer().write_encoded_chunk(encoded);
  if (status) status = file_->writer().flush();
  if (!status) {
    count_lost(*chunk, status.error().message);
    fail_file(status.error());
    release(chunk);
    return true;
  }
  file_->writer().checkpoint();
  checkpointed_bytes_ = file_->writer().bytes_written();
  syncer_.note_written();
  if (file_chunks_++ == 0) first_chunk_at_ = std::chrono::steady_clock::now();
  note_summary_growth(encoded);
  if (paused_.load(std::memory_order_relaxed)) {
    paused_.store(false, std::memory_order_relaxed);
    spdlog::warn(
        "recording resumed in {} after {:.1f} s paused", file_->active_path(),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - paused_at_).count());
  }
  for (const auto& [channel_id, count] : encoded.message_counts) {
    if (ChannelEntry* entry = registry_.find(channel_id)) {
      entry->queue->counters().written.fetch_add(count, std::memory_order_relaxed);
    }
  }
  chunks_written_.fetch_add(1, std::memory_order_relaxed);
  messages_written_.fetch_add(encoded.message_count, std::memory_order_relaxed);
  bytes_written_.fetch_add(encoded.bytes.size(), std::memory_order_relaxed);
  release(chunk);
  return true;
}

void OrderedWriter::release(CompressedChunk* chunk) {
  const uint64_t record_bytes = chunk->record_bytes;
  buffers_.uncharge(chunk->charged_bytes);
  chunk->charged_bytes = 0;
  // Back in the pool before its slot is free, so that the next chunk sealed finds it there.
  chunk_pool_.recycle(chunk);
  gate_.remove(record_bytes);
}

void OrderedWriter::count_lost(const CompressedChunk& chunk, const std::string& error) {
  const DropReason reason = chunk.failed ? chunk.lost_reason : DropReason::kWriteError;
  if (reason == DropReason::kWriteError) {
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    note_error(mcap::Error{0, error});
  }
  auto count = [this, reason](uint16_t channel_id, uint64_t messages) {
    if (ChannelEntry* entry = registry_.find(channel_id)) {
      entry->queue->counters().count_drop(reason, messages);
    }
  };
  if (chunk.failed) {
    for (const auto& [channel_id, messages] : chunk.lost) count(channel_id, messages);
  } else {
    for (const auto& [channel_id, messages] : chunk.encoded.message_counts) {
      count(channel_id, messages);
    }
  }
}

mcap::Status OrderedWriter::declare_channels(const mcap::EncodedChunk& chunk) {
  mcap::Writer& writer = file_->writer();
  for (const auto& [channel_id, count] : chunk.message_counts) {
    if (writer.has_channel(channel_id)) continue;
    const ChannelEntry* entry = registry_.find(channel_id);
    if (entry == nullptr) {
      return mcap::Error{0, "chunk holds unknown channel " + std::to_string(channel_id)};
    }
    if (entry->schema && !writer.has_schema(entry->schema->id)) {
      if (mcap::Status s = writer.add_schema(*entry->schema); !s) return s;
      summary_reserve_ += schema_record_bytes(*entry->schema);
    }
    if (mcap::Status s = writer.add_channel(entry->channel); !s) return s;
    summary_reserve_ += channel_record_bytes(entry->channel);
    stats_estimate_stale_ = true;
  }
  if (stats_estimate_stale_) refresh_stats_estimate();
  return {};
}

// Bytes the chunk's first declarations in this file add: the records themselves, their copies
// in the summary and their `mcaprec.stats` keys.
uint64_t OrderedWriter::declaration_bytes(const mcap::EncodedChunk& chunk) const {
  if (!file_) {
    uint64_t bytes = 0;
    for (const auto& [channel_id, count] : chunk.message_counts) {
      if (const ChannelEntry* entry = registry_.find(channel_id)) {
        bytes += 2 * channel_record_bytes(entry->channel) + channel_stats_bytes(entry->channel);
        if (entry->schema) bytes += 2 * schema_record_bytes(*entry->schema);
      }
    }
    return bytes;
  }
  const mcap::Writer& writer = file_->writer();
  uint64_t bytes = 0;
  for (const auto& [channel_id, count] : chunk.message_counts) {
    if (writer.has_channel(channel_id)) continue;
    if (const ChannelEntry* entry = registry_.find(channel_id)) {
      bytes += 2 * channel_record_bytes(entry->channel) + channel_stats_bytes(entry->channel);
      if (entry->schema && !writer.has_schema(entry->schema->id)) {
        bytes += 2 * schema_record_bytes(*entry->schema);
      }
    }
  }
  return bytes;
}

void OrderedWriter::note_summary_growth(const mcap::EncodedChunk& chunk) {
  // Its Chunk Index: fixed fields and one message-index offset per channel.
  summary_reserve_ += kIndexEntry + 16 * chunk.message_counts.size();
}

void OrderedWriter::refresh_stats_estimate() {
  registry_.entries(entries_scratch_);
  stats_metadata_bytes_ = 0;
  for (const ChannelEntry* entry : entries_scratch_) {
    stats_metadata_bytes_ += channel_stats_bytes(entry->channel);
  }
  stats_estimate_stale_ = false;
}

bool OrderedWriter::open_file() {
  const std::string path = config_.single_path.empty()
                               ? namer_.next(std::chrono::system_clock::now())
                               : config_.single_path;
  mcap::WriterOptions options = config_.writer_options;
  options.use_chunks = false;  // chunks arrive encoded
  mcap::Result<std::unique_ptr<storage::OutputFile>> file =
      storage::OutputFile::create(path, std::move(options), config_.open_sink);
  if (!file) {
    // Once per pause, not at every retry.
    if (!paused_.load(std::memory_order_relaxed)) {
      spdlog::error("cannot start a recording file: {}", file.error().message);
    }
    note_error(file.error());
    return false;
  }
  std::unique_ptr<storage::OutputFile> opened = std::move(*file);
  summary_reserve_ = kSummaryBase;
  refresh_stats_estimate();
  const mcap::Metadata info = recorder_metadata_for(file_index_);
  mcap::Status status =
      opened->reserve(kIndexEntry * (1 + info.metadata.size()) + summary_reserve());
  if (status && config_.recorder_metadata) {
    status = opened->writer().write_metadata(info);
    summary_reserve_ += kIndexEntry + info.name.size();
  }
  if (status) status = opened->writer().flush();
  if (!status) {
    if (!paused_.load(std::memory_order_relaxed)) {
      spdlog::error("cannot start {}: {}", opened->active_path(), status.error().message);
    }
    note_error(status.error());
    opened->discard();
    return false;
  }
  opened->writer().checkpoint();
  checkpointed_bytes_ = opened->writer().bytes_written();
  file_ = std::move(opened);
  file_chunks_ = 0;
  ++file_index_;
  files_started_.fetch_add(1, std::memory_order_relaxed);
  mcap::Result<std::shared_ptr<mcap::SyncHandle>> handle = file_->sync_handle();
  if (!handle) {
    // Without it the file is still synced when finalized; say that the policy is not kept.
    spdlog::error("{}: periodic sync unavailable: {}", file_->active_path(),
                  handle.error().message);
    note_error(handle.error());
  }
  syncer_.track(handle ? *handle : nullptr, file_index_);
  std::lock_guard lock(stats_mu_);
  current_path_ = file_->active_path();
  return true;
}

void OrderedWriter::rotate(StartReason next_reason) {
  if (!file_ || !config_.single_path.empty()) return;
  close_file();
  next_reason_ = next_reason;
}

void OrderedWriter::close_file() {
  if (!file_) return;
  if (config_.recorder_metadata) {
    if (mcap::Status s = file_->writer().write_metadata(stats_metadata()); !s) {
      note_error(s.error());
    }
  }
  syncer_.track(nullptr, 0);
  if (retention_) {
    retention_->note_finalized(file_->final_path(),
                               file_->writer().bytes_written() + summary_reserve());
  }
  finalizer_.submit(std::move(file_));
  file_chunks_ = 0;
  std::lock_guard lock(stats_mu_);
  current_path_.clear();
}

void OrderedWriter::discard_file() {
  syncer_.track(nullptr, 0);
  file_->discard();
  file_.reset();
  file_chunks_ = 0;
  std::lock_guard lock(stats_mu_);
  current_path_.clear();
}

void OrderedWriter::flush_file() {
  if (!file_ || file_->writer().bytes_written() == checkpointed_bytes_) return;
  if (mcap::Status s = file_->writer().flush(); !s) {
    fail_file(s.error());
    return;
  }
  file_->writer().checkpoint();
  checkpointed_bytes_ = file_->writer().bytes_written();
  syncer_.note_written();
}

void OrderedWriter::fail_file(const mcap::Error& error) {
  if (!file_) return;
  spdlog::error(
      "write to {} failed: {}; ending the file at its last complete chunk and going on "
      "in a new file",
      file_->active_path(), error.message);
  note_error(error);
  files_closed_on_error_.fetch_add(1, std::memory_order_relaxed);
  // Cut back now, so that the stats metadata can still go in; if this fails, the finalizer
  // tries again and, failing too, leaves the `.active` file for recovery.
  if (mcap::Status s = file_->writer().rewind_after_failure(); !s) {
    spdlog::error("{}: {}", file_->active_path(), s.error().message);
  }
  if (file_->writer().failed()) {
    syncer_.track(nullptr, 0);
    finalizer_.submit(std::move(file_));
    file_chunks_ = 0;
    std::lock_guard lock(stats_mu_);
    current_path_.clear();
  } else {
    close_file();
  }
  next_reason_ = StartReason::kError;
}

void OrderedWriter::check_sync_failure() {
  std::optional<storage::SyncFailure> failure = syncer_.take_failure();
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

bool OrderedWriter::make_room(uint64_t incoming_bytes) {
  if (!retention_) return true;
  const uint64_t current = file_ ? file_->writer().bytes_written() : 0;
  const storage::RetentionDecision decision = retention_->make_room(current, incoming_bytes);
  for (const std::string& path : decision.deleted) {
    spdlog::info("retention: deleted {}", path);
  }
  const storage::RetentionStats& stats = retention_->stats();
  retention_files_deleted_.store(stats.files_deleted, std::memory_order_relaxed);
  retention_bytes_deleted_.store(stats.bytes_deleted, std::memory_order_relaxed);
  if (decision.may_write) return true;
  // The file being written ends here, complete (or, holding no chunk, is not kept); recording
  // resumes in a new one.
  if (file_ && file_chunks_ > 0) {
    close_file();
  } else if (file_) {
    discard_file();
  }
  pause("retention: " + decision.reason, std::chrono::steady_clock::now() + config_.pause_recheck);
  return false;
}

void OrderedWriter::pause(const std::string& reason,
                          std::chrono::steady_clock::time_point retry_at) {
  holding_ = true;
  retry_at_ = retry_at;
  next_reason_ = StartReason::kResume;
  if (!paused_.load(std::memory_order_relaxed)) {
    paused_at_ = std::chrono::steady_clock::now();
    spdlog::error(
        "RECORDING PAUSED: {}. Incoming data is held, then dropped per channel policy, "
        "until there is room again (checked every {} ms).",
        reason,
        std::chrono::duration_cast<std::chrono::milliseconds>(config_.pause_recheck).count());
    paused_.store(true, std::memory_order_relaxed);
  }
  std::lock_guard lock(stats_mu_);
  pause_reason_ = reason;
}

void OrderedWriter::drop_held(std::vector<CompressedChunk*>& held) {
  for (CompressedChunk* chunk : held) {
    auto count = [this](uint16_t channel_id, uint64_t messages) {
      if (ChannelEntry* entry = registry_.find(channel_id)) {
        entry->queue->counters().count_drop(DropReason::kNoSpace, messages);
      }
    };
    if (chunk->failed) {
      for (const auto& [channel_id, messages] : chunk->lost) count(channel_id, messages);
    } else {
      for (const auto& [channel_id, messages] : chunk->encoded.message_counts) {
        count(channel_id, messages);
      }
    }
    release(chunk);
  }
  if (!held.empty()) {
    spdlog::error("stopped while recording was paused: {} chunks could not be written",
                  held.size());
  }
  held.clear();
}

void OrderedWriter::note_error(const mcap::Error& error) {
  std::lock_guard lock(stats_mu_);
  if (!first_error_) first_error_ = error;
}

mcap::Metadata OrderedWriter::recorder_metadata_for(uint64_t file_index) const {
  mcap::Metadata metadata;
  metadata.name = "mcaprec";
  metadata.metadata = config_.extra_metadata;
  metadata.metadata["version"] = MCAPREC_VERSION;
  metadata.metadata["hostname"] = hostname_;
  metadata.metadata["start_reason"] = reason_name(next_reason_);
  metadata.metadata["file_index"] = std::to_string(file_index);
  metadata.metadata["session_start"] = config_.session_start;
  return metadata;
}

mcap::Metadata OrderedWriter::stats_metadata() {
  mcap::Metadata metadata;
  metadata.name = "mcaprec.stats";
  registry_.entries(entries_scratch_);
  std::map<std::string, int> topic_uses;
  for (const ChannelEntry* entry : entries_scratch_) ++topic_uses[entry->channel.topic];
  uint64_t total_received = 0;
  uint64_t total_written = 0;
  uint64_t total_dropped[kDropReasonCount] = {};
  for (const ChannelEntry* entry : entries_scratch_) {
    const ChannelCounters& counters = entry->queue->counters();
    std::string key = entry->channel.topic;
    if (topic_uses[key] > 1) key += "#" + std::to_string(entry->channel.id);
    const uint64_t received = counters.received.load(std::memory_order_relaxed);
    const uint64_t written = counters.written.load(std::memory_order_relaxed);
    metadata.metadata[key + ".received"] = std::to_string(received);
    metadata.metadata[key + ".written"] = std::to_string(written);
    total_received += received;
    total_written += written;
    for (size_t r = 0; r < kDropReasonCount; ++r) {
      const uint64_t dropped = counters.dropped[r].load(std::memory_order_relaxed);
      metadata.metadata[key + ".dropped_" + std::string(drop_reason_name(DropReason(r)))] =
          std::to_string(dropped);
      total_dropped[r] += dropped;
    }
  }
  metadata.metadata["received"] = std::to_string(total_received);
  metadata.metadata["written"] = std::to_string(total_written);
  for (size_t r = 0; r < kDropReasonCount; ++r) {
    metadata.metadata["dropped_" + std::string(drop_reason_name(DropReason(r)))] =
        std::to_string(total_dropped[r]);
  }
  metadata.metadata["scope"] = "session";
  metadata.metadata["session_start"] = config_.session_start;
  return metadata;
}

}  // namespace mcaprec::pipeline
