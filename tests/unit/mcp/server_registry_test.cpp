// The registry of upstream MCP servers (issue 10, area "servers"): what a registration may say
// (url, name, auth, tier, timeout), the name rules across scopes, tenant isolation by id, the
// snapshot the federation reads (and how other nodes' changes reach it), the capability
// tools.<name>, and health reports written behind. Store-backed tests run on every backend.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <thread>

#include "mcp/server_registry.h"
#include "mcp/server_rules.h"
#include "store/tenant_store.h"
#include "support/test_store.h"

namespace pc::mcp {
namespace {

using Kind = ServerError::Kind;

// ---- pure rules

TEST(ServerUrl, TakesHttpAndHttpsApart) {
  auto u = parse_server_url("https://tools.example.com/mcp?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "tools.example.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->path, "/mcp?x=1");
  u = parse_server_url("http://127.0.0.1:8931");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 8931);
  EXPECT_EQ(u->path, "/");
  u = parse_server_url("http://[::1]:9000/mcp");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 9000);
  u = parse_server_url("http://example.com");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 80);
}

TEST(ServerUrl, RefusesWhatCannotBeAnUpstream) {
  for (const char* bad : {"", "ftp://x/mcp", "file:///etc/passwd", "http://", "http:///mcp", "http://user:pw@host/mcp",
                          "http://host/mcp#frag", "http://host:0/", "http://host:65536/", "http://host:8x/",
                          "http://ho st/", "http://host/a b", "http://host/\x01", "http://[fe80::1%eth0]/",
                          "http://[::1/", "HTTP://host/", "http://-host/", "//host/mcp", "http://host:/"}) {
    EXPECT_FALSE(parse_server_url(bad)) << bad;
  }
  EXPECT_FALSE(parse_server_url("http://host/" + std::string(3000, 'a')));
}

TEST(ServerRules, NamesFollowTheTenantIdRule) {
  EXPECT_TRUE(is_valid_server_name("search"));
  EXPECT_TRUE(is_valid_server_name("web-search2"));
  for (const char* bad : {"", "ab", "Search", "1search", "search-", "web__search", "web_search", "web.search",
                          "a-very-long-name-that-goes-past-the-limit"})
    EXPECT_FALSE(is_valid_server_name(bad)) << bad;
}

TEST(ServerRules, AuthModesAndTheirFields) {
  EXPECT_FALSE(check_auth("none", "", ""));
  EXPECT_FALSE(check_auth("act_on_behalf", "", ""));
  EXPECT_FALSE(check_auth("vault_secret", "search-key", "Authorization"));
  EXPECT_FALSE(check_auth("vault_secret", "search.key_2", "X-Api-Key"));
  EXPECT_TRUE(check_auth("bearer", "", ""));
  EXPECT_TRUE(check_auth("none", "search-key", ""));             // a secret for no use
  EXPECT_TRUE(check_auth("act_on_behalf", "", "X-Api-Key"));
  EXPECT_TRUE(check_auth("vault_secret", "", "Authorization"));  // which secret?
  EXPECT_TRUE(check_auth("vault_secret", "bad name", "Authorization"));
  EXPECT_TRUE(check_auth("vault_secret", std::string(129, 'a'), "Authorization"));
  for (const char* bad : {"Host", "content-length", "Transfer-Encoding", "Mcp-Session-Id", "X Api", "X-Api:",
                          "X-Api\r\nInjected"})
    EXPECT_TRUE(check_auth("vault_secret", "k", bad)) << bad;
}

TEST(ServerRules, TimeoutsAndDisabledTools) {
  EXPECT_FALSE(check_timeout(0));
  EXPECT_FALSE(check_timeout(100));
  EXPECT_FALSE(check_timeout(600000));
  EXPECT_TRUE(check_timeout(99));
  EXPECT_TRUE(check_timeout(-1));
  EXPECT_TRUE(check_timeout(600001));
  EXPECT_FALSE(check_disabled_tools({"a", "b"}));
  EXPECT_TRUE(check_disabled_tools({""}));
  EXPECT_TRUE(check_disabled_tools({"a\nb"}));
  EXPECT_TRUE(check_disabled_tools(std::vector<std::string>(1001, "x")));
}

TEST(ServerRules, ServerIdsAreNotNames) {
  EXPECT_TRUE(is_server_id("mcps_0123456789abcdef01234567"));
  EXPECT_FALSE(is_server_id("mcps_"));
  EXPECT_FALSE(is_server_id("mcps_XYZ"));
  EXPECT_FALSE(is_server_id("search"));
}

