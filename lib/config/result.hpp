#pragma once
// What loading a configuration returns: the Config, or every problem found in it (not just the
// first), each naming the file, the line and the key path, e.g.
//   mcaprecd.yaml:7: output.max_byte: unknown key, did you mean 'max_bytes'?
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mcaprec::config {

struct ConfigError {
  std::string origin;   // the file name (or the name given to load_config_string)
  int line = 0;         // 1-based; 0 when the problem is not on a line (file unreadable)
  std::string path;     // "sources[1].bind"; "" when the problem is the file itself
  std::string message;  // what is wrong and, where possible, what to write instead

  // "origin:line: path: message", leaving out the parts that are not known.
  std::string to_string() const {
    std::string text = origin;
    if (line > 0) text += ":" + std::to_string(line);
    text += ": ";
    if (!path.empty()) text += path + ": ";
    return text + message;
  }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}
  Result(std::vector<ConfigError> errors) : errors_(std::move(errors)) {}

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  const std::vector<ConfigError>& errors() const { return errors_; }

  // Every error on its own line, for a log or a terminal.
  std::string error_text() const {
    std::string text;
    for (const ConfigError& error : errors_) text += error.to_string() + "\n";
    return text;
  }

 private:
  std::optional<T> value_;
  std::vector<ConfigError> errors_;
};

}  // namespace mcaprec::config
