#pragma once
// The recording pipeline: messages pushed from any thread end up, compressed and indexed, in
// MCAP files.
//
//   auto pipeline = Pipeline::start(options);                 // opens the first file
//   ChannelHandle imu = *(*pipeline)->declare_channel({.topic = "/imu", ...});
//   (*pipeline)->push(imu, log_time, publish_time, sequence, payload);   // any thread
//   (*pipeline)->stop();                                      // drain, finalize, report
//
// Inside (docs/ARCHITECTURE.md §2-§3): push() serializes the Message record once into its channel's
// queue (pooled segments); each chunk group's assembler seals the group's oldest messages into
// a chunk at chunk_size or chunk_max_age; K compressor threads encode chunks completely; the
// ordered writer appends them in seal order, rotating files at chunk boundaries; a finalizer
// thread closes finished files. Queues are bounded per channel and, with the chunks in flight,
// by one memory budget; overflow follows each channel's policy and every drop is counted.
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "events/event_options.hpp"
#include "events/event_recorder.hpp"
#include "mcap/compression.hpp"
#include "mcap/records.hpp"
#include "pipeline/channel_compression.hpp"
#include "pipeline/channel_spec.hpp"
#include "pipeline/drop_reason.hpp"
#include "pipeline/event_request.hpp"
#include "pipeline/file_channel_id.hpp"
#include "pipeline/latch_table.hpp"
#include "pipeline/not_recorded_reason.hpp"
#include "pipeline/outgoing_message.hpp"
#include "pipeline/overflow_policy.hpp"
#include "pipeline/pause_table.hpp"
#include "pipeline/push_result.hpp"
#include "pipeline/rate_limiter.hpp"
#include "pipeline/reserved_record.hpp"
#include "pipeline/stage_stats.hpp"
#include "storage/finalizer.hpp"
#include "storage/output_file.hpp"
#include "storage/recording_file.hpp"
#include "storage/retention.hpp"

