#include "pipeline/pipeline.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "events/rule_trigger.hpp"
#include "pipeline/buffer_pool.hpp"
#include "pipeline/channel_registry.hpp"
#include "pipeline/chunk_assembler.hpp"
#include "pipeline/compressor_pool.hpp"
#include "pipeline/in_flight_gate.hpp"
#include "pipeline/ordered_writer.hpp"
#include "pipeline/recording_source.hpp"
#include "pipeline/recycling_pool.hpp"
#include "pipeline/space_signal.hpp"
#include "pipeline/thread_cpu.hpp"
#include "storage/file_naming.hpp"
#include "storage/finalizer.hpp"
#include "storage/output_file.hpp"

namespace mcaprec::pipeline {

namespace {

constexpr size_t kMinSegmentBytes = 4 << 10;
constexpr size_t kMaxSegmentBytes = 64 << 10;

unsigned compressor_count(unsigned configured) {
  if (configured != 0) return configured;
  return std::max(1u, std::thread::hardware_concurrency());
}

// A sixteenth of a chunk, plus a page for the record header, so that a message of exactly that
// size fits one segment: 64 KiB frames and the largest UDP datagrams (65,507 bytes) are common,
// and as a chain of two segments each would take twice its size from the memory budget.
size_t segment_size(const PipelineOptions& options) {
  if (options.segment_bytes != 0) return options.segment_bytes;
  constexpr size_t kRecordHeaderRoom = 4 << 10;
  return std::clamp<size_t>(options.chunk_size / 16, kMinSegmentBytes, kMaxSegmentBytes) +
         kRecordHeaderRoom;
}

// Sealed chunks in flight: enough to keep every compressor busy with one more waiting, and the
// writer with a couple; never more than half the memory budget.
uint64_t in_flight_limit(const PipelineOptions& options, unsigned compressors) {
  const uint64_t wanted = (2 * uint64_t{compressors} + 2) * options.chunk_size;
  return std::max<uint64_t>(options.chunk_size, std::min(wanted, options.memory_budget / 2));
}

// Chunks in flight, however small (sealed by age, memory pressure or a blocked producer): enough
// for every compressor to hold one and have as many waiting, and the writer a few more. Every
// object a chunk needs on its way is made for this many at start.
ChannelDefaults channel_defaults(const PipelineOptions& options) {
  ChannelDefaults defaults{options.default_queue_bytes, options.default_overflow,
                           options.compression_learning};
  // Without a codec there is nothing to decide.
  if (options.compression == mcap::Compression::kNone) {
    defaults.compression_learning.enabled = false;
  }
  return defaults;
}

uint64_t in_flight_chunk_limit(unsigned compressors) {
  return 4 * uint64_t{compressors} + 8;
}

base::Status validate(const PipelineOptions& options) {
  if (options.output_path.empty() && options.directory.empty()) {
    return base::Error{0, "pipeline needs an output directory or an output path"};
  }
  if (options.chunk_size == 0) return base::Error{0, "chunk_size must be greater than 0"};
  if (options.memory_budget == 0) return base::Error{0, "memory_budget must be greater than 0"};
  if (options.default_queue_bytes == 0) {
    return base::Error{0, "default queue bytes must be greater than 0"};
  }
  if (options.chunk_max_age.count() < 0 || options.max_duration.count() < 0 ||
      options.sync_interval.count() < 0) {
    return base::Error{0, "durations must not be negative"};
  }
  return {};
}

mcap::Timestamp log_clock_now() {
  return static_cast<mcap::Timestamp>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

std::string without_active_suffix(const std::string& path) {
  constexpr std::string_view kActive = ".active";
  return path.ends_with(kActive) ? path.substr(0, path.size() - kActive.size()) : path;
}

base::Error prefixed(const std::string& what, const base::Error& error) {
  return base::Error{error.offset, what + ": " + error.message};
}

}  // namespace

uint64_t ChannelStats::dropped_total() const {
  uint64_t total = 0;
  for (uint64_t n : dropped) total += n;
  return total;
}

uint64_t ChannelStats::not_recorded_total() const {
  uint64_t total = 0;
  for (uint64_t n : not_recorded) total += n;
  return total;
}

struct Pipeline::Impl {
  explicit Impl(PipelineOptions opts)
      : options(std::move(opts)),
        compressors_wanted(compressor_count(options.compressor_threads)),
        buffers(segment_size(options), options.memory_budget, space),
        gate(in_flight_limit(options, compressors_wanted),
             in_flight_chunk_limit(compressors_wanted)),
        finalizer(options.on_file_finished),
        session_start(storage::utc_stamp(std::chrono::system_clock::now())),
        latches(options.compression, options.compression_level),
        recording_source(registry, written_counts, session_start, &latches),
        event_source(registry, written_counts, session_start),
        writer(output_config(options, session_start), recording_source, written_counts, finalizer,
               gate, buffers, compressed_chunks),
        compressors(
            CompressorSettings{compressors_wanted, options.compression, options.compression_level,
                               options.chunk_size, gate.chunk_limit(), options.in_place_min_bytes},
            buffers, sealed_chunks, compressed_chunks, writer),
        seal_context{options.chunk_size, options.chunk_max_age, gate, sealed_chunks,
                     next_seq,           compressors,           space},
        registry(channel_defaults(options), buffers, space, accepting, seal_context,
                 written_counts) {
    // Every chunk in flight holds one of each from its seal until it is written (the compressor
    // recycles the sealed one before the writer releases the slot): made now, nothing per chunk
    // is allocated afterwards.
    sealed_chunks.fill(gate.chunk_limit(), [](SealedChunk&) {});
    compressed_chunks.fill(gate.chunk_limit(),
                           [this](CompressedChunk& chunk) { compressors.prepare_output(chunk); });
    writer.follow_latches(&latches);
    if (options.start_paused) pauses.pause(PauseSelector{});
    if (options.events.enabled && options.output_path.empty()) {
      event_recorder = std::make_unique<events::EventRecorder>(
          options.events, event_file_options(options, session_start), event_source);
      writer.keep_chunks_in(event_recorder.get());
      for (const events::TriggerRule& rule : options.events.triggers) {
        rules.push_back(std::make_unique<events::RuleTrigger>(rule));
      }
    }
  }

