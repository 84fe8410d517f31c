#include "pipeline/ordered_writer.hpp"

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
      hostname_(host_name()) {}

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
}

WriterStats OrderedWriter::stats() const {
  WriterStats stats;
  stats.chunks_written = chunks_written_.load(std::memory_order_relaxed);
  stats.messages_written = messages_written_.load(std::memory_order_relaxed);
  stats.bytes_written = bytes_written_.load(std::memory_order_relaxed);
  stats.files_started = files_started_.load(std::memory_order_relaxed);
  stats.write_errors = write_errors_.load(std::memory_order_relaxed);
  stats.cpu_time = std::chrono::nanoseconds(cpu_ns_.load(std::memory_order_relaxed));
  std::lock_guard lock(stats_mu_);
  stats.current_file = current_path_;
  stats.first_error = first_error_;
  return stats;
}

void OrderedWriter::run() {
  name_this_thread("mcaprec-writer");
  std::vector<CompressedChunk*> batch;
  std::vector<PassThrough> pass_through;
  std::deque<uint64_t> rotations;  // boundaries: rotate before the chunk with this number
  uint64_t written_up_to = 0;      // every chunk below this number is written
  std::unique_lock lock(mu_);
  for (;;) {
    while (!waiting_.empty() && waiting_.front()->seq == next_seq_) {
      std::pop_heap(waiting_.begin(), waiting_.end(), later);
      batch.push_back(waiting_.back());
      waiting_.pop_back();
      ++next_seq_;
    }
    for (uint64_t boundary : rotation_requests_) rotations.push_back(boundary);
    rotation_requests_.clear();
    pass_through.swap(pass_through_);
    const bool done = finishing_ && next_seq_ >= end_seq_;
    const uint64_t taken_up_to = next_seq_;
    const bool rotation_ready = !rotations.empty() && rotations.front() <= taken_up_to;
    if (batch.empty() && pass_through.empty() && !done && !rotation_ready) {
      const auto ready = [this] {
        return finishing_ || !rotation_requests_.empty() || !pass_through_.empty() ||
               (!waiting_.empty() && waiting_.front()->seq == next_seq_);
      };
      if (file_ && file_chunks_ > 0 && config_.max_duration.count() > 0) {
        const auto deadline = first_chunk_at_ + config_.max_duration;
        if (!wake_.wait_until(lock, deadline, ready)) {
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

    for (PassThrough& record : pass_through) write_pass_through(record);
    pass_through.clear();
    for (CompressedChunk* chunk : batch) {
      while (!rotations.empty() && rotations.front() <= chunk->seq) {
        rotations.pop_front();
        rotate(StartReason::kRequest);
      }
      write_chunk(chunk);
    }
    batch.clear();
    written_up_to = taken_up_to;
    while (!rotations.empty() && rotations.front() <= written_up_to) {
      rotations.pop_front();
      rotate(StartReason::kRequest);
    }
    if (duration_reached(std::chrono::steady_clock::now())) rotate(StartReason::kDuration);
    if (done) {
      close_file();
      cpu_ns_.store(thread_cpu_ns(), std::memory_order_relaxed);
      return;
    }
    cpu_ns_.store(thread_cpu_ns(), std::memory_order_relaxed);
    lock.lock();
  }
}

void OrderedWriter::write_pass_through(PassThrough& record) {
  if (!file_ && (!config_.single_path.empty() || !open_file())) {
    note_error(mcap::Error{
        0, "no output file for " + std::string(record.is_attachment ? "attachment " : "metadata ") +
               (record.is_attachment ? record.attachment.name : record.metadata.name)});
    return;
  }
  mcap::Status status;
  if (record.is_attachment) {
    record.attachment.data = record.data;
    status = file_->writer().write_attachment(record.attachment);
  } else {
    status = file_->writer().write_metadata(record.metadata);
  }
  if (!status) note_error(status.error());
}

bool OrderedWriter::duration_reached(std::chrono::steady_clock::time_point now) const {
  return file_ && file_chunks_ > 0 && config_.single_path.empty() &&
         config_.max_duration.count() > 0 && now - first_chunk_at_ >= config_.max_duration;
}

void OrderedWriter::write_chunk(CompressedChunk* chunk) {
  if (chunk->failed) {
    count_lost(*chunk, chunk->error);
    release(chunk);
    return;
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
  // After a failed file, a single output path is not reopened (that would truncate it).
  if (!file_ && (!config_.single_path.empty() || !open_file())) {
    count_lost(*chunk, "no output file");
    release(chunk);
    return;
  }
  if (!declare_channels(encoded)) {
    count_lost(*chunk, "cannot declare channels");
    release(chunk);
    return;
  }
  if (mcap::Status status = file_->writer().write_encoded_chunk(encoded); !status) {
    note_error(status.error());
    count_lost(*chunk, status.error().message);
    // The file is damaged from here on: leave it `.active` for recovery and start another.
    file_.reset();
    next_reason_ = StartReason::kError;
    {
      std::lock_guard lock(stats_mu_);
      current_path_.clear();
    }
    release(chunk);
    return;
  }
  if (file_chunks_++ == 0) first_chunk_at_ = std::chrono::steady_clock::now();
  for (const auto& [channel_id, count] : encoded.message_counts) {
    if (ChannelEntry* entry = registry_.find(channel_id)) {
      entry->queue->counters().written.fetch_add(count, std::memory_order_relaxed);
    }
  }
  chunks_written_.fetch_add(1, std::memory_order_relaxed);
  messages_written_.fetch_add(encoded.message_count, std::memory_order_relaxed);
  bytes_written_.fetch_add(encoded.bytes.size(), std::memory_order_relaxed);
  release(chunk);
}

void OrderedWriter::release(CompressedChunk* chunk) {
  gate_.remove(chunk->record_bytes);
  buffers_.uncharge(chunk->charged_bytes);
  chunk->charged_bytes = 0;
  chunk_pool_.recycle(chunk);
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

bool OrderedWriter::declare_channels(const mcap::EncodedChunk& chunk) {
  mcap::Writer& writer = file_->writer();
  for (const auto& [channel_id, count] : chunk.message_counts) {
    if (writer.has_channel(channel_id)) continue;
    const ChannelEntry* entry = registry_.find(channel_id);
    if (entry == nullptr) {
      note_error(mcap::Error{0, "chunk holds unknown channel " + std::to_string(channel_id)});
      return false;
    }
    if (entry->schema && !writer.has_schema(entry->schema->id)) {
      if (mcap::Status s = writer.add_schema(*entry->schema); !s) {
        note_error(s.error());
        return false;
      }
    }
    if (mcap::Status s = writer.add_channel(entry->channel); !s) {
      note_error(s.error());
      return false;
    }
  }
  return true;
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
    note_error(file.error());
    return false;
  }
  file_ = std::move(*file);
  file_chunks_ = 0;
  ++file_index_;
  files_started_.fetch_add(1, std::memory_order_relaxed);
  if (config_.recorder_metadata) {
    if (mcap::Status s = file_->writer().write_metadata(recorder_metadata()); !s) {
      note_error(s.error());
      file_.reset();
      next_reason_ = StartReason::kError;
      return false;
    }
  }
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
  finalizer_.submit(std::move(file_));
  file_chunks_ = 0;
  std::lock_guard lock(stats_mu_);
  current_path_.clear();
}

void OrderedWriter::note_error(const mcap::Error& error) {
  std::lock_guard lock(stats_mu_);
  if (!first_error_) first_error_ = error;
}

mcap::Metadata OrderedWriter::recorder_metadata() const {
  mcap::Metadata metadata;
  metadata.name = "mcaprec";
  metadata.metadata = config_.extra_metadata;
  metadata.metadata["version"] = MCAPREC_VERSION;
  metadata.metadata["hostname"] = hostname_;
  metadata.metadata["start_reason"] = reason_name(next_reason_);
  metadata.metadata["file_index"] = std::to_string(file_index_ - 1);
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
