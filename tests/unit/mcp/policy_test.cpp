#include "mcp/policy.h"

#include <gtest/gtest.h>

namespace pc::mcp {
namespace {

core::McpPolicyRule rule(std::string tenant, std::string server, std::string tool, std::vector<std::string> roles,
                         std::string effect = "allow") {
  core::McpPolicyRule r;
  r.tenant = std::move(tenant);
  r.server = std::move(server);
  r.tool = std::move(tool);
  r.roles = std::move(roles);
  r.effect = std::move(effect);
  return r;
}

const std::vector<std::string> kInvoke{"Agent.Invoke"};

TEST(McpPolicy, NoRulesAllowsEverything) { EXPECT_TRUE(policy_allows({}, "acme", kInvoke, "weather", "forecast")); }

TEST(McpPolicy, RulesPresentAndNoneMatchesDenies) {
  std::vector<core::McpPolicyRule> rules{rule("acme", "weather", "forecast", {})};
  EXPECT_TRUE(policy_allows(rules, "acme", kInvoke, "weather", "forecast"));
  EXPECT_FALSE(policy_allows(rules, "globex", kInvoke, "weather", "forecast"));
  EXPECT_FALSE(policy_allows(rules, "acme", kInvoke, "weather2", "forecast"));
  EXPECT_FALSE(policy_allows(rules, "acme", kInvoke, "weather", "forecast2"));
  EXPECT_FALSE(policy_allows(rules, "acme", kInvoke, "weather", "Forecast"));  // exact, case-sensitive
}

TEST(McpPolicy, FirstMatchDecides) {
  std::vector<core::McpPolicyRule> rules{rule("", "", "delete_*", {}, "deny"), rule("*", "*", "*", {})};
  EXPECT_FALSE(policy_allows(rules, "acme", kInvoke, "files", "delete_all"));
  EXPECT_FALSE(policy_allows(rules, "acme", kInvoke, "files", "delete_"));
  EXPECT_TRUE(policy_allows(rules, "acme", kInvoke, "files", "read"));
  EXPECT_TRUE(policy_allows(rules, "acme", kInvoke, "files", "delet"));
  // Reversed: the allow-all comes first and wins.
  std::vector<core::McpPolicyRule> reversed{rule("*", "*", "*", {}), rule("", "", "delete_*", {}, "deny")};
  EXPECT_TRUE(policy_allows(reversed, "acme", kInvoke, "files", "delete_all"));
}

TEST(McpPolicy, RolesAreAnyOf) {
  std::vector<core::McpPolicyRule> rules{rule("", "admin", "*", {"Agent.Developer", "Tenant.Admin"})};
  EXPECT_TRUE(policy_allows(rules, "acme", {"Agent.Invoke", "Agent.Developer"}, "admin", "x"));
  EXPECT_FALSE(policy_allows(rules, "acme", kInvoke, "admin", "x"));
  EXPECT_FALSE(policy_allows(rules, "acme", {}, "admin", "x"));
}

TEST(McpPolicy, StarOnlyAsSuffixGlob) {
  std::vector<core::McpPolicyRule> rules{rule("", "", "get*", {})};
  EXPECT_TRUE(policy_allows(rules, "t", kInvoke, "s", "get"));
  EXPECT_TRUE(policy_allows(rules, "t", kInvoke, "s", "get_user"));
  EXPECT_FALSE(policy_allows(rules, "t", kInvoke, "s", "forget"));
  // A star elsewhere is literal.
  std::vector<core::McpPolicyRule> mid{rule("", "", "a*b", {})};
  EXPECT_FALSE(policy_allows(mid, "t", kInvoke, "s", "axxb"));
  // Tenant and server have no globs: "acme*" names a tenant literally called that.
  std::vector<core::McpPolicyRule> tenant_glob{rule("acme*", "", "", {})};
  EXPECT_FALSE(policy_allows(tenant_glob, "acme-eu", kInvoke, "s", "t"));
}

TEST(McpPolicy, DenyEffectAndUnknownEffectDeny) {
  std::vector<core::McpPolicyRule> rules{rule("acme", "", "", {}, "deny"), rule("", "", "", {})};
  EXPECT_FALSE(policy_allows(rules, "acme", kInvoke, "s", "t"));
  EXPECT_TRUE(policy_allows(rules, "globex", kInvoke, "s", "t"));
  std::vector<core::McpPolicyRule> odd{rule("", "", "", {}, "maybe")};
  EXPECT_FALSE(policy_allows(odd, "acme", kInvoke, "s", "t"));
}

}  // namespace
}  // namespace pc::mcp
