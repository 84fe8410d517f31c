#include "config/yaml_reader.hpp"

#include <algorithm>
#include <charconv>

#include "config/suggest.hpp"
#include "config/units.hpp"

namespace mcaprec::config {
namespace {

std::string in_quotes(std::string_view text) {
  return "'" + std::string(text) + "'";
}

}  // namespace

std::string describe_node(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "the value " + in_quotes(node.Scalar());
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return "nothing";
  }
  return "something else";
}

int line_of_node(const YAML::Node& node) {
  const int line = node.Mark().line;
  return line >= 0 ? line + 1 : 0;
}

MapReader::MapReader(Diagnostics& diagnostics, const YAML::Node& node, std::string path)
    : diagnostics_(diagnostics), path_(std::move(path)) {
  if (node.IsNull()) return;
  if (!node.IsMap()) {
    is_mapping_ = false;
    diagnostics_.error(path_.empty() ? "(top level)" : path_,
                       "expected a mapping of keys, found " + describe_node(node));
    return;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    const int line = line_of_node(it->first);
    if (!it->first.IsScalar()) {
      diagnostics_.error_at(line, path_.empty() ? "(top level)" : path_,
                            "keys must be plain words, found " + describe_node(it->first));
      continue;
    }
    const std::string key = it->first.Scalar();
    auto same = std::find_if(entries_.begin(), entries_.end(),
                             [&](const Entry& e) { return e.key == key; });
    if (same != entries_.end()) {
      diagnostics_.error_at(line, child_path(path_, key),
                            "written twice (first on line " + std::to_string(same->line) + ")");
      continue;
    }
    entries_.push_back({key, line, it->second});
    diagnostics_.locate(child_path(path_, key), line);
  }
}

std::optional<YAML::Node> MapReader::find(std::string_view key) {
  known_.push_back(key);
  for (const Entry& entry : entries_) {
    if (entry.key == key) return entry.value;
  }
  return std::nullopt;
}

std::optional<std::string> MapReader::scalar(std::string_view key, const YAML::Node& value,
                                             std::string_view expected) {
  if (value.IsScalar()) return value.Scalar();
  const std::string found = value.IsNull() ? "no value" : describe_node(value);
  diagnostics_.error(path_of(key), "expected " + std::string(expected) + ", found " + found);
  return std::nullopt;
}

std::optional<std::string> MapReader::text(std::string_view key) {
  std::optional<YAML::Node> value = find(key);
  if (!value) return std::nullopt;
  if (value->IsNull()) return std::string();
  return scalar(key, *value, "a text value");
}

std::optional<uint64_t> MapReader::size(std::string_view key) {
  std::optional<YAML::Node> value = find(key);
  if (!value) return std::nullopt;
  std::optional<std::string> written = scalar(key, *value, "a size such as 64MiB");
  if (!written) return std::nullopt;
  Parsed<uint64_t> parsed = parse_size(*written);
  if (!parsed.ok()) diagnostics_.error(path_of(key), parsed.error);
  return parsed.value;
}

std::optional<std::chrono::milliseconds> MapReader::duration(std::string_view key) {
  std::optional<YAML::Node> value = find(key);
  if (!value) return std::nullopt;
  std::optional<std::string> written = scalar(key, *value, "a duration such as 500ms or 10min");
  if (!written) return std::nullopt;
  Parsed<std::chrono::milliseconds> parsed = parse_duration(*written);
  if (!parsed.ok()) diagnostics_.error(path_of(key), parsed.error);
  return parsed.value;
}

std::optional<int64_t> MapReader::integer(std::string_view key, int64_t min, int64_t max) {
  std::optional<YAML::Node> value = find(key);
  if (!value) return std::nullopt;
  std::optional<std::string> written = scalar(key, *value, "a whole number");
  if (!written) return std::nullopt;
  std::string_view digits = *written;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  int64_t number = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (digits.empty() || ec == std::errc::invalid_argument || end != digits.data() + digits.size()) {
    diagnostics_.error(path_of(key), in_quotes(*written) + " is not a whole number");
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range || number < min || number > max) {
    diagnostics_.error(path_of(key), in_quotes(*written) + " is out of range: it must be from " +
                                         std::to_string(min) + " to " + std::to_string(max));
    return std::nullopt;
  }
  return number;
}

std::optional<Endpoint> MapReader::endpoint(std::string_view key) {
  std::optional<YAML::Node> value = find(key);
  if (!value) return std::nullopt;
  std::optional<std::string> written = scalar(key, *value, "host:port");
  if (!written) return std::nullopt;
  Parsed<Endpoint> parsed = parse_endpoint(*written);
  if (!parsed.ok()) diagnostics_.error(path_of(key), parsed.error);
  return parsed.value;
}

void MapReader::report_bad_choice(std::string_view key, const std::string& written,
                                  const std::vector<std::string_view>& names) {
  std::string message = in_quotes(written) + " is not one of";
  for (size_t i = 0; i < names.size(); ++i) {
    message += (i == 0 ? " " : i + 1 == names.size() ? " or " : ", ") + std::string(names[i]);
  }
  if (std::optional<std::string> near = closest_match(written, names)) {
    message += "; did you mean " + in_quotes(*near) + "?";
  }
  diagnostics_.error(path_of(key), message);
}

void MapReader::finish() {
  if (finished_) return;
  finished_ = true;
  for (const Entry& entry : entries_) {
    if (std::find(known_.begin(), known_.end(), entry.key) != known_.end()) continue;
    std::string message = "unknown key";
    if (std::optional<std::string> near = closest_match(entry.key, known_)) {
      message += ", did you mean " + in_quotes(*near) + "?";
    } else {
      message += " (known keys here:";
      for (std::string_view known : known_) message += " " + std::string(known);
      message += ")";
    }
    diagnostics_.error_at(entry.line, child_path(path_, entry.key), message);
  }
}

}  // namespace mcaprec::config
