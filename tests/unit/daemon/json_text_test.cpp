// JSON strings built from outside bytes always parse, and say what the bytes said where they
// were valid UTF-8: the daemon's /status (nlohmann/json, invalid UTF-8 replaced) depends on it,
// and so does /metrics, whose label values get the same replacement by our own code.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "daemon/metrics_text.hpp"
#include "daemon/status_json.hpp"

namespace mcaprec::daemon {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

std::string status_with_topic(std::string_view topic) {
  DaemonSnapshot snapshot;
  pipeline::ChannelStats channel;
  channel.topic = std::string(topic);
  snapshot.pipeline.channels = {channel};
  return status_json(snapshot);
}

// The topic as /status writes it: the JSON string literal, quotes included.
std::string topic_literal(std::string_view topic) {
  const std::string status = status_with_topic(topic);
  const size_t begin = status.find("\"topic\":") + 8;
  return status.substr(begin, status.find(",\"chunk_group\"") - begin);
}

// The topic as a JSON reader gets it back from /status.
std::string topic_read_back(std::string_view topic) {
  return nlohmann::json::parse(status_with_topic(topic))["channels"][0]["topic"];
}

std::string replacements(size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) out += kReplacement;
  return out;
}

TEST(JsonText, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(topic_literal("a\"b\\c\nd\re\tf"), R"("a\"b\\c\nd\re\tf")");
  EXPECT_EQ(topic_literal("\x01\x1f"), R"("\u0001\u001f")");
  EXPECT_EQ(topic_literal(""), R"("")");
  // DEL needs no escape in JSON; it comes back as it was.
  EXPECT_EQ(topic_read_back("\x7f"), "\x7f");
}

TEST(JsonText, KeepsValidUtf8AndReplacesTheRest) {
  // é, €, 😀 stay; a lone continuation byte, an overlong '/', a surrogate and a value past
  // U+10FFFF become U+FFFD per byte; a sequence cut short becomes one U+FFFD in JSON.
  const std::string valid = "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
  EXPECT_EQ(topic_literal(valid), "\"" + valid + "\"");
  EXPECT_EQ(topic_read_back("\x80"), kReplacement);
  EXPECT_EQ(topic_read_back("\xC0\xAF"), replacements(2));
  EXPECT_EQ(topic_read_back("\xED\xA0\x80"), replacements(3));
  EXPECT_EQ(topic_read_back("\xF4\x90\x80\x80"), replacements(4));
  EXPECT_EQ(topic_read_back("\xE2\x82"), replacements(1));
  EXPECT_EQ(topic_read_back("\xF4\x8F\xBF\xBF"), "\xF4\x8F\xBF\xBF");
}

TEST(JsonText, PrometheusLabelsReplaceEveryInvalidByte) {
  const std::string valid = "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
  EXPECT_EQ(prometheus_label_value(valid), valid);
  EXPECT_EQ(prometheus_label_value("\x80"), kReplacement);
  EXPECT_EQ(prometheus_label_value("\xE2\x82"), replacements(2));
  EXPECT_EQ(prometheus_label_value("\xC0\xAF"), replacements(2));
  EXPECT_EQ(prometheus_label_value("\xED\xA0\x80"), replacements(3));
  EXPECT_EQ(prometheus_label_value("\xF4\x90\x80\x80"), replacements(4));
  EXPECT_EQ(prometheus_label_value("\xF4\x8F\xBF\xBF"), "\xF4\x8F\xBF\xBF");
}

TEST(JsonText, EveryByteValueGivesJsonThatParses) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const std::string back = topic_read_back(all);
  // ASCII comes back as it was; each of the 128 high bytes alone is not UTF-8.
  EXPECT_EQ(back.substr(0, 128), all.substr(0, 128));
  EXPECT_EQ(back.size(), 128u + 128u * 3u);
}

}  // namespace
}  // namespace mcaprec::daemon
