#pragma once
// The engine of `mcaprec filter`: the selected messages of several files merged into one
// writer, with whole chunks copied as they are where that keeps the output in order.
#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "mcap/error.hpp"
#include "mcap/writer.hpp"
#include "session_files.hpp"

namespace mcaprec::tool {

struct Selection {
  std::optional<std::regex> topics;   // a topic is kept when this matches part of it...
  std::optional<std::regex> exclude;  // ...and this does not
  uint64_t start = 0;                 // log times in [start, end)
  uint64_t end = UINT64_MAX;

  bool keeps_topic(const std::string& topic) const;
  bool keeps_time(uint64_t log_time) const { return log_time >= start && log_time < end; }
};

struct FilterCounts {
  uint64_t messages = 0;
  uint64_t copied_chunks = 0;     // chunks written byte for byte as the input held them
  uint64_t rewritten_chunks = 0;  // input chunks whose selected messages were re-chunked
  uint64_t metadata = 0;
  uint64_t attachments = 0;
};

// Writes what `selection` keeps of `files` (in order of first message) into `writer`. Files
// that overlap no other in time are read chunk by chunk, and a chunk is copied without
// recompression when every message in it is selected, it holds nothing but messages, its
// channels keep their ids in the output and its Message Index records are there. Files that
// overlap others are merged message by message, by log time.
mcap::Status filter_into(const std::vector<SessionFile>& files, const Selection& selection,
                         mcap::Writer& writer, FilterCounts& counts);

}  // namespace mcaprec::tool
