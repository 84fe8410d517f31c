#pragma once
// Internal to the loader: reads one YAML mapping key by key, turning every wrong type, bad value,
// duplicate and unknown key into an error with its path and line. Not part of the public
// interface (it exposes yaml-cpp types).
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/address.hpp"
#include "config/diagnostics.hpp"

namespace mcaprec::config {

template <class E>
struct Choice {
  std::string_view name;
  E value;
};

// "a mapping", "a list", "a value", for messages about the wrong kind of node.
std::string describe_node(const YAML::Node& node);
// The 1-based line where `node` starts.
int line_of_node(const YAML::Node& node);

class MapReader {
 public:
  // `node` should be a mapping; null (an empty section) reads as an empty mapping, anything
  // else is reported and reads as empty.
  MapReader(Diagnostics& diagnostics, const YAML::Node& node, std::string path);
  MapReader(const MapReader&) = delete;
  MapReader& operator=(const MapReader&) = delete;

  const std::string& path() const { return path_; }
  // False when the node was something other than a mapping (already reported): the caller
  // should not add "missing key" errors on top.
  bool is_mapping() const { return is_mapping_; }
  std::string path_of(std::string_view key) const { return child_path(path_, key); }

  // Marks `key` as known. Returns its value if the file has it.
  std::optional<YAML::Node> find(std::string_view key);

  // Typed reads: nullopt when absent or invalid (invalid values are reported).
  std::optional<std::string> text(std::string_view key);  // null reads as ""
  std::optional<uint64_t> size(std::string_view key);
  std::optional<std::chrono::milliseconds> duration(std::string_view key);
  std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max);
  std::optional<Endpoint> endpoint(std::string_view key);
  template <class E>
  std::optional<E> choice(std::string_view key, std::span<const Choice<E>> choices);

  // Reports every key nobody asked for, with the closest known key. Call after all reads.
  void finish();

 private:
  // The scalar text of `key`'s value, or nullopt (reported) if it is null or not a scalar.
  std::optional<std::string> scalar(std::string_view key, const YAML::Node& value,
                                    std::string_view expected);
  void report_bad_choice(std::string_view key, const std::string& written,
                         const std::vector<std::string_view>& names);

  struct Entry {
    std::string key;
    int line = 0;
    YAML::Node value;
  };

  Diagnostics& diagnostics_;
  std::string path_;
  std::vector<Entry> entries_;
  std::vector<std::string_view> known_;
  bool is_mapping_ = true;
  bool finished_ = false;
};

template <class E>
std::optional<E> MapReader::choice(std::string_view key, std::span<const Choice<E>> choices) {
  std::optional<YAML::Node> value = find(key);
  if (!value) return std::nullopt;
  std::vector<std::string_view> names;
  for (const Choice<E>& c : choices) names.push_back(c.name);
  std::string expected = "one of";
  for (std::string_view name : names) expected += " " + std::string(name);
  std::optional<std::string> written = scalar(key, *value, expected);
  if (!written) return std::nullopt;
  for (const Choice<E>& c : choices) {
    if (c.name == *written) return c.value;
  }
  report_bad_choice(key, *written, names);
  return std::nullopt;
}

// Assigns `value` to `field` when present.
template <class T, class U>
void assign(T& field, const std::optional<U>& value) {
  if (value) field = static_cast<T>(*value);
}

}  // namespace mcaprec::config