// ---- the registry over a real store

store::TenantRecord tenant(std::string id, std::string tier = "basic") {
  store::TenantRecord t;
  t.tenant_id = std::move(id);
  t.display_name = t.tenant_id;
  t.tier = std::move(tier);
  return t;
}

ServerSpec spec(std::string name, std::string url = "https://tools.example.com/mcp") {
  ServerSpec s;
  s.name = std::move(name);
  s.url = std::move(url);
  return s;
}

Kind refusal(const std::function<void()>& f) {
  try {
    f();
  } catch (const ServerError& e) {
    return e.kind();
  }
  ADD_FAILURE() << "not refused";
  return Kind::invalid;
}

std::string refusal_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const ServerError& e) {
    return e.what();
  }
  return "";
}

class ServerRegistryTest : public pc::testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    store().insert_tenant(tenant("acme"));
    store().insert_tenant(tenant("globex"));
    registry_ = std::make_unique<ServerRegistry>(store(), options());
  }
  void TearDown() override {
    registry_.reset();
    BackendTest::TearDown();
  }
  static ServerRegistry::Options options() {
    ServerRegistry::Options o;
    o.tier_exists = [](const std::string& t) { return t == "basic" || t == "standard" || t == "premium"; };
    o.health_min_interval = std::chrono::milliseconds(60000);
    return o;
  }
  ServerRegistry& reg() { return *registry_; }
  std::vector<std::string> names(std::string_view tenant) {
    std::vector<std::string> out;
    for (const auto& e : *reg().for_tenant(tenant)) out.push_back((e.is_global() ? "g:" : "t:") + e.name);
    return out;
  }

  std::unique_ptr<ServerRegistry> registry_;
};

TEST_P(ServerRegistryTest, CreatesWithDefaultsAndTheCapability) {
  auto s = reg().create("", spec("search"));
  EXPECT_TRUE(is_server_id(s.server_id));
  EXPECT_EQ(s.tenant_id, "");
  EXPECT_EQ(s.auth_mode, "none");
  EXPECT_EQ(s.tier_minimum, "basic");
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.timeout_ms, 0);
  EXPECT_EQ(s.status, "unknown");
  bool found = false;
  for (const auto& c : store().list_capabilities())
    if (c.name == "tools.search") found = c.enabled;
  EXPECT_TRUE(found);
}

TEST_P(ServerRegistryTest, VaultSecretDefaultsItsHeaderToAuthorization) {
  auto in = spec("crm");
  in.auth_mode = "vault_secret";
  in.auth_secret = "crm-token";
  auto s = reg().create("acme", in);
  EXPECT_EQ(s.auth_header, "Authorization");
  EXPECT_EQ(s.auth_secret, "crm-token");
  auto e = reg().for_tenant("acme")->at(0);
  EXPECT_EQ(e.auth, UpstreamAuth::vault_secret);
  EXPECT_EQ(e.secret, "crm-token");
  EXPECT_EQ(e.header, "Authorization");
}

TEST_P(ServerRegistryTest, RefusesInvalidRegistrationsWithClearMessages) {
  EXPECT_EQ(refusal([&] { reg().create("", spec("Bad_Name")); }), Kind::invalid);
  EXPECT_EQ(refusal([&] { reg().create("", spec("search", "ftp://x/")); }), Kind::invalid);
  EXPECT_EQ(refusal([&] { reg().create("", spec("search", "http://u:p@x/")); }), Kind::invalid);
  auto no_name = spec("x");
  no_name.name.reset();
  EXPECT_EQ(refusal_message([&] { reg().create("", no_name); }), "name is required");
  auto tier = spec("search");
  tier.tier_minimum = "gold";
  EXPECT_EQ(refusal_message([&] { reg().create("", tier); }), "tierMinimum must name a configured tier");
  auto auth = spec("search");
  auth.auth_mode = "vault_secret";
  EXPECT_NE(refusal_message([&] { reg().create("", auth); }).find("auth.secret"), std::string::npos);
  auto timeout = spec("search");
  timeout.timeout_ms = 5;
  EXPECT_EQ(refusal([&] { reg().create("", timeout); }), Kind::invalid);
  EXPECT_TRUE(store().all_mcp_servers().empty());  // nothing half-made
}

