// RFC 8785 (JCS) vectors: the number serialisation samples of its Appendix B, the §3.2.2 example
// and the §3.2.3 member-order example; and what has no canonical form.
#include "a2a/jcs.h"

#include <gtest/gtest.h>

#include <bit>
#include <boost/json.hpp>
#include <cstdint>
#include <limits>

namespace pc::a2a {
namespace {

double bits(std::uint64_t b) { return std::bit_cast<double>(b); }

TEST(Jcs, NumbersAsEcmaScriptWritesThem) {
  struct Case {
    std::uint64_t bits;
    const char* text;
  };
  const Case cases[] = {
      {0x0000000000000000, "0"},
      {0x8000000000000000, "0"},
      {0x0000000000000001, "5e-324"},
      {0x8000000000000001, "-5e-324"},
      {0x7fefffffffffffff, "1.7976931348623157e+308"},
      {0xffefffffffffffff, "-1.7976931348623157e+308"},
      {0x4340000000000000, "9007199254740992"},
      {0xc340000000000000, "-9007199254740992"},
      {0x4430000000000000, "295147905179352830000"},
      {0x44b52d02c7e14af5, "9.999999999999997e+22"},
      {0x44b52d02c7e14af6, "1e+23"},
      {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
      {0x444b1ae4d6e2ef4e, "999999999999999700000"},
      {0x444b1ae4d6e2ef4f, "999999999999999900000"},
      {0x444b1ae4d6e2ef50, "1e+21"},
      {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
      {0x3eb0c6f7a0b5ed8d, "0.000001"},
      {0x41b3de4355555553, "333333333.3333332"},
      {0x41b3de4355555554, "333333333.33333325"},
      {0x41b3de4355555555, "333333333.3333333"},
      {0x41b3de4355555556, "333333333.3333334"},
      {0x41b3de4355555557, "333333333.33333343"},
      {0xbecbf647612f3696, "-0.0000033333333333333333"},
      {0x43143ff3c1cb0959, "1424953923781206.2"},
  };
  for (const auto& c : cases) EXPECT_EQ(jcs_number(bits(c.bits)), c.text) << std::hex << c.bits;
  EXPECT_EQ(jcs_number(4.5), "4.5");
  EXPECT_EQ(jcs_number(0.002), "0.002");
  EXPECT_EQ(jcs_number(1e-27), "1e-27");
  EXPECT_EQ(jcs_number(1e30), "1e+30");
  EXPECT_EQ(jcs_number(100), "100");
  EXPECT_EQ(jcs_number(1e-7), "1e-7");
  EXPECT_EQ(jcs_number(123456789012345680000.0), "123456789012345680000");
}

TEST(Jcs, NonFiniteNumbersHaveNoForm) {
  EXPECT_THROW(jcs_number(std::numeric_limits<double>::infinity()), JcsError);
  EXPECT_THROW(jcs_number(std::numeric_limits<double>::quiet_NaN()), JcsError);
}

TEST(Jcs, IntegersAreWrittenAsTheDoubleTheyRoundTo) {
  EXPECT_EQ(jcs(boost::json::value(std::int64_t{-42})), "-42");
  EXPECT_EQ(jcs(boost::json::value(std::uint64_t{18446744073709551615ull})), "18446744073709552000");
  EXPECT_EQ(jcs(boost::json::value(std::int64_t{9007199254740993})), "9007199254740992");
}

TEST(Jcs, Rfc8785Example) {
  boost::json::object o;
  o["numbers"] = boost::json::array{bits(0x41b3de4355555555), 1e30, 4.5, 0.002, 1e-27};
  o["string"] = "\xe2\x82\xac$\x0f\nA'B\"\\\\\"/";
  o["literals"] = boost::json::array{nullptr, true, false};
  EXPECT_EQ(jcs(o),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
            "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

TEST(Jcs, MembersSortByUtf16CodeUnits) {
  // RFC 8785 §3.2.3: U+1F600 (a surrogate pair, 0xD83D…) sorts before U+FB33, which UTF-8 byte
  // order would put first.
  boost::json::object o;
  o["\xe2\x82\xac"] = "Euro Sign";
  o["\r"] = "Carriage Return";
  o["\xef\xac\xb3"] = "Hebrew Letter Dalet With Dagesh";
  o["1"] = "One";
  o["\xf0\x9f\x98\x80"] = "Emoji: Grinning Face";
  o["\xc2\x80"] = "Control";
  o["\xc3\xb6"] = "Latin Small Letter O With Diaeresis";
  EXPECT_EQ(jcs(o),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\",\"\xc3\xb6\":\"Latin Small Letter O "
            "With Diaeresis\",\"\xe2\x82\xac\":\"Euro Sign\",\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\",\"\xef\xac\xb3\":"
            "\"Hebrew Letter Dalet With Dagesh\"}");
}

TEST(Jcs, ControlsAndEscapes) {
  EXPECT_EQ(jcs(boost::json::value("\b\f\t\x01\x1f\x7f")), "\"\\b\\f\\t\\u0001\\u001f\x7f\"");
  // U+2028 stays literal (ECMAScript JSON.stringify does not escape it).
  EXPECT_EQ(jcs(boost::json::value("\xe2\x80\xa8")), "\"\xe2\x80\xa8\"");
  EXPECT_EQ(jcs(boost::json::value(boost::json::array{})), "[]");
  EXPECT_EQ(jcs(boost::json::value(boost::json::object{})), "{}");
  EXPECT_EQ(jcs(boost::json::parse(R"({"b":[1,{"z":1,"a":2}],"a":{}})")), R"({"a":{},"b":[1,{"a":2,"z":1}]})");
}

TEST(Jcs, InvalidUtf8HasNoForm) {
  EXPECT_THROW(jcs(boost::json::value("\xff")), JcsError);
  EXPECT_THROW(jcs(boost::json::value("\xc0\xaf")), JcsError);          // overlong '/'
  EXPECT_THROW(jcs(boost::json::value("\xed\xa0\x80")), JcsError);      // a lone surrogate
  boost::json::object o;
  o["\xe2\x82"] = 1;  // truncated
  EXPECT_THROW(jcs(o), JcsError);
}

}  // namespace
}  // namespace pc::a2a