namespace mcaprec::pipeline {

class ChannelQueue;
}  // namespace mcaprec::pipeline
namespace mcaprec::events {
class RuleTrigger;
}  // namespace mcaprec::events
namespace mcaprec::pipeline {

struct PipelineOptions {
  // Rotating output: files `<directory>/<prefix>_<UTC start>_<index>.mcap`, each written as
  // `….mcap.active` until finalized. The directory is created if missing.
  std::string directory = "./recordings";
  std::string prefix = "rec";
  // Non-empty: write exactly this one file instead (as `<output_path>.active`, renamed when
  // stop() finalizes it), never rotated. For `mcaprec convert`.
  std::string output_path;
  // Rotate before a chunk would take the file past this many bytes; 0 = never by size.
  uint64_t max_bytes = uint64_t{2} << 30;
  // Rotate once a file's first chunk is this old; 0 = never by time.
  std::chrono::nanoseconds max_duration = std::chrono::minutes(10);
  std::string profile;  // Header.profile: "", "ros1", "ros2", ...
  mcap::Compression compression = mcap::Compression::kZstd;  // chunk codec
  int compression_level = 1;                                 // codec level (zstd)
  uint64_t chunk_size = uint64_t{1} << 20;  // seal a group's chunk at this many record bytes
  // ... or when its oldest message is this old (bounds data lost at a power cut); 0 = never.
  std::chrono::nanoseconds chunk_max_age = std::chrono::milliseconds(500);
  unsigned compressor_threads = 0;  // 0 = one per CPU
  // Bound on memory for messages: queued, in chunks being compressed and encoded chunks
  // waiting for the writer. Queued and sealed messages never pass it; encoded chunks are
  // counted but never refused, so while the writer is slow the total can pass it by the
  // in-flight bound ((2K + 2) chunks for K compressors, at most half the budget).
  uint64_t memory_budget = uint64_t{512} << 20;
  uint64_t default_queue_bytes = uint64_t{16} << 20;  // per channel, unless declared otherwise
  OverflowPolicy default_overflow = OverflowPolicy::kDropNewest;  // unless declared otherwise
  // Write the `mcaprec` Metadata record when a file starts and `mcaprec.stats` when it ends.
  bool recorder_metadata = true;
  mcap::KeyValueMap recorder_info;  // extra keys for `mcaprec`, e.g. the config digest
  // Written after `mcaprec` at the start of every file, continuous and event files alike
  // (the daemon's `mcaprec.session` and `foxglove` records).
  std::vector<mcap::Metadata> file_metadata;
  // Size of a queue segment; 0 = chosen from chunk_size (a sixteenth, at most 64 KiB, plus 4 KiB
  // for a record header). A larger message takes several.
  size_t segment_bytes = 0;
  // A chunk stored raw is written straight from the segment ranges of at least this many bytes
  // (a gathering write), the rest copied behind its header; 0 = every chunk copied whole.
  uint64_t in_place_min_bytes = uint64_t{16} << 10;
  // Where file bytes go; empty = the files themselves. Tests substitute stalling or failing
  // sinks.
  storage::SinkFactory open_sink;
  // Told of every continuous and event file finalized (or failed), on a finalizer thread, before
  // the file counts as finished (upload and on_finalize start here).
  storage::FinishedFileListener on_file_finished;
  // Every call that changes the disk (files, renames, deletes, directory syncs); null = POSIX.
  // Tests substitute one that simulates power cuts.
  std::shared_ptr<storage::FileSystem> file_system;
  // fdatasync of the file being written at least this often, on a thread of its own; 0 = only
  // when a file is finalized.
  std::chrono::nanoseconds sync_interval = std::chrono::seconds(1);
  // Retention (rotating output only): this recorder's files in the directory stay within
  // max_total_bytes and the disk keeps min_free_bytes free, oldest files deleted first; when
  // that is not enough, recording pauses until there is room. 0 = no limit.
  uint64_t max_total_bytes = 0;
  uint64_t min_free_bytes = 0;
  storage::FreeSpaceProbe free_space;  // empty = statvfs; tests substitute their own
  // Whether a finished file still waits for upload: retention (max_total_bytes) and the event
  // quota never delete such a file; only the min_free_bytes emergency may, counted as
  // files_lost_before_upload. Empty = nothing waits (storage::UploadPending).
  storage::UploadPending upload_pending;
  // Told of each file retention or the event quota deleted (the upload queue forgets it).
  storage::DeletedFileListener on_file_deleted;
  // Start with everything paused (config `recording.start: paused`): nothing is recorded until
  // resume().
  bool start_paused = false;
  // Event recording (rotating output only): the look-back ring, on-event channels, event files
  // in `directory`, topic rules. Disabled by default.
  events::EventOptions events;
  // Per-channel compression decisions of the default chunk group (channel_compression.hpp);
  // off when `compression` is none. Tests shorten the probe interval.
  CompressionLearning compression_learning;
};

// A declared channel. Cheap to copy; valid until the pipeline is destroyed.
class ChannelHandle {
 public:
  ChannelHandle() = default;
  FileChannelId id() const { return id_; }
  bool valid() const { return queue_ != nullptr; }

