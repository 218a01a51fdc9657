// Upstream MCP servers in the store (issue 10, area "servers"): rows round-trip, the name rules
// within and across scopes (conflicts, also under concurrent inserts), the tenant handle's
// isolation, health reports, deleted and purged tenants. Runs on every backend.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"
#include "store/tenant_store.h"
#include "support/test_store.h"

namespace pc::store {
namespace {

McpServerRecord server(std::string id, std::string tenant, std::string name) {
  McpServerRecord s;
  s.server_id = std::move(id);
  s.tenant_id = std::move(tenant);
  s.name = std::move(name);
  s.url = "https://tools.example.com/mcp";
  s.auth_mode = "vault_secret";
  s.auth_secret = "search-key";
  s.auth_header = "X-Api-Key";
  s.tier_minimum = "standard";
  s.disabled_tools = {"drop_table", "rm"};
  s.timeout_ms = 5000;
  return s;
}

TenantRecord tenant(std::string id) {
  TenantRecord t;
  t.tenant_id = std::move(id);
  t.display_name = t.tenant_id;
  t.tier = "basic";
  return t;
}

StoreError::Kind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const StoreError& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no StoreError";
  return StoreError::Kind::other;
}

class McpServerRowsTest : public pc::testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    store().insert_tenant(tenant("acme"));
    store().insert_tenant(tenant("globex"));
  }
};

TEST_P(McpServerRowsTest, RowsRoundTripWithTheirHealthUnknown) {
  store().insert_mcp_server(server("mcps_1", "", "search"));
  auto got = store().find_mcp_server("mcps_1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->tenant_id, "");
  EXPECT_EQ(got->name, "search");
  EXPECT_EQ(got->url, "https://tools.example.com/mcp");
  EXPECT_EQ(got->auth_mode, "vault_secret");
  EXPECT_EQ(got->auth_secret, "search-key");
  EXPECT_EQ(got->auth_header, "X-Api-Key");
  EXPECT_EQ(got->tier_minimum, "standard");
  EXPECT_TRUE(got->enabled);
  EXPECT_EQ(got->disabled_tools, (std::vector<std::string>{"drop_table", "rm"}));
  EXPECT_EQ(got->timeout_ms, 5000);
  EXPECT_FALSE(got->created_at.empty());
  EXPECT_EQ(got->status, "unknown");
  EXPECT_EQ(got->checked_at, "");
  EXPECT_EQ(got->last_tools, "");
  EXPECT_TRUE(store().find_mcp_server_named("", "search"));
  EXPECT_FALSE(store().find_mcp_server_named("acme", "search"));
  EXPECT_FALSE(store().find_mcp_server("mcps_nope"));
}

TEST_P(McpServerRowsTest, NamesAreUniqueWithinAScopeAndAcrossGlobalAndTenants) {
  store().insert_mcp_server(server("mcps_g", "", "search"));
  store().insert_mcp_server(server("mcps_a", "acme", "crm"));
  // Same scope: duplicate.
  EXPECT_EQ(kind_of([&] { store().insert_mcp_server(server("mcps_g2", "", "search")); }), StoreError::Kind::duplicate);
  EXPECT_EQ(kind_of([&] { store().insert_mcp_server(server("mcps_a2", "acme", "crm")); }), StoreError::Kind::duplicate);
  // A tenant may not take a global's name, nor a global a name some tenant uses.
  EXPECT_EQ(kind_of([&] { store().insert_mcp_server(server("mcps_a3", "acme", "search")); }), StoreError::Kind::conflict);
  EXPECT_EQ(kind_of([&] { store().insert_mcp_server(server("mcps_g3", "", "crm")); }), StoreError::Kind::conflict);
  // Two tenants may each have their own server of one name.
  store().insert_mcp_server(server("mcps_b", "globex", "crm"));
  EXPECT_EQ(store().list_mcp_servers("globex", "", 10).size(), 1u);
  // The same id twice is a duplicate too.
  EXPECT_EQ(kind_of([&] { store().insert_mcp_server(server("mcps_g", "", "other")); }), StoreError::Kind::duplicate);
}

TEST_P(McpServerRowsTest, ConcurrentInsertsOfOneNameAcrossScopesLetOneWin) {
  // A global and a tenant server of the same name, inserted at once from two connections many
  // times: exactly one of each pair must be stored.
  auto other = open_again();
  for (int round = 0; round < 10; ++round) {
    const std::string name = "race" + std::to_string(round);
    std::atomic<int> won{0};
    std::thread a([&] {
      try {
        store().insert_mcp_server(server("mcps_g" + std::to_string(round), "", name));
        ++won;
      } catch (const StoreError&) {
      }
    });
    std::thread b([&] {
      try {
        other->insert_mcp_server(server("mcps_t" + std::to_string(round), "acme", name));
        ++won;
      } catch (const StoreError&) {
      }
    });
    a.join();
    b.join();
    EXPECT_EQ(won.load(), 1) << name;
  }
}

TEST_P(McpServerRowsTest, ListsAreOneScopeByNameWithCursors) {
  for (std::string n : {"delta", "alpha", "charlie", "bravo"}) store().insert_mcp_server(server("mcps_" + n, "acme", n));
  store().insert_mcp_server(server("mcps_glob", "", "global-one"));
  auto first = store().list_mcp_servers("acme", "", 2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].name, "alpha");
  EXPECT_EQ(first[1].name, "bravo");
  auto rest = store().list_mcp_servers("acme", "bravo", 10);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].name, "charlie");
  auto globals = store().list_mcp_servers("", "", 10);
  ASSERT_EQ(globals.size(), 1u);
  EXPECT_EQ(globals[0].name, "global-one");
  EXPECT_EQ(store().all_mcp_servers().size(), 5u);
}

