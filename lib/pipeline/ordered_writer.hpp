#pragma once
// The one thread that appends to the output file, in order. It owns:
// - order: chunk N is appended only after chunk N-1 (compressors finish out of order), kept in a
//   min-heap by sequence number;
// - rotation boundaries, always at a chunk boundary: by max_bytes, max_duration, or after the
//   chunks sealed before a request;
// - the pass-through queue of Metadata and Attachment records, written between chunks;
// - what became of each chunk's messages, published into the pipeline's WrittenCounts table
//   (never into the queues they came from: counts flow one way).
// How a chunk gets into a file (opening, declarations, disk room, retention and pause,
// durability and failures, the hand-off to the finalizer) is storage::RecordingFile's job. The
// chunk indexes, statistics and data-section CRC are kept by mcap::Writer as chunks are
// appended. Everything heavy happens elsewhere: encoding on the compressor threads, closing a
// finished file on the finalizer thread. The thread measures its own CPU time so that its share
// of the total can be watched.
//
// While recording is paused for lack of room, chunks are held here (the in-flight gate stays
// closed, so the queues drop per their policy, counted) and offered again when the pause's
// retry is due; a stop while paused drops the held chunks, counted as `no_space`.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/result.hpp"
#include "events/event_recorder.hpp"
#include "mcap/records.hpp"
#include "pipeline/buffer_pool.hpp"
#include "pipeline/channel_counters.hpp"
#include "pipeline/compressor_pool.hpp"
#include "pipeline/in_flight_gate.hpp"
#include "pipeline/latch_table.hpp"
#include "pipeline/recycling_pool.hpp"
#include "pipeline/stage_stats.hpp"
#include "storage/finalizer.hpp"
#include "storage/recording_file.hpp"
#include "storage/syncer.hpp"

namespace mcaprec::pipeline {

struct OutputConfig {
  storage::RecordingFileOptions file;        // where and how files are written
  uint64_t max_bytes = 0;                    // 0 = no size rotation
  std::chrono::nanoseconds max_duration{0};  // 0 = no time rotation
};

class OrderedWriter final : public CompressedChunkSink {
 public:
  // `source` answers the recording file's questions about channels; `written` receives what
  // became of each chunk's messages.
  OrderedWriter(OutputConfig config, const storage::RecordingSource& source, WrittenCounts& written,
                storage::Finalizer& finalizer, InFlightGate& gate, BufferPool& buffers,
                RecyclingPool<CompressedChunk>& chunks);
  ~OrderedWriter() override;
  OrderedWriter(const OrderedWriter&) = delete;
  OrderedWriter& operator=(const OrderedWriter&) = delete;

  // Every chunk handled from then on is also kept in the recorder's look-back ring; chunks of
  // on-event groups go only there. Before start().
  void keep_chunks_in(events::EventRecorder* events) { events_ = events; }
  // Tells the latch table what became of each chunk's messages (written or not), so that it
  // latches only what a file holds. Before start().
  void follow_latches(LatchTable* latches) { latches_ = latches; }
  // Opens the first file (so that a bad directory is reported at once), then starts the thread.
  base::Status start();
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
  // The file's lifetime (files, sync, retention, pause) is the recording file's to count.
  storage::RecordingFileStats file_stats() const { return file_.stats(); }

 private:
  // A Metadata or Attachment record waiting for the writer, with its own copy of the data.
  struct PassThrough {
    bool is_attachment = false;
    mcap::Metadata metadata;
    mcap::Attachment attachment;  // data points into `data`
    mcap::Bytes data;
  };

  // What the thread took from the submitters in one pass, and what it decided from it.
  struct Batch {
    bool finishing = false;
    bool done = false;  // finishing, and every chunk up to end_seq_ taken
    bool sync_failed = false;
    bool rotation_ready = false;
    bool retry_due = false;
    bool can_write = false;
    uint64_t taken_up_to = 0;  // chunks below this number are taken (held or written)
    bool idle() const {
      return !can_write && !done && !rotation_ready && !sync_failed && !retry_due;
    }
  };

  // State of the writer thread's loop (run()'s locals, named for its steps).
  struct Loop {
    // Taken in order, not yet written. A vector whose written prefix is erased keeps its room,
    // so steady state allocates nothing (a deque would allocate a block every few chunks). It
    // and waiting_ have room for every chunk the in-flight gate lets be in flight.
    std::vector<CompressedChunk*> held;
    std::vector<PassThrough> pass_through;
    std::deque<uint64_t> rotations;  // boundaries: rotate before the chunk with this number
  };

  void run();
  Batch take_locked(Loop& loop);
  void wait_locked(std::unique_lock<std::mutex>& lock, const Loop& loop);
  void write_batch(Loop& loop, const Batch& batch);
  void write_held(Loop& loop);
  void rotate_before(Loop& loop, uint64_t seq);
  void write_pass_through(Loop& loop);
  void drop_pass_through(std::vector<PassThrough>& records);
  // Attachment bytes kept while recording is paused for lack of room.
  static constexpr uint64_t kMaxPausedPassThroughBytes = uint64_t{64} << 20;
  // False when recording paused and the chunk is held for later.
  bool write_chunk(CompressedChunk* chunk);
  void rotate_if_due(const CompressedChunk& chunk);
  void count_written(const mcap::EncodedChunk& encoded);
  void count_kept(const mcap::EncodedChunk& encoded);
  void release(CompressedChunk* chunk);
  void count_lost(const CompressedChunk& chunk);
  void count_drops(const CompressedChunk& chunk, DropReason reason);
  void drop_held(std::vector<CompressedChunk*>& held);
  bool duration_reached(std::chrono::steady_clock::time_point now) const;
  void note_chunk_time(std::chrono::steady_clock::duration took);
  std::optional<std::chrono::steady_clock::time_point> wake_deadline(const Loop& loop) const;
  void note_cpu_time();

  const OutputConfig config_;
  WrittenCounts& written_;
  InFlightGate& gate_;
  BufferPool& buffers_;
  RecyclingPool<CompressedChunk>& chunk_pool_;
  events::EventRecorder* events_ = nullptr;
  LatchTable* latches_ = nullptr;

  // Shared with submitters.
  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<CompressedChunk*> waiting_;    // min-heap by seq; guarded by mu_
  std::vector<uint64_t> rotation_requests_;  // guarded by mu_
  std::vector<PassThrough> pass_through_;    // guarded by mu_
  uint64_t next_seq_ = 0;                    // guarded by mu_: next chunk to take
  bool finishing_ = false;                   // guarded by mu_
  uint64_t end_seq_ = 0;                     // guarded by mu_
  bool sync_failed_ = false;                 // guarded by mu_: the syncer reported a failure

  // Read by stats().
  std::atomic<uint64_t> chunks_written_{0};
  std::atomic<uint64_t> messages_written_{0};
  std::atomic<uint64_t> messages_kept_{0};
  std::atomic<uint64_t> bytes_written_{0};
  std::atomic<uint64_t> write_errors_{0};
  std::atomic<int64_t> cpu_ns_{0};
  std::atomic<int64_t> longest_chunk_ns_{0};  // written by the writer thread only

  // The writer thread's own (and start()'s, before the thread exists). After mu_ and wake_,
  // which its sync failure callback uses.
  storage::RecordingFile file_;

  std::thread thread_;
};

}  // namespace mcaprec::pipeline