 private:
  friend class Pipeline;
  // `id` is the one the registry's mcap::Channel carries; the windows are the pauses of its
  // topic and of the declaring source (null: none); `rule` the topic rule its messages fire, if
  // any; `rate_limit` is the channel's (null: none); `excluded`: the declaring source does not
  // record the topic.
  ChannelHandle(ChannelQueue* queue, uint16_t id, const PauseWindow* topic_pause,
                const PauseWindow* source_pause, events::RuleTrigger* rule, RateLimiter* rate_limit,
                bool excluded)
      : queue_(queue),
        id_{id},
        topic_pause_(topic_pause),
        source_pause_(source_pause),
        rule_(rule),
        rate_limit_(rate_limit),
        excluded_(excluded) {}
  // Whether a push must be checked message by message before it is queued.
  bool selective() const { return rate_limit_ != nullptr || excluded_; }
  ChannelQueue* queue_ = nullptr;
  FileChannelId id_{};
  const PauseWindow* topic_pause_ = nullptr;
  const PauseWindow* source_pause_ = nullptr;
  events::RuleTrigger* rule_ = nullptr;
  // A latched channel's lane, and the publisher this handle pushes for (ChannelSpec).
  LatchTable::Lane* latch_ = nullptr;
  uint64_t publisher_ = 0;
  RateLimiter* rate_limit_ = nullptr;
  bool excluded_ = false;
};

struct ChannelStats {
  uint16_t id = 0;
  std::string topic;
  std::string chunk_group;
  uint64_t received = 0;        // push() calls
  uint64_t received_bytes = 0;  // their payload bytes
  bool on_event = false;        // record: on_event (and events configured)
  // Messages recorded: appended to a continuous file or, for an on-event channel, taken into
  // the look-back ring (an event file gets them if an event asks).
  uint64_t written = 0;
  std::array<uint64_t, kDropReasonCount> dropped{};  // by DropReason
  // Not recorded on purpose, by NotRecordedReason (paused, rate_limited, excluded): never a drop.
  std::array<uint64_t, kNotRecordedReasonCount> not_recorded{};
  uint64_t queued_bytes = 0;  // unsealed record bytes now
  // Latched messages written again at the start of later files: not in `written` (a message
  // is received and written once; these are repeats of written ones).
  uint64_t relatched = 0;
  // What chunk encoding did with the channel's records (channel_compression.hpp): bytes in,
  // bytes out (its share of compressed chunks, or raw), chunks tried and chunks stored raw
  // without trying (a codec being configured), and whether its data now goes raw.
  ChannelCompressionCounts compression;

  uint64_t dropped_total() const;
  uint64_t dropped_for(DropReason reason) const { return dropped[size_t(reason)]; }
  uint64_t not_recorded_total() const;
  uint64_t not_recorded_for(NotRecordedReason reason) const { return not_recorded[size_t(reason)]; }
};

// What Pipeline::split() came to.
struct SplitResult {
  enum class Outcome {
    kFinalized,  // `file` is the finalized file's path
    kNothing,    // no file holds messages to split off
    kTimedOut,   // the file did not finish within the timeout (it still will)
    kFailed,     // finalizing the file failed; `message` says why
    kStopped,    // the pipeline is stopping
  };
  Outcome outcome = Outcome::kNothing;
  std::string file;
  std::string message;
};

// Each stage's counts, as the stage that owns them returns them.
struct PipelineStats {
  std::vector<ChannelStats> channels;  // by id
  WriterStats writer;                  // the ordered writer: chunks and messages written
  storage::RecordingFileStats file;    // files started, closed on error, sync, retention, pause
  storage::FinalizerStats finalizer;   // files finalized
  CompressionStats compression;        // the compressor pool
  MemoryStats memory;                  // the buffer pool, against memory_budget
  InFlightStats in_flight;             // sealed chunks not yet written
  std::chrono::nanoseconds scheduler_cpu{0};  // the pipeline's chunk-age scheduler thread
  PauseState pause;                           // paused by request (not for lack of room)
  std::optional<events::EventStats> events;   // the ring and event files, when configured

  // The first write or finalization failure.
  std::optional<base::Error> first_error() const {
    return file.first_error ? file.first_error : finalizer.first_error;
  }
};

class Pipeline {
 public:
  // Validates the options, creates the directory, opens the first file and starts the threads.
  static base::Result<std::unique_ptr<Pipeline>> start(PipelineOptions options);
  ~Pipeline();  // stop() if not done
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Any thread, any time before stop(). An identical declaration returns the same channel.
  base::Result<ChannelHandle> declare_channel(const ChannelSpec& spec);

  // Any thread; several threads may push to one channel. Copies the payload once.
  PushResult push(ChannelHandle channel, mcap::Timestamp log_time, mcap::Timestamp publish_time,
                  uint32_t sequence, mcap::ByteView payload);
  // The same, but never waits: nullopt where push() would wait for room (a block-policy
  // channel whose queue or the memory budget is full). Nothing is counted then; the caller
  // holds the message and tries again later (a TCP session stops reading meanwhile).
  std::optional<PushResult> try_push(ChannelHandle channel, mcap::Timestamp log_time,
                                     mcap::Timestamp publish_time, uint32_t sequence,
                                     mcap::ByteView payload);

