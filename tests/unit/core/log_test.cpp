#include "core/log.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace pc::log {
namespace {

TEST(LogFormat, JsonLineIsValidJsonWithTypedFields) {
  auto line = format_line(Level::warn, "upstream \"failed\"\n",
                          {{"request_id", "abc"}, {"status", 502}, {"ms", 1.5}, {"retry", false}}, true);
  auto v = boost::json::parse(line);
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("level").as_string(), "warn");
  EXPECT_EQ(o.at("msg").as_string(), "upstream \"failed\"\n");
  EXPECT_EQ(o.at("request_id").as_string(), "abc");
  EXPECT_EQ(o.at("status").as_int64(), 502);
  EXPECT_DOUBLE_EQ(o.at("ms").as_double(), 1.5);
  EXPECT_EQ(o.at("retry").as_bool(), false);
  EXPECT_EQ(o.at("ts").as_string().size(), 24u);  // 2026-11-22T04:39:01.953Z
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one event, one line";
}

TEST(LogFormat, ControlCharactersAndBadUtf8CannotBreakTheLine) {
  auto line = format_line(Level::info, "m", {{"path", std::string_view("/a\r\n{\"forged\":1}\x01\xff", 18)}}, true);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  auto v = boost::json::parse(line);
  EXPECT_FALSE(v.as_object().contains("forged"));
}

TEST(LogFormat, TextLineHasLevelMessageAndFields) {
  auto line = format_line(Level::error, "boom", {{"key", "server.listen"}, {"n", 3}}, false);
  EXPECT_NE(line.find(" error boom key=server.listen n=3"), std::string::npos) << line;
}

TEST(LogLevel, ParsesKnownNamesOnly) {
  Level l = Level::info;
  EXPECT_TRUE(parse_level("debug", l));
  EXPECT_EQ(l, Level::debug);
  EXPECT_TRUE(parse_level("off", l));
  EXPECT_EQ(l, Level::off);
  EXPECT_FALSE(parse_level("verbose", l));
  EXPECT_FALSE(parse_level("INFO", l));
}

}  // namespace
}  // namespace pc::log
