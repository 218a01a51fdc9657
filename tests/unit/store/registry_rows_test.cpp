// Capabilities, agents and agent versions: upserts, duplicates, and the one-promoted-version
// invariant through promotion and rollback. Runs on every backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "store/store.h"
#include "support/test_store.h"

namespace pc::store {
namespace {

AgentRecord agent(std::string name, std::string tier = "basic") {
  AgentRecord a;
  a.name = std::move(name);
  a.description = "an agent";
  a.tier_minimum = std::move(tier);
  a.protocol = "http";
  return a;
}

AgentVersionRecord version(std::string agent, std::string v, std::string created_at = "") {
  AgentVersionRecord r;
  r.agent = std::move(agent);
  r.version = std::move(v);
  r.endpoint = "http://127.0.0.1:9000/" + r.version;
  r.created_at = std::move(created_at);
  return r;
}

CapabilityRecord capability(std::string name) {
  CapabilityRecord c;
  c.name = std::move(name);
  c.enabled = true;
  c.rollout_percentage = 25;
  c.tier_allow_list = {"standard", "premium"};
  c.tenant_allow_list = {"acme"};
  c.description = "first";
  return c;
}

class RegistryRowsTest : public pc::testing::BackendTest {
 protected:
  // version -> status of one agent's versions.
  std::vector<std::string> statuses(const std::string& name) {
    auto vs = store().agent_versions(name);
    std::sort(vs.begin(), vs.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
    std::vector<std::string> out;
    for (const auto& v : vs) out.push_back(v.version + "=" + v.status);
    return out;
  }

  int promoted_count(const std::string& name) {
    auto vs = store().agent_versions(name);
    return static_cast<int>(std::count_if(vs.begin(), vs.end(), [](const auto& v) { return v.status == "promoted"; }));
  }
};

TEST_P(RegistryRowsTest, CapabilityUpsertInsertsThenReplacesEveryField) {
  store().upsert_capability(capability("tools.search"));
  auto list = store().list_capabilities();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].name, "tools.search");
  EXPECT_TRUE(list[0].enabled);
  EXPECT_EQ(list[0].rollout_percentage, 25);
  EXPECT_EQ(list[0].tier_allow_list, (std::vector<std::string>{"standard", "premium"}));
  EXPECT_EQ(list[0].tenant_allow_list, std::vector<std::string>{"acme"});
  EXPECT_FALSE(list[0].killed);
  EXPECT_EQ(list[0].description, "first");
  EXPECT_EQ(list[0].updated_at.size(), 24u) << list[0].updated_at;

  CapabilityRecord changed;
  changed.name = "tools.search";
  changed.enabled = false;
  changed.rollout_percentage = 0;
  changed.killed = true;
  changed.description = "second";
  store().upsert_capability(changed);
  list = store().list_capabilities();
  ASSERT_EQ(list.size(), 1u);  // replaced, not added
  EXPECT_FALSE(list[0].enabled);
  EXPECT_EQ(list[0].rollout_percentage, 0);
  // Emptied lists must be stored empty, or a tenant removed from the allow list keeps access.
  EXPECT_TRUE(list[0].tier_allow_list.empty());
  EXPECT_TRUE(list[0].tenant_allow_list.empty());
  EXPECT_TRUE(list[0].killed);
  EXPECT_EQ(list[0].description, "second");
}

TEST_P(RegistryRowsTest, CapabilitiesListByNameAndDelete) {
  store().upsert_capability(capability("tools.search"));
  store().upsert_capability(capability("agents.invoke"));
  store().upsert_capability(capability("agents.echo"));
  auto list = store().list_capabilities();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].name, "agents.echo");
  EXPECT_EQ(list[1].name, "agents.invoke");
  EXPECT_EQ(list[2].name, "tools.search");

  EXPECT_TRUE(store().delete_capability("agents.invoke"));
  EXPECT_FALSE(store().delete_capability("agents.invoke"));
  EXPECT_FALSE(store().delete_capability("never.existed"));
  list = store().list_capabilities();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "agents.echo");
  EXPECT_EQ(list[1].name, "tools.search");
}

TEST_P(RegistryRowsTest, AgentInsertFindListAndDuplicate) {
  store().insert_agent(agent("summarise", "premium"));
  store().insert_agent(agent("echo"));
  auto found = store().find_agent("summarise");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->name, "summarise");
  EXPECT_EQ(found->description, "an agent");
  EXPECT_EQ(found->tier_minimum, "premium");
  EXPECT_EQ(found->protocol, "http");
  EXPECT_EQ(found->created_at.size(), 24u);
  EXPECT_FALSE(found->updated_at.empty());
  EXPECT_FALSE(store().find_agent("missing").has_value());

  auto list = store().list_agents();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "echo");
  EXPECT_EQ(list[1].name, "summarise");

  try {
    store().insert_agent(agent("echo", "premium"));
    FAIL() << "a duplicate agent must throw";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::duplicate);
    EXPECT_NE(std::string(e.what()).find("insert agent echo"), std::string::npos) << e.what();
  }
  EXPECT_EQ(store().find_agent("echo")->tier_minimum, "basic");
}

