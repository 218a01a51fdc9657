#include "tenancy/capabilities.h"

#include <gtest/gtest.h>

namespace pc::tenancy {
namespace {

store::CapabilityRecord cap(std::string name) {
  store::CapabilityRecord c;
  c.name = std::move(name);
  c.enabled = true;
  return c;
}

TEST(Capabilities, MissingIsDenied) {
  Capabilities caps;
  auto d = caps.evaluate("agents.echo", "acme", "premium");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "missing");
}

TEST(Capabilities, EnabledIsAllowedAndDisabledIsDenied) {
  Capabilities caps;
  auto off = cap("agents.off");
  off.enabled = false;
  caps.publish({cap("agents.echo"), off});
  EXPECT_TRUE(caps.allows("agents.echo", "acme", "basic"));
  EXPECT_EQ(caps.evaluate("agents.off", "acme", "basic").reason, "disabled");
}

TEST(Capabilities, KillListOverridesEverything) {
  Capabilities caps;
  auto c = cap("tools.search");
  c.killed = true;
  c.tenant_allow_list = {"acme"};
  caps.publish({c});
  EXPECT_EQ(caps.evaluate("tools.search", "acme", "premium").reason, "killed");
}

TEST(Capabilities, TierAndTenantAllowLists) {
  Capabilities caps;
  auto c = cap("agents.pro");
  c.tier_allow_list = {"premium"};
  auto t = cap("agents.beta");
  t.tenant_allow_list = {"acme"};
  caps.publish({c, t});
  EXPECT_TRUE(caps.allows("agents.pro", "acme", "premium"));
  EXPECT_EQ(caps.evaluate("agents.pro", "acme", "standard").reason, "tier");
  EXPECT_TRUE(caps.allows("agents.beta", "acme", "basic"));
  EXPECT_EQ(caps.evaluate("agents.beta", "demo", "basic").reason, "tenant");
}

TEST(Capabilities, RolloutIsStableAndMonotonic) {
  // A tenant allowed at p% stays allowed at every larger percentage, and the share allowed
  // tracks the percentage.
  int allowed_at_30 = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string tenant = "t" + std::to_string(i);
    const int bucket = rollout_bucket("agents.new", tenant);
    ASSERT_GE(bucket, 0);
    ASSERT_LT(bucket, 100);
    EXPECT_EQ(bucket, rollout_bucket("agents.new", tenant));  // stable
    auto c = cap("agents.new");
    c.rollout_percentage = 30;
    const bool at30 = evaluate(&c, tenant, "basic").allowed;
    c.rollout_percentage = 60;
    const bool at60 = evaluate(&c, tenant, "basic").allowed;
    EXPECT_TRUE(!at30 || at60);
    allowed_at_30 += at30;
  }
  EXPECT_GT(allowed_at_30, 2000 * 25 / 100);
  EXPECT_LT(allowed_at_30, 2000 * 35 / 100);
}

TEST(Capabilities, RolloutZeroDeniesAndHundredAllowsEveryone) {
  auto c = cap("x");
  c.rollout_percentage = 0;
  EXPECT_EQ(evaluate(&c, "acme", "basic").reason, "rollout");
  c.rollout_percentage = 100;
  EXPECT_TRUE(evaluate(&c, "acme", "basic").allowed);
}

TEST(Capabilities, MalformedPercentageDenies) {
  auto c = cap("x");
  c.rollout_percentage = 101;
  EXPECT_EQ(evaluate(&c, "acme", "basic").reason, "invalid");
  c.rollout_percentage = -1;
  EXPECT_FALSE(evaluate(&c, "acme", "basic").allowed);
}

TEST(Capabilities, Names) {
  EXPECT_TRUE(is_valid_capability_name("agents.invoke"));
  EXPECT_TRUE(is_valid_capability_name("tools.search-web"));
  EXPECT_FALSE(is_valid_capability_name(""));
  EXPECT_FALSE(is_valid_capability_name("Agents.X"));
  EXPECT_FALSE(is_valid_capability_name("agents..x"));
  EXPECT_FALSE(is_valid_capability_name(".x"));
  EXPECT_FALSE(is_valid_capability_name("a b"));
}

}  // namespace
}  // namespace pc::tenancy
