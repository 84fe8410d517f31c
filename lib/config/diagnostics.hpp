#pragma once
// Collects the problems of one configuration file while it is read and checked, and remembers
// on which line each key was written, so that checks made after parsing (duplicates, budgets)
// can still point at the right line.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/result.hpp"

namespace mcaprec::config {

// "output.max_bytes" / "sources[2]": the path of a key or list item under `parent`.
inline std::string child_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}
inline std::string item_path(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

class Diagnostics {
 public:
  explicit Diagnostics(std::string origin) : origin_(std::move(origin)) {}

  const std::string& origin() const { return origin_; }

  // Remembers that `path` ("output.max_bytes", "sources[0]") was written on `line` (1-based).
  void locate(const std::string& path, int line);
  // Whether the file wrote `path` itself (rather than leaving its default).
  bool written(const std::string& path) const { return lines_.count(path) != 0; }
  // The line of `path`, or of its nearest written parent ("sources[0].bind" -> "sources[0]" ->
  // "sources"); 0 if none of them was written.
  int line_of(const std::string& path) const;

  // An error about `path`, reported at line_of(path) (line 1 if nothing on its way was written).
  void error(const std::string& path, std::string message);
  // An error reported at an explicit line.
  void error_at(int line, const std::string& path, std::string message);

  bool failed() const { return !errors_.empty(); }
  // Whether an error was reported about `path` or anything under it, so that checks combining
  // several fields can skip the ones that are already known to be wrong.
  bool has_error(const std::string& path) const;
  // Whether an error was reported about `path` itself (for a list item: it was not a mapping).
  bool has_own_error(const std::string& path) const;
  // The errors ordered by line (then in the order found).
  std::vector<ConfigError> take_errors();

 private:
  std::string origin_;
  std::map<std::string, int> lines_;
  std::vector<ConfigError> errors_;
};

}  // namespace mcaprec::config