TEST_P(RegistryRowsTest, UpdateAgentChangesItsSettingsOnly) {
  AgentRecord a = agent("echo");
  a.created_at = "2000-01-01T00:00:00.000Z";
  store().insert_agent(a);
  AgentRecord changed = agent("echo", "standard");
  changed.description = "now with a2a";
  changed.protocol = "a2a";
  changed.created_at = "2030-01-01T00:00:00.000Z";  // not a setting: must be ignored
  EXPECT_TRUE(store().update_agent(changed));
  auto got = store().find_agent("echo");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->description, "now with a2a");
  EXPECT_EQ(got->tier_minimum, "standard");
  EXPECT_EQ(got->protocol, "a2a");
  EXPECT_EQ(got->created_at, "2000-01-01T00:00:00.000Z");
  EXPECT_GT(got->updated_at, got->created_at);

  EXPECT_FALSE(store().update_agent(agent("missing")));
  EXPECT_FALSE(store().find_agent("missing").has_value());  // an update never creates
}

TEST_P(RegistryRowsTest, VersionsComeNewestFirstAndDuplicatesThrow) {
  store().insert_agent(agent("echo"));
  // Registered in this order; "1.10" sorts before "1.9" as text, so only time orders them right.
  store().insert_agent_version(version("echo", "1.9", "2026-01-01T00:00:00.000Z"));
  store().insert_agent_version(version("echo", "1.10", "2026-01-02T00:00:00.000Z"));
  store().insert_agent_version(version("echo", "1.11", "2026-01-03T00:00:00.000Z"));
  auto vs = store().agent_versions("echo");
  ASSERT_EQ(vs.size(), 3u);
  EXPECT_EQ(vs[0].version, "1.11");
  EXPECT_EQ(vs[1].version, "1.10");
  EXPECT_EQ(vs[2].version, "1.9");
  EXPECT_EQ(vs[2].agent, "echo");
  EXPECT_EQ(vs[2].endpoint, "http://127.0.0.1:9000/1.9");
  EXPECT_EQ(vs[2].status, "built");
  EXPECT_TRUE(store().agent_versions("other").empty());

  try {
    store().insert_agent_version(version("echo", "1.10"));
    FAIL() << "a duplicate version must throw";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::duplicate);
    EXPECT_NE(std::string(e.what()).find("echo@1.10"), std::string::npos) << e.what();
  }
  EXPECT_EQ(store().agent_versions("echo").size(), 3u);
}

TEST_P(RegistryRowsTest, AVersionOfAnUnknownAgentIsRefused) {
  // A version nobody can list or delete through its agent would be unreachable garbage.
  EXPECT_THROW(store().insert_agent_version(version("ghost", "1")), StoreError);
  EXPECT_TRUE(store().agent_versions("ghost").empty());
}

TEST_P(RegistryRowsTest, PromotionKeepsExactlyOnePromotedVersion) {
  store().insert_agent(agent("echo"));
  for (std::string v : {"1", "2", "3"}) store().insert_agent_version(version("echo", v));

  EXPECT_TRUE(store().promote_agent_version("echo", "1", "superseded"));
  EXPECT_EQ(statuses("echo"), (std::vector<std::string>{"1=promoted", "2=built", "3=built"}));
  EXPECT_TRUE(store().promote_agent_version("echo", "2", "superseded"));
  EXPECT_EQ(statuses("echo"), (std::vector<std::string>{"1=superseded", "2=promoted", "3=built"}));
  // A rollback returns to an earlier version and marks the bad one.
  EXPECT_TRUE(store().promote_agent_version("echo", "1", "rolled_back"));
  EXPECT_EQ(statuses("echo"), (std::vector<std::string>{"1=promoted", "2=rolled_back", "3=built"}));
  EXPECT_EQ(promoted_count("echo"), 1);
}

TEST_P(RegistryRowsTest, PromotingThePromotedVersionAgainChangesNothing) {
  store().insert_agent(agent("echo"));
  store().insert_agent_version(version("echo", "1"));
  ASSERT_TRUE(store().promote_agent_version("echo", "1", "superseded"));
  // A client retrying after a timeout promotes again: that succeeds and the version stays promoted.
  EXPECT_TRUE(store().promote_agent_version("echo", "1", "superseded"));
  EXPECT_EQ(statuses("echo"), std::vector<std::string>{"1=promoted"});
}

TEST_P(RegistryRowsTest, PromotingAnUnknownVersionFailsAndKeepsTheCurrentOne) {
  store().insert_agent(agent("echo"));
  store().insert_agent_version(version("echo", "1"));
  ASSERT_TRUE(store().promote_agent_version("echo", "1", "superseded"));
  EXPECT_FALSE(store().promote_agent_version("echo", "9", "superseded"));
  EXPECT_FALSE(store().promote_agent_version("ghost", "1", "superseded"));
  EXPECT_EQ(statuses("echo"), std::vector<std::string>{"1=promoted"});
}