TEST_P(McpServerRowsTest, UpdateChangesConfigurationOnlyAndNeverTheScope) {
  store().insert_mcp_server(server("mcps_a", "acme", "crm"));
  auto s = *store().find_mcp_server("mcps_a");
  s.url = "http://127.0.0.1:9000/mcp";
  s.auth_mode = "none";
  s.auth_secret = s.auth_header = "";
  s.enabled = false;
  s.disabled_tools = {};
  s.timeout_ms = 0;
  s.updated_at = "2030-01-01T00:00:00.000Z";
  EXPECT_TRUE(store().update_mcp_server(s));
  auto got = *store().find_mcp_server("mcps_a");
  EXPECT_EQ(got.url, "http://127.0.0.1:9000/mcp");
  EXPECT_EQ(got.auth_mode, "none");
  EXPECT_FALSE(got.enabled);
  EXPECT_TRUE(got.disabled_tools.empty());
  EXPECT_EQ(got.updated_at, "2030-01-01T00:00:00.000Z");
  // The owner is part of the match: naming another scope changes nothing.
  s.tenant_id = "globex";
  s.url = "http://evil.example/mcp";
  EXPECT_FALSE(store().update_mcp_server(s));
  EXPECT_EQ(store().find_mcp_server("mcps_a")->url, "http://127.0.0.1:9000/mcp");
  s.server_id = "mcps_nope";
  EXPECT_FALSE(store().update_mcp_server(s));
}

TEST_P(McpServerRowsTest, HealthReportsSetStatusAndToolsOnlyWhenGiven) {
  store().insert_mcp_server(server("mcps_a", "acme", "crm"));
  store().record_mcp_server_health({{"acme", "crm", "ok", "2030-01-01T00:00:00.000Z", "", std::string(R"([{"name":"echo"}])")},
                                    {"acme", "nope", "ok", "2030-01-01T00:00:00.000Z", "", std::nullopt}});
  auto got = *store().find_mcp_server("mcps_a");
  EXPECT_EQ(got.status, "ok");
  EXPECT_EQ(got.checked_at, "2030-01-01T00:00:00.000Z");
  EXPECT_EQ(got.last_tools, R"([{"name":"echo"}])");
  store().record_mcp_server_health({{"acme", "crm", "error", "2030-01-01T00:01:00.000Z", "timed out", std::nullopt}});
  got = *store().find_mcp_server("mcps_a");
  EXPECT_EQ(got.status, "error");
  EXPECT_EQ(got.last_error, "timed out");
  EXPECT_EQ(got.last_tools, R"([{"name":"echo"}])");  // kept
  // The snapshot read leaves the tools out.
  EXPECT_EQ(store().all_mcp_servers().at(0).last_tools, "");
}

TEST_P(McpServerRowsTest, DeletedTenantsServersLeaveTheSnapshotAndThePurgeRemovesThem) {
  store().insert_mcp_server(server("mcps_g", "", "search"));
  store().insert_mcp_server(server("mcps_a", "acme", "crm"));
  store().mark_tenant_deleted("acme", 0);
  auto all = store().all_mcp_servers();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].name, "search");
  EXPECT_EQ(kind_of([&] { store().insert_mcp_server(server("mcps_a2", "acme", "other")); }), StoreError::Kind::gone);
  store().purge_tenant("acme");
  EXPECT_FALSE(store().find_mcp_server("mcps_a"));
  EXPECT_TRUE(store().find_mcp_server("mcps_g"));
}

TEST_P(McpServerRowsTest, TheTenantHandleReachesOnlyItsOwnServers) {
  store().insert_mcp_server(server("mcps_g", "", "search"));
  store().insert_mcp_server(server("mcps_b", "globex", "crm"));
  TenantStore acme(store(), "acme");
  acme.insert_mcp_server(server("mcps_a", "", "crm"));  // tenant filled in
  EXPECT_EQ(store().find_mcp_server("mcps_a")->tenant_id, "acme");
  EXPECT_TRUE(acme.find_mcp_server("mcps_a"));
  EXPECT_TRUE(acme.find_mcp_server_named("crm"));
  EXPECT_FALSE(acme.find_mcp_server_named("search"));  // a global is no tenant's row
  EXPECT_FALSE(acme.find_mcp_server("mcps_g"));
  ASSERT_EQ(acme.mcp_servers("", 10).size(), 1u);
  // Another tenant's row, by id: a violation, whatever the call.
  EXPECT_THROW(acme.find_mcp_server("mcps_b"), TenantAccessViolation);
  auto theirs = *store().find_mcp_server("mcps_b");
  theirs.url = "http://evil.example/mcp";
  EXPECT_THROW(acme.update_mcp_server(theirs), TenantAccessViolation);
  EXPECT_THROW(acme.delete_mcp_server("mcps_b"), TenantAccessViolation);
  EXPECT_THROW(acme.insert_mcp_server(server("mcps_x", "globex", "x")), TenantAccessViolation);
  EXPECT_EQ(store().find_mcp_server("mcps_b")->url, "https://tools.example.com/mcp");
  EXPECT_TRUE(acme.delete_mcp_server("mcps_a"));
  EXPECT_FALSE(acme.delete_mcp_server("mcps_a"));
}

PC_ALL_BACKENDS(McpServerRowsTest);

}  // namespace
}  // namespace pc::store
