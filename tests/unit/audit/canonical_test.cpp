// Issue 8 item 8: audit fields are made canonical before they are hashed.
#include "audit/canonical.h"

#include <gtest/gtest.h>

namespace pc::audit {
namespace {

TEST(CanonicalText, ValidUtf8IsUnchanged) {
  for (std::string s : {"", "/v1/tenants/acme", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\x91", "100%25 %FF"}) {
    EXPECT_TRUE(is_canonical(s)) << s;
    EXPECT_EQ(canonical_text(s), s);
  }
}

TEST(CanonicalText, InvalidBytesAndNulArePercentEncoded) {
  using namespace std::string_literals;
  EXPECT_EQ(canonical_text("/v1/\xFF\xFE/x"), "/v1/%FF%FE/x");
  EXPECT_EQ(canonical_text("a\0b"s), "a%00b");
  EXPECT_EQ(canonical_text("\xC3"), "%C3");                  // truncated sequence
  EXPECT_EQ(canonical_text("\xC0\xAF"), "%C0%AF");           // overlong '/'
  EXPECT_EQ(canonical_text("\xED\xA0\x80"), "%ED%A0%80");    // a surrogate
  EXPECT_EQ(canonical_text("\xC3\xA9\xFF"), "\xC3\xA9%FF");  // the valid part is kept
  EXPECT_FALSE(is_canonical("\xFF"));
  // Canonical text is a fixed point: hashing it again gives the same bytes.
  const std::string once = canonical_text("x\x80y");
  EXPECT_EQ(canonical_text(once), once);
}

}  // namespace
}  // namespace pc::audit
