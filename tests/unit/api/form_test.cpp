#include "api/form.h"

#include <gtest/gtest.h>

#include <string>

namespace pc::api {
namespace {

std::optional<std::string> decode(std::string_view in) {
  std::string out = "stale";
  if (!form_decode(in, out)) return std::nullopt;
  return out;
}

FormFields fields(std::initializer_list<std::pair<const char*, const char*>> kv) {
  FormFields out;
  for (const auto& [k, v] : kv) out.emplace_back(k, v);
  return out;
}

TEST(FormDecode, PlainTextPassesThrough) {
  EXPECT_EQ(decode("client_credentials"), "client_credentials");
  EXPECT_EQ(decode(""), "");
  EXPECT_EQ(decode("a-b_c.d~e*"), "a-b_c.d~e*");
}

TEST(FormDecode, PlusIsASpace) {
  EXPECT_EQ(decode("a+b"), "a b");
  EXPECT_EQ(decode("+"), " ");
  EXPECT_EQ(decode("read+write+admin"), "read write admin");
  EXPECT_EQ(decode("%2B"), "+") << "an escaped plus stays a plus";
  EXPECT_EQ(decode("a%2b+b"), "a+ b");
}

TEST(FormDecode, PercentEscapes) {
  EXPECT_EQ(decode("%41%62%63"), "Abc");
  EXPECT_EQ(decode("%3a%3A"), "::") << "hex digits in either case";
  EXPECT_EQ(decode("%20"), " ");
  EXPECT_EQ(decode("%25"), "%");
  EXPECT_EQ(decode("%2541"), "%41") << "decoded once, not twice";
  EXPECT_EQ(decode("%C3%A9"), "\xc3\xa9");
  EXPECT_EQ(decode("%FF"), "\xff");
  EXPECT_EQ(decode("urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"),
            "urn:ietf:params:oauth:grant-type:token-exchange");
  EXPECT_EQ(decode("x%41"), "xA");
}

TEST(FormDecode, MalformedEscapesAreRefused) {
  for (const char* bad : {"%", "%4", "a%", "a%4", "%G1", "%1G", "%zz", "%%", "%%41", "% 1", "%+1", "%-1", "%x41", "abc%2"})
    EXPECT_EQ(decode(bad), std::nullopt) << bad;
}

TEST(FormDecode, NulIsRefusedRawOrEscaped) {
  EXPECT_EQ(decode("%00"), std::nullopt);
  EXPECT_EQ(decode("a%00b"), std::nullopt);
  EXPECT_EQ(decode(std::string_view("a\0b", 3)), std::nullopt);
}

TEST(ParseForm, SplitsPairsInOrder) {
  auto f = parse_form("grant_type=client_credentials&scope=read+write&audience=api%3A%2F%2Fagents");
  ASSERT_TRUE(f);
  EXPECT_EQ(*f, fields({{"grant_type", "client_credentials"}, {"scope", "read write"}, {"audience", "api://agents"}}));
}

TEST(ParseForm, EmptyBodyAndEmptyPairs) {
  EXPECT_EQ(parse_form(""), FormFields{});
  EXPECT_EQ(parse_form("&"), FormFields{});
  EXPECT_EQ(parse_form("&&&"), FormFields{});
  EXPECT_EQ(parse_form("a=1&&b=2&"), fields({{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(parse_form("&a=1"), fields({{"a", "1"}}));
}

TEST(ParseForm, NamesWithoutValuesAndValuesWithEquals) {
  EXPECT_EQ(parse_form("a"), fields({{"a", ""}}));
  EXPECT_EQ(parse_form("a="), fields({{"a", ""}}));
  EXPECT_EQ(parse_form("=x"), fields({{"", "x"}}));
  EXPECT_EQ(parse_form("a=b=c"), fields({{"a", "b=c"}}));
  EXPECT_EQ(parse_form("a%3Db=c"), fields({{"a=b", "c"}})) << "an escaped '=' belongs to the name";
  EXPECT_EQ(parse_form("a=1%262"), fields({{"a", "1&2"}})) << "an escaped '&' does not split";
  EXPECT_EQ(parse_form("a=1;b=2"), fields({{"a", "1;b=2"}})) << "';' is not a separator";
}

TEST(ParseForm, DuplicatesAreKeptForTheCallerToRefuse) {
  EXPECT_EQ(parse_form("scope=a&scope=b"), fields({{"scope", "a"}, {"scope", "b"}}));
}

TEST(ParseForm, MalformedEscapeOrNulAnywhereRefusesTheWholeBody) {
  EXPECT_EQ(parse_form("a=1&b=%zz"), std::nullopt);
  EXPECT_EQ(parse_form("a=1&%zz=2"), std::nullopt);
  EXPECT_EQ(parse_form("a=%"), std::nullopt);
  EXPECT_EQ(parse_form("client_secret=abc%00def"), std::nullopt);
  EXPECT_EQ(parse_form(std::string_view("a=1&b\0=2", 8)), std::nullopt);
  EXPECT_EQ(parse_form("a%0=1"), std::nullopt);
}

TEST(ParseForm, MaxFields) {
  std::string body;
  for (int i = 0; i < 64; ++i) body += (i ? "&f" : "f") + std::to_string(i) + "=v";
  auto ok = parse_form(body);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->size(), 64u);
  EXPECT_EQ(parse_form(body + "&extra=1"), std::nullopt);
  EXPECT_EQ(parse_form(body + "&&&"), ok) << "empty pairs do not count";

  EXPECT_TRUE(parse_form("a=1&b=2", 2));
  EXPECT_EQ(parse_form("a=1&b=2&c=3", 2), std::nullopt);
  EXPECT_EQ(parse_form("a=1", 0), std::nullopt);
  EXPECT_EQ(parse_form("", 0), FormFields{});
}

TEST(ParseForm, ManyFieldsAreRefusedWithoutBuildingThemAll) {
  std::string body;
  for (int i = 0; i < 100000; ++i) body += "a=1&";
  EXPECT_EQ(parse_form(body), std::nullopt);
}

}  // namespace
}  // namespace pc::api
