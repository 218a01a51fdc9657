// MCP sessions (issue 10, area transport): created at initialize and stored before the answer,
// bound to tenant, subject and client, refused (as unknown) to anyone else, idle-expired, ended
// by DELETE; any node sharing the store resumes them. Every test runs on SQLite and PostgreSQL.
#include "mcp/sessions.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "core/metrics.h"
#include "core/work_pool.h"
#include "store/records.h"
#include "store/store.h"
#include "support/test_store.h"

namespace pc::mcp {
namespace {

class McpSessionsTest : public pc::testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    for (const char* t : {"acme", "demo"}) {
      store::TenantRecord r;
      r.tenant_id = t;
      r.display_name = t;
      r.tier = "standard";
      r.status = "active";
      store().insert_tenant(r);
    }
  }
  McpSessions::Options options() {
    McpSessions::Options o;
    o.write_linger = std::chrono::milliseconds(1);
    return o;
  }
  SessionLookup open(McpSessions& s, const SessionOwner& owner, const std::string& id) {
    std::promise<SessionLookup> p;
    s.open(owner, id, [&](SessionLookup r) { p.set_value(std::move(r)); },
           [&] {
             ADD_FAILURE() << "pool overloaded";
             p.set_value(SessionRefusal::not_found);
           });
    return p.get_future().get();
  }
  static bool refused(const SessionLookup& r, SessionRefusal why) {
    return std::holds_alternative<SessionRefusal>(r) && std::get<SessionRefusal>(r) == why;
  }
  McpSession create(McpSessions& s, const SessionOwner& o) {
    return s.create(o, "2025-06-18", boost::json::object{{"sampling", boost::json::object{}}},
                    boost::json::object{{"name", "test-client"}, {"version", "1.0"}});
  }
  core::WorkPool pool{"test", 2, 64};
  const SessionOwner alice{"acme", "user:alice", "client-a"};
};

TEST_P(McpSessionsTest, CreateStoresTheSessionBeforeItReturnsWithAnUnguessableVisibleAsciiId) {
  McpSessions s(store(), pool, options());
  McpSession m = create(s, alice);
  EXPECT_TRUE(is_mcp_session_id(m.id)) << m.id;
  EXPECT_EQ(m.id.size(), 43u);
  for (char c : m.id) EXPECT_TRUE(c >= 0x21 && c <= 0x7e);
  EXPECT_EQ(m.tenant, "acme");
  EXPECT_EQ(m.subject, "user:alice");
  EXPECT_EQ(m.client, "client-a");
  EXPECT_EQ(m.protocol_version, "2025-06-18");
  EXPECT_GT(m.created_at, 1700000000000);
  // No flush: the row is there as soon as create returned.
  auto rec = store().find_mcp_session(m.id);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->tenant_id, "acme");
  EXPECT_EQ(rec->subject, "user:alice");
  EXPECT_EQ(rec->client_id, "client-a");
  EXPECT_EQ(rec->protocol_version, "2025-06-18");
  EXPECT_EQ(rec->created_ms, m.created_at);
  EXPECT_NE(create(s, alice).id, m.id);
}

TEST_P(McpSessionsTest, OnlyTheSameTenantSubjectAndClientMayUseIt) {
  McpSessions s(store(), pool, options());
  const std::string id = create(s, alice).id;
  auto again = open(s, alice, id);
  ASSERT_TRUE(std::holds_alternative<McpSession>(again));
  EXPECT_EQ(std::get<McpSession>(again).id, id);
  EXPECT_EQ(std::get<McpSession>(again).client_info.at("name").as_string(), "test-client");
  EXPECT_TRUE(std::get<McpSession>(again).client_capabilities.contains("sampling"));

  auto& violations = core::metrics().counter("portcullis_tenant_access_violations_total", "").get();
  const double before = violations.value();
  EXPECT_TRUE(refused(open(s, {"acme", "user:bob", "client-a"}, id), SessionRefusal::not_found)) << "another subject";
  EXPECT_TRUE(refused(open(s, {"acme", "user:alice", "client-b"}, id), SessionRefusal::not_found)) << "another client";
  EXPECT_EQ(violations.value(), before) << "same tenant: not a violation";
  EXPECT_TRUE(refused(open(s, {"demo", "user:alice", "client-a"}, id), SessionRefusal::foreign_tenant));
  EXPECT_EQ(violations.value(), before + 1) << "another tenant's real id is a tenant-access violation";

  EXPECT_TRUE(refused(open(s, alice, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), SessionRefusal::not_found));
  EXPECT_TRUE(refused(open(s, alice, "not-a-session"), SessionRefusal::not_found));
  EXPECT_TRUE(refused(open(s, alice, id + "x"), SessionRefusal::not_found));
  EXPECT_TRUE(refused(open(s, alice, ""), SessionRefusal::not_found));
}