TEST_P(RegistryRowsTest, PreviousStatusPromotedIsRefused) {
  store().insert_agent(agent("echo"));
  store().insert_agent_version(version("echo", "1"));
  store().insert_agent_version(version("echo", "2"));
  ASSERT_TRUE(store().promote_agent_version("echo", "1", "superseded"));
  EXPECT_THROW(store().promote_agent_version("echo", "2", "promoted"), StoreError);
  EXPECT_EQ(statuses("echo"), (std::vector<std::string>{"1=promoted", "2=built"}));
}

TEST_P(RegistryRowsTest, TheSchemaRefusesASecondPromotedVersion) {
  store().insert_agent(agent("echo"));
  AgentVersionRecord v1 = version("echo", "1");
  v1.status = "promoted";
  store().insert_agent_version(v1);
  AgentVersionRecord v2 = version("echo", "2");
  v2.status = "promoted";
  // Two gateways promoting at once must not both win, whatever path they take.
  EXPECT_THROW(store().insert_agent_version(v2), StoreError);
  EXPECT_EQ(promoted_count("echo"), 1);
  // The invariant is per agent.
  store().insert_agent(agent("other"));
  AgentVersionRecord o1 = version("other", "1");
  o1.status = "promoted";
  EXPECT_NO_THROW(store().insert_agent_version(o1));
}

TEST_P(RegistryRowsTest, PromotionOfOneAgentLeavesOthersAlone) {
  store().insert_agent(agent("echo"));
  store().insert_agent(agent("summarise"));
  store().insert_agent_version(version("echo", "1"));
  store().insert_agent_version(version("echo", "2"));
  store().insert_agent_version(version("summarise", "1"));
  ASSERT_TRUE(store().promote_agent_version("summarise", "1", "superseded"));
  ASSERT_TRUE(store().promote_agent_version("echo", "1", "superseded"));
  ASSERT_TRUE(store().promote_agent_version("echo", "2", "superseded"));
  EXPECT_EQ(statuses("summarise"), std::vector<std::string>{"1=promoted"});
}

TEST_P(RegistryRowsTest, PromotedAgentsPairsEachAgentWithItsPromotedVersion) {
  store().insert_agent(agent("zulu", "premium"));
  store().insert_agent(agent("alpha"));
  store().insert_agent(agent("unreleased"));
  store().insert_agent_version(version("zulu", "1"));
  store().insert_agent_version(version("zulu", "2"));
  store().insert_agent_version(version("alpha", "7"));
  store().insert_agent_version(version("unreleased", "1"));
  ASSERT_TRUE(store().promote_agent_version("zulu", "1", "superseded"));
  ASSERT_TRUE(store().promote_agent_version("zulu", "2", "superseded"));
  ASSERT_TRUE(store().promote_agent_version("alpha", "7", "superseded"));

  auto promoted = store().promoted_agents();
  ASSERT_EQ(promoted.size(), 2u);  // "unreleased" has no promoted version: not invocable
  EXPECT_EQ(promoted[0].first.name, "alpha");
  EXPECT_EQ(promoted[0].second.agent, "alpha");
  EXPECT_EQ(promoted[0].second.version, "7");
  EXPECT_EQ(promoted[1].first.name, "zulu");
  EXPECT_EQ(promoted[1].first.tier_minimum, "premium");
  EXPECT_EQ(promoted[1].second.version, "2");
  EXPECT_EQ(promoted[1].second.status, "promoted");
  EXPECT_EQ(promoted[1].second.endpoint, "http://127.0.0.1:9000/2");
}

TEST_P(RegistryRowsTest, DeleteAgentRemovesItsVersions) {
  store().insert_agent(agent("echo"));
  store().insert_agent(agent("keep"));
  store().insert_agent_version(version("echo", "1"));
  store().insert_agent_version(version("echo", "2"));
  store().insert_agent_version(version("keep", "1"));
  ASSERT_TRUE(store().promote_agent_version("echo", "2", "superseded"));

  EXPECT_TRUE(store().delete_agent("echo"));
  EXPECT_FALSE(store().find_agent("echo").has_value());
  EXPECT_TRUE(store().agent_versions("echo").empty());
  EXPECT_FALSE(store().delete_agent("echo"));
  EXPECT_EQ(store().agent_versions("keep").size(), 1u);

  // A new agent reusing the name starts without the old versions (the old promoted one would
  // otherwise be served at once).
  store().insert_agent(agent("echo"));
  EXPECT_TRUE(store().agent_versions("echo").empty());
  EXPECT_TRUE(store().promoted_agents().empty());
  EXPECT_NO_THROW(store().insert_agent_version(version("echo", "2")));
}

PC_ALL_BACKENDS(RegistryRowsTest);

}  // namespace
}  // namespace pc::store