TEST_P(ServerRegistryTest, NameClashesAreConflictsWithoutNamingTheOtherTenant) {
  reg().create("", spec("search"));
  reg().create("acme", spec("crm"));
  EXPECT_EQ(refusal([&] { reg().create("", spec("search")); }), Kind::conflict);
  EXPECT_EQ(refusal([&] { reg().create("acme", spec("crm")); }), Kind::conflict);
  EXPECT_EQ(refusal_message([&] { reg().create("globex", spec("search")); }),
            "the name 'search' is taken by a global MCP server");
  auto msg = refusal_message([&] { reg().create("", spec("crm")); });
  EXPECT_EQ(msg, "the name 'crm' is used by a tenant's own MCP server");
  EXPECT_EQ(msg.find("acme"), std::string::npos);
  reg().create("globex", spec("crm"));  // another tenant's own name is free for it
}

TEST_P(ServerRegistryTest, TheSnapshotHoldsTheGlobalsAndTheTenantsOwnByName) {
  reg().create("", spec("search"));
  reg().create("", spec("alpha"));
  reg().create("acme", spec("crm"));
  reg().create("globex", spec("billing"));
  EXPECT_EQ(names("acme"), (std::vector<std::string>{"g:alpha", "t:crm", "g:search"}));
  EXPECT_EQ(names("globex"), (std::vector<std::string>{"g:alpha", "t:billing", "g:search"}));
  EXPECT_EQ(names("initech"), (std::vector<std::string>{"g:alpha", "g:search"}));
  auto e = reg().for_tenant("acme")->at(1);
  EXPECT_EQ(e.tenant, "acme");
  EXPECT_EQ(e.scheme, "https");
  EXPECT_EQ(e.host, "tools.example.com");
  EXPECT_EQ(e.port, 443);
  EXPECT_EQ(e.path, "/mcp");
  EXPECT_GT(e.created_at, 1700000000000);
  // Disabled servers stay in the snapshot (the federation tells them apart).
  ServerSpec off;
  off.enabled = false;
  reg().update("acme", "crm", off);
  EXPECT_FALSE(reg().for_tenant("acme")->at(1).enabled);
  reg().remove("acme", "crm");
  EXPECT_EQ(names("acme"), (std::vector<std::string>{"g:alpha", "g:search"}));
}

