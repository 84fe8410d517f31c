// The control endpoint's request parsing and token check, without a daemon (the routes end to
// end are in tests/e2e/control_e2e_test.cpp).
#include "daemon/control_api.hpp"

#include <gtest/gtest.h>

namespace mcaprec::daemon {
namespace {

TEST(ControlApiTest, PauseBodiesSelectTopicsAndSources) {
  auto everything = parse_pause_body("");
  ASSERT_TRUE(everything);
  EXPECT_TRUE(everything->everything());
  auto listed = parse_pause_body(R"({"topics": ["/a", "/b"], "sources": ["lidar"]})");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->topics, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(listed->sources, (std::vector<std::string>{"lidar"}));
  EXPECT_TRUE(parse_pause_body("{}")->everything());

  EXPECT_EQ(parse_pause_body("{nope").error().message, "the body is not valid JSON");
  EXPECT_EQ(parse_pause_body("[1]").error().message, "the body must be a JSON object");
  EXPECT_EQ(parse_pause_body(R"({"topic": ["/a"]})").error().message, "unknown key \"topic\"");
  EXPECT_EQ(parse_pause_body(R"({"topics": "/a"})").error().message,
            "topics must be a list of names");
  EXPECT_EQ(parse_pause_body(R"({"topics": [""]})").error().message,
            "topics must hold non-empty strings");
}

TEST(ControlApiTest, EventBodiesNeedAPlainNameAndTakeDurations) {
  auto event = parse_event_body(
      R"({"name": "hard_brake", "before": "20s", "after": 1.5, "fields": {"driver": "a", "n": 3}})");
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->name, "hard_brake");
  EXPECT_EQ(event->before, std::chrono::seconds(20));
  EXPECT_EQ(event->after, std::chrono::milliseconds(1500));
  EXPECT_EQ(event->fields.at("driver"), "a");
  EXPECT_EQ(event->fields.at("n"), "3");
  EXPECT_FALSE(parse_event_body(R"({"name": "x"})")->before);

  EXPECT_NE(parse_event_body("{}").error().message.find("name is required"), std::string::npos);
  EXPECT_NE(parse_event_body(R"({"name": "a/b"})").error().message.find("file name"),
            std::string::npos);
  EXPECT_NE(parse_event_body(R"({"name": "a", "before": "soon"})").error().message.find("before"),
            std::string::npos);
  EXPECT_EQ(parse_event_body(R"({"name": "a", "fields": []})").error().message,
            "fields must be an object of strings");
}

TEST(ControlApiTest, OnlyTheExactBearerTokenPasses) {
  EXPECT_TRUE(bearer_matches("Bearer abc123", "abc123"));
  EXPECT_FALSE(bearer_matches("Bearer abc124", "abc123"));
  EXPECT_FALSE(bearer_matches("Bearer abc1234", "abc123"));
  EXPECT_FALSE(bearer_matches("Bearer abc12", "abc123"));
  EXPECT_FALSE(bearer_matches("abc123", "abc123"));
  EXPECT_FALSE(bearer_matches("", "abc123"));
  EXPECT_FALSE(bearer_matches("Bearer ", ""));
}

}  // namespace
}  // namespace mcaprec::daemon
