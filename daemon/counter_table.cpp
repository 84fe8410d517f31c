#include "daemon/counter_table.hpp"

#include "daemon/rates.hpp"

namespace mcaprec::daemon {
namespace {

using ingest::SourceStats;
using pipeline::ChannelStats;

ByReason dropped_by_reason(const ChannelStats& channel) {
  ByReason counts;
  for (size_t r = 0; r < pipeline::kDropReasonCount; ++r) {
    counts.emplace_back(pipeline::drop_reason_name(pipeline::DropReason(r)), channel.dropped[r]);
  }
  return counts;
}

ByReason not_recorded_by_reason(const ChannelStats& channel) {
  ByReason counts;
  for (size_t r = 0; r < pipeline::kNotRecordedReasonCount; ++r) {
    counts.emplace_back(pipeline::not_recorded_reason_name(pipeline::NotRecordedReason(r)),
                        channel.not_recorded[r]);
  }
  return counts;
}

ByReason total_not_recorded(const DaemonSnapshot& snapshot) {
  ByReason counts;
  for (size_t r = 0; r < pipeline::kNotRecordedReasonCount; ++r) {
    uint64_t total = 0;
    for (const ChannelStats& channel : snapshot.pipeline.channels) total += channel.not_recorded[r];
    counts.emplace_back(pipeline::not_recorded_reason_name(pipeline::NotRecordedReason(r)), total);
  }
  return counts;
}

// A value only sources of `transport` have.
CounterValue on(const SourceStats& source, std::string_view transport, uint64_t value) {
  if (source.transport != transport) return std::monostate{};
  return value;
}

// A value of event recording; nothing when it is not configured.
template <class Read>
CounterValue from_events(const DaemonSnapshot& s, Read read) {
  if (!s.pipeline.events) return std::monostate{};
  return read(*s.pipeline.events);
}

// A value of fleet upload; nothing when it is not configured.
template <class Read>
CounterValue from_upload(const DaemonSnapshot& s, Read read) {
  if (!s.upload) return std::monostate{};
  return read(*s.upload);
}

ByReason upload_failures(const upload::UploadStats& stats) {
  ByReason counts;
  for (size_t r = 0; r < upload::kFailureReasonCount; ++r) {
    counts.emplace_back(upload::failure_reason_name(upload::FailureReason(r)), stats.failures[r]);
  }
  return counts;
}

const SnapshotCounter kDaemon[] = {
    {"mcaprec_uptime_seconds", "gauge", "Seconds since the daemon started.", "uptime_seconds",
     [](const DaemonSnapshot& s) -> CounterValue { return s.uptime_seconds; }},
    {"mcaprec_writer_stalled", "gauge",
     "1 while the writer makes no progress with work pending (watchdog pings withheld).",
     "writer_stalled", [](const DaemonSnapshot& s) -> CounterValue { return s.writer_stalled; }},
    // The names and meanings every Prometheus client library's process collector uses, so
    // that existing dashboards and alerts apply.
    {"process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
     "process.cpu_seconds",
     [](const DaemonSnapshot& s) -> CounterValue { return s.process.cpu_seconds; }},
    {"process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
     "process.resident_memory_bytes",
     [](const DaemonSnapshot& s) -> CounterValue { return s.process.resident_bytes; }},
    {"process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
     "process.virtual_memory_bytes",
     [](const DaemonSnapshot& s) -> CounterValue { return s.process.virtual_bytes; }},
    {"process_open_fds", "gauge", "Number of open file descriptors.", "process.open_fds",
     [](const DaemonSnapshot& s) -> CounterValue { return s.process.open_fds; }},
    {"process_max_fds", "gauge", "Maximum number of open file descriptors.", "process.max_fds",
     [](const DaemonSnapshot& s) -> CounterValue { return s.process.max_fds; }},
    {"process_start_time_seconds", "gauge",
     "Start time of the process since unix epoch in seconds.", "process.start_time_seconds",
     [](const DaemonSnapshot& s) -> CounterValue { return s.process.start_time_seconds; }},
};

const ChannelCounter kChannel[] = {
    {"mcaprec_channel_messages_received_total", "counter",
     "Messages received for the channel, whether written or dropped.", "received",
     [](const ChannelStats& c) -> CounterValue { return c.received; }},
    {"mcaprec_channel_bytes_received_total", "counter",
     "Payload bytes of the messages received for the channel.", "received_bytes",
     [](const ChannelStats& c) -> CounterValue { return c.received_bytes; }},
    {"mcaprec_channel_messages_written_total", "counter",
     "Messages of the channel recorded: written into a continuous file or, for an on_event "
     "channel, kept in the look-back ring.",
     "written", [](const ChannelStats& c) -> CounterValue { return c.written; }},
    {"mcaprec_channel_messages_dropped_total", "counter",
     "Messages of the channel that did not reach a file, by reason.", "dropped",
     [](const ChannelStats& c) -> CounterValue { return dropped_by_reason(c); }},
    {"mcaprec_channel_messages_not_recorded_total", "counter",
     "Messages of the channel deliberately not recorded (paused, rate_limited, excluded), by "
     "reason; not drops.",
     "not_recorded",
     [](const ChannelStats& c) -> CounterValue { return not_recorded_by_reason(c); }},
    {"mcaprec_channel_messages_relatched_total", "counter",
     "Latched messages of the channel written again at the start of a later file (not in "
     "written).",
     "relatched", [](const ChannelStats& c) -> CounterValue { return c.relatched; }},
    {"mcaprec_channel_compression_in_bytes_total", "counter",
     "Record bytes of the channel encoded into chunks, before compression.", "compression.bytes_in",
     [](const ChannelStats& c) -> CounterValue { return c.compression.bytes_in; }},
    {"mcaprec_channel_compression_out_bytes_total", "counter",
     "What the channel's records became in the chunks: its share of compressed chunks (the "
     "codec is flushed at the end of each channel's records), or the same bytes in raw chunks.",
     "compression.bytes_out",
     [](const ChannelStats& c) -> CounterValue { return c.compression.bytes_out; }},
    {"mcaprec_channel_compression_attempts_total", "counter",
     "Chunks holding the channel's records that were run through the codec.",
     "compression.attempts",
     [](const ChannelStats& c) -> CounterValue { return c.compression.attempts; }},
    {"mcaprec_channel_compression_skipped_total", "counter",
     "Chunks holding the channel's records stored raw without a compression attempt (the "
     "channel, or its configured group, proved incompressible).",
     "compression.skipped",
     [](const ChannelStats& c) -> CounterValue { return c.compression.skipped; }},
    {"mcaprec_channel_compression_stored_raw", "gauge",
     "1 while the channel's records go into raw chunks without attempts (it proved "
     "incompressible; probed again now and then).",
     "compression.stored_raw",
     [](const ChannelStats& c) -> CounterValue { return c.compression.stored_raw; }},
    {"mcaprec_channel_queue_bytes", "gauge",
     "Record bytes of the channel queued and not yet sealed into a chunk.", "queued_bytes",
     [](const ChannelStats& c) -> CounterValue { return c.queued_bytes; }},
};

// The recording's written, compression and file counts.
const SnapshotCounter kRecording[] = {
    {"mcaprec_messages_written_total", "counter", "Messages written into continuous files.",
     "totals.messages_written",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.writer.messages_written; }},
    {"mcaprec_messages_kept_total", "counter",
     "Messages of on_event channels kept in the look-back ring (in no continuous file).",
     "totals.messages_kept",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.writer.messages_kept; }},
    {"mcaprec_bytes_written_total", "counter",
     "Chunk bytes appended to continuous files, after compression.", "totals.bytes_written",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.writer.bytes_written; }},
    {"mcaprec_chunks_written_total", "counter", "Chunks appended to continuous files.",
     "totals.chunks_written",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.writer.chunks_written; }},
    {"mcaprec_chunk_uncompressed_bytes_total", "counter", "Bytes of the chunks before compression.",
     "totals.uncompressed_bytes",
     [](const DaemonSnapshot& s) -> CounterValue {
       return s.pipeline.compression.uncompressed_bytes;
     }},
    {"mcaprec_chunk_compressed_bytes_total", "counter",
     "Bytes of the same chunks after compression.", "totals.compressed_bytes",
     [](const DaemonSnapshot& s) -> CounterValue {
       return s.pipeline.compression.compressed_bytes;
     }},
    {"mcaprec_chunks_stored_uncompressed_total", "counter",
     "Chunks stored uncompressed because compression did not make them smaller.", "",
     [](const DaemonSnapshot& s) -> CounterValue {
       return s.pipeline.compression.chunks_stored_raw;
     }},
    {"mcaprec_files_started_total", "counter", "Recording files opened.", "files.started",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.file.files_started; }},
    {"mcaprec_files_finalized_total", "counter",
     "Recording files completed (summary and footer written, synced, renamed).", "files.finalized",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.finalizer.files_finalized; }},
    {"mcaprec_write_errors_total", "counter", "Chunks that could not be encoded or written.",
     "totals.write_errors",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.writer.write_errors; }},
    {"mcaprec_files_closed_on_error_total", "counter",
     "Files ended early, still valid, because a write or a sync failed.", "files.closed_on_error",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.file.files_closed_on_error; }},
    {"mcaprec_syncs_total", "counter",
     "Periodic fdatasync calls of the file being written (output.sync_interval).", "sync.count",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.file.sync.syncs; }},
    {"mcaprec_sync_errors_total", "counter",
     "Periodic fdatasync calls that failed (the file was then ended).", "sync.errors",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.file.sync.sync_errors; }},
    {"mcaprec_sync_seconds_total", "counter", "Time spent in periodic fdatasync calls.",
     "sync.seconds",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.file.sync.sync_time; }},
    {"mcaprec_sync_max_seconds", "gauge", "The longest periodic fdatasync call so far.",
     "sync.max_seconds",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.file.sync.max_sync_time; }},
    {"mcaprec_recording_paused", "gauge",
     "1 while recording is paused for lack of room (retention limits or a full disk).",
     "recording_paused",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.file.paused; }},
    // Pauses by request: the /status side is the "paused_by_request" object (names and times).
    {"mcaprec_paused_everything", "gauge",
     "1 while everything is paused by request (mcaprec ctl pause, recording.start: paused).", "",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.pause.everything; }},
    {"mcaprec_paused_topics", "gauge", "Topics paused by request.", "",
     [](const DaemonSnapshot& s) -> CounterValue {
       return uint64_t{s.pipeline.pause.topics.size()};
     }},
    {"mcaprec_paused_sources", "gauge", "Sources paused by request.", "",
     [](const DaemonSnapshot& s) -> CounterValue {
       return uint64_t{s.pipeline.pause.sources.size()};
     }},
    {"mcaprec_retention_files_deleted_total", "counter",
     "Finished recordings deleted to keep output.max_total_bytes and min_free_bytes.",
     "retention.files_deleted",
     [](const DaemonSnapshot& s) -> CounterValue {
       return s.pipeline.file.retention_files_deleted;
     }},
    {"mcaprec_retention_bytes_deleted_total", "counter",
     "Bytes of the finished recordings deleted by retention.", "retention.bytes_deleted",
     [](const DaemonSnapshot& s) -> CounterValue {
       return s.pipeline.file.retention_bytes_deleted;
     }},
    {"mcaprec_files_lost_before_upload_total", "counter",
     "Finished recordings deleted by the output.min_free_bytes emergency before they were "
     "uploaded (output.max_total_bytes never deletes those).",
     "retention.files_lost_before_upload",
     [](const DaemonSnapshot& s) -> CounterValue {
       return s.pipeline.file.files_lost_before_upload;
     }},
    {"mcaprec_on_finalize_ok_total", "counter", "on_finalize commands that exited with status 0.",
     "on_finalize.ok",
     [](const DaemonSnapshot& s) -> CounterValue {
       if (!s.on_finalize) return std::monostate{};
       return s.on_finalize->ok;
     }},
    {"mcaprec_on_finalize_failed_total", "counter",
     "on_finalize commands that exited with another status, died by a signal or could not start.",
     "on_finalize.failed",
     [](const DaemonSnapshot& s) -> CounterValue {
       if (!s.on_finalize) return std::monostate{};
       return s.on_finalize->failed;
     }},
    {"mcaprec_on_finalize_timed_out_total", "counter",
     "on_finalize commands killed at on_finalize_timeout.", "on_finalize.timed_out",
     [](const DaemonSnapshot& s) -> CounterValue {
       if (!s.on_finalize) return std::monostate{};
       return s.on_finalize->timed_out;
     }},
    {"mcaprec_on_finalize_pending", "gauge",
     "Finished files whose on_finalize command has not finished yet.", "on_finalize.pending",
     [](const DaemonSnapshot& s) -> CounterValue {
       if (!s.on_finalize) return std::monostate{};
       return s.on_finalize->pending;
     }},
    {"mcaprec_output_free_bytes", "gauge",
     "Bytes still free for the daemon on the file system of output.directory.", "output_free_bytes",
     [](const DaemonSnapshot& s) -> CounterValue {
       if (!s.output_free_bytes) return std::monostate{};
       return *s.output_free_bytes;
     }},
    {"mcaprec_memory_in_use_bytes", "gauge",
     "Memory holding messages: queues, open chunks and chunks in flight.", "memory.in_use_bytes",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.memory.in_use; }},
    {"mcaprec_memory_budget_bytes", "gauge", "The configured pipeline.memory_budget.",
     "memory.budget_bytes",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.memory.budget; }},
    {"mcaprec_in_flight_bytes", "gauge", "Sealed chunk bytes not yet written to a file.",
     "memory.in_flight_bytes",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.in_flight.bytes; }},
    {"mcaprec_in_flight_chunks", "gauge", "Sealed chunks not yet written to a file.",
     "memory.in_flight_chunks",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.in_flight.chunks; }},
    {"mcaprec_in_flight_chunks_limit", "gauge",
     "Sealed chunks in flight at which groups stop sealing (messages wait in their queues).",
     "memory.in_flight_chunks_limit",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.in_flight.chunk_limit; }},
    {"mcaprec_in_flight_chunks_peak", "gauge",
     "Most sealed chunks in flight at once since start (over the limit only after a rotation "
     "request).",
     "memory.in_flight_chunks_peak",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.in_flight.peak_chunks; }},
    {"mcaprec_compressor_threads", "gauge", "Threads compressing chunks.", "compressor_threads",
     [](const DaemonSnapshot& s) -> CounterValue {
       return uint64_t{s.pipeline.compression.threads};
     }},
    {"mcaprec_compressor_busy_seconds_total", "counter",
     "CPU time spent by the compressor threads.", "cpu_seconds.compressors",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.compression.cpu_time; }},
    {"mcaprec_writer_busy_seconds_total", "counter", "CPU time spent by the ordered writer thread.",
     "cpu_seconds.writer",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.writer.cpu_time; }},
    {"mcaprec_writer_longest_chunk_seconds", "gauge",
     "The longest wall time the ordered writer thread spent on one chunk so far (rotating, "
     "appending, copying it into the look-back ring).",
     "", [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.writer.longest_chunk; }},
    {"mcaprec_finalizer_busy_seconds_total", "counter", "CPU time spent finalizing files.",
     "cpu_seconds.finalizer",
     [](const DaemonSnapshot& s) -> CounterValue { return s.pipeline.finalizer.cpu_time; }},
    // Event recording (present only with an `events:` section).
    {"mcaprec_event_ring_memory_bytes", "gauge",
     "Compressed chunk bytes the look-back ring holds in memory.", "events.ring_memory_bytes",
     [](const DaemonSnapshot& s) {
       return from_events(s, [](const auto& e) -> CounterValue { return e.ring.memory_bytes; });
     }},
    {"mcaprec_event_ring_spool_bytes", "gauge",
     "Compressed chunk bytes the look-back ring holds in its spool file.",
     "events.ring_spool_bytes",
     [](const DaemonSnapshot& s) {
       return from_events(s, [](const auto& e) -> CounterValue { return e.ring.spool_bytes; });
     }},
    {"mcaprec_event_ring_chunks", "gauge", "Chunks the look-back ring holds.", "events.ring_chunks",
     [](const DaemonSnapshot& s) {
       return from_events(s, [](const auto& e) -> CounterValue { return e.ring.chunks_held; });
     }},
    {"mcaprec_event_ring_chunks_evicted_total", "counter",
     "Chunks that left the look-back ring at the end of events.look_back.",
     "events.ring_chunks_evicted",
     [](const DaemonSnapshot& s) {
       return from_events(s, [](const auto& e) -> CounterValue { return e.ring.chunks_evicted; });
     }},
    {"mcaprec_event_ring_chunks_not_held_total", "counter",
     "Chunks the look-back ring let go before events.look_back was over (memory and spool "
     "bounds).",
     "events.ring_chunks_not_held",
     [](const DaemonSnapshot& s) {
       return from_events(s, [](const auto& e) -> CounterValue { return e.ring.chunks_not_held; });
     }},
    {"mcaprec_events_marked_total", "counter",
     "Events marked (control endpoint, SIGUSR1, topic rules).", "events.marked",
     [](const DaemonSnapshot& s) {
       return from_events(s, [](const auto& e) -> CounterValue { return e.events_marked; });
     }},
    {"mcaprec_event_files_written_total", "counter", "Event files finalized.",
     "events.files_written",
     [](const DaemonSnapshot& s) {
       return from_events(s, [](const auto& e) -> CounterValue { return e.files_finalized; });
     }},
    {"mcaprec_event_bytes_written_total", "counter", "Chunk bytes appended to event files.",
     "events.bytes_written",
     [](const DaemonSnapshot& s) {
       return from_events(s, [](const auto& e) -> CounterValue { return e.bytes_written; });
     }},
    {"mcaprec_event_chunks_missed_total", "counter",
     "Chunks overlapping an event window that its file lacks (not held by the ring, or not "
     "written).",
     "events.chunks_missed",
     [](const DaemonSnapshot& s) {
       return from_events(s, [](const auto& e) -> CounterValue { return e.chunks_missed; });
     }},
    {"mcaprec_event_files_deleted_total", "counter",
     "Event files deleted to keep events.max_total_bytes.", "events.files_deleted",
     [](const DaemonSnapshot& s) {
       return from_events(s, [](const auto& e) -> CounterValue { return e.files_deleted; });
     }},
    {"mcaprec_event_busy_seconds_total", "counter",
     "CPU time spent by the event thread (spool, event files).", "cpu_seconds.events",
     [](const DaemonSnapshot& s) {
       return from_events(s, [](const auto& e) -> CounterValue { return e.cpu_time; });
     }},
    // Fleet upload (present only with an `upload:` section).
    {"mcaprec_upload_files_pending", "gauge",
     "Finished files waiting for their upload to be confirmed.", "upload.files_pending",
     [](const DaemonSnapshot& s) {
       return from_upload(s, [](const auto& u) -> CounterValue { return u.files_pending; });
     }},
    {"mcaprec_upload_bytes_pending", "gauge", "Bytes of the files waiting for their upload.",
     "upload.bytes_pending",
     [](const DaemonSnapshot& s) {
       return from_upload(s, [](const auto& u) -> CounterValue { return u.bytes_pending; });
     }},
    {"mcaprec_upload_oldest_pending_age_seconds", "gauge",
     "Seconds since the oldest file waiting for its upload was enqueued (0 when none waits).",
     "upload.oldest_pending_age_seconds",
     [](const DaemonSnapshot& s) {
       return from_upload(
           s, [](const auto& u) -> CounterValue { return u.oldest_pending_age_seconds; });
     }},
    {"mcaprec_upload_files_uploaded_total", "counter",
     "Files whose upload the object store confirmed (or that it already held).",
     "upload.files_uploaded",
     [](const DaemonSnapshot& s) {
       return from_upload(s, [](const auto& u) -> CounterValue { return u.files_uploaded; });
     }},
    {"mcaprec_upload_bytes_uploaded_total", "counter", "Bytes of the files confirmed uploaded.",
     "upload.bytes_uploaded",
     [](const DaemonSnapshot& s) {
       return from_upload(s, [](const auto& u) -> CounterValue { return u.bytes_uploaded; });
     }},
    {"mcaprec_upload_bytes_sent_total", "counter",
     "Body bytes sent to the object store, attempts that failed included.", "upload.bytes_sent",
     [](const DaemonSnapshot& s) {
       return from_upload(s, [](const auto& u) -> CounterValue { return u.bytes_sent; });
     }},
    {"mcaprec_upload_bytes_per_second", "gauge", "Upload rate over the last 10 seconds.",
     "upload.bytes_per_second",
     [](const DaemonSnapshot& s) {
       return from_upload(s, [](const auto& u) -> CounterValue { return u.bytes_per_second; });
     }},
    {"mcaprec_upload_failures_total", "counter",
     "Upload attempts that failed, by reason (network, server, access, no_bucket, local_file, "
     "other); the file is tried again later.",
     "upload.failures",
     [](const DaemonSnapshot& s) {
       return from_upload(s, [](const auto& u) -> CounterValue { return upload_failures(u); });
     }},
    {"mcaprec_upload_files_deleted_total", "counter",
     "Files deleted once their upload was confirmed (upload.delete_after_upload).",
     "upload.files_deleted",
     [](const DaemonSnapshot& s) {
       return from_upload(s, [](const auto& u) -> CounterValue { return u.files_deleted; });
     }},
    {"mcaprec_upload_files_missing_total", "counter",
     "Files removed by someone else before they were uploaded (not those retention deleted).",
     "upload.files_missing",
     [](const DaemonSnapshot& s) {
       return from_upload(s, [](const auto& u) -> CounterValue { return u.files_missing; });
     }},
    // /status only: sums over the channels and rates over a window; Prometheus derives both
    // from the per-channel counters itself.
    {"", "", "", "totals.messages_received",
     [](const DaemonSnapshot& s) -> CounterValue {
       return Totals::from(s.pipeline).messages_received;
     }},
    {"", "", "", "totals.messages_not_recorded",
     [](const DaemonSnapshot& s) -> CounterValue { return total_not_recorded(s); }},
    {"", "", "", "totals.bytes_received",
     [](const DaemonSnapshot& s) -> CounterValue {
       return Totals::from(s.pipeline).bytes_received;
     }},
    {"", "", "", "totals.messages_dropped",
     [](const DaemonSnapshot& s) -> CounterValue {
       return Totals::from(s.pipeline).messages_dropped;
     }},
    {"", "", "", "rates.messages_received_per_second",
     [](const DaemonSnapshot& s) -> CounterValue { return s.rates.messages_received; }},
    {"", "", "", "rates.bytes_received_per_second",
     [](const DaemonSnapshot& s) -> CounterValue { return s.rates.bytes_received; }},
    {"", "", "", "rates.messages_written_per_second",
     [](const DaemonSnapshot& s) -> CounterValue { return s.rates.messages_written; }},
    {"", "", "", "rates.bytes_written_per_second",
     [](const DaemonSnapshot& s) -> CounterValue { return s.rates.bytes_written; }},
    {"", "", "", "rates.messages_dropped_per_second",
     [](const DaemonSnapshot& s) -> CounterValue { return s.rates.messages_dropped; }},
};

