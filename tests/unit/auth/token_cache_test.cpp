#include "auth/token_cache.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace pc::auth {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;

std::shared_ptr<const Principal> principal(std::string sub) {
  auto p = std::make_shared<Principal>();
  p->subject = std::move(sub);
  p->tenant = "acme";
  return p;
}

TEST(TokenCache, DigestIsSha256OfTheToken) {
  // SHA-256("abc"), FIPS 180-2 test vector.
  const TokenCache::Digest d = TokenCache::digest("abc");
  const unsigned char want[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
                                  0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
                                  0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  EXPECT_TRUE(std::equal(d.begin(), d.end(), want));
  EXPECT_EQ(TokenCache::digest("abc"), d);  // stable (the per-thread context is reset each time)
}

TEST(TokenCache, DigestDiffersForOneChangedByte) {
  std::string token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl";
  const auto base = TokenCache::digest(token);
  std::set<TokenCache::Digest> seen{base};
  for (std::size_t i = 0; i < token.size(); ++i) {
    std::string t = token;
    t[i] = static_cast<char>(t[i] ^ 0x01);
    EXPECT_TRUE(seen.insert(TokenCache::digest(t)).second) << "byte " << i;
  }
  EXPECT_NE(TokenCache::digest(token + "A"), base);
  EXPECT_NE(TokenCache::digest(token.substr(1)), base);
  EXPECT_NE(TokenCache::digest(""), base);
}

TEST(TokenCache, HitReturnsTheSamePrincipal) {
  TokenCache c(16);
  auto p = principal("u1");
  const auto key = TokenCache::digest("token-1");
  EXPECT_EQ(c.find(key, kNow, 1), nullptr);
  c.insert(key, p, kNow + 60, 1, kNow);
  const auto* hit = c.find(key, kNow, 1);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->get(), p.get());
  EXPECT_EQ(c.find(TokenCache::digest("token-2"), kNow, 1), nullptr);
  EXPECT_EQ(c.size(), 1u);
}

TEST(TokenCache, EntryExpiresAtValidUntil) {
  TokenCache c(16);
  const auto key = TokenCache::digest("token-1");
  c.insert(key, principal("u1"), kNow + 60, 1, kNow);
  EXPECT_NE(c.find(key, kNow + 59, 1), nullptr);
  EXPECT_EQ(c.find(key, kNow + 60, 1), nullptr) << "valid_until is the first second the entry is unusable";
  EXPECT_EQ(c.size(), 0u) << "an expired entry is dropped when found";
  // And it stays gone even if the clock were to step back.
  EXPECT_EQ(c.find(key, kNow, 1), nullptr);
}

TEST(TokenCache, EpochMismatchIsAMiss) {
  TokenCache c(16);
  const auto key = TokenCache::digest("token-1");
  c.insert(key, principal("u1"), kNow + 60, 5, kNow);
  EXPECT_EQ(c.find(key, kNow, 6), nullptr);
  // The stale entry is dropped, not resurrected by the old epoch.
  EXPECT_EQ(c.find(key, kNow, 5), nullptr);
  c.insert(key, principal("u1"), kNow + 60, 6, kNow);
  EXPECT_NE(c.find(key, kNow, 6), nullptr);
  EXPECT_EQ(c.find(key, kNow, 4), nullptr);
}

TEST(TokenCache, InsertReplacesAnEntry) {
  TokenCache c(16);
  const auto key = TokenCache::digest("token-1");
  c.insert(key, principal("old"), kNow + 60, 1, kNow);
  c.insert(key, principal("new"), kNow + 120, 2, kNow);
  EXPECT_EQ(c.size(), 1u);
  const auto* hit = c.find(key, kNow + 100, 2);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ((*hit)->subject, "new");
}

TEST(TokenCache, NeverExceedsMaxEntries) {
  for (std::size_t max : {1u, 2u, 7u, 8u, 9u, 100u, 1000u}) {
    TokenCache c(max);
    for (int i = 0; i < 5000; ++i) {
      c.insert(TokenCache::digest("token-" + std::to_string(i)), principal("u"), kNow + 600, 1, kNow);
      ASSERT_LE(c.size(), max) << "max " << max << " after insert " << i;
    }
    EXPECT_GT(c.size(), 0u);
    // The newest entry is always kept.
    EXPECT_NE(c.find(TokenCache::digest("token-4999"), kNow, 1), nullptr) << max;
  }
}

TEST(TokenCache, MakingRoomDropsExpiredEntriesFirst) {
  TokenCache c(8);
  for (int i = 0; i < 4; ++i) c.insert(TokenCache::digest("live-" + std::to_string(i)), principal("u"), kNow + 600, 1, kNow);
  for (int i = 0; i < 4; ++i) c.insert(TokenCache::digest("dying-" + std::to_string(i)), principal("u"), kNow + 10, 1, kNow);
  ASSERT_EQ(c.size(), 8u);
  c.insert(TokenCache::digest("new"), principal("u"), kNow + 600, 1, kNow + 20);
  EXPECT_EQ(c.size(), 5u);
  for (int i = 0; i < 4; ++i) EXPECT_NE(c.find(TokenCache::digest("live-" + std::to_string(i)), kNow + 20, 1), nullptr);
  EXPECT_NE(c.find(TokenCache::digest("new"), kNow + 20, 1), nullptr);
}

TEST(TokenCache, ZeroEntriesCachesNothing) {
  TokenCache c(0);
  c.insert(TokenCache::digest("t"), principal("u"), kNow + 60, 1, kNow);
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.find(TokenCache::digest("t"), kNow, 1), nullptr);
}

TEST(TokenCache, ShrinkingTheBoundAppliesOnTheNextInsert) {
  TokenCache c(100);
  for (int i = 0; i < 100; ++i) c.insert(TokenCache::digest(std::to_string(i)), principal("u"), kNow + 60, 1, kNow);
  c.set_max_entries(10);
  c.insert(TokenCache::digest("x"), principal("u"), kNow + 60, 1, kNow);
  EXPECT_LE(c.size(), 10u);
}

TEST(TokenCache, ClearEmptiesTheCache) {
  TokenCache c(16);
  c.insert(TokenCache::digest("t"), principal("u"), kNow + 60, 1, kNow);
  c.clear();
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.find(TokenCache::digest("t"), kNow, 1), nullptr);
}

}  // namespace
}  // namespace pc::auth
