#include "crypto/random.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace pc::crypto {
namespace {

TEST(Random, BytesHaveTheRequestedLength) {
  EXPECT_EQ(random_bytes(0).size(), 0u);
  EXPECT_EQ(random_bytes(1).size(), 1u);
  EXPECT_EQ(random_bytes(32).size(), 32u);
  EXPECT_EQ(random_bytes(4096).size(), 4096u);
}

TEST(Random, ValuesAreUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(seen.insert(random_bytes(16)).second);
}

TEST(Random, TokenIsUnpaddedBase64Url) {
  const std::regex alphabet("^[A-Za-z0-9_-]*$");
  EXPECT_EQ(random_token(32).size(), 43u);
  EXPECT_EQ(random_token(16).size(), 22u);
  EXPECT_EQ(random_token(3).size(), 4u);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(std::regex_match(random_token(32), alphabet));
  EXPECT_NE(random_token(32), random_token(32));
}

TEST(Random, HexIsLowercaseAndTwiceTheLength) {
  std::string h = random_hex(8);
  EXPECT_EQ(h.size(), 16u);
  EXPECT_TRUE(std::regex_match(h, std::regex("^[0-9a-f]{16}$")));
}

TEST(Random, UuidV4HasVersionAndVariant) {
  const std::regex form("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string u = uuid_v4();
    EXPECT_TRUE(std::regex_match(u, form)) << u;
    EXPECT_TRUE(seen.insert(u).second);
  }
}

}  // namespace
}  // namespace pc::crypto
