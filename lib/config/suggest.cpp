#include "config/suggest.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace mcaprec::config {
namespace {

char fold(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool starts_with_folded(std::string_view text, std::string_view prefix) {
  if (prefix.size() > text.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (fold(text[i]) != fold(prefix[i])) return false;
  }
  return true;
}

// Whether every '_'-separated word of `part` is also a word of `whole`: "chunk_age" is a part of
// "chunk_max_age", the usual result of half-remembering a long key.
bool words_are_part_of(std::string_view part, std::string_view whole) {
  auto words = [](std::string_view text) {
    std::vector<std::string> out(1);
    for (char c : text) {
      if (c == '_') {
        out.emplace_back();
      } else {
        out.back() += fold(c);
      }
    }
    return out;
  };
  const std::vector<std::string> whole_words = words(whole);
  for (const std::string& word : words(part)) {
    if (word.empty() ||
        std::find(whole_words.begin(), whole_words.end(), word) == whole_words.end()) {
      return false;
    }
  }
  return true;
}

}  // namespace

size_t edit_distance(std::string_view a, std::string_view b) {
  const size_t columns = b.size() + 1;
  // Three rows: the one before the previous is needed for swaps.
  std::vector<size_t> before(columns), previous(columns), current(columns);
  for (size_t j = 0; j < columns; ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j < columns; ++j) {
      const size_t substitution = fold(a[i - 1]) == fold(b[j - 1]) ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + substitution});
      if (i > 1 && j > 1 && fold(a[i - 1]) == fold(b[j - 2]) && fold(a[i - 2]) == fold(b[j - 1])) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string_view> candidates) {
  const size_t allowed = std::max<size_t>(2, word.size() / 3);
  std::optional<std::string> best;
  size_t best_distance = allowed + 1;
  for (std::string_view candidate : candidates) {
    size_t distance = edit_distance(word, candidate);
    const bool related =
        word.size() >= 3 &&
        (starts_with_folded(candidate, word) || starts_with_folded(word, candidate) ||
         words_are_part_of(word, candidate) || words_are_part_of(candidate, word));
    if (distance > allowed && !related) continue;
    if (related) distance = std::min<size_t>(distance, 1);  // as good as a one-letter typo
    if (distance < best_distance) {
      best_distance = distance;
      best = std::string(candidate);
    }
  }
  return best;
}

}  // namespace mcaprec::config
