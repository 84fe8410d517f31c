#include "session_files.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <tuple>

namespace mcaprec::tool {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> add_directory(const fs::path& directory,
                                         std::vector<std::string>& paths) {
  std::vector<std::string> found;
  std::error_code error;
  for (fs::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) {
    if (it->path().extension() == ".mcap" && it->is_regular_file(error)) {
      found.push_back(it->path().string());
    }
  }
  if (error) return directory.string() + ": " + error.message();
  if (found.empty()) return directory.string() + ": no .mcap files in this directory";
  std::sort(found.begin(), found.end());
  paths.insert(paths.end(), found.begin(), found.end());
  return std::nullopt;
}

}  // namespace

std::optional<std::string> expand_inputs(const std::vector<std::string>& args,
                                         std::vector<std::string>& paths) {
  for (const std::string& arg : args) {
    std::error_code error;
    const fs::file_status status = fs::status(arg, error);
    if (fs::is_directory(status)) {
      if (auto problem = add_directory(arg, paths)) return problem;
    } else {
      // Files, and paths that do not exist: opening them reports what is wrong.
      paths.push_back(arg);
    }
  }
  return std::nullopt;
}

SessionFiles open_session(const std::vector<std::string>& paths) {
  SessionFiles session;
  for (const std::string& path : paths) {
    auto mapped = mcap::MappedFile::open(path);
    if (!mapped) {
      session.unreadable.push_back({path, mapped.error().message});
      continue;
    }
    auto info = mcap::gather_info(mapped->bytes());
    if (!info) {
      session.unreadable.push_back({path, path + ": " + info.error().to_string()});
      continue;
    }
    session.files.push_back({path, std::move(*mapped), std::move(*info)});
  }
  std::stable_sort(session.files.begin(), session.files.end(),
                   [](const SessionFile& a, const SessionFile& b) {
                     return std::tie(a.info.message_start_time, a.path) <
                            std::tie(b.info.message_start_time, b.path);
                   });
  return session;
}

}  // namespace mcaprec::tool
