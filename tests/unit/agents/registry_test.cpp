// The agent registry (SPEC §8) over every store backend: validation of agents and versions,
// the agents.<name> capability it creates, promotion and rollback, and what it publishes into
// the AgentCatalog the request path reads.
#include "agents/registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "support/forwarding_store.h"
#include "support/test_store.h"

namespace pc::agents {
namespace {

using Kind = RegistryError::Kind;

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::invalid: return "invalid";
    case Kind::not_found: return "not_found";
    case Kind::conflict: return "conflict";
  }
  return "?";
}

// Runs `f`, which must throw RegistryError of `kind`.
template <class F>
::testing::AssertionResult refused(Kind kind, F&& f) {
  try {
    f();
  } catch (const RegistryError& e) {
    if (e.kind() == kind) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "kind " << kind_name(e.kind()) << " (" << e.what() << "), wanted "
                                         << kind_name(kind);
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw something else: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

store::AgentRecord agent(std::string name, std::string tier = "basic", std::string protocol = "http") {
  store::AgentRecord a;
  a.name = std::move(name);
  a.description = "test agent";
  a.tier_minimum = std::move(tier);
  a.protocol = std::move(protocol);
  return a;
}

class RegistryTest : public pc::testing::BackendTest {
 protected:
  // The store exists only once BackendTest::SetUp ran.
  void SetUp() override {
    BackendTest::SetUp();
    registry = std::make_unique<Registry>(store(), catalog);
  }

  std::optional<store::CapabilityRecord> capability(const std::string& name) {
    for (auto& c : store().list_capabilities())
      if (c.name == name) return c;
    return std::nullopt;
  }
  // The status of each version of `name`, by version.
  std::string status_of(const std::string& name, const std::string& version) {
    for (const auto& v : store().agent_versions(name))
      if (v.version == version) return v.status;
    return "(none)";
  }

  AgentCatalog catalog;
  std::unique_ptr<Registry> registry;
};

// ---- parse_endpoint

TEST(ParseEndpoint, TakesPlainHttpWithAPort) {
  auto e = parse_endpoint("http://127.0.0.1:9000");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, 9000);

  // A host name, and a trailing slash; a base path is refused (the invocation contract lives at
  // the runtime's root, so a path would be silently dropped).
  auto named = parse_endpoint("http://echo.agents.internal:8080/");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->host, "echo.agents.internal");
  EXPECT_EQ(named->port, 8080);
  EXPECT_FALSE(parse_endpoint("http://echo.agents.internal:8080/base/path"));

  // The extremes of the port range.
  EXPECT_EQ(parse_endpoint("http://h:1")->port, 1);
  EXPECT_EQ(parse_endpoint("http://h:65535")->port, 65535);
}

TEST(ParseEndpoint, TakesHttpsWithAnOptionalPort) {
  auto e = parse_endpoint("https://echo.agents.internal");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->scheme, "https");
  EXPECT_EQ(e->host, "echo.agents.internal");
  EXPECT_EQ(e->port, 443) << "https defaults to 443";

  auto slash = parse_endpoint("https://echo.agents.internal/");
  ASSERT_TRUE(slash);
  EXPECT_EQ(slash->port, 443);

  auto ported = parse_endpoint("https://127.0.0.1:8443/");
  ASSERT_TRUE(ported);
  EXPECT_EQ(ported->scheme, "https");
  EXPECT_EQ(ported->host, "127.0.0.1");
  EXPECT_EQ(ported->port, 8443);

  EXPECT_EQ(parse_endpoint("http://h:80")->scheme, "http");
}

TEST(ParseEndpoint, TakesIPv6LiteralsInBracketsAndKeepsThemWithout) {
  auto e = parse_endpoint("http://[::1]:9000");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->scheme, "http");
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 9000);

  auto tls = parse_endpoint("https://[2001:db8::5]:8443/");
  ASSERT_TRUE(tls);
  EXPECT_EQ(tls->scheme, "https");
  EXPECT_EQ(tls->host, "2001:db8::5");
  EXPECT_EQ(tls->port, 8443);

  auto default_port = parse_endpoint("https://[::1]");
  ASSERT_TRUE(default_port);
  EXPECT_EQ(default_port->host, "::1");
  EXPECT_EQ(default_port->port, 443);

  // An embedded IPv4 tail is an IPv6 literal too.
  auto mapped = parse_endpoint("http://[::ffff:127.0.0.1]:80");
  ASSERT_TRUE(mapped);
  EXPECT_EQ(mapped->host, "::ffff:127.0.0.1");
}

