#pragma once
// The files of a recording session as the tool's commands take them: any mix of files and
// directories (a directory stands for its finished `*.mcap` files; `.active` files are being
// written or wait for recovery), opened and put in order of their first message.
#include <optional>
#include <string>
#include <vector>

#include "mcap/info.hpp"
#include "mcap/reader.hpp"

namespace mcaprec::tool {

// Replaces each directory of `args` by its `*.mcap` files (in name order) and keeps files as
// given. Returns an error text for a path that does not exist or a directory without any.
std::optional<std::string> expand_inputs(const std::vector<std::string>& args,
                                         std::vector<std::string>& paths);

struct SessionFile {
  std::string path;
  mcap::MappedFile mapped;
  mcap::FileInfo info;
};

// A file that could not be opened or is not MCAP, with what went wrong.
struct UnreadableFile {
  std::string path;
  std::string error;
};

struct SessionFiles {
  std::vector<SessionFile> files;  // by first message time, then path; empty files first
  std::vector<UnreadableFile> unreadable;
};

// Opens every path and gathers its info (summary only when the file has a usable one).
SessionFiles open_session(const std::vector<std::string>& paths);

}  // namespace mcaprec::tool
