// Sessions (SPEC §8, issue 9): created by the gateway, bound to tenant, principal and agent,
// refused (as unknown) to anyone else, idle-expired, ended; the store is the truth for other nodes.
#include "agents/sessions.h"

#include <gtest/gtest.h>

#include <future>

#include "core/clock.h"
#include "core/metrics.h"
#include "core/work_pool.h"
#include "store/store.h"
#include "support/test_store.h"

namespace pc::agents {
namespace {

class SessionsTest : public pc::testing::BackendTest {
 protected:
  SessionService::Options options() {
    SessionService::Options o;
    o.write_linger = std::chrono::milliseconds(1);
    return o;
  }
  // open() and wait for its answer, wherever it comes from.
  SessionResult open(SessionService& s, const SessionOwner& owner, const std::string& id) {
    std::promise<SessionResult> p;
    s.open(owner, id, [&](SessionResult r) { p.set_value(std::move(r)); },
           [&] { p.set_value(SessionRefusal::not_found); ADD_FAILURE() << "pool overloaded"; });
    return p.get_future().get();
  }
  static bool refused(const SessionResult& r, SessionRefusal why) {
    return std::holds_alternative<SessionRefusal>(r) && std::get<SessionRefusal>(r) == why;
  }
  core::WorkPool pool{"test", 2, 64};
  const SessionOwner alice{"acme", "user:alice", "echo"};
};

TEST_P(SessionsTest, NoIdCreatesAUuidV4SessionBoundToTheOwnerAndStoresIt) {
  SessionService s(store(), pool, options());
  auto r = open(s, alice, "");
  ASSERT_TRUE(std::holds_alternative<SessionView>(r));
  const auto& v = std::get<SessionView>(r);
  EXPECT_TRUE(v.created);
  EXPECT_TRUE(is_session_id(v.session_id)) << v.session_id;
  EXPECT_EQ(v.session_id[14], '4') << "version 4";
  EXPECT_EQ(v.agent, "echo");
  EXPECT_EQ(v.status, "active");
  EXPECT_GT(v.expires_at, v.last_seen_at);
  s.flush();
  auto rec = store().find_session(v.session_id);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->tenant_id, "acme");
  EXPECT_EQ(rec->principal, "user:alice");
  EXPECT_EQ(rec->agent, "echo");
  EXPECT_NE(std::get<SessionView>(open(s, alice, "")).session_id, v.session_id);
}

TEST_P(SessionsTest, TheOwnerReusesItAndEveryoneElseIsToldItDoesNotExist) {
  SessionService s(store(), pool, options());
  const std::string id = std::get<SessionView>(open(s, alice, "")).session_id;
  auto again = open(s, alice, id);
  ASSERT_TRUE(std::holds_alternative<SessionView>(again));
  EXPECT_FALSE(std::get<SessionView>(again).created);
  EXPECT_EQ(std::get<SessionView>(again).session_id, id);

  auto& violations = core::metrics().counter("portcullis_tenant_access_violations_total", "").get();
  const double before = violations.value();
  EXPECT_TRUE(refused(open(s, {"acme", "user:bob", "echo"}, id), SessionRefusal::not_found)) << "another principal";
  EXPECT_TRUE(refused(open(s, {"acme", "user:alice", "other"}, id), SessionRefusal::not_found)) << "another agent";
  EXPECT_EQ(violations.value(), before) << "same tenant: not a violation";
  EXPECT_TRUE(refused(open(s, {"globex", "user:alice", "echo"}, id), SessionRefusal::foreign_tenant));
  EXPECT_EQ(violations.value(), before + 1) << "another tenant's real id is a tenant-access violation";

  EXPECT_TRUE(refused(open(s, alice, "0b7f6c43-2c4e-4f3a-9a4d-1d2e3f405162"), SessionRefusal::not_found));
  EXPECT_TRUE(refused(open(s, alice, "not-a-session"), SessionRefusal::not_found));
  EXPECT_TRUE(refused(open(s, alice, std::string(36, 'a')), SessionRefusal::not_found));
  EXPECT_EQ(violations.value(), before + 1);
}

// Another node (a second service over the same store, empty cache) knows the session once the
// write-behind has run, and applies the same binding.
TEST_P(SessionsTest, TheStoreIsTheTruthForAnotherNode) {
  SessionService a(store(), pool, options());
  SessionService b(store(), pool, options());
  const std::string id = std::get<SessionView>(open(a, alice, "")).session_id;
  a.flush();
  EXPECT_TRUE(std::holds_alternative<SessionView>(open(b, alice, id)));
  EXPECT_TRUE(refused(open(b, {"acme", "user:bob", "echo"}, id), SessionRefusal::not_found));
  EXPECT_TRUE(refused(open(b, {"globex", "user:alice", "echo"}, id), SessionRefusal::foreign_tenant));
}

TEST_P(SessionsTest, ASessionIdlePastTheTtlIsRefused) {
  SessionService s(store(), pool, options());
  store::SessionRecord old;
  old.session_id = "0b7f6c43-2c4e-4f3a-9a4d-1d2e3f405162";
  old.tenant_id = "acme";
  old.principal = "user:alice";
  old.agent = "echo";
  old.created_at = core::rfc3339(std::chrono::system_clock::now() - std::chrono::hours(30));
  old.last_seen_at = core::rfc3339(std::chrono::system_clock::now() - std::chrono::hours(25));
  store().insert_session(old);
  EXPECT_TRUE(refused(open(s, alice, old.session_id), SessionRefusal::not_found)) << "idle 25 h, TTL 24 h";
  s.set_idle_ttl(std::chrono::hours(48));
  EXPECT_TRUE(std::holds_alternative<SessionView>(open(s, alice, old.session_id))) << "TTL 48 h";
}

TEST_P(SessionsTest, UseRefreshesLastSeenInTheStore) {
  auto o = options();
  o.touch_every = std::chrono::seconds(0);
  SessionService s(store(), pool, o);
  store::SessionRecord rec;
  rec.session_id = "0b7f6c43-2c4e-4f3a-9a4d-1d2e3f405163";
  rec.tenant_id = "acme";
  rec.principal = "user:alice";
  rec.agent = "echo";
  rec.created_at = rec.last_seen_at = core::rfc3339(std::chrono::system_clock::now() - std::chrono::hours(2));
  store().insert_session(rec);
  ASSERT_TRUE(std::holds_alternative<SessionView>(open(s, alice, rec.session_id)));
  s.flush();
  EXPECT_GT(store().find_session(rec.session_id)->last_seen_at, rec.last_seen_at);
}

TEST_P(SessionsTest, GetAndEndAreForTheOwningPrincipalOnlyAndAnEndedSessionIsGone) {
  SessionService a(store(), pool, options());
  SessionService b(store(), pool, options());
  const std::string id = std::get<SessionView>(open(a, alice, "")).session_id;
  // Ended before the write-behind ran: end() writes it first.
  EXPECT_TRUE(refused(a.end("acme", "user:bob", id), SessionRefusal::not_found));
  EXPECT_TRUE(refused(a.get("globex", "user:alice", id), SessionRefusal::foreign_tenant));
  auto got = a.get("acme", "user:alice", id);
  ASSERT_TRUE(std::holds_alternative<SessionView>(got));
  EXPECT_EQ(std::get<SessionView>(got).agent, "echo");
  ASSERT_TRUE(std::holds_alternative<SessionView>(open(b, alice, id)));  // b caches it

  auto ended = a.end("acme", "user:alice", id);
  ASSERT_TRUE(std::holds_alternative<SessionView>(ended));
  EXPECT_EQ(std::get<SessionView>(ended).status, "ended");
  EXPECT_EQ(store().find_session(id)->status, "ended");
  EXPECT_TRUE(refused(a.get("acme", "user:alice", id), SessionRefusal::not_found));
  EXPECT_TRUE(refused(a.end("acme", "user:alice", id), SessionRefusal::not_found));
  EXPECT_TRUE(refused(open(a, alice, id), SessionRefusal::not_found));
  // The other node trusts its cache for `recheck`, then asks the store.
  auto o = options();
  o.recheck = std::chrono::milliseconds(0);
  SessionService c(store(), pool, o);
  EXPECT_TRUE(refused(open(c, alice, id), SessionRefusal::not_found));
}

PC_ALL_BACKENDS(SessionsTest);

}  // namespace
}  // namespace pc::agents