TEST(ParseEndpoint, RefusesEverythingElse) {
  for (const char* url : {
           "",                         // nothing
           "https://",                 // https without a host
           "https://:443",             // https, no host
           "https://h:",               // https, empty port
           "https://h:0",              // https, port 0
           "https://h/base",           // https, a base path
           "https://h?x=1",            // https, a query
           "https://user@h",           // https, userinfo
           "https://user:pw@h:443",    // https, userinfo with a password
           "HTTPS://h:443",            // the scheme as written here, lower case
           "http://[::1]",             // IPv6, http without a port
           "http://::1:80",            // IPv6 without brackets
           "http://[::1:80",           // unclosed bracket
           "http://[]:80",             // empty brackets
           "http://[::1]80",           // junk between ']' and the port
           "http://[::1]:",            // empty port after brackets
           "http://[fe80::1%eth0]:80", // a zone id
           "http://[fe80::1%25eth0]:80",  // a zone id, percent-encoded
           "http://[127.0.0.1]:80",    // IPv4 in brackets
           "http://[v1.fe]:80",        // an IPvFuture literal
           "http://[::g]:80",          // not hex
           "http://[1:2:3:4:5:6:7:8:9]:80",  // too many groups
           "http://[::1]:80/base",     // IPv6 with a base path
           "http://user@[::1]:80",     // IPv6 with userinfo
           "ftp://h:21",               // another scheme
           "HTTP//h:80",               // malformed scheme
           "h:80",                     // no scheme
           "http://h",                 // no port
           "http://h/base",            // no port, but a path
           "http://h:",                // empty port
           "http://:80",               // no host
           "http://h:0",               // port 0
           "http://h:65536",           // port out of range
           "http://h:99999999999",     // overflows
           "http://h:-1",              // negative
           "http://h:80x",             // junk after the port
           "http://h:8 0",             // space in the port
           "http://h:80?x=1",          // a query where the port ends
           "http://user@h:80",         // userinfo
           "http://user:pass@h:80",    // userinfo with a password
           "http://h:80@evil:81",      // userinfo that looks like a port
       })
    EXPECT_FALSE(parse_endpoint(url)) << "'" << url << "' was accepted";
}

// The host becomes the Host header line of every forwarded invocation (net/proxy.cpp) and the
// name the resolver is asked for: a "host" with whitespace or control characters is not a
// host, and must not pass as one.
TEST(ParseEndpoint, RefusesHostsWithWhitespaceOrControlCharacters) {
  for (const char* url : {"http://ho st:80", "http://h\r\nX-Injected: 1\r\n:80", "http://h\t:80", "http://h\n:80"})
    EXPECT_FALSE(parse_endpoint(url)) << "'" << url << "' was accepted";
}

TEST(AgentName, SameShapeAsATenantId) {
  for (const char* ok : {"echo", "ab", "a1", "summarise-v2", "x0-0"}) EXPECT_TRUE(is_valid_agent_name(ok)) << ok;
  EXPECT_TRUE(is_valid_agent_name(std::string(64, 'a')));
  for (const char* bad : {"", "a", "Echo", "1echo", "-echo", "echo-", "ech_o", "ech.o", "ech o", "éc"})
    EXPECT_FALSE(is_valid_agent_name(bad)) << bad;
  EXPECT_FALSE(is_valid_agent_name(std::string(65, 'a')));
}

// ---- create

