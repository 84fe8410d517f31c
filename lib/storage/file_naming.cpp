#include "storage/file_naming.hpp"

#include <sys/stat.h>

#include <ctime>

namespace mcaprec::storage {

namespace {

bool path_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

std::string utc_stamp(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[32];
  const size_t n = std::strftime(text, sizeof(text), "%Y-%m-%dT%H-%M-%SZ", &utc);
  return std::string(text, n);
}

std::string recording_file_name(std::string_view prefix,
                                std::chrono::system_clock::time_point start, uint64_t index) {
  std::string name(prefix);
  name += '_';
  name += utc_stamp(start);
  name += '_';
  name += std::to_string(index);
  name += ".mcap";
  return name;
}

FileNamer::FileNamer(std::string directory, std::string prefix)
    : directory_(std::move(directory)), prefix_(std::move(prefix)) {
  if (directory_.empty()) directory_ = ".";
}

std::string FileNamer::next(std::chrono::system_clock::time_point start) {
  for (;;) {
    std::string path = directory_ + "/" + recording_file_name(prefix_, start, index_++);
    if (!path_exists(path) && !path_exists(path + std::string(kActiveSuffix))) return path;
  }
}

}  // namespace mcaprec::storage
