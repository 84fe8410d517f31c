#pragma once
// The one thread that appends to the output file. It owns:
// - order: chunk N is appended only after chunk N-1 (compressors finish out of order);
// - each file's declarations: a channel's Schema and Channel records are written before its
//   first chunk in every file, so that every file stands alone;
// - rotation, always at a chunk boundary: by max_bytes, max_duration, or on request;
// - the recorder's Metadata records: `mcaprec` when a file starts and `mcaprec.stats` when it
//   ends.
// Chunk indexes, statistics and the data-section CRC are kept by mcap::Writer as chunks are
// appended (the CRC combines the compressor's per-chunk CRCs). Everything heavy happens
// elsewhere: encoding on the compressor threads, and closing a finished file (summary,
// fdatasync, rename) on the finalizer thread. The thread measures its own CPU time so that its
// share of the total can be watched.
//
// Durability (DESIGN.md section 4): after each batch of chunks the file's bytes are handed to
// the OS and the storage::Syncer makes them durable at least every sync_interval on its own
// thread. A write, flush or sync that fails is never retried: the file is cut back to the last
// point where all its bytes reached the OS and closed there (still valid), the error is logged
// and counted, the chunk that failed is counted as dropped (write_error), and recording goes on
// in a new file. Before each chunk, disk room is reserved for it and for the file's summary
// (fallocate), so that running out of space shows up before the chunk is written and the
// summary always fits; and retention (storage::Retention) is asked to make room. When there is
// no room (retention refuses, the disk is full, no file can be opened), recording pauses: the
// file is finalized, one loud error is logged, recording_paused is set, and chunks are held
// (the in-flight gate stays closed, so the queues drop per their policy, counted); every
// second the writer tries again and resumes in a new file. A stop while paused drops the held
// chunks, counted as `no_space`.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mcap/error.hpp"
#include "mcap/writer.hpp"
#include "pipeline/buffer_pool.hpp"
#include "pipeline/channel_registry.hpp"
#include "pipeline/compressor_pool.hpp"
#include "pipeline/in_flight_gate.hpp"
#include "pipeline/recycling_pool.hpp"
#include "storage/file_naming.hpp"
#include "storage/finalizer.hpp"
#include "storage/output_file.hpp"
#include "storage/retention.hpp"
#include "storage/syncer.hpp"

namespace mcaprec::pipeline {

struct OutputConfig {
  std::string single_path;  // non-empty: exactly this one file, never rotated
  std::string directory;    // else files named by storage::FileNamer in this directory
  std::string prefix;
  uint64_t max_bytes = 0;                     // 0 = no size rotation
  std::chrono::nanoseconds max_duration{0};   // 0 = no time rotation
  mcap::WriterOptions writer_options;         // use_chunks is forced off
  bool recorder_metadata = true;              // write `mcaprec` and `mcaprec.stats`
  mcap::KeyValueMap extra_metadata;           // more keys for `mcaprec` (e.g. config digest)
  std::string session_start;                  // UTC stamp of the pipeline's start
  storage::SinkFactory open_sink;             // empty = files
  std::chrono::nanoseconds sync_interval{0};  // fdatasync at least this often; 0 = never
  // Retention (rotating output only); all 0 = none.
  uint64_t max_total_bytes = 0;
  uint64_t min_free_bytes = 0;
  storage::FreeSpaceProbe free_space;  // empty = statvfs
  // While paused, try to resume this often.
  std::chrono::nanoseconds pause_recheck = std::chrono::seconds(1);
};

struct WriterStats {
  uint64_t chunks_written = 0;
  uint64_t messages_written = 0;
  uint64_t bytes_written = 0;  // all files, as appended so far
  uint64_t files_started = 0;
  uint64_t write_errors = 0;
  uint64_t files_closed_on_error = 0;  // ended early by a failed write, flush or sync
  std::string current_file;            // the .active path, "" between files
  std::optional<mcap::Error> first_error;
  std::chrono::nanoseconds cpu_time{0};
  storage::SyncerStats sync;
  bool paused = false;  // no room to write: chunks are held
  std::string pause_reason;
  uint64_t retention_files_deleted = 0;
  uint64_t retention_bytes_deleted = 0;
};

class OrderedWriter final : public CompressedChunkSink {
 public:
  OrderedWriter(OutputConfig config, ChannelRegistry& registry, storage::Finalizer& finalizer,
                InFlightGate& gate, BufferPool& buffers, RecyclingPool<CompressedChunk>& chunks);
  ~OrderedWriter() override;
  OrderedWriter(const OrderedWriter&) = delete;
  OrderedWriter& operator=(const OrderedWriter&) = delete;

  // Opens the first file (so that a bad directory is reported at once), then starts the thread.
  mcap::Status start();
  // From compressor threads, in any order.
  void submit(CompressedChunk* chunk) override;
  // Rotates once every chunk numbered below `before_seq` is written, if the file has any.
  void request_rotation(uint64_t before_seq);
  // Metadata and attachments for the current file, written before the next chunks. From any
  // thread.
  void submit_metadata(mcap::Metadata metadata);
  void submit_attachment(const mcap::Attachment& attachment);
  // Writes every chunk numbered below `end_seq`, finalizes the file, and stops the thread.
  void finish(uint64_t end_seq);