TEST_P(RegistryTest, CreateStoresTheAgentAndAnEnabledCapability) {
  auto a = registry->create(agent("echo", "standard", "a2a"));
  EXPECT_EQ(a.name, "echo");
  EXPECT_EQ(a.tier_minimum, "standard");
  EXPECT_EQ(a.protocol, "a2a");
  EXPECT_FALSE(a.created_at.empty());

  auto stored = store().find_agent("echo");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->tier_minimum, "standard");
  EXPECT_EQ(stored->protocol, "a2a");

  // Deny by default: without its capability the agent could never be invoked.
  auto cap = capability("agents.echo");
  ASSERT_TRUE(cap) << "no capability agents.echo";
  EXPECT_TRUE(cap->enabled);
  EXPECT_FALSE(cap->killed);
  EXPECT_EQ(cap->rollout_percentage, 100);
  EXPECT_TRUE(cap->tier_allow_list.empty());
  EXPECT_TRUE(cap->tenant_allow_list.empty());
}

TEST_P(RegistryTest, CreateLeavesAnExistingCapabilityAsTheOperatorSetIt) {
  store::CapabilityRecord c;
  c.name = "agents.echo";
  c.enabled = false;
  c.rollout_percentage = 10;
  c.tenant_allow_list = {"acme"};
  c.description = "set up before the agent";
  store().upsert_capability(c);

  registry->create(agent("echo"));
  auto after = capability("agents.echo");
  ASSERT_TRUE(after);
  EXPECT_FALSE(after->enabled) << "the operator's switch was turned on";
  EXPECT_EQ(after->rollout_percentage, 10);
  EXPECT_EQ(after->tenant_allow_list, (std::vector<std::string>{"acme"}));
  EXPECT_EQ(after->description, "set up before the agent");
}

TEST_P(RegistryTest, CreateValidatesNameTierProtocolAndDescription) {
  for (const char* name : {"", "a", "Echo", "1echo", "echo-", "ech_o"})
    EXPECT_TRUE(refused(Kind::invalid, [&] { registry->create(agent(name)); })) << name;
  EXPECT_TRUE(refused(Kind::invalid, [&] { registry->create(agent(std::string(65, 'a'))); }));
  for (const char* tier : {"", "gold", "Basic"})
    EXPECT_TRUE(refused(Kind::invalid, [&] { registry->create(agent("echo", tier)); })) << tier;
  for (const char* protocol : {"", "grpc", "HTTP", "https"})
    EXPECT_TRUE(refused(Kind::invalid, [&] { registry->create(agent("echo", "basic", protocol)); })) << protocol;
  auto long_description = agent("echo");
  long_description.description = std::string(1001, 'd');
  EXPECT_TRUE(refused(Kind::invalid, [&] { registry->create(long_description); }));

  // Nothing refused left a row or a capability behind.
  EXPECT_TRUE(store().list_agents().empty());
  EXPECT_TRUE(store().list_capabilities().empty());

  long_description.description = std::string(1000, 'd');
  EXPECT_NO_THROW(registry->create(long_description));
  EXPECT_NO_THROW(registry->create(agent("premium-one", "premium", "a2a")));
}

TEST_P(RegistryTest, DuplicateNameIsAConflictAndKeepsTheFirst) {
  registry->create(agent("echo", "basic"));
  EXPECT_TRUE(refused(Kind::conflict, [&] { registry->create(agent("echo", "premium")); }));
  EXPECT_EQ(store().find_agent("echo")->tier_minimum, "basic");
  EXPECT_EQ(store().list_agents().size(), 1u);
}

// ---- versions

