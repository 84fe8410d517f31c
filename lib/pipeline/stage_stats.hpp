#pragma once
// What each pipeline stage counts, one struct per stage class, returned whole by its stats():
// Pipeline::stats() gathers them into PipelineStats without copying a field.
#include <chrono>
#include <cstdint>

namespace mcaprec::pipeline {

// OrderedWriter: what reached the files.
struct WriterStats {
  uint64_t chunks_written = 0;
  uint64_t messages_written = 0;         // into the continuous files
  uint64_t messages_kept = 0;            // of on-event channels, into the look-back ring only
  uint64_t bytes_written = 0;            // chunk bytes appended, all continuous files
  uint64_t write_errors = 0;             // chunks that could not be encoded or written
  std::chrono::nanoseconds cpu_time{0};  // the writer thread's; its share of the total is the
                                         // pipeline's serial fraction
  // The longest wall time the writer spent on one chunk (rotating before it, appending it,
  // copying it into the look-back ring): what a stall of the writer, by the disk or by waiting
  // for the event thread, would show as.
  std::chrono::nanoseconds longest_chunk{0};
};

// CompressorPool: chunk encoding.
struct CompressionStats {
  uint64_t chunks_stored_raw = 0;   // compression did not pay, or was skipped
  uint64_t chunks_skipped = 0;      // stored raw without trying (incompressible group)
  uint64_t uncompressed_bytes = 0;  // chunk records encoded so far
  uint64_t compressed_bytes = 0;    // ... and what they became
  unsigned threads = 0;
  std::chrono::nanoseconds cpu_time{0};  // all compressor threads
};

// BufferPool: memory holding messages, against the budget.
struct MemoryStats {
  uint64_t in_use = 0;
  uint64_t budget = 0;
};

// InFlightGate: sealed chunks not yet written.
struct InFlightStats {
  uint64_t bytes = 0;
  uint64_t chunks = 0;
  uint64_t chunk_limit = 0;  // seals wait while this many are in flight
  // Most chunks in flight at once so far (over the limit only after a rotation request or stop,
  // which seal everything pending).
  uint64_t peak_chunks = 0;
};

}  // namespace mcaprec::pipeline
