#pragma once
// Text that must end up in JSON (or any UTF-8 output) while coming from the outside: topics,
// peer names, file paths and error messages may hold any bytes. One validator and one escaper,
// shared by the daemon's /status and the tool's --json output, so that both always parse.
#include <cstddef>
#include <string>
#include <string_view>

namespace mcaprec::text {

// Length of the valid UTF-8 sequence starting at text[i] (1 for ASCII), or 0 when the bytes
// there are not one: a bad lead or continuation byte, a cut sequence, an overlong form, a
// surrogate or a value past U+10FFFF.
size_t utf8_sequence_length(std::string_view text, size_t i);

// `text` with every byte that is not part of valid UTF-8 replaced by U+FFFD.
std::string valid_utf8(std::string_view text);

// Appends `text` as a JSON string literal, quotes included: quote, backslash and control
// characters escaped, invalid UTF-8 replaced by U+FFFD.
void append_json_string(std::string& out, std::string_view text);

}  // namespace mcaprec::text
