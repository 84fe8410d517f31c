#pragma once
// A list of topic regexes (`sources[].topics`, `sources[].exclude_topics`), compiled once when
// the configuration is loaded so that declaring a channel never compiles a regex. A pattern
// matches anywhere in the topic (std::regex_search, ECMAScript): anchor it with ^ and $ to
// match whole topics. Two lists are equal when their pattern texts are.
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace mcaprec::config {

class TopicPatterns {
 public:
  // Compiles and keeps `pattern`, or returns why it is not a valid regex (nothing is kept).
  std::optional<std::string> add(const std::string& pattern);
  // True when any pattern matches somewhere in `topic`.
  bool matches(std::string_view topic) const;
  const std::vector<std::string>& patterns() const { return patterns_; }
  bool empty() const { return patterns_.empty(); }

  bool operator==(const TopicPatterns& other) const { return patterns_ == other.patterns_; }

 private:
  std::vector<std::string> patterns_;
  std::vector<std::regex> compiled_;
};

}  // namespace mcaprec::config
