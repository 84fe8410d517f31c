#pragma once
// Crash recovery in place (docs/ARCHITECTURE.md §5.4). A recording cut off by a crash or a power
// cut is an MCAP file without its end: recovery scans it from the start (mcap::scan), keeps the
// longest prefix of complete, valid records (every chunk's CRC and Message Index records checked),
// cuts the torn tail with ftruncate, completes the last chunk's Message Index run when it was cut
// short, and appends a `mcaprec.recovery` Metadata record, Data End, the summary, the summary
// offsets, the Footer and the magic. The bytes it keeps are never rewritten: the file is mapped
// read-only for the scan and written only past the cut. Then fdatasync, the rename that drops
// `.active` (never over an existing file), and an fsync of the directory.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "mcap/compression.hpp"
#include "mcap/records.hpp"
#include "storage/file_system.hpp"

namespace mcaprec::storage {

struct RecoverOptions {
  bool dry_run = false;       // scan and report only; the file is opened read-only
  bool rename_active = true;  // "x.mcap.active" becomes "x.mcap" once complete
  bool sync = true;           // fdatasync the file and fsync its directory
  uint64_t max_chunk_bytes = mcap::kDefaultMaxChunkBytes;  // larger chunks count as damaged
  // Threads that decompress and check chunks ahead of the scan; 0: one per CPU, at most 4.
  unsigned threads = 0;
  // Where the opens, writes, truncations, syncs and renames go; null = POSIX.
  std::shared_ptr<FileSystem> file_system;
};

struct RecoveryReport {
  std::string path;        // the file as found
  std::string final_path;  // where the complete file is (or would be, in a dry run)
  bool dry_run = false;
  bool already_complete = false;  // nothing to cut or append; the content was left alone
  bool renamed = false;           // `.active` was dropped (would be, in a dry run)

  uint64_t original_size = 0;
  uint64_t kept_bytes = 0;  // [0, kept_bytes) kept byte for byte
  uint64_t cut_bytes = 0;   // original_size - kept_bytes, removed
  std::string cut_reason;   // why the valid prefix ends at kept_bytes, with the offset
  uint64_t appended_bytes = 0;
  uint64_t final_size = 0;

  // What the file holds after recovery.
  uint64_t chunks = 0;
  uint64_t messages = 0;
  mcap::Timestamp message_start_time = 0;  // meaningful when messages > 0
  mcap::Timestamp message_end_time = 0;
  uint64_t schemas = 0;
  uint64_t channels = 0;
  uint64_t attachments = 0;
  uint64_t metadata = 0;                 // including the recovery's own record
  uint64_t rebuilt_message_indexes = 0;  // Message Index records appended for the last chunk
};

// One line for logs: "rec_….mcap: kept 12 chunks, 3400 messages, 1.2 MiB; cut 5321 bytes at
// offset 1258291 (truncated or garbage record ...)".
std::string describe(const RecoveryReport& report);

// Recovers one file: an unfinished `….mcap.active` (renamed to `….mcap`) or a torn `….mcap`
// (completed in place). A complete file is left as it is (an `.active` one is still renamed).
// Fails, leaving the file untouched, when it holds no valid MCAP header, on I/O errors, and
// when the final name is taken (the file is then complete but keeps its `.active` name).
base::Result<RecoveryReport> recover_file(const std::string& path,
                                          const RecoverOptions& options = {});

struct FailedRecovery {
  std::string path;
  base::Error error;
};

struct DirectoryRecovery {
  std::vector<RecoveryReport> recovered;  // including files that were already complete
  std::vector<FailedRecovery> failed;     // left where they are
  std::vector<std::string> removed;       // held nothing (see recover_directory)
};

// Recovers every `*.mcap.active` file in `directory`, in name order. A missing directory holds
// nothing to recover; a failure on one file does not stop the others. An `.active` file without a
// valid Header that is empty, starts with zeros where the MCAP magic belongs, or with the magic
// (or part of it) is deleted: a power cut took its start before it was made durable, so it holds
// no record to recover.
base::Result<DirectoryRecovery> recover_directory(const std::string& directory,
                                                  const RecoverOptions& options = {});

}  // namespace mcaprec::storage
