#pragma once
// "Did you mean ...?" for misspelt keys and values: the candidate closest in edit distance,
// if it is close enough to be a plausible typo.
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace mcaprec::config {

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
// neighbouring characters each cost 1. Letter case is ignored, so "Max_Bytes" is 0 from
// "max_bytes".
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word`, if it is within a third of the word's length (at least 2 edits
// allowed), or if one is a prefix of the other ("compress" -> "compression"), or if the words of
// one are among the words of the other ("chunk_age" -> "chunk_max_age").
std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string_view> candidates);

}  // namespace mcaprec::config
