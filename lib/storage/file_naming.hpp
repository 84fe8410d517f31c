#pragma once
// Names of recording files: `<prefix>_<UTC start>_<index>.mcap`, e.g.
// `rec_2026-11-21T10-15-00Z_3.mcap`, written as `….mcap.active` until finalized. The stamp uses
// '-' instead of ':' so that the names are valid on every filesystem and sort by time.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace mcaprec::storage {

inline constexpr std::string_view kActiveSuffix = ".active";

// "2026-11-21T10-15-00Z" (seconds resolution, UTC).
std::string utc_stamp(std::chrono::system_clock::time_point time);

// "<prefix>_<utc_stamp(start)>_<index>.mcap"
std::string recording_file_name(std::string_view prefix,
                                std::chrono::system_clock::time_point start, uint64_t index);

// Hands out the final paths of a recording session's files in `directory`, with increasing
// indexes. A name whose final or active file already exists (a session restarted within the
// same second) is skipped, so a file is never overwritten.
class FileNamer {
 public:
  FileNamer(std::string directory, std::string prefix);

  // The final path (without kActiveSuffix) of the next file, which starts at `start`.
  std::string next(std::chrono::system_clock::time_point start);
  // Index the last path returned by next() carries.
  uint64_t last_index() const { return index_ - 1; }

 private:
  std::string directory_;
  std::string prefix_;
  uint64_t index_ = 0;
};

}  // namespace mcaprec::storage
