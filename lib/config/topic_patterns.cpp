#include "config/topic_patterns.hpp"

namespace mcaprec::config {

std::optional<std::string> TopicPatterns::add(const std::string& pattern) {
  try {
    compiled_.emplace_back(pattern, std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::regex_error& error) {
    return std::string(error.what());
  }
  patterns_.push_back(pattern);
  return std::nullopt;
}

bool TopicPatterns::matches(std::string_view topic) const {
  for (const std::regex& pattern : compiled_) {
    if (std::regex_search(topic.begin(), topic.end(), pattern)) return true;
  }
  return false;
}

}  // namespace mcaprec::config