TEST_P(RegistryTest, AddVersionValidatesTheVersionAndTheEndpoint) {
  registry->create(agent("echo"));
  EXPECT_TRUE(refused(Kind::not_found, [&] { registry->add_version("nobody", "1", "http://h:80"); }));

  for (std::string v : {std::string(""), std::string(65, '1'), std::string("1 0"), std::string("1/0"),
                        std::string("v1;drop"), std::string("1\n")})
    EXPECT_TRUE(refused(Kind::invalid, [&] { registry->add_version("echo", v, "http://h:80"); })) << v;
  for (const char* ep : {"ftp://h:21", "https://user@h", "http://user@h:80", "http://h", "http://h:0", "http://h:65536",
                         "http://[::1]", "http://[fe80::1%eth0]:80", "https://h/base", ""})
    EXPECT_TRUE(refused(Kind::invalid, [&] { registry->add_version("echo", "1", ep); })) << ep;
  EXPECT_TRUE(store().agent_versions("echo").empty());

  auto v = registry->add_version("echo", "1.0.0-rc.1+build_2", "http://127.0.0.1:9000");
  EXPECT_EQ(v.agent, "echo");
  EXPECT_EQ(v.version, "1.0.0-rc.1+build_2");
  EXPECT_EQ(v.endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(v.status, "built") << "a new version is never live before it is promoted";
  EXPECT_NO_THROW(registry->add_version("echo", std::string(64, '9'), "http://h:65535"));
}

TEST_P(RegistryTest, DuplicateVersionIsAConflict) {
  registry->create(agent("echo"));
  registry->add_version("echo", "1", "http://h:8001");
  EXPECT_TRUE(refused(Kind::conflict, [&] { registry->add_version("echo", "1", "http://h:8002"); }));
  auto versions = store().agent_versions("echo");
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(versions[0].endpoint, "http://h:8001");
}

// ---- promote and the catalog

TEST_P(RegistryTest, PromotePublishesIntoTheCatalog) {
  registry->create(agent("echo", "standard"));
  registry->add_version("echo", "1", "http://10.0.0.5:9001");
  // Built but not promoted: not invocable.
  EXPECT_EQ(catalog.find_for("echo", "premium"), nullptr);

  auto p = registry->promote("echo", "1");
  EXPECT_EQ(p.version, "1");
  EXPECT_EQ(p.status, "promoted");

  auto e = catalog.find_for("echo", "standard");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->scheme, "http");
  EXPECT_EQ(e->host, "10.0.0.5");
  EXPECT_EQ(e->port, 9001);
  EXPECT_EQ(e->version, "1");
  EXPECT_EQ(e->tier_minimum, "standard");
  EXPECT_EQ(e->protocol, "http");
  // The tier minimum holds in the catalog too.
  EXPECT_EQ(catalog.find_for("echo", "basic"), nullptr);

  auto view = registry->get("echo");
  ASSERT_TRUE(view);
  EXPECT_EQ(view->promoted_version, "1");
}

TEST_P(RegistryTest, HttpsAndIPv6EndpointsReachTheCatalogWithTheirScheme) {
  registry->create(agent("echo"));
  registry->add_version("echo", "1", "https://echo.agents.internal");
  registry->add_version("echo", "2", "http://[::1]:9002/");
  registry->add_version("echo", "3", "https://[2001:db8::5]:8443");
  EXPECT_THROW(registry->add_version("echo", "4", "ftp://h:21"), RegistryError);
  EXPECT_THROW(registry->add_version("echo", "4", "https://user@h"), RegistryError);

  registry->promote("echo", "1");
  auto e = catalog.find_for("echo", "basic");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->scheme, "https");
  EXPECT_EQ(e->host, "echo.agents.internal");
  EXPECT_EQ(e->port, 443);

  registry->promote("echo", "2");
  e = catalog.find_for("echo", "basic");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->scheme, "http");
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 9002);

  // Only the scheme changes between two versions: the catalog changes too (the health checker
  // and the proxy see a new endpoint).
  registry->promote("echo", "3");
  e = catalog.find_for("echo", "basic");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->scheme, "https");
  EXPECT_EQ(e->host, "2001:db8::5");
  EXPECT_EQ(e->port, 8443);
}

TEST_P(RegistryTest, PromoteSupersedesThePreviousVersion) {
  registry->create(agent("echo"));
  registry->add_version("echo", "1", "http://h1:9001");
  registry->add_version("echo", "2", "http://h2:9002");
  registry->promote("echo", "1");
  registry->promote("echo", "2");

  EXPECT_EQ(status_of("echo", "1"), "superseded");
  EXPECT_EQ(status_of("echo", "2"), "promoted");
  auto e = catalog.find_for("echo", "basic");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->version, "2");
  EXPECT_EQ(e->host, "h2");
  EXPECT_EQ(e->port, 9002);
  EXPECT_EQ(catalog.visible_to("basic").size(), 1u) << "two versions of one agent were published";
}

