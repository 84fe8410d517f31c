#pragma once
// Shared by the validate*.cpp files: small helpers and the checks split out of validate.cpp.
#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "config/diagnostics.hpp"

namespace mcaprec::config::detail {

inline std::string in_quotes(std::string_view text) {
  return "'" + std::string(text) + "'";
}

inline bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

inline bool is_plain_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), is_name_char);
}

inline std::string source_path(size_t index) {
  return item_path("sources", index);
}
inline std::string channel_path(size_t index) {
  return item_path("channels", index);
}

// Of several paths that together break a rule, the one to blame: the first the file wrote
// (a default is never the mistake), else the first.
inline std::string blame(Diagnostics& d, std::initializer_list<std::string> paths) {
  for (const std::string& path : paths) {
    if (d.written(path)) return path;
  }
  return *paths.begin();
}

// Each source by itself, then names and bind addresses across sources and the metrics endpoint.
void check_sources(const Config& config, Diagnostics& d);

}  // namespace mcaprec::config::detail
