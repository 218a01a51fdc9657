#include "tenancy/tenant_id.h"

#include <gtest/gtest.h>

#include <string>

#include "tenancy/tiers.h"

namespace pc::tenancy {
namespace {

TEST(TenantId, AcceptsIdsOfThePattern) {
  for (const char* id : {"abc", "acme", "a-b", "a1b", "ab9", "demo", "tenant-42", "x0-0-0-z",
                         "abcdefghijklmnopqrstuvwxyz012345"})  // 32 characters: the longest
    EXPECT_TRUE(is_valid_tenant_id(id)) << id;
}

TEST(TenantId, RefusesIdsOutsideThePattern) {
  for (const char* id : {"", "a", "ab",                       // shorter than 3
                         "abcdefghijklmnopqrstuvwxyz0123456",  // 33 characters
                         "1abc", "-abc", "abc-", "Abc", "aBc", "abC", "a_b", "a.b", "a b", "ab/", "ab\n",
                         "ab\xc3\xa9", "\xc3\xa9" "ab"})
    EXPECT_FALSE(is_valid_tenant_id(id)) << id;
  EXPECT_FALSE(is_valid_tenant_id(std::string("ab\0c", 4)));
}

TEST(TenantId, ConsecutiveHyphensAreAllowedByThePattern) {
  // ^[a-z](?:[a-z0-9-]{1,30}[a-z0-9])$ does not forbid "--" in the middle.
  EXPECT_TRUE(is_valid_tenant_id("a--b"));
}

TEST(TenantId, ReservedIds) {
  for (const char* id : {"platform", "admin", "root", "system", "stub"}) EXPECT_TRUE(is_reserved_tenant_id(id)) << id;
  for (const char* id : {"acme", "platforms", "Admin", "roots", "", "stubs", "sys"})
    EXPECT_FALSE(is_reserved_tenant_id(id)) << id;
  EXPECT_EQ(kPlatformTenant, "platform");
}

// Issue 8 item 19: configured tiers rank by their configured rank, everywhere tiers compare.
TEST(Tiers, ConfiguredRanksAreUsed) {
  TierRanks ranks = builtin_tier_ranks();
  ranks["gold"] = 3;
  ranks["silver"] = 1;
  publish_tier_ranks(ranks);
  EXPECT_EQ(tier_rank("gold"), 3);
  EXPECT_TRUE(tier_meets("gold", "premium"));
  EXPECT_FALSE(tier_meets("premium", "gold"));
  EXPECT_TRUE(tier_meets("silver", "standard")) << "equal ranks meet each other";
  EXPECT_TRUE(tier_meets("standard", "silver"));
  EXPECT_FALSE(tier_meets("silver", "premium"));
  EXPECT_FALSE(tier_meets("bronze", "basic")) << "a name that is not configured still meets nothing";
  publish_tier_ranks(builtin_tier_ranks());
  EXPECT_EQ(tier_rank("gold"), -1);
}

TEST(Tiers, RankAndMinimum) {
  EXPECT_EQ(tier_rank("basic"), 0);
  EXPECT_EQ(tier_rank("standard"), 1);
  EXPECT_EQ(tier_rank("premium"), 2);
  EXPECT_EQ(tier_rank("gold"), -1);
  EXPECT_EQ(tier_rank("Basic"), -1);
  EXPECT_EQ(tier_rank(""), -1);

  EXPECT_TRUE(tier_meets("premium", "basic"));
  EXPECT_TRUE(tier_meets("standard", "standard"));
  EXPECT_TRUE(tier_meets("basic", "basic"));
  EXPECT_FALSE(tier_meets("basic", "standard"));
  EXPECT_FALSE(tier_meets("standard", "premium"));
  // Unknown tiers meet nothing and are met by nothing.
  EXPECT_FALSE(tier_meets("gold", "basic"));
  EXPECT_FALSE(tier_meets("premium", "gold"));
  EXPECT_FALSE(tier_meets("", ""));
}

}  // namespace
}  // namespace pc::tenancy