TEST_P(RegistryTest, PromoteOfUnknownAgentOrVersionIsNotFound) {
  registry->create(agent("echo"));
  registry->add_version("echo", "1", "http://h:9001");
  EXPECT_TRUE(refused(Kind::not_found, [&] { registry->promote("nobody", "1"); }));
  EXPECT_TRUE(refused(Kind::not_found, [&] { registry->promote("echo", "2"); }));
  EXPECT_EQ(status_of("echo", "1"), "built");
  EXPECT_EQ(catalog.find_for("echo", "premium"), nullptr);
}

// ---- rollback

TEST_P(RegistryTest, RollbackPromotesTheNewestSupersededAndMarksTheCurrentRolledBack) {
  registry->create(agent("echo"));
  for (const char* v : {"1", "2", "3"}) registry->add_version("echo", v, std::string("http://h") + v + ":900" + v);
  for (const char* v : {"1", "2", "3"}) registry->promote("echo", v);

  auto r = registry->rollback("echo");
  EXPECT_EQ(r.version, "2");
  EXPECT_EQ(r.status, "promoted");
  EXPECT_EQ(status_of("echo", "3"), "rolled_back");
  EXPECT_EQ(status_of("echo", "1"), "superseded");
  ASSERT_NE(catalog.find_for("echo", "basic"), nullptr);
  EXPECT_EQ(catalog.find_for("echo", "basic")->version, "2");
  EXPECT_EQ(catalog.find_for("echo", "basic")->host, "h2");

  // Again: back to 1; a rolled-back version is never a rollback target.
  EXPECT_EQ(registry->rollback("echo").version, "1");
  EXPECT_EQ(status_of("echo", "2"), "rolled_back");
  EXPECT_EQ(status_of("echo", "3"), "rolled_back");
  EXPECT_EQ(catalog.find_for("echo", "basic")->version, "1");

  // Nothing earlier is left: conflict, and the live version stays.
  EXPECT_TRUE(refused(Kind::conflict, [&] { registry->rollback("echo"); }));
  EXPECT_EQ(status_of("echo", "1"), "promoted");
  EXPECT_EQ(catalog.find_for("echo", "basic")->version, "1");
}