const SourceCounter kSource[] = {
    {"mcaprec_source_messages_total", "counter", "Messages the source handed to the pipeline.",
     "messages", [](const SourceStats& s) -> CounterValue { return s.messages; }},
    {"mcaprec_source_bytes_total", "counter", "Payload bytes the source handed to the pipeline.",
     "bytes", [](const SourceStats& s) -> CounterValue { return s.bytes; }},
    {"mcaprec_source_datagrams_total", "counter", "Datagrams a UDP source received.", "datagrams",
     [](const SourceStats& s) { return on(s, "udp", s.datagrams); }},
    {"mcaprec_source_kernel_drops_total", "counter",
     "Datagrams the kernel dropped because a UDP source's receive buffer was full (with "
     "coalesce, a dropped buffer of several datagrams counts once: see "
     "mcaprec_source_kernel_dropped_datagrams_total).",
     "kernel_drops", [](const SourceStats& s) { return on(s, "udp", s.kernel_drops); }},
    {"mcaprec_source_kernel_dropped_datagrams_total", "counter",
     "Datagrams in what the kernel dropped for a UDP source: kernel_drops without coalesce; "
     "with it, each dropped buffer counted as the datagrams of the buffer read after it (an "
     "estimate).",
     "kernel_dropped_datagrams",
     [](const SourceStats& s) { return on(s, "udp", s.kernel_dropped_datagrams); }},
    {"mcaprec_source_connections_accepted_total", "counter", "Connections a TCP source accepted.",
     "connections_accepted",
     [](const SourceStats& s) { return on(s, "tcp", s.connections_accepted); }},
    {"mcaprec_source_connections_open", "gauge", "Connections open on a TCP source.",
     "connections_open", [](const SourceStats& s) { return on(s, "tcp", s.connections_open); }},
    {"mcaprec_source_connections_refused_total", "counter",
     "Connections a TCP source refused (over max_connections or not allowed).",
     "connections_refused",
     [](const SourceStats& s) { return on(s, "tcp", s.connections_refused); }},
    {"mcaprec_source_direct_bytes_total", "counter",
     "Payload bytes a TCP source read from the socket straight into queue segments, with no "
     "copy in user space (large messages; part of mcaprec_source_bytes_total).",
     "direct_bytes", [](const SourceStats& s) { return on(s, "tcp", s.direct_bytes); }},
    {"mcaprec_source_errors_total", "counter",
     "Bad input a source received and dropped, by reason.", "errors",
     [](const SourceStats& s) -> CounterValue {
       return ByReason(s.errors.begin(), s.errors.end());
     }},
};

}  // namespace

std::span<const SnapshotCounter> daemon_counters() {
  return kDaemon;
}
std::span<const ChannelCounter> channel_counters() {
  return kChannel;
}
std::span<const SnapshotCounter> recording_counters() {
  return kRecording;
}
std::span<const SourceCounter> source_counters() {
  return kSource;
}

}  // namespace mcaprec::daemon
