#include "core/json_text.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace pc::core {
namespace {

// Issue 8 item 18: text from a request or the store with invalid UTF-8 must still give valid JSON.
bool valid_utf8(const std::string& s) {
  boost::system::error_code ec;
  auto v = boost::json::parse(s, ec);  // boost::json's parser validates UTF-8
  return !ec;
}

TEST(JsonText, InvalidUtf8InStringsAndKeysIsReplaced) {
  boost::json::object o{{"path", "/v1/\xff\xfe"}, {std::string("k\xc3"), boost::json::array{"\xed\xa0\x80", 1, true, nullptr}}};
  const std::string raw = boost::json::serialize(o);
  EXPECT_FALSE(valid_utf8(raw)) << "boost::json::serialize passes the bytes through";
  const std::string text = json_text(o);
  ASSERT_TRUE(valid_utf8(text)) << text;
  auto back = boost::json::parse(text).as_object();
  EXPECT_EQ(back.at("path").as_string(), "/v1/\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_TRUE(back.contains("k\xEF\xBF\xBD"));
}

TEST(JsonText, SameAsSerializeForValidText) {
  boost::json::value v = boost::json::parse(R"({"a":[1,-2.5,"x\"y\\z\n",{"é":null}],"b":false,"c":18446744073709551615})");
  EXPECT_EQ(boost::json::parse(json_text(v)), v);
  EXPECT_EQ(json_text(boost::json::object{}), "{}");
  EXPECT_EQ(json_text(boost::json::array{}), "[]");
}

// Plain runs are copied whole and everything else escaped one character at a time: every ASCII
// character, alone and between runs, comes back as it went in, and no raw control byte is written.
TEST(JsonText, EveryAsciiCharacterRoundTripsBetweenPlainRuns) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) {
    all += "run";
    all.push_back(static_cast<char>(c));
  }
  all += "é\xff tail";
  std::string out;
  append_json_string(out, all);
  for (char c : out) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << out;
  boost::json::value back = boost::json::parse("[" + out + "]");
  std::string want = all;
  want.replace(want.find("\xff"), 1, "\xEF\xBF\xBD");
  EXPECT_EQ(back.as_array().at(0).as_string(), want);
  out.clear();
  append_json_string(out, "");
  EXPECT_EQ(out, "\"\"");
  out.clear();
  append_json_string(out, "\"\\\n\x01");
  EXPECT_EQ(out, R"("\"\\\n\u0001")");
}

}  // namespace
}  // namespace pc::core