// Another node: a second Store on the same database and a second service with an empty cache.
TEST_P(McpSessionsTest, AnotherNodeSharingTheStoreResumesItWithItsUpstreamState) {
  McpSessions a(store(), pool, options());
  const std::string id = create(a, alice).id;
  a.set_upstream(id, "/tools", "{\"session\":\"up-1\"}");
  a.set_upstream(id, "acme/crm", "{\"session\":\"up-2\"}");
  a.flush();

  auto second = open_again();
  core::WorkPool pool2{"node2", 1, 16};
  McpSessions b(*second, pool2, options());
  auto r = open(b, alice, id);
  ASSERT_TRUE(std::holds_alternative<McpSession>(r));
  const McpSession& m = std::get<McpSession>(r);
  EXPECT_EQ(m.protocol_version, "2025-06-18");
  ASSERT_EQ(m.upstream.size(), 2u);
  EXPECT_EQ(m.upstream.at("/tools"), "{\"session\":\"up-1\"}");
  EXPECT_EQ(m.upstream.at("acme/crm"), "{\"session\":\"up-2\"}");
  EXPECT_TRUE(refused(open(b, {"demo", "user:alice", "client-a"}, id), SessionRefusal::foreign_tenant));
  EXPECT_TRUE(refused(open(b, {"acme", "user:alice", "client-b"}, id), SessionRefusal::not_found));

  // One key forgotten on node b; node a's next store read sees it.
  b.set_upstream(id, "/tools", "");
  b.flush();
  auto rec = store().find_mcp_session(id);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->upstream.size(), 1u);
  EXPECT_EQ(rec->upstream.count("acme/crm"), 1u);

  // Ended on node b: node a refuses it once its cached copy is rechecked.
  auto o = options();
  o.recheck = std::chrono::milliseconds(0);
  McpSessions a2(store(), pool, o);
  ASSERT_TRUE(std::holds_alternative<McpSession>(open(a2, alice, id)));
  ASSERT_TRUE(std::holds_alternative<McpSession>(b.end(alice, id)));
  EXPECT_TRUE(refused(open(a2, alice, id), SessionRefusal::not_found));
  EXPECT_FALSE(store().find_mcp_session(id));
}

TEST_P(McpSessionsTest, EndIsForTheOwnerOnlyAndAnEndedSessionIsGone) {
  McpSessions s(store(), pool, options());
  const std::string id = create(s, alice).id;
  EXPECT_TRUE(refused(s.end({"acme", "user:bob", "client-a"}, id), SessionRefusal::not_found));
  EXPECT_TRUE(refused(s.end({"demo", "user:alice", "client-a"}, id), SessionRefusal::foreign_tenant));
  ASSERT_TRUE(store().find_mcp_session(id)) << "a refused end changes nothing";
  auto ended = s.end(alice, id);
  ASSERT_TRUE(std::holds_alternative<McpSession>(ended));
  EXPECT_EQ(std::get<McpSession>(ended).id, id);
  EXPECT_TRUE(refused(open(s, alice, id), SessionRefusal::not_found));
  EXPECT_TRUE(refused(s.end(alice, id), SessionRefusal::not_found)) << "ending twice: the second time it is gone";
}

TEST_P(McpSessionsTest, ASessionIdlePastTheExpiryIsRefusedAndPurged) {
  auto o = options();
  o.idle = std::chrono::seconds(1);
  McpSessions s(store(), pool, o);
  const std::string id = create(s, alice).id;
  ASSERT_TRUE(std::holds_alternative<McpSession>(open(s, alice, id)));
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_TRUE(refused(open(s, alice, id), SessionRefusal::not_found));
  // A second node (reading the store) refuses it too, and the purge removes it.
  auto second = open_again();
  McpSessions b(*second, pool, o);
  EXPECT_TRUE(refused(open(b, alice, id), SessionRefusal::not_found));
  EXPECT_EQ(s.purge_expired(), 1);
  EXPECT_FALSE(store().find_mcp_session(id));
}

TEST_P(McpSessionsTest, UseKeepsItAliveInTheStoreForOtherNodes) {
  auto o = options();
  o.idle = std::chrono::seconds(2);
  o.touch_every = std::chrono::seconds(0);
  McpSessions s(store(), pool, o);
  const std::string id = create(s, alice).id;
  const std::string created = store().find_mcp_session(id)->last_seen_at;
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  ASSERT_TRUE(std::holds_alternative<McpSession>(open(s, alice, id)));
  s.flush();
  EXPECT_GT(store().find_mcp_session(id)->last_seen_at, created);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  // 2.4 s after creation but 1.2 s after the last use: alive on another node too.
  auto second = open_again();
  McpSessions b(*second, pool, o);
  EXPECT_TRUE(std::holds_alternative<McpSession>(open(b, alice, id)));
}

TEST_P(McpSessionsTest, ADeletedTenantGetsNoSessionAndItsPurgeRemovesThem) {
  McpSessions s(store(), pool, options());
  const std::string id = create(s, alice).id;
  s.set_upstream(id, "/tools", "x");
  s.flush();
  store().mark_tenant_deleted("acme", 0);
  EXPECT_THROW(create(s, alice), store::StoreError);
  store().purge_tenant("acme");
  EXPECT_FALSE(store().find_mcp_session(id));
}

PC_ALL_BACKENDS(McpSessionsTest);

}  // namespace
}  // namespace pc::mcp
