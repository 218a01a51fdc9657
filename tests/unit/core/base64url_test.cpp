#include "core/base64url.h"

#include <gtest/gtest.h>

namespace pc::core {
namespace {

TEST(Base64Url, Rfc4648Vectors) {
  // RFC 4648 §10 vectors, with padding removed.
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64url_decode("Zm9vYmE"), "fooba");
  EXPECT_EQ(base64url_decode(""), "");
}

TEST(Base64Url, UsesUrlAlphabet) {
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_decode("-_8"), "\xfb\xff");
  EXPECT_FALSE(base64url_decode("+/8"));  // standard alphabet is not base64url
}

TEST(Base64Url, RoundTripsAllLengthsAndBytes) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(base64url_decode(base64url_encode(bytes)), bytes) << "length " << i;
    bytes += char((i * 37 + 11) & 0xff);
  }
}

TEST(Base64Url, RejectsPaddingAndWhitespace) {
  EXPECT_FALSE(base64url_decode("Zg=="));
  EXPECT_FALSE(base64url_decode("Zm8="));
  EXPECT_FALSE(base64url_decode("Zm9v "));
  EXPECT_FALSE(base64url_decode(" Zm9v"));
  EXPECT_FALSE(base64url_decode("Zm\n9v"));
  EXPECT_FALSE(base64url_decode(std::string_view("Zm\0v", 4)));
}

TEST(Base64Url, RejectsImpossibleLength) {
  EXPECT_FALSE(base64url_decode("Z"));
  EXPECT_FALSE(base64url_decode("Zm9vY"));
}

TEST(Base64Url, RejectsNonCanonicalLastCharacter) {
  // "Zg" is 'f'; "Zh" carries the same byte plus non-zero unused low bits.
  EXPECT_EQ(base64url_decode("Zg"), "f");
  EXPECT_FALSE(base64url_decode("Zh"));
  EXPECT_FALSE(base64url_decode("Z_"));
  EXPECT_EQ(base64url_decode("Zm8"), "fo");
  EXPECT_FALSE(base64url_decode("Zm9"));
  EXPECT_FALSE(base64url_decode("Zm-"));
}

}  // namespace
}  // namespace pc::core

namespace pc::core {
namespace {

TEST(Base64Standard, DecodesPaddedText) {
  EXPECT_EQ(base64_decode("YWxhZGRpbjpvcGVuc2VzYW1l"), "aladdin:opensesame");
  EXPECT_EQ(base64_decode("YQ=="), "a");
  EXPECT_EQ(base64_decode("YWI="), "ab");
  EXPECT_EQ(base64_decode("+/8="), std::string("\xfb\xff", 2));
  EXPECT_EQ(base64_decode(""), "");
}

TEST(Base64Standard, RejectsMalformedText) {
  EXPECT_FALSE(base64_decode("YQ"));      // padding missing
  EXPECT_FALSE(base64_decode("YQ=a"));    // padding inside
  EXPECT_FALSE(base64_decode("Y==="));    // too much padding
  EXPECT_FALSE(base64_decode("-_8="));    // base64url alphabet
  EXPECT_FALSE(base64_decode("YR=="));    // non-zero unused bits
  EXPECT_FALSE(base64_decode("YW I="));   // whitespace
}

}  // namespace
}  // namespace pc::core
