// JSON strings built from outside bytes always parse, and say what the bytes said where they
// were valid UTF-8: the daemon's /status and the tool's --json output depend on it.
#include "text/json_text.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace {

using mcaprec::text::append_json_string;
using mcaprec::text::utf8_sequence_length;
using mcaprec::text::valid_utf8;

std::string as_json(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

TEST(JsonText, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(as_json("a\"b\\c\nd\re\tf"), R"("a\"b\\c\nd\re\tf")");
  EXPECT_EQ(as_json(std::string("\x01\x7f", 2)), R"("\u0001\u007f")");
  EXPECT_EQ(as_json(""), R"("")");
}

TEST(JsonText, KeepsValidUtf8AndReplacesTheRest) {
  // é, €, 😀 stay; a lone continuation byte, a cut sequence, an overlong '/', a surrogate and a
  // value past U+10FFFF each become U+FFFD per byte.
  const std::string valid = "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
  EXPECT_EQ(valid_utf8(valid), valid);
  EXPECT_EQ(valid_utf8("\x80"), "\xEF\xBF\xBD");
  EXPECT_EQ(valid_utf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(utf8_sequence_length("\xC0\xAF", 0), 0u);
  EXPECT_EQ(utf8_sequence_length("\xED\xA0\x80", 0), 0u);
  EXPECT_EQ(utf8_sequence_length("\xF4\x90\x80\x80", 0), 0u);
  EXPECT_EQ(utf8_sequence_length("\xF4\x8F\xBF\xBF", 0), 4u);
}

TEST(JsonText, EveryByteValueGivesJsonThatParses) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const nlohmann::json parsed = nlohmann::json::parse(as_json(all));
  const std::string back = parsed.get<std::string>();
  // ASCII comes back as it was; each of the 128 high bytes alone is not UTF-8.
  EXPECT_EQ(back.substr(0, 128), all.substr(0, 128));
  EXPECT_EQ(back.size(), 128u + 128u * 3u);
}

}  // namespace
