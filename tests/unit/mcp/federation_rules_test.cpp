// The federation's pure decisions: the one rule set for listing and calling, the naming of
// clashing tools, and cursors that a client can neither forge nor carry elsewhere.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/base64url.h"
#include "mcp/federated_names.h"
#include "mcp/server.h"
#include "mcp/tool_rules.h"
#include "store/records.h"
#include "tenancy/capabilities.h"

namespace pc::mcp {
namespace {

store::CapabilityRecord cap(std::string name, bool enabled = true) {
  store::CapabilityRecord r;
  r.name = std::move(name);
  r.enabled = enabled;
  return r;
}

ServerEntry server(std::string tenant, std::string name) {
  ServerEntry s;
  s.tenant = std::move(tenant);
  s.name = std::move(name);
  return s;
}

struct RulesTest : ::testing::Test {
  tenancy::Capabilities caps;
  std::vector<std::string> policy_calls;
  bool policy_answer = true;
  ToolRules rules{&caps, [this](std::string_view, const std::vector<std::string>&, std::string_view s,
                               std::string_view t) {
                    policy_calls.push_back(std::string(s) + "/" + std::string(t));
                    return policy_answer;
                  }};
  RuleSubject acme{"acme", "standard", {"Agent.Invoke"}};
  void SetUp() override { caps.publish({cap("tools.weather"), cap("tools.off", false), cap("tools.mine")}); }
};

TEST_F(RulesTest, AllowsWhatEveryRuleAllows) {
  auto w = server("", "weather");
  EXPECT_TRUE(rules.allows_server(acme, w));
  EXPECT_TRUE(rules.allows_tool(acme, w, "forecast"));
  EXPECT_EQ(policy_calls, std::vector<std::string>{"weather/forecast"});
  EXPECT_TRUE(rules.allows_tool(acme, server("acme", "mine"), "x"));
}

TEST_F(RulesTest, EachRuleAloneRefuses) {
  auto w = server("", "weather");
  {
    auto s = w;
    s.enabled = false;
    EXPECT_FALSE(rules.allows_tool(acme, s, "forecast"));
  }
  {
    auto s = w;
    s.tier_minimum = "premium";
    EXPECT_FALSE(rules.allows_tool(acme, s, "forecast"));
    RuleSubject premium = acme;
    premium.tier = "premium";
    EXPECT_TRUE(rules.allows_tool(premium, s, "forecast"));
    RuleSubject unknown = acme;
    unknown.tier = "gold";  // not a tier: meets no minimum
    EXPECT_FALSE(rules.allows_tool(unknown, w, "forecast"));
  }
  {
    auto s = w;
    s.disabled_tools = {"forecast"};
    EXPECT_FALSE(rules.allows_tool(acme, s, "forecast"));
    EXPECT_TRUE(rules.allows_tool(acme, s, "alerts"));
  }
  EXPECT_FALSE(rules.allows_tool(acme, server("", "off"), "x"));      // capability disabled
  EXPECT_FALSE(rules.allows_tool(acme, server("", "missing"), "x"));  // no capability: denied
  EXPECT_FALSE(rules.allows_tool(acme, server("globex", "mine"), "x"));  // another tenant's server
  RuleSubject reader = acme;
  reader.roles = {"SelfService.Admin"};
  EXPECT_FALSE(rules.allows_tool(reader, w, "forecast"));
  RuleSubject platform{"platform", "premium", {"Agent.Invoke", "Platform.Admin"}};
  EXPECT_FALSE(rules.allows_tool(platform, w, "forecast"));
  policy_answer = false;
  EXPECT_FALSE(rules.allows_tool(acme, w, "forecast"));
  EXPECT_TRUE(rules.allows_server(acme, w));  // policy is per tool
}

TEST_F(RulesTest, NoCapabilitiesOrPolicyOrAThrowingPolicyDenies) {
  ToolRules none(nullptr, [](auto, auto&, auto, auto) { return true; });
  EXPECT_FALSE(none.allows_tool(acme, server("", "weather"), "forecast"));
  ToolRules no_policy(&caps, {});
  EXPECT_FALSE(no_policy.allows_tool(acme, server("", "weather"), "forecast"));
  ToolRules throwing(&caps, [](auto, auto&, auto, auto) -> bool { throw std::runtime_error("x"); });
  EXPECT_FALSE(throwing.allows_tool(acme, server("", "weather"), "forecast"));
}

TEST(Names, ClashesArePrefixedOthersKeepTheirName) {
  std::vector<OfferedName> items{{"alpha", "echo"}, {"alpha", "add"}, {"beta", "echo"}, {"beta", "lookup"}};
  auto names = exposed_names(items);
  EXPECT_EQ(names, (std::vector<std::string>{"alpha__echo", "add", "beta__echo", "lookup"}));
  EXPECT_EQ(resolve_exposed("alpha__echo", items), 0u);
  EXPECT_EQ(resolve_exposed("beta__echo", items), 2u);
  EXPECT_EQ(resolve_exposed("add", items), 1u);
  EXPECT_EQ(resolve_exposed("alpha__add", items), 1u);  // prefixed always works
  EXPECT_FALSE(resolve_exposed("echo", items));          // ambiguous
  EXPECT_FALSE(resolve_exposed("gamma__echo", items));   // no such server
  EXPECT_FALSE(resolve_exposed("beta__add", items));     // beta has no add
  EXPECT_FALSE(resolve_exposed("nope", items));
}

TEST(Names, ABareNameThatReadsAsAnotherToolsPrefixedNameIsPrefixed) {
  // gamma offers a tool literally named "alpha__add": shown bare it would mean alpha's add.
  std::vector<OfferedName> items{{"alpha", "add"}, {"gamma", "alpha__add"}, {"gamma", "x__y"}};
  auto names = exposed_names(items);
  EXPECT_EQ(names, (std::vector<std::string>{"add", "gamma__alpha__add", "x__y"}));
  EXPECT_EQ(resolve_exposed("alpha__add", items), 0u);
  EXPECT_EQ(resolve_exposed("gamma__alpha__add", items), 1u);
  EXPECT_EQ(resolve_exposed("x__y", items), 2u);
}

TEST(Cursor, RoundTripsAndRefusesForgeriesAndOtherContexts) {
  CursorCodec codec(std::string(32, 'k'));
  ListPosition pos{"tools/list", "sess-1", "/beta", 3};
  auto c = codec.encode(pos);
  auto back = codec.decode(c, "tools/list", "sess-1");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->server_key, "/beta");
  EXPECT_EQ(back->index, 3u);
  EXPECT_FALSE(codec.decode(c, "prompts/list", "sess-1"));  // another list
  EXPECT_FALSE(codec.decode(c, "tools/list", "sess-2"));    // another session
  CursorCodec other(std::string(32, 'z'));
  EXPECT_FALSE(other.decode(c, "tools/list", "sess-1"));  // another key
  // A payload edited to name another server, with the old tag: refused.
  auto forged_payload = core::base64url_encode(R"({"m":"tools/list","s":"sess-1","k":"globex/secret","i":0})");
  EXPECT_FALSE(codec.decode(forged_payload + c.substr(c.find('.')), "tools/list", "sess-1"));
  EXPECT_FALSE(codec.decode("", "tools/list", "sess-1"));
  EXPECT_FALSE(codec.decode("garbage", "tools/list", "sess-1"));
  EXPECT_FALSE(codec.decode(c + "x", "tools/list", "sess-1"));
  EXPECT_THROW(CursorCodec("short"), std::invalid_argument);
}

}  // namespace
}  // namespace pc::mcp
