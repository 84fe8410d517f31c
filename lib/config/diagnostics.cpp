#include "config/diagnostics.hpp"

#include <algorithm>

namespace mcaprec::config {

void Diagnostics::locate(const std::string& path, int line) {
  lines_.emplace(path, line);
}

int Diagnostics::line_of(const std::string& path) const {
  std::string current = path;
  while (!current.empty()) {
    if (auto it = lines_.find(current); it != lines_.end()) return it->second;
    // Drop the last component: ".key" or "[index]".
    const size_t cut = current.find_last_of(".[");
    if (cut == std::string::npos) break;
    current.resize(cut);
  }
  return 0;
}

void Diagnostics::error(const std::string& path, std::string message) {
  error_at(std::max(1, line_of(path)), path, std::move(message));
}

bool Diagnostics::has_error(const std::string& path) const {
  return std::any_of(errors_.begin(), errors_.end(), [&](const ConfigError& e) {
    return e.path.compare(0, path.size(), path) == 0 &&
           (e.path.size() == path.size() || e.path[path.size()] == '.' ||
            e.path[path.size()] == '[');
  });
}

void Diagnostics::error_at(int line, const std::string& path, std::string message) {
  errors_.push_back({origin_, line, path, std::move(message)});
}

bool Diagnostics::has_own_error(const std::string& path) const {
  return std::any_of(errors_.begin(), errors_.end(),
                     [&](const ConfigError& e) { return e.path == path; });
}

std::vector<ConfigError> Diagnostics::take_errors() {
  std::stable_sort(errors_.begin(), errors_.end(),
                   [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; });
  return std::move(errors_);
}

}  // namespace mcaprec::config