// Holds every caller's read of the versions until `callers` have read (or a second passed), so
// that all rollbacks decide from the same state before any of them promotes: the race of
// issue 8 item 12, made certain.
class ReadBarrierStore : public pc::testing::ForwardingStore {
 public:
  ReadBarrierStore(store::Store& real, int callers) : ForwardingStore(real), callers_(callers) {}
  std::vector<store::AgentVersionRecord> agent_versions(std::string_view a) override {
    auto out = real_.agent_versions(a);
    std::unique_lock lk(mu_);
    if (armed_ && ++arrived_ >= callers_) cv_.notify_all();
    if (armed_) cv_.wait_for(lk, std::chrono::seconds(1), [&] { return arrived_ >= callers_; });
    return out;
  }
  void arm() {
    std::lock_guard lk(mu_);
    armed_ = true;
  }
  void disarm() {
    std::lock_guard lk(mu_);
    armed_ = false;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  const int callers_;
  int arrived_ = 0;
  bool armed_ = false;
};

// Issue 8 item 12: 20 rollbacks at once used to all answer 200 while the same version was
// promoted several times (each read the same live version and target, then promoted). Now each
// rollback is conditional on the live version it read: of rollbacks that read the same state one
// wins and the others get a conflict, and the history adds up.
TEST_P(RegistryTest, ParallelRollbacksFromOneStateOneWinsTheOthersGetConflict) {
  constexpr int kVersions = 21;
  constexpr int kCallers = 20;
  ReadBarrierStore barrier(store(), kCallers);
  AgentCatalog cat;
  Registry reg(barrier, cat);
  reg.create(agent("echo"));
  for (int i = 1; i <= kVersions; ++i) {
    reg.add_version("echo", std::to_string(i), "http://h" + std::to_string(i) + ":9000");
    reg.promote("echo", std::to_string(i));
    // Rollback targets are told apart by updated_at (milliseconds).
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }

  barrier.arm();
  std::mutex mu;
  std::vector<std::string> won;  // the versions successful rollbacks returned
  std::atomic<int> conflicts{0};
  std::atomic<int> other{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i)
    callers.emplace_back([&] {
      try {
        auto v = reg.rollback("echo");
        std::lock_guard lock(mu);
        won.push_back(v.version);
      } catch (const RegistryError& e) {
        (e.kind() == Kind::conflict ? conflicts : other)++;
      } catch (...) {
        other++;
      }
    });
  for (auto& t : callers) t.join();
  barrier.disarm();

  EXPECT_EQ(other.load(), 0);
  ASSERT_EQ(won.size(), 1u) << "rollbacks that read the same live version all succeeded";
  EXPECT_EQ(won.front(), "20");
  EXPECT_EQ(conflicts.load(), kCallers - 1);
  for (int i = 1; i <= kVersions; ++i) {
    const std::string want = i < 20 ? "superseded" : i == 20 ? "promoted" : "rolled_back";
    EXPECT_EQ(status_of("echo", std::to_string(i)), want) << "version " << i;
  }
  ASSERT_NE(cat.find_for("echo", "basic"), nullptr);
  EXPECT_EQ(cat.find_for("echo", "basic")->version, "20");
  // The losers may try again: each retry moves one promotion back.
  EXPECT_EQ(reg.rollback("echo").version, "19");
}

// Without a barrier: however the 20 interleave, every success moves the agent one promotion
// back, no version is promoted by two rollbacks, and the statuses add up.
TEST_P(RegistryTest, ParallelRollbacksEachUndoOnePromotionAndLosersGetConflict) {
  constexpr int kVersions = 21;
  constexpr int kCallers = 20;
  registry->create(agent("echo"));
  for (int i = 1; i <= kVersions; ++i) {
    registry->add_version("echo", std::to_string(i), "http://h" + std::to_string(i) + ":9000");
    registry->promote("echo", std::to_string(i));
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }

  std::mutex mu;
  std::vector<std::string> won;
  std::atomic<int> conflicts{0};
  std::atomic<int> other{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i)
    callers.emplace_back([&] {
      while (!go) std::this_thread::yield();
      try {
        auto v = registry->rollback("echo");
        std::lock_guard lock(mu);
        won.push_back(v.version);
      } catch (const RegistryError& e) {
        (e.kind() == Kind::conflict ? conflicts : other)++;
      } catch (...) {
        other++;
      }
    });
  go = true;
  for (auto& t : callers) t.join();

  const int s = static_cast<int>(won.size());
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(s + conflicts.load(), kCallers);
  ASSERT_GE(s, 1);
  std::sort(won.begin(), won.end());
  EXPECT_EQ(std::adjacent_find(won.begin(), won.end()), won.end()) << "a version was promoted by two rollbacks";
  for (int i = 1; i <= kVersions; ++i) {
    const std::string want = i < kVersions - s ? "superseded" : i == kVersions - s ? "promoted" : "rolled_back";
    EXPECT_EQ(status_of("echo", std::to_string(i)), want) << "version " << i << " after " << s << " rollbacks";
  }
  ASSERT_NE(catalog.find_for("echo", "basic"), nullptr);
  EXPECT_EQ(catalog.find_for("echo", "basic")->version, std::to_string(kVersions - s));
}

// A rollback undoes the last promotion: it returns to the version that was live before the
// current one. When an older build was promoted after a newer one (3 promoted, then 1, then 2),
// "the newest superseded" by creation time is 3 — a version an operator deliberately replaced —
// while the version live before 2 was 1.
TEST_P(RegistryTest, RollbackReturnsToTheVersionLiveBeforeTheCurrentOne) {
  registry->create(agent("echo"));
  for (const char* v : {"1", "2", "3"}) registry->add_version("echo", v, std::string("http://h") + v + ":900" + v);
  // Versions record when they changed with millisecond precision; promotions within the same
  // millisecond cannot be ordered, so the steps are spaced.
  for (const char* v : {"3", "1", "2"}) {
    registry->promote("echo", v);
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }

  auto r = registry->rollback("echo");
  EXPECT_EQ(r.version, "1") << "rolled back to a version that was not live before the current one";
  EXPECT_EQ(status_of("echo", "2"), "rolled_back");
  ASSERT_NE(catalog.find_for("echo", "basic"), nullptr);
  EXPECT_EQ(catalog.find_for("echo", "basic")->version, "1");
}

TEST_P(RegistryTest, RollbackWithoutAnEarlierVersionIsAConflict) {
  EXPECT_TRUE(refused(Kind::not_found, [&] { registry->rollback("nobody"); }));
  registry->create(agent("echo"));
  EXPECT_TRUE(refused(Kind::conflict, [&] { registry->rollback("echo"); })) << "no versions at all";
  registry->add_version("echo", "1", "http://h:9001");
  registry->add_version("echo", "2", "http://h:9002");
  EXPECT_TRUE(refused(Kind::conflict, [&] { registry->rollback("echo"); })) << "nothing promoted yet";
  registry->promote("echo", "1");
  EXPECT_TRUE(refused(Kind::conflict, [&] { registry->rollback("echo"); })) << "only one version was ever promoted";
  EXPECT_EQ(status_of("echo", "1"), "promoted");
  EXPECT_EQ(status_of("echo", "2"), "built");
  EXPECT_EQ(catalog.find_for("echo", "basic")->version, "1");
}

// ---- remove, update, publish

TEST_P(RegistryTest, RemoveUnpublishes) {
  registry->create(agent("echo"));
  registry->create(agent("other"));
  registry->add_version("echo", "1", "http://h:9001");
  registry->add_version("other", "1", "http://h:9002");
  registry->promote("echo", "1");
  registry->promote("other", "1");
  ASSERT_NE(catalog.find_for("echo", "basic"), nullptr);

  registry->remove("echo");
  EXPECT_EQ(catalog.find_for("echo", "premium"), nullptr);
  EXPECT_NE(catalog.find_for("other", "basic"), nullptr) << "removing one agent unpublished another";
  EXPECT_FALSE(registry->get("echo"));
  EXPECT_TRUE(store().agent_versions("echo").empty());
  EXPECT_TRUE(refused(Kind::not_found, [&] { registry->remove("echo"); }));

  // A new agent under the old name starts without the old promoted version.
  registry->create(agent("echo"));
  EXPECT_FALSE(registry->get("echo")->promoted_version);
  EXPECT_EQ(catalog.find_for("echo", "premium"), nullptr);
}

TEST_P(RegistryTest, UpdateRepublishesTheTierMinimum) {
  registry->create(agent("echo", "basic"));
  registry->add_version("echo", "1", "http://h:9001");
  registry->promote("echo", "1");
  ASSERT_NE(catalog.find_for("echo", "basic"), nullptr);

  auto a = registry->update("echo", std::nullopt, std::string("premium"), std::nullopt);
  EXPECT_EQ(a.tier_minimum, "premium");
  EXPECT_EQ(catalog.find_for("echo", "basic"), nullptr) << "the catalog still has the old tier minimum";
  EXPECT_NE(catalog.find_for("echo", "premium"), nullptr);

  EXPECT_TRUE(refused(Kind::invalid, [&] { registry->update("echo", std::nullopt, std::string("gold"), std::nullopt); }));
  EXPECT_TRUE(refused(Kind::not_found, [&] { registry->update("nobody", std::string("x"), std::nullopt, std::nullopt); }));
  EXPECT_EQ(store().find_agent("echo")->tier_minimum, "premium");
}

TEST_P(RegistryTest, PublishReportsWhetherTheCatalogChanged) {
  // Empty store, empty catalog: nothing to change.
  EXPECT_FALSE(registry->publish());

  registry->create(agent("echo"));
  registry->add_version("echo", "1", "http://h:9001");
  registry->add_version("echo", "2", "http://h:9002");
  registry->promote("echo", "1");  // publishes itself
  EXPECT_FALSE(registry->publish()) << "a refresh with nothing new reported a change";

  // Another gateway on the same store promotes 2: the next refresh picks it up, once.
  ASSERT_TRUE(store().promote_agent_version("echo", "2", "superseded"));
  EXPECT_EQ(catalog.find_for("echo", "basic")->version, "1");
  EXPECT_TRUE(registry->publish());
  EXPECT_EQ(catalog.find_for("echo", "basic")->version, "2");
  EXPECT_FALSE(registry->publish());

  // A second registry over the same store and catalog publishes the same state: a change for
  // it (it has published nothing yet), but the catalog's content stays the same.
  Registry second(store(), catalog);
  EXPECT_TRUE(second.publish());
  EXPECT_EQ(catalog.find_for("echo", "basic")->version, "2");
  EXPECT_FALSE(second.publish());
}

// Holds the first promoted_agents() call after it has read the store, until release(): a
// background refresh that read the catalog's source just before an admin's promote committed.
class SlowReadStore : public pc::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::vector<std::pair<store::AgentRecord, store::AgentVersionRecord>> promoted_agents() override {
    auto rows = real_.promoted_agents();
    std::unique_lock lk(mu_);
    if (armed_) {
      armed_ = false;
      read_ = true;
      cv_.notify_all();
      cv_.wait(lk, [&] { return released_; });
    }
    return rows;
  }
  void arm() {
    std::lock_guard lk(mu_);
    armed_ = true;
  }
  void wait_read() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return read_; });
  }
  void release() {
    std::lock_guard lk(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false, read_ = false, released_ = false;
};

// The gateway's background refresh calls publish() while admin requests promote and roll back
// on the work pool. A refresh that read the store before a promote must not publish that older
// state over the promote's own publish: the catalog would serve the replaced version (after a
// rollback: the broken one) until the next refresh.
TEST_P(RegistryTest, AStaleRefreshDoesNotUndoAPromote) {
  SlowReadStore slow(store());
  Registry reg(slow, catalog);
  reg.create(agent("echo"));
  reg.add_version("echo", "1", "http://h1:9001");
  reg.add_version("echo", "2", "http://h2:9002");
  reg.promote("echo", "1");

  slow.arm();
  std::thread refresh([&] { reg.publish(); });
  slow.wait_read();  // the refresh has read "1 is promoted"
  // Now the admin promotes 2. Today its publish goes through at once; a registry that
  // serialises refreshes may make it wait for the held one instead, so the wait is bounded.
  std::atomic<bool> promoted{false};
  std::thread admin([&] {
    reg.promote("echo", "2");
    promoted = true;
  });
  for (int i = 0; i < 100 && !promoted; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  slow.release();  // the refresh goes on with what it read
  refresh.join();
  admin.join();

  auto e = catalog.find_for("echo", "basic");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->version, "2") << "a refresh that read the store before the promote republished version " << e->version;
  EXPECT_EQ(status_of("echo", "2"), "promoted");
}

TEST_P(RegistryTest, GetAndListShowVersionsAndThePromotedOne) {
  registry->create(agent("alpha"));
  registry->create(agent("beta"));
  registry->add_version("alpha", "1", "http://h:9001");
  registry->add_version("alpha", "2", "http://h:9002");
  registry->promote("alpha", "1");

  auto view = registry->get("alpha");
  ASSERT_TRUE(view);
  ASSERT_EQ(view->versions.size(), 2u);
  EXPECT_EQ(view->versions[0].version, "2") << "versions are newest first";
  EXPECT_EQ(view->versions[1].version, "1");
  EXPECT_EQ(view->promoted_version, "1");
  EXPECT_FALSE(registry->get("nobody"));

  auto all = registry->list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].agent.name, "alpha");
  EXPECT_EQ(all[0].promoted_version, "1");
  EXPECT_EQ(all[1].agent.name, "beta");
  EXPECT_FALSE(all[1].promoted_version);
}

PC_ALL_BACKENDS(RegistryTest);

}  // namespace
}  // namespace pc::agents