  // push() for each message of the batch in order (same outcomes, drops and counts, may wait
  // on a block-policy channel), taking the channel's lock and updating its counters once per
  // run of messages rather than once each: for a receiver with many small messages at once.
  BatchPushResult push_batch(ChannelHandle channel, std::span<const OutgoingMessage> messages);

  // For a large payload still arriving (a TCP session then reads the rest from the socket
  // straight into the reservation, with no copy in user space): reserves the channel's next
  // record if there is room now. False when the channel cannot take it this way (no room now,
  // a latched or excluded channel, stopped): then push() once the payload is whole, as usual.
  bool reserve_payload(ChannelHandle channel, size_t payload_size, ReservedRecord& out);
  // Queues a filled reservation as push() would have queued the message (pause, rate limit and
  // rules apply here, with the same counts). Never waits.
  PushResult commit_payload(ChannelHandle channel, ReservedRecord& record, mcap::Timestamp log_time,
                            mcap::Timestamp publish_time, uint32_t sequence);

  // Adds a Metadata or Attachment record to the file being written, before the chunks that
  // follow. For `mcaprec convert`, which keeps the input's. Not counted in the memory budget.
  void write_metadata(mcap::Metadata metadata);
  void write_attachment(const mcap::Attachment& attachment);

  // Starts a new file at the next chunk boundary: what was pushed before this call goes to the
  // current file, what is pushed after it returns to the next one (pushes racing with the call
  // may land in either). A file without chunks is not rotated. No-op with output_path.
  void request_rotation();

  // Refuses further pushes (blocked pushers return kStopped), seals and writes everything
  // queued, writes `mcaprec.stats`, finalizes the file and stops the threads. Returns the first
  // write or finalization error. Idempotent.
  base::Status stop();

  // Makes a stop() in progress (or the next one) finish quickly, e.g. on a second SIGTERM or
  // when a shutdown bound expires: messages not yet compressed are dropped (counted as
  // `stopped`) instead of written; what is encoded is written and the file finalized.
  void cut_drain();

  // Split on request: ends the current file at the next chunk boundary (as request_rotation)
  // and waits, at most `timeout`, for it to be finalized. Blocks: not for a latency-bound
  // thread.
  SplitResult split(std::chrono::milliseconds timeout);

  // Pauses or resumes recording of what `selector` names (everything when it names nothing),
  // from now on by log time (pause_table.hpp). Returns the instant, in ns since the epoch,
  // from which it applies. Messages not recorded are counted as `paused`, never as drops.
  mcap::Timestamp pause(const PauseSelector& selector);
  mcap::Timestamp resume(const PauseSelector& selector);
  PauseState pause_state() const;

  PipelineStats stats() const;

  // Event recording: marks an event now and returns its state (with its id), or an error when
  // events are not configured or the request is invalid. Any thread.
  base::Result<EventState> mark_event(EventRequest request);
  // One event by id (nullopt: unknown), and the recent ones, oldest first.
  std::optional<EventState> event(uint64_t id) const;
  std::vector<EventState> events() const;
  // The configured event options (disabled when events are not configured), e.g. for the
  // daemon's SIGUSR1 event name.
  const events::EventOptions& event_options() const;

 private:
  void fire_rule(events::RuleTrigger& rule, mcap::Timestamp log_time);
  struct Impl;
  explicit Pipeline(std::unique_ptr<Impl> impl);
  // True (and counted under its reason) when the message is not to be recorded: excluded,
  // paused or above the channel's rate, checked in that order.
  // `slot`, if given, receives the rate limit's slot a recorded message took.
  bool skip_unrecorded(ChannelHandle channel, mcap::Timestamp log_time, size_t payload_bytes,
                       RateLimiter::Slot* slot = nullptr);
  // push() or try_push() on a latched channel: the latch follows what the queue accepted.
  std::optional<PushResult> push_latched(ChannelHandle channel, const OutgoingMessage& message,
                                         bool may_wait);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mcaprec::pipeline
