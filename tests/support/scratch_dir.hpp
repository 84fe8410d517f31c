#pragma once
// The tests' one temporary directory: a fresh directory made for the test and removed with
// everything in it when the test is done.
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mcaprec::test_support {

class ScratchDir {
 public:
  // A new directory `<base>/mcaprec-<purpose>-XXXXXX`; throws when it cannot be made, which
  // fails the test that wanted it.
  explicit ScratchDir(const std::string& purpose = "test",
                      const std::filesystem::path& base = std::filesystem::temp_directory_path()) {
    std::string pattern = (base / ("mcaprec-" + purpose + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("cannot make a scratch directory " + pattern);
    }
    path_ = std::move(pattern);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const {
    return std::filesystem::path(path_) / name;
  }

  // Files in the directory whose names end with `suffix`, in the order they were started.
  std::vector<std::string> files(const std::string& suffix) const {
    std::vector<std::string> out;
    for (const auto& entry : std::filesystem::directory_iterator(path_)) {
      const std::string name = entry.path().filename().string();
      if (name.ends_with(suffix)) out.push_back(entry.path().string());
    }
    std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
      return std::pair(file_index(a), a) < std::pair(file_index(b), b);
    });
    return out;
  }

  // The `<index>` of `<prefix>_<stamp>_<index>.mcap`; names without one sort last.
  static uint64_t file_index(const std::string& path) {
    const size_t end = path.rfind(".mcap");
    const size_t underscore = path.rfind('_', end);
    if (end == std::string::npos || underscore == std::string::npos) return UINT64_MAX;
    uint64_t index = 0;
    for (size_t i = underscore + 1; i < end; ++i) {
      if (path[i] < '0' || path[i] > '9') return UINT64_MAX;
      index = index * 10 + uint64_t(path[i] - '0');
    }
    return index;
  }

 private:
  std::string path_;
};

}  // namespace mcaprec::test_support