  WriterStats stats() const;

 private:
  enum class StartReason { kStart, kSize, kDuration, kRequest, kError, kResume };
  static const char* reason_name(StartReason reason);

  // A Metadata or Attachment record waiting for the writer, with its own copy of the data.
  struct PassThrough {
    bool is_attachment = false;
    mcap::Metadata metadata;
    mcap::Attachment attachment;  // data points into `data`
    mcap::Bytes data;
  };

  void run();
  void write_pass_through(PassThrough& record);
  // False when recording paused and the chunk is held for later.
  bool write_chunk(CompressedChunk* chunk);
  void release(CompressedChunk* chunk);
  void count_lost(const CompressedChunk& chunk, const std::string& error);
  void drop_held(std::vector<CompressedChunk*>& held);
  mcap::Status declare_channels(const mcap::EncodedChunk& chunk);
  uint64_t declaration_bytes(const mcap::EncodedChunk& chunk) const;
  bool open_file();
  void rotate(StartReason next_reason);
  void close_file();
  void discard_file();  // a file with no chunk that is not worth keeping
  // Hands the OS what the file buffers, and marks that point as the one a failure returns to.
  void flush_file();
  void fail_file(const mcap::Error& error);
  void check_sync_failure();
  bool make_room(uint64_t incoming_bytes);
  void pause(const std::string& reason, std::chrono::steady_clock::time_point retry_at);
  void note_summary_growth(const mcap::EncodedChunk& chunk);
  bool duration_reached(std::chrono::steady_clock::time_point now) const;
  void note_error(const mcap::Error& error);
  mcap::Metadata recorder_metadata_for(uint64_t file_index) const;
  void refresh_stats_estimate();
  uint64_t summary_reserve() const { return summary_reserve_ + stats_metadata_bytes_; }
  mcap::Metadata stats_metadata();

  const OutputConfig config_;
  ChannelRegistry& registry_;
  storage::Finalizer& finalizer_;
  InFlightGate& gate_;
  BufferPool& buffers_;
  RecyclingPool<CompressedChunk>& chunk_pool_;
  storage::FileNamer namer_;
  const std::string hostname_;

  // Shared with submitters.
  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<CompressedChunk*> waiting_;    // min-heap by seq; guarded by mu_
  std::vector<uint64_t> rotation_requests_;  // guarded by mu_
  std::vector<PassThrough> pass_through_;    // guarded by mu_
  uint64_t next_seq_ = 0;                    // guarded by mu_: next chunk to take
  bool finishing_ = false;                   // guarded by mu_
  uint64_t end_seq_ = 0;                     // guarded by mu_

  // The writer thread's own (and start()'s, before the thread exists).
  std::unique_ptr<storage::OutputFile> file_;
  uint64_t file_index_ = 0;  // files opened so far
  uint64_t file_chunks_ = 0;
  std::chrono::steady_clock::time_point first_chunk_at_;
  StartReason next_reason_ = StartReason::kStart;
  std::vector<ChannelEntry*> entries_scratch_;
  // An estimate, from above, of what closing the file still writes (stats metadata, Data End,
  // summary, footer): the room kept reserved after the last chunk.
  uint64_t summary_reserve_ = 0;
  uint64_t checkpointed_bytes_ = 0;    // the file's length at its last checkpoint
  uint64_t stats_metadata_bytes_ = 0;  // `mcaprec.stats` for every channel known
  bool stats_estimate_stale_ = false;
  bool holding_ = false;  // paused: chunks wait until retry_at_
  std::chrono::steady_clock::time_point retry_at_;
  std::chrono::steady_clock::time_point paused_at_;
  std::optional<storage::Retention> retention_;

  // Read by stats().
  mutable std::mutex stats_mu_;
  std::string current_path_;                // guarded by stats_mu_
  std::optional<mcap::Error> first_error_;  // guarded by stats_mu_
  std::atomic<uint64_t> chunks_written_{0};
  std::atomic<uint64_t> messages_written_{0};
  std::atomic<uint64_t> bytes_written_{0};
  std::atomic<uint64_t> files_started_{0};
  std::atomic<uint64_t> write_errors_{0};
  std::atomic<uint64_t> files_closed_on_error_{0};
  std::atomic<int64_t> cpu_ns_{0};
  std::atomic<bool> paused_{false};
  std::string pause_reason_;  // guarded by stats_mu_
  std::atomic<uint64_t> retention_files_deleted_{0};
  std::atomic<uint64_t> retention_bytes_deleted_{0};

  bool sync_failed_ = false;  // guarded by mu_: the syncer reported a failure
  storage::Syncer syncer_;    // after mu_ and wake_, which its failure callback uses

  std::thread thread_;
};

}  // namespace mcaprec::pipeline
