#include "pipeline/ordered_writer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "pipeline/thread_cpu.hpp"

namespace mcaprec::pipeline {

namespace {

bool later(const CompressedChunk* a, const CompressedChunk* b) {
  return a->seq > b->seq;
}

}  // namespace

OrderedWriter::OrderedWriter(OutputConfig config, const storage::RecordingSource& source,
                             WrittenCounts& written, storage::Finalizer& finalizer,
                             InFlightGate& gate, BufferPool& buffers,
                             RecyclingPool<CompressedChunk>& chunks)
    : config_(std::move(config)),
      written_(written),
      gate_(gate),
      buffers_(buffers),
      chunk_pool_(chunks),
      file_(config_.file, source, finalizer, [this] {
        {
          std::lock_guard lock(mu_);
          sync_failed_ = true;
        }
        wake_.notify_one();
      }) {
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

base::Status OrderedWriter::start() {
  if (!file_.open()) return *file_.stats().first_error;
  thread_ = std::thread([this] { run(); });
  return {};
}

// ---- From other threads

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
  file_.stop_syncing();
}

WriterStats OrderedWriter::stats() const {
  WriterStats stats;
  stats.chunks_written = chunks_written_.load(std::memory_order_relaxed);
  stats.messages_written = messages_written_.load(std::memory_order_relaxed);
  stats.messages_kept = messages_kept_.load(std::memory_order_relaxed);
  stats.bytes_written = bytes_written_.load(std::memory_order_relaxed);
  stats.write_errors = write_errors_.load(std::memory_order_relaxed);
  stats.cpu_time = std::chrono::nanoseconds(cpu_ns_.load(std::memory_order_relaxed));
  stats.longest_chunk = std::chrono::nanoseconds(longest_chunk_ns_.load(std::memory_order_relaxed));
  return stats;
}

// ---- The writer thread

void OrderedWriter::run() {
  name_this_thread("mcaprec-writer");
  Loop loop;
  loop.held.reserve(gate_.chunk_limit());
  std::unique_lock lock(mu_);
  for (;;) {
    const Batch batch = take_locked(loop);
    if (batch.idle() && (loop.pass_through.empty() || file_.pause_state().holding())) {
      wait_locked(lock, loop);
      continue;
    }
    lock.unlock();
    write_batch(loop, batch);
    if (batch.done && loop.held.empty()) {
      file_.close();
      note_cpu_time();
      return;
    }
    note_cpu_time();
    lock.lock();
  }
}

// Moves the chunks that are next in order to `loop.held`, and the rotation requests and
// pass-through records to the loop's own lists.
OrderedWriter::Batch OrderedWriter::take_locked(Loop& loop) {
  while (!waiting_.empty() && waiting_.front()->seq == next_seq_) {
    std::pop_heap(waiting_.begin(), waiting_.end(), later);
    loop.held.push_back(waiting_.back());
    waiting_.pop_back();
    ++next_seq_;
  }
  for (uint64_t boundary : rotation_requests_) loop.rotations.push_back(boundary);
  rotation_requests_.clear();
  // Appended: records kept while recording is paused stay first.
  for (PassThrough& record : pass_through_) loop.pass_through.push_back(std::move(record));
  pass_through_.clear();
  Batch batch;
  batch.finishing = finishing_;
  batch.done = finishing_ && next_seq_ >= end_seq_;
  batch.sync_failed = std::exchange(sync_failed_, false);
  batch.taken_up_to = next_seq_;
  // Every chunk below this number is written (or dropped).
  const uint64_t written_up_to = loop.held.empty() ? next_seq_ : loop.held.front()->seq;
  batch.rotation_ready = !loop.rotations.empty() && loop.rotations.front() <= written_up_to;
  const storage::RecordingPause& pause = file_.pause_state();
  batch.retry_due =
      pause.holding() && (batch.finishing || std::chrono::steady_clock::now() >= pause.retry_at());
  batch.can_write = !loop.held.empty() && (!pause.holding() || batch.retry_due);
  return batch;
}

// Sleeps until a submitter has something, or the file is due to rotate by age, or a paused
// recording is due to try again.
void OrderedWriter::wait_locked(std::unique_lock<std::mutex>& lock, const Loop& loop) {
  const auto ready = [this] {
    return finishing_ || sync_failed_ || !rotation_requests_.empty() || !pass_through_.empty() ||
           (!waiting_.empty() && waiting_.front()->seq == next_seq_);
  };
  const std::optional<std::chrono::steady_clock::time_point> deadline = wake_deadline(loop);
  if (!deadline) {
    wake_.wait(lock, ready);
    return;
  }
  if (wake_.wait_until(lock, *deadline, ready)) return;
  lock.unlock();
  if (duration_reached(std::chrono::steady_clock::now())) {
    file_.rotate(storage::StartReason::kDuration);
  }
  note_cpu_time();
  lock.lock();
}

std::optional<std::chrono::steady_clock::time_point> OrderedWriter::wake_deadline(
    const Loop& loop) const {
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (file_.is_open() && file_.chunks() > 0 && config_.max_duration.count() > 0) {
    deadline = file_.first_chunk_at() + config_.max_duration;
  }
  const storage::RecordingPause& pause = file_.pause_state();
  if (pause.holding() && !loop.held.empty() && (!deadline || pause.retry_at() < *deadline)) {
    deadline = pause.retry_at();
  }
  return deadline;
}

void OrderedWriter::write_batch(Loop& loop, const Batch& batch) {
  if (batch.sync_failed) file_.check_sync_failure();
  if (batch.can_write) file_.stop_holding();  // try again
  write_held(loop);
  // After the chunks: if there is still no room they paused recording again, and the records
  // wait with them instead of failing.
  write_pass_through(loop);
  if (file_.pause_state().holding() && batch.done) {
    drop_held(loop.held);
    drop_pass_through(loop.pass_through);
  }
  file_.flush();
  rotate_before(loop, loop.held.empty() ? batch.taken_up_to : loop.held.front()->seq);
  if (duration_reached(std::chrono::steady_clock::now())) {
    file_.rotate(storage::StartReason::kDuration);
  }
}

// Writes held chunks in order until they are all written or recording pauses.
void OrderedWriter::write_held(Loop& loop) {
  size_t written = 0;
  while (!file_.pause_state().holding() && written < loop.held.size()) {
    CompressedChunk* chunk = loop.held[written];
    rotate_before(loop, chunk->seq);
    const auto began = std::chrono::steady_clock::now();
    if (!write_chunk(chunk)) break;  // paused: the chunk waits
    note_chunk_time(std::chrono::steady_clock::now() - began);
    ++written;
  }
  loop.held.erase(loop.held.begin(), loop.held.begin() + static_cast<ptrdiff_t>(written));
}

// Rotates for every requested boundary at or below `seq`: every chunk before it is written.
void OrderedWriter::rotate_before(Loop& loop, uint64_t seq) {
  while (!loop.rotations.empty() && loop.rotations.front() <= seq) {
    loop.rotations.pop_front();
    file_.rotate(storage::StartReason::kRequest);
  }
}

// Writes the metadata and attachment records taken so far, unless recording is paused for lack
// of room: then they are kept (up to kMaxPausedPassThroughBytes, the oldest let go beyond it)
// and written once it resumes, like the chunks held meanwhile.
void OrderedWriter::write_pass_through(Loop& loop) {
  if (file_.pause_state().holding()) {
    uint64_t bytes = 0;
    for (const PassThrough& record : loop.pass_through) bytes += record.data.size();
    size_t dropped = 0;
    while (bytes > kMaxPausedPassThroughBytes && dropped < loop.pass_through.size()) {
      bytes -= loop.pass_through[dropped++].data.size();
    }
    if (dropped > 0) {
      spdlog::error(
          "recording is paused for lack of room: {} metadata/attachment records let go "
          "to keep the rest within {} bytes",
          dropped, kMaxPausedPassThroughBytes);
      loop.pass_through.erase(loop.pass_through.begin(),
                              loop.pass_through.begin() + static_cast<ptrdiff_t>(dropped));
    }
    return;
  }
  for (PassThrough& record : loop.pass_through) {
    if (record.is_attachment) {
      record.attachment.data = record.data;
      file_.write_attachment(record.attachment);
    } else {
      file_.write_metadata(record.metadata);
    }
  }
  loop.pass_through.clear();
}

void OrderedWriter::drop_pass_through(std::vector<PassThrough>& records) {
  if (!records.empty()) {
    spdlog::error(
        "stopped while recording was paused: {} metadata/attachment records could not be written",
        records.size());
  }
  records.clear();
}

bool OrderedWriter::write_chunk(CompressedChunk* chunk) {
  if (chunk->failed) {
    count_lost(*chunk);
    release(chunk);
    return true;
  }
  if (chunk->on_event && events_ != nullptr) {
    events_->keep(chunk->encoded, true);
    count_kept(chunk->encoded);
    release(chunk);
    return true;
  }
  rotate_if_due(*chunk);
  switch (file_.append(chunk->encoded)) {
    case storage::RecordingFile::Appended::kHeld:
      return false;
    case storage::RecordingFile::Appended::kLost:
      count_lost(*chunk);  // the recording file noted why
      break;
    case storage::RecordingFile::Appended::kWritten:
      count_written(chunk->encoded);
      break;
  }
  // Offered once, whatever became of it in the continuous file: events see every chunk.
  if (events_ != nullptr) events_->keep(chunk->encoded, false);
  release(chunk);
  return true;
}

// Rotation by size or age happens before a chunk, in a file that holds at least one.
void OrderedWriter::rotate_if_due(const CompressedChunk& chunk) {
  if (!file_.is_open() || file_.chunks() == 0 || !file_.rotating()) return;
  if (config_.max_bytes > 0 &&
      file_.bytes_written() + chunk.encoded.file_size() > config_.max_bytes) {
    file_.rotate(storage::StartReason::kSize);
  } else if (duration_reached(std::chrono::steady_clock::now())) {
    file_.rotate(storage::StartReason::kDuration);
  }
}

void OrderedWriter::note_chunk_time(std::chrono::steady_clock::duration took) {
  const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(took).count();
  if (ns > longest_chunk_ns_.load(std::memory_order_relaxed)) {
    longest_chunk_ns_.store(ns, std::memory_order_relaxed);
  }
}

bool OrderedWriter::duration_reached(std::chrono::steady_clock::time_point now) const {
  return file_.is_open() && file_.chunks() > 0 && file_.rotating() &&
         config_.max_duration.count() > 0 && now - file_.first_chunk_at() >= config_.max_duration;
}

// ---- Counting

void OrderedWriter::count_written(const mcap::EncodedChunk& encoded) {
  for (const auto& [channel_id, count] : encoded.message_counts) {
    if (WrittenChannelCounts* counts = written_.find(channel_id)) {
      counts->written.fetch_add(count, std::memory_order_relaxed);
    }
  }
  if (latches_ != nullptr) latches_->note_handled(encoded.message_counts, true);
  chunks_written_.fetch_add(1, std::memory_order_relaxed);
  messages_written_.fetch_add(encoded.message_count, std::memory_order_relaxed);
  bytes_written_.fetch_add(encoded.file_size(), std::memory_order_relaxed);
}

// An on-event chunk taken into the look-back ring: its messages are recorded (an event file
// gets them if an event asks), so they count as written; the writer's own totals are the
// continuous files' and leave it out.
void OrderedWriter::count_kept(const mcap::EncodedChunk& encoded) {
  if (latches_ != nullptr) latches_->note_handled(encoded.message_counts, false);
  for (const auto& [channel_id, count] : encoded.message_counts) {
    if (WrittenChannelCounts* counts = written_.find(channel_id)) {
      counts->written.fetch_add(count, std::memory_order_relaxed);
    }
  }
  messages_kept_.fetch_add(encoded.message_count, std::memory_order_relaxed);
}

// A chunk that is not written: its messages count as the compressor said (a chunk that could
// not be encoded) or as write errors.
void OrderedWriter::count_lost(const CompressedChunk& chunk) {
  const DropReason reason = chunk.failed ? chunk.lost_reason : DropReason::kWriteError;
  if (reason == DropReason::kWriteError) {
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    // Why a chunk the file refused was lost is noted there already.
    if (chunk.failed) file_.note_error(base::Error{0, chunk.error});
  }
  count_drops(chunk, reason);
}

void OrderedWriter::count_drops(const CompressedChunk& chunk, DropReason reason) {
  auto count = [this, reason](uint16_t channel_id, uint64_t messages) {
    if (WrittenChannelCounts* counts = written_.find(channel_id)) {
      counts->count_drop(reason, messages);
    }
  };
  if (latches_ != nullptr) {
    latches_->note_handled(chunk.failed ? chunk.lost : chunk.encoded.message_counts, false);
  }
  if (chunk.failed) {
    for (const auto& [channel_id, messages] : chunk.lost) count(channel_id, messages);
  } else {
    for (const auto& [channel_id, messages] : chunk.encoded.message_counts) {
      count(channel_id, messages);
    }
  }
}

void OrderedWriter::drop_held(std::vector<CompressedChunk*>& held) {
  for (CompressedChunk* chunk : held) {
    count_drops(*chunk, DropReason::kNoSpace);
    release(chunk);
  }
  if (!held.empty()) {
    spdlog::error("stopped while recording was paused: {} chunks could not be written",
                  held.size());
  }
  held.clear();
}

void OrderedWriter::release(CompressedChunk* chunk) {
  const uint64_t record_bytes = chunk->record_bytes;
  buffers_.uncharge(chunk->charged_bytes);
  chunk->charged_bytes = 0;
  for (Segment* segment : chunk->segments) buffers_.release(segment);
  chunk->segments.clear();
  chunk->encoded.parts.clear();
  chunk->encoded.in_place_bytes = 0;
  // Back in the pool before its slot is free, so that the next chunk sealed finds it there.
  chunk_pool_.recycle(chunk);
  gate_.remove(record_bytes);
}

void OrderedWriter::note_cpu_time() {
  cpu_ns_.store(thread_cpu_ns(), std::memory_order_relaxed);
}

}  // namespace mcaprec::pipeline
