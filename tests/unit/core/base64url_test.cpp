#include "core/base64url.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>

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

// The table-driven decoder must accept exactly what the original bit-at-a-time decoder accepted,
// with the same output. The original is kept here, verbatim, as the reference.
namespace pc::core {
namespace {

int reference_value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::optional<std::string> reference_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = reference_value_of(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | std::uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

// gtest prints a mismatch with the input in hex, since most inputs are not printable.
std::string hex(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// Returns false (after one gtest failure) on the first mismatch, so a broken decoder does not
// flood the log with millions of failures.
bool same_as_reference(std::string_view in) {
  const auto want = reference_decode(in);
  const auto got = base64url_decode(in);
  if (want == got) return true;
  ADD_FAILURE() << "input hex " << hex(in) << ": reference "
                << (want ? "accepts " + hex(*want) : std::string("rejects")) << ", decoder "
                << (got ? "accepts " + hex(*got) : std::string("rejects"));
  return false;
}

TEST(Base64UrlTable, MatchesReferenceOnEveryInputUpTo3Bytes) {
  ASSERT_TRUE(same_as_reference(""));
  std::size_t accepted = 0;
  char buf[3];
  for (int a = 0; a < 256; ++a) {
    buf[0] = char(a);
    ASSERT_TRUE(same_as_reference({buf, 1}));
    for (int b = 0; b < 256; ++b) {
      buf[1] = char(b);
      ASSERT_TRUE(same_as_reference({buf, 2}));
      accepted += reference_decode({buf, 2}).has_value();
      for (int c = 0; c < 256; ++c) {
        buf[2] = char(c);
        ASSERT_TRUE(same_as_reference({buf, 3}));
        accepted += reference_decode({buf, 3}).has_value();
      }
    }
  }
  // Canonical encodings only: all 2^8 one-byte and 2^16 two-byte strings, nothing else.
  EXPECT_EQ(accepted, 256u + 65536u);
}

TEST(Base64UrlTable, MatchesReferenceOnEveryFourCharInputOverInterestingBytes) {
  // 16 alphabet characters (its range boundaries among them) and 20 others: their neighbours,
  // padding, whitespace, NUL, the standard alphabet and high bytes. Every 4-character string
  // over them: 36^4, about 1.7 million.
  const std::string set = std::string("AZaz09-_BYby18Qg") + "@[`{/:,.+=" +
                          "\x20\t\n\r\x7f\x80\xc0\xfe\xff" + std::string(1, '\0');
  ASSERT_EQ(set.size(), 36u);
  std::size_t accepted = 0;
  char buf[4];
  for (char a : set)
    for (char b : set)
      for (char c : set)
        for (char d : set) {
          buf[0] = a, buf[1] = b, buf[2] = c, buf[3] = d;
          ASSERT_TRUE(same_as_reference({buf, 4}));
          accepted += base64url_decode({buf, 4}).has_value();
        }
  EXPECT_EQ(accepted, std::size_t(16) * 16 * 16 * 16);  // exactly the all-alphabet strings
}

TEST(Base64UrlTable, MatchesReferenceOnRandomInputs) {
  std::mt19937_64 rng(20240611);
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::size_t accepted = 0;
  for (int iter = 0; iter < 200000; ++iter) {
    const std::size_t len = rng() % 70;
    std::string in(len, '\0');
    // Mostly valid text (so the tail and length rules are reached), with a random byte now and
    // then; every third input is fully random bytes.
    const bool any_byte = iter % 3 == 0;
    for (auto& ch : in)
      ch = any_byte || rng() % 64 == 0 ? char(rng() & 0xff) : alphabet[rng() % 64];
    ASSERT_TRUE(same_as_reference(in));
    accepted += base64url_decode(in).has_value();
  }
  EXPECT_GT(accepted, 10000u);  // the random walk does reach the accepting paths

  // Encodings of random bytes, then one character flipped: each must round-trip / agree.
  for (int iter = 0; iter < 50000; ++iter) {
    std::string bytes(rng() % 40, '\0');
    for (auto& ch : bytes) ch = char(rng() & 0xff);
    std::string text = base64url_encode(bytes);
    ASSERT_EQ(base64url_decode(text), bytes);
    if (text.empty()) continue;
    text[rng() % text.size()] = char(rng() & 0xff);
    ASSERT_TRUE(same_as_reference(text));
  }
}

}  // namespace
}  // namespace pc::core