TEST_P(ServerRegistryTest, ChangesOfAnotherNodeArriveWithThePoll) {
  auto other_store = open_again();
  ServerRegistry other(*other_store, options());
  other.create("", spec("search"));
  EXPECT_TRUE(names("acme").empty());  // not yet: this node has not re-read the table
  EXPECT_TRUE(reg().publish());
  EXPECT_EQ(names("acme"), (std::vector<std::string>{"g:search"}));
  EXPECT_FALSE(reg().publish());  // nothing new
  // The poll thread does it by itself.
  ServerRegistry::Options fast = options();
  fast.poll_interval = std::chrono::milliseconds(20);
  ServerRegistry polled(store(), fast);
  polled.start();
  other.create("acme", spec("crm"));
  for (int i = 0; i < 250 && polled.for_tenant("acme")->size() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(polled.for_tenant("acme")->size(), 2u);
  polled.stop();
}

// a change signal from another node (or Redis coming back) wakes the poll
// thread at once instead of at its next tick.
TEST_P(ServerRegistryTest, ReloadSoonReadsTheTableWithoutWaitingForThePoll) {
  auto other_store = open_again();
  ServerRegistry other(*other_store, options());
  ServerRegistry::Options slow = options();
  slow.poll_interval = std::chrono::hours(1);  // the poll alone would never come
  ServerRegistry signalled(store(), slow);
  signalled.start();
  other.create("", spec("search"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(signalled.for_tenant("acme")->empty());
  const auto t0 = std::chrono::steady_clock::now();
  signalled.reload_soon();
  for (int i = 0; i < 250 && signalled.for_tenant("acme")->empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(signalled.for_tenant("acme")->size(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(400));
  signalled.stop();  // a wake after stop is harmless
  signalled.reload_soon();
}

TEST_P(ServerRegistryTest, UpdatesReplaceTheAuthObjectWholeAndKeepTheRest) {
  auto in = spec("crm");
  in.auth_mode = "vault_secret";
  in.auth_secret = "crm-token";
  in.auth_header = "X-Api-Key";
  in.disabled_tools = std::vector<std::string>{"rm", "rm", "drop"};
  in.tier_minimum = "standard";
  auto created = reg().create("acme", in);
  EXPECT_EQ(created.disabled_tools, (std::vector<std::string>{"rm", "drop"}));
  ServerSpec change;
  change.auth_mode = "act_on_behalf";
  auto s = reg().update("acme", "crm", change);
  EXPECT_EQ(s.auth_mode, "act_on_behalf");
  EXPECT_EQ(s.auth_secret, "");
  EXPECT_EQ(s.auth_header, "");
  EXPECT_EQ(s.tier_minimum, "standard");
  EXPECT_EQ(s.disabled_tools, (std::vector<std::string>{"rm", "drop"}));
  ServerSpec bad;
  bad.auth_secret = "x";
  EXPECT_EQ(refusal([&] { reg().update("acme", "crm", bad); }), Kind::invalid);
  ServerSpec rename;
  rename.name = "other";
  EXPECT_EQ(refusal([&] { reg().update("acme", "crm", rename); }), Kind::invalid);
  EXPECT_EQ(refusal([&] { reg().update("acme", "nope", change); }), Kind::not_found);
  EXPECT_EQ(refusal([&] { reg().remove("acme", "nope"); }), Kind::not_found);
}

TEST_P(ServerRegistryTest, AnotherTenantsServerByIdIsAViolationAndStaysUnchanged) {
  auto theirs = reg().create("globex", spec("crm"));
  EXPECT_THROW(reg().get("acme", theirs.server_id), store::TenantAccessViolation);
  ServerSpec change;
  change.url = "http://evil.example/mcp";
  EXPECT_THROW(reg().update("acme", theirs.server_id, change), store::TenantAccessViolation);
  EXPECT_THROW(reg().remove("acme", theirs.server_id), store::TenantAccessViolation);
  EXPECT_EQ(reg().get("globex", "crm")->url, "https://tools.example.com/mcp");
  // By name, another tenant's server is simply not in this tenant's scope.
  EXPECT_FALSE(reg().get("acme", "crm"));
  // A tenant's server is not reachable as a global either, by name or by id.
  EXPECT_FALSE(reg().get("", "crm"));
  EXPECT_FALSE(reg().get("", theirs.server_id));
  // And a global is not a tenant's.
  auto global = reg().create("", spec("search"));
  EXPECT_FALSE(reg().get("acme", global.server_id));
  EXPECT_FALSE(reg().get("acme", "search"));
}

TEST_P(ServerRegistryTest, HealthReportsAreWrittenBehindAndCoalesced) {
  reg().create("acme", spec("crm"));
  // From a thread that must not block (an I/O thread in the gateway).
  std::thread io([&] {
    reg().report("acme", "crm", true, "",
                 R"([{"name":"echo","description":"says it back","inputSchema":{"type":"object"}},{"name":"add"},7])");
  });
  io.join();
  reg().flush_health();
  auto s = *reg().get("acme", "crm");
  EXPECT_EQ(s.status, "ok");
  EXPECT_FALSE(s.checked_at.empty());
  auto tools = boost::json::parse(s.last_tools).as_array();
  ASSERT_EQ(tools.size(), 2u);
  EXPECT_EQ(tools[0].as_object().at("name").as_string(), "echo");
  EXPECT_EQ(tools[0].as_object().at("description").as_string(), "says it back");
  EXPECT_FALSE(tools[0].as_object().contains("inputSchema"));
  reg().report("acme", "crm", false, "connection refused", "");
  reg().flush_health();
  s = *reg().get("acme", "crm");
  EXPECT_EQ(s.status, "error");
  EXPECT_EQ(s.last_error, "connection refused");
  EXPECT_EQ(tools.size(), boost::json::parse(s.last_tools).as_array().size());  // kept
  const std::string checked = s.checked_at;
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  reg().report("acme", "crm", false, "connection refused", "");  // the same again: not written
  reg().flush_health();
  EXPECT_EQ(reg().get("acme", "crm")->checked_at, checked);
  // Not JSON: the tools are ignored, the status still counts.
  reg().report("acme", "crm", true, "", "not json");
  reg().flush_health();
  s = *reg().get("acme", "crm");
  EXPECT_EQ(s.status, "ok");
  EXPECT_EQ(boost::json::parse(s.last_tools).as_array().size(), 2u);
  // A report for a server that does not exist changes nothing and fails nothing.
  reg().report("acme", "nope", true, "", "");
  reg().flush_health();
}

PC_ALL_BACKENDS(ServerRegistryTest);

}  // namespace
}  // namespace pc::mcp