  static events::EventFileOptions event_file_options(const PipelineOptions& options,
                                                     const std::string& started) {
    events::EventFileOptions files;
    files.directory = options.directory;
    files.prefix = options.prefix;
    files.file = output_config(options, started).file;
    files.file.extra_metadata["file_kind"] = "event";
    // A chunk is sealed at most chunk_max_age after its oldest message, then compressed and
    // written: give the chunks of the look-ahead's end that long, twice, and a second more.
    files.close_delay = 2 * options.chunk_max_age + std::chrono::seconds(1);
    files.on_file_finished = options.on_file_finished;
    return files;
  }

  events::RuleTrigger* rule_for(const std::string& topic) const {
    for (const auto& rule : rules) {
      if (rule->rule().topic == topic) return rule.get();
    }
    return nullptr;
  }

  ~Impl() { (void)stop(); }

  static OutputConfig output_config(const PipelineOptions& options, const std::string& started) {
    OutputConfig config;
    config.max_bytes = options.output_path.empty() ? options.max_bytes : 0;
    config.max_duration =
        options.output_path.empty() ? options.max_duration : std::chrono::nanoseconds(0);
    storage::RecordingFileOptions& file = config.file;
    file.single_path = options.output_path;
    file.directory = options.directory;
    file.prefix = options.prefix;
    file.writer_options.profile = options.profile;
    file.writer_options.use_chunks = false;
    file.recorder_metadata = options.recorder_metadata;
    file.extra_metadata = options.recorder_info;
    file.start_metadata = options.file_metadata;
    file.session_start = started;
    file.stats_keys_per_channel = RegistryRecordingSource::kStatsKeysPerChannel;
    file.open_sink = options.open_sink;
    file.file_system = options.file_system;
    file.sync_interval = options.sync_interval;
    file.max_total_bytes = options.max_total_bytes;
    file.min_free_bytes = options.min_free_bytes;
    file.free_space = options.free_space;
    file.upload_pending = options.upload_pending;
    file.on_file_deleted = options.on_file_deleted;
    return config;
  }

  void start_scheduler() {
    scheduler = std::thread([this] { run_scheduler(); });
  }

  // Seals groups whose oldest message came of age, and chunks whose seal was deferred while
  // the in-flight gate was closed.
  void run_scheduler() {
    name_this_thread("mcaprec-sealer");
    const int64_t max_age = options.chunk_max_age.count();
    // Wake at least this often: a group that starts filling while we sleep is noticed in time.
    const int64_t recheck =
        max_age > 0 ? std::clamp<int64_t>(max_age / 4, 1'000'000, 100'000'000) : 100'000'000;
    std::vector<ChunkAssembler*> groups;
    while (!scheduler_stop.load(std::memory_order_acquire)) {
      const int64_t now = steady_now_ns();
      int64_t next = now + recheck;
      registry.groups(groups);
      if (buffers.take_pressure()) {
        for (ChunkAssembler* group : groups) group->relieve_pressure();
      }
      for (ChunkAssembler* group : groups) {
        const int64_t due = group->seal_due(now);
        if (due != 0) next = std::min(next, due);
      }
      scheduler_cpu.store(thread_cpu_ns(), std::memory_order_relaxed);
      gate.wait_until(std::chrono::steady_clock::time_point(
          std::chrono::nanoseconds(std::max(next, now + 100'000))));
    }
  }

  base::Status stop() {
    std::lock_guard lock(control);
    if (stopped) return stop_status;
    stopped = true;
    accepting.store(false, std::memory_order_release);
    space.notify();
    std::vector<ChannelEntry*> entries;
    registry.entries(entries);
    for (ChannelEntry* entry : entries) entry->queue->quiesce();
    // From here on nothing is appended to any queue.
    scheduler_stop.store(true, std::memory_order_release);
    gate.wake();
    if (scheduler.joinable()) scheduler.join();
    std::vector<ChunkAssembler*> groups;
    registry.groups(groups);
    for (ChunkAssembler* group : groups) group->seal_all();
    compressors.finish();
    writer.finish(next_seq.load(std::memory_order_acquire));
    // Every chunk is in the ring now: the event files get what they still lack and end.
    if (event_recorder) event_recorder->finish();
    finalizer.finish();
    if (std::optional<base::Error> error = writer.file_stats().first_error) {
      stop_status = *error;
    } else if (std::optional<base::Error> final_error = finalizer.first_error()) {
      stop_status = *final_error;
    }
    return stop_status;
  }

  void request_rotation() {
    std::lock_guard lock(control);
    if (stopped || !options.output_path.empty()) return;
    request_rotation_locked();
  }

  void request_rotation_locked() {
    std::vector<ChunkAssembler*> groups;
    registry.groups(groups);
    for (ChunkAssembler* group : groups) group->seal_all();
    writer.request_rotation(next_seq.load(std::memory_order_acquire));
  }

  // Declaration order is construction order: each part only refers to earlier ones, except
  // the recording source's reference to the registry, which the writer uses only once chunks
  // arrive.
  const PipelineOptions options;
  const unsigned compressors_wanted;
  std::atomic<bool> accepting{true};
  SpaceSignal space;
  BufferPool buffers;
  InFlightGate gate;
  RecyclingPool<SealedChunk> sealed_chunks;
  RecyclingPool<CompressedChunk> compressed_chunks;
  std::atomic<uint64_t> next_seq{0};
  storage::Finalizer finalizer;
  WrittenCounts written_counts;
  const std::string session_start;
  LatchTable latches;
  RegistryRecordingSource recording_source;
  RegistryRecordingSource event_source;  // the event thread's own (it keeps scratch space)
  OrderedWriter writer;
  CompressorPool compressors;
  SealContext seal_context;
  ChannelRegistry registry;

  // Event recording, when configured; rules are fixed at start.
  std::unique_ptr<events::EventRecorder> event_recorder;
  std::vector<std::unique_ptr<events::RuleTrigger>> rules;

  std::thread scheduler;
  std::atomic<bool> scheduler_stop{false};
  std::atomic<int64_t> scheduler_cpu{0};

  // Its own lock; read on every push.
  PauseTable pauses{log_clock_now};

  std::mutex control;  // serializes stop(), request_rotation() and split()
  bool stopped = false;
  base::Status stop_status;
};

base::Result<std::unique_ptr<Pipeline>> Pipeline::start(PipelineOptions options) {
  if (base::Status s = validate(options); !s)
    return prefixed("invalid pipeline options", s.error());
  const std::string directory = options.output_path.empty()
                                    ? options.directory
                                    : storage::parent_directory(options.output_path);
  if (base::Status s = storage::ensure_directory(directory); !s) return s.error();
  auto impl = std::make_unique<Impl>(std::move(options));
  base::Status started = impl->buffers.ok()
                             ? impl->writer.start()
                             : base::Status(base::Error{
                                   0, "cannot reserve address space for a memory_budget of " +
                                          std::to_string(impl->options.memory_budget) + " bytes"});
  if (started && impl->event_recorder) started = impl->event_recorder->start();
  if (!started) {
    impl->stopped = true;
    impl->compressors.finish();
    impl->finalizer.finish();
    return started.error();
  }
  impl->start_scheduler();
  return std::unique_ptr<Pipeline>(new Pipeline(std::move(impl)));
}

Pipeline::Pipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Pipeline::~Pipeline() = default;

base::Result<ChannelHandle> Pipeline::declare_channel(const ChannelSpec& spec) {
  if (!impl_->accepting.load(std::memory_order_acquire)) {
    return base::Error{0, "pipeline is stopped: cannot declare " + spec.topic};
  }
  base::Result<ChannelEntry*> entry = [&] {
    if (spec.on_event && !impl_->event_recorder) {
      ChannelSpec always = spec;  // without event recording every channel is recorded always
      always.on_event = false;
      return impl_->registry.declare(always);
    }
    return impl_->registry.declare(spec);
  }();
  if (!entry) return entry.error();
  const PauseWindow* topic_pause = impl_->pauses.topic(spec.topic);
  const PauseWindow* source_pause =
      spec.source.empty() ? nullptr : impl_->pauses.source(spec.source);
  ChannelHandle handle((*entry)->queue.get(), (*entry)->channel.id, topic_pause, source_pause,
                       impl_->rule_for((*entry)->channel.topic), (*entry)->rate_limit.get(),
                       spec.excluded);
  if ((*entry)->latch) {
    handle.latch_ = impl_->latches.lane((*entry)->channel.id);
    handle.publisher_ = spec.publisher;
  }
  return handle;
}

// A message not to be recorded is counted where its channel's counts are and goes no further.
// A paused message does not take a slot of the rate limit.
bool Pipeline::skip_unrecorded(ChannelHandle channel, mcap::Timestamp log_time,
                               size_t payload_bytes, RateLimiter::Slot* slot) {
  std::optional<NotRecordedReason> reason;
  if (channel.excluded_) {
    reason = NotRecordedReason::kExcluded;
  } else if (impl_->pauses.paused(channel.topic_pause_, channel.source_pause_, log_time)) {
    reason = NotRecordedReason::kPaused;
  } else if (channel.rate_limit_ != nullptr && !channel.rate_limit_->admit(log_time, slot)) {
    reason = NotRecordedReason::kRateLimited;
  }
  if (!reason) return false;
  channel.queue_->count_not_recorded(*reason, 1, payload_bytes);
  return true;
}

void Pipeline::fire_rule(events::RuleTrigger& rule, mcap::Timestamp log_time) {
  if (!rule.fire()) return;
  const events::TriggerRule& settings = rule.rule();
  EventRequest request;
  request.name = settings.name;
  request.trigger = EventTrigger::kRule;
  request.trigger_detail = settings.topic;
  request.before = settings.before;
  request.after = settings.after;
  base::Result<EventState> marked = impl_->event_recorder->mark(std::move(request), log_time);
  if (marked) impl_->writer.submit_metadata(events::EventRecorder::event_record(*marked));
}

PushResult Pipeline::push(ChannelHandle channel, mcap::Timestamp log_time,
                          mcap::Timestamp publish_time, uint32_t sequence, mcap::ByteView payload) {
  if (channel.queue_ == nullptr) return PushResult::dropped(DropReason::kStopped);
  if (skip_unrecorded(channel, log_time, payload.size())) return PushResult::not_recorded();
  if (channel.rule_ != nullptr) [[unlikely]]
    fire_rule(*channel.rule_, log_time);
  if (channel.latch_ != nullptr) [[unlikely]] {
    return *push_latched(channel, {log_time, publish_time, sequence, payload}, true);
  }
  return channel.queue_->push(log_time, publish_time, sequence, payload);
}

std::optional<PushResult> Pipeline::push_latched(ChannelHandle channel,
                                                 const OutgoingMessage& message, bool may_wait) {
  std::lock_guard order(channel.latch_->order());
  std::optional<PushResult> result =
      may_wait ? std::optional<PushResult>(channel.queue_->push(
                     message.log_time, message.publish_time, message.sequence, message.payload))
               : channel.queue_->try_push(message.log_time, message.publish_time, message.sequence,
                                          message.payload);
  if (result && result->ok())
    impl_->latches.note_queued(*channel.latch_, channel.publisher_, message);
  return result;
}

// Runs of messages to be recorded go to the queue as batches; the others are counted.
BatchPushResult Pipeline::push_batch(ChannelHandle channel,
                                     std::span<const OutgoingMessage> messages) {
  if (channel.queue_ == nullptr) return {};
  if (channel.rule_ != nullptr && !messages.empty()) [[unlikely]] {
    fire_rule(*channel.rule_, messages.front().log_time);
  }
  if (channel.latch_ != nullptr) [[unlikely]] {
    // Message by message, so that the latch knows which ones the queue accepted.
    BatchPushResult result;
    for (const OutgoingMessage& message : messages) {
      if (skip_unrecorded(channel, message.log_time, message.payload.size())) continue;
      if (push_latched(channel, message, true)->ok()) {
        ++result.accepted;
        result.accepted_bytes += message.payload.size();
      }
    }
    return result;
  }
  if (!impl_->pauses.ever_paused() && !channel.selective()) {
    return channel.queue_->push_batch(messages);
  }
  BatchPushResult result;
  size_t run_begin = 0;
  auto flush_run = [&](size_t end) {
    if (end == run_begin) return;
    const BatchPushResult run =
        channel.queue_->push_batch(messages.subspan(run_begin, end - run_begin));
    result.accepted += run.accepted;
    result.accepted_bytes += run.accepted_bytes;
  };
  for (size_t i = 0; i < messages.size(); ++i) {
    if (!skip_unrecorded(channel, messages[i].log_time, messages[i].payload.size())) continue;
    flush_run(i);
    run_begin = i + 1;
  }
  flush_run(messages.size());
  return result;
}

// A message the queue cannot take now is pushed again later: it gives its rate slot back, or
// the retry would find the slot taken and count it rate_limited.
std::optional<PushResult> Pipeline::try_push(ChannelHandle channel, mcap::Timestamp log_time,
                                             mcap::Timestamp publish_time, uint32_t sequence,
                                             mcap::ByteView payload) {
  if (channel.queue_ == nullptr) return PushResult::dropped(DropReason::kStopped);
  RateLimiter::Slot slot;
  if (skip_unrecorded(channel, log_time, payload.size(), &slot)) return PushResult::not_recorded();
  std::optional<PushResult> result =
      channel.latch_ != nullptr
          ? push_latched(channel, {log_time, publish_time, sequence, payload}, false)
          : channel.queue_->try_push(log_time, publish_time, sequence, payload);
  if (!result && channel.rate_limit_ != nullptr) channel.rate_limit_->give_back(slot);
  // Only once the message is taken: a refused one comes back and would fire twice.
  if (result && channel.rule_ != nullptr) [[unlikely]]
    fire_rule(*channel.rule_, log_time);
  return result;
}

bool Pipeline::reserve_payload(ChannelHandle channel, size_t payload_size, ReservedRecord& out) {
  // A latch keeps a copy of the payload it follows, and an excluded channel records nothing.
  if (channel.queue_ == nullptr || channel.latch_ != nullptr || channel.excluded_) return false;
  return channel.queue_->reserve(payload_size, out);
}

PushResult Pipeline::commit_payload(ChannelHandle channel, ReservedRecord& record,
                                    mcap::Timestamp log_time, mcap::Timestamp publish_time,
                                    uint32_t sequence) {
  if (skip_unrecorded(channel, log_time, record.payload_size())) {
    record.cancel();
    return PushResult::not_recorded();
  }
  if (channel.rule_ != nullptr) [[unlikely]]
    fire_rule(*channel.rule_, log_time);
  return channel.queue_->commit(record, log_time, publish_time, sequence);
}

void Pipeline::write_metadata(mcap::Metadata metadata) {
  impl_->writer.submit_metadata(std::move(metadata));
}

void Pipeline::write_attachment(const mcap::Attachment& attachment) {
  impl_->writer.submit_attachment(attachment);
}

void Pipeline::request_rotation() {
  impl_->request_rotation();
}

SplitResult Pipeline::split(std::chrono::milliseconds timeout) {
  using Outcome = SplitResult::Outcome;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // Between two files the next one opens with the next chunk, at most a chunk age away: a
  // split that lands there (right after a rotation, under steady load) waits for that file
  // rather than being refused.
  const auto open_deadline =
      std::min(deadline, std::chrono::steady_clock::now() + 2 * impl_->options.chunk_max_age +
                             std::chrono::seconds(1));
  std::string final_path;
  for (;;) {
    std::lock_guard lock(impl_->control);
    if (impl_->stopped) return {Outcome::kStopped, "", "the recorder is stopping"};
    if (!impl_->options.output_path.empty()) {
      return {Outcome::kNothing, "", "a single output file is never split"};
    }
    const std::string active = impl_->writer.file_stats().current_file;
    if (!active.empty()) {
      final_path = without_active_suffix(active);
      impl_->request_rotation_locked();
      break;
    }
    if (std::chrono::steady_clock::now() >= open_deadline) {
      return {Outcome::kNothing, "", "no file is open: nothing was recorded since the last one"};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // The finalizer thread names its files as it finishes them; a short poll is enough for a
  // request that takes as long as a summary, an fdatasync and a rename.
  for (;;) {
    if (std::optional<storage::FinishedFile> done = impl_->finalizer.finished(final_path)) {
      if (done->ok) return {Outcome::kFinalized, final_path, ""};
      return {Outcome::kFailed, final_path, done->error};
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return {Outcome::kTimedOut, final_path, "the file is not finalized yet"};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

mcap::Timestamp Pipeline::pause(const PauseSelector& selector) {
  return impl_->pauses.pause(selector);
}

mcap::Timestamp Pipeline::resume(const PauseSelector& selector) {
  return impl_->pauses.resume(selector);
}

PauseState Pipeline::pause_state() const {
  return impl_->pauses.state();
}

void Pipeline::cut_drain() {
  impl_->compressors.skip_remaining();
}

base::Status Pipeline::stop() {
  return impl_->stop();
}

base::Result<EventState> Pipeline::mark_event(EventRequest request) {
  if (!impl_->event_recorder) {
    return base::Error{0, "event recording is not configured (no `events:` section)"};
  }
  const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  base::Result<EventState> marked =
      impl_->event_recorder->mark(std::move(request), static_cast<mcap::Timestamp>(now.count()));
  // The continuous file notes the event too, where it happened.
  if (marked) impl_->writer.submit_metadata(events::EventRecorder::event_record(*marked));
  return marked;
}

std::optional<EventState> Pipeline::event(uint64_t id) const {
  if (!impl_->event_recorder) return std::nullopt;
  return impl_->event_recorder->event(id);
}

std::vector<EventState> Pipeline::events() const {
  if (!impl_->event_recorder) return {};
  return impl_->event_recorder->events();
}

const events::EventOptions& Pipeline::event_options() const {
  return impl_->options.events;
}

PipelineStats Pipeline::stats() const {
  PipelineStats stats;
  std::vector<ChannelEntry*> entries;
  impl_->registry.entries(entries);
  stats.channels.reserve(entries.size());
  for (const ChannelEntry* entry : entries) {
    const ChannelCountsSnapshot counts = read_channel_counts(
        entry->queue->counters(), impl_->written_counts.find(entry->channel.id));
    ChannelStats channel;
    channel.id = entry->channel.id;
    channel.topic = entry->channel.topic;
    channel.chunk_group = entry->group_name;
    channel.on_event = entry->on_event;
    channel.received = counts.received;
    channel.received_bytes = counts.received_bytes;
    channel.written = counts.written;
    channel.dropped = counts.dropped;
    channel.not_recorded = counts.not_recorded;
    channel.relatched = counts.relatched;
    channel.queued_bytes = entry->queue->unsealed_bytes();
    channel.compression = entry->queue->compression().counts();
    stats.channels.push_back(std::move(channel));
  }
  stats.writer = impl_->writer.stats();
  stats.file = impl_->writer.file_stats();
  stats.finalizer = impl_->finalizer.stats();
  stats.compression = impl_->compressors.stats();
  stats.memory = impl_->buffers.stats();
  stats.in_flight = impl_->gate.stats();
  stats.scheduler_cpu =
      std::chrono::nanoseconds(impl_->scheduler_cpu.load(std::memory_order_relaxed));
  stats.pause = impl_->pauses.state();
  if (impl_->event_recorder) stats.events = impl_->event_recorder->stats();
  return stats;
}

}  // namespace mcaprec::pipeline
