// Invocations and sessions: content kept out of listings and purged by retention while metadata
// stays, cursors, per-tenant usage, session lifecycle. Runs on every backend.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/store.h"
#include "support/test_store.h"

namespace pc::store {
namespace {

using namespace std::string_literals;

const std::string kSealed = "\x00\x9f sealed content\x00"s;

InvocationRecord invocation(std::string id, std::string tenant = "acme",
                            std::string created_at = "2026-01-01T00:00:00.000Z") {
  InvocationRecord r;
  r.invocation_id = std::move(id);
  r.tenant_id = std::move(tenant);
  r.agent = "echo";
  r.agent_version = "1";
  r.session_id = "s-" + r.invocation_id;
  r.principal = "alice";
  r.status = "completed";
  r.http_status = 200;
  r.latency_ms = 12;
  r.input_tokens = 3;
  r.output_tokens = 5;
  r.created_at = std::move(created_at);
  r.content_sealed = kSealed;
  return r;
}

SessionRecord session(std::string id, std::string last_seen_at, std::string tenant = "acme") {
  SessionRecord s;
  s.session_id = std::move(id);
  s.tenant_id = std::move(tenant);
  s.principal = "alice";
  s.agent = "echo";
  s.created_at = "2026-01-01T00:00:00.000Z";
  s.last_seen_at = std::move(last_seen_at);
  return s;
}

std::vector<std::string> ids(const std::vector<InvocationRecord>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.invocation_id);
  return out;
}

class ActivityRowsTest : public pc::testing::BackendTest {};

TEST_P(ActivityRowsTest, FindInvocationReturnsEveryFieldWithItsContent) {
  store().insert_invocation(invocation("inv-1"));
  auto got = store().find_invocation("inv-1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->invocation_id, "inv-1");
  EXPECT_EQ(got->tenant_id, "acme");
  EXPECT_EQ(got->agent, "echo");
  EXPECT_EQ(got->agent_version, "1");
  EXPECT_EQ(got->session_id, "s-inv-1");
  EXPECT_EQ(got->principal, "alice");
  EXPECT_EQ(got->status, "completed");
  EXPECT_EQ(got->http_status, 200);
  EXPECT_EQ(got->latency_ms, 12);
  EXPECT_EQ(got->input_tokens, 3);
  EXPECT_EQ(got->output_tokens, 5);
  EXPECT_EQ(got->created_at, "2026-01-01T00:00:00.000Z");
  ASSERT_TRUE(got->content_sealed.has_value());
  EXPECT_EQ(*got->content_sealed, kSealed);
  EXPECT_FALSE(store().find_invocation("inv-2").has_value());
}

TEST_P(ActivityRowsTest, InvocationWithoutContentReadsBackAsNoContent) {
  InvocationRecord r = invocation("inv-1");
  r.content_sealed.reset();
  r.created_at.clear();
  store().insert_invocation(r);
  auto got = store().find_invocation("inv-1");
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->content_sealed.has_value());  // not an empty ciphertext, which would fail to open
  EXPECT_EQ(got->created_at.size(), 24u) << got->created_at;  // stamped by the store
}

TEST_P(ActivityRowsTest, DuplicateInvocationIdThrowsDuplicate) {
  store().insert_invocation(invocation("inv-1"));
  try {
    store().insert_invocation(invocation("inv-1", "globex"));
    FAIL() << "a duplicate invocation id must throw";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::duplicate);
    EXPECT_NE(std::string(e.what()).find("inv-1"), std::string::npos) << e.what();
  }
  EXPECT_EQ(store().find_invocation("inv-1")->tenant_id, "acme");
}

TEST_P(ActivityRowsTest, ListingsNeverCarryContent) {
  store().insert_invocation(invocation("inv-1"));
  store().insert_invocation(invocation("inv-2", "globex"));
  auto all = store().list_invocations(InvocationQuery{});
  ASSERT_EQ(all.size(), 2u);
  for (const auto& r : all) {
    // The admin API lists metadata, never content (SPEC §5).
    EXPECT_FALSE(r.content_sealed.has_value()) << r.invocation_id;
    EXPECT_EQ(r.http_status, 200);
    EXPECT_EQ(r.output_tokens, 5);
    EXPECT_EQ(r.principal, "alice");
  }
}

TEST_P(ActivityRowsTest, ListFiltersByTenantAgentAndSince) {
  store().insert_invocation(invocation("a1", "acme", "2026-01-01T00:00:00.000Z"));
  InvocationRecord other_agent = invocation("a2", "acme", "2026-01-02T00:00:00.000Z");
  other_agent.agent = "summarise";
  store().insert_invocation(other_agent);
  store().insert_invocation(invocation("a3", "acme", "2026-01-03T00:00:00.000Z"));
  store().insert_invocation(invocation("g1", "globex", "2026-01-03T00:00:00.000Z"));

  InvocationQuery by_tenant;
  by_tenant.tenant_id = "acme";
  EXPECT_EQ(ids(store().list_invocations(by_tenant)), (std::vector<std::string>{"a1", "a2", "a3"}));

  InvocationQuery by_agent;
  by_agent.agent = "echo";
  EXPECT_EQ(ids(store().list_invocations(by_agent)), (std::vector<std::string>{"a1", "a3", "g1"}));

  InvocationQuery since;
  since.tenant_id = "acme";
  since.since = "2026-01-02T00:00:00.000Z";  // inclusive
  EXPECT_EQ(ids(store().list_invocations(since)), (std::vector<std::string>{"a2", "a3"}));

  InvocationQuery everyone;  // platform reads
  EXPECT_EQ(ids(store().list_invocations(everyone)), (std::vector<std::string>{"a1", "a2", "a3", "g1"}));

  InvocationQuery nobody;
  nobody.tenant_id = "initech";
  EXPECT_TRUE(store().list_invocations(nobody).empty());
}

TEST_P(ActivityRowsTest, ListPagesByIdWithAfterIdAndLimit) {
  // Inserted out of id order: the cursor follows ids, not insertion.
  for (std::string id : {"inv-05", "inv-01", "inv-04", "inv-02", "inv-03"}) store().insert_invocation(invocation(id));
  InvocationQuery q;
  q.tenant_id = "acme";
  q.limit = 2;
  auto page = store().list_invocations(q);
  EXPECT_EQ(ids(page), (std::vector<std::string>{"inv-01", "inv-02"}));
  q.after_id = page.back().invocation_id;
  page = store().list_invocations(q);
  EXPECT_EQ(ids(page), (std::vector<std::string>{"inv-03", "inv-04"}));
  q.after_id = page.back().invocation_id;
  EXPECT_EQ(ids(store().list_invocations(q)), std::vector<std::string>{"inv-05"});
  q.after_id = "inv-05";
  EXPECT_TRUE(store().list_invocations(q).empty());
}

TEST_P(ActivityRowsTest, ContentPurgeClearsOnlyOlderContentAndKeepsMetadata) {
  store().insert_invocation(invocation("old-1", "acme", "2026-01-01T00:00:00.000Z"));
  store().insert_invocation(invocation("old-2", "globex", "2026-01-02T00:00:00.000Z"));
  store().insert_invocation(invocation("edge", "acme", "2026-01-03T00:00:00.000Z"));
  store().insert_invocation(invocation("new", "acme", "2026-01-04T00:00:00.000Z"));
  InvocationRecord empty = invocation("old-no-content", "acme", "2026-01-01T00:00:00.000Z");
  empty.content_sealed.reset();
  store().insert_invocation(empty);

  // Rows that had no content are not counted: the count reports what retention removed.
  EXPECT_EQ(store().purge_invocation_content_before("2026-01-03T00:00:00.000Z"), 2);
  for (std::string id : {"old-1", "old-2", "old-no-content"}) {
    auto r = store().find_invocation(id);
    ASSERT_TRUE(r.has_value()) << id;  // metadata stays for the audit period
    EXPECT_FALSE(r->content_sealed.has_value()) << id;
    EXPECT_EQ(r->output_tokens, 5) << id;
  }
  for (std::string id : {"edge", "new"}) {
    auto r = store().find_invocation(id);
    ASSERT_TRUE(r.has_value()) << id;
    ASSERT_TRUE(r->content_sealed.has_value()) << id;
    EXPECT_EQ(*r->content_sealed, kSealed) << id;
  }
  EXPECT_EQ(store().purge_invocation_content_before("2026-01-03T00:00:00.000Z"), 0);
}

TEST_P(ActivityRowsTest, UsageCountsInvocationsAndErrorsPerTenant) {
  auto add = [&](std::string id, std::string tenant, std::string status, int http, std::string at) {
    InvocationRecord r = invocation(std::move(id), std::move(tenant), std::move(at));
    r.status = std::move(status);
    r.http_status = http;
    store().insert_invocation(r);
  };
  const std::string day1 = "2026-01-01T00:00:00.000Z", day2 = "2026-01-02T00:00:00.000Z";
  add("a1", "acme", "completed", 200, day2);
  add("a2", "acme", "failed", 200, day2);     // an error by status
  add("a3", "acme", "completed", 502, day2);  // an error by upstream status
  add("a4", "acme", "completed", 404, day2);  // a client error is not the gateway's error rate
  add("a5", "acme", "failed", 500, day2);     // both at once counts once
  add("b1", "beta", "completed", 200, day2);
  add("b2", "beta", "completed", 200, day2);
  add("c1", "cobalt", "completed", 200, day2);
  add("c2", "cobalt", "completed", 200, day2);
  add("old", "cobalt", "failed", 500, day1);  // before the window

  auto usage = store().usage_since(day2, "", 10);
  ASSERT_EQ(usage.size(), 3u);
  EXPECT_EQ(usage[0].tenant_id, "acme");
  EXPECT_EQ(usage[0].invocations, 5);
  EXPECT_EQ(usage[0].errors, 3);
  // Ties in count are broken by tenant id so that pages and dashboards are stable.
  EXPECT_EQ(usage[1].tenant_id, "beta");
  EXPECT_EQ(usage[1].invocations, 2);
  EXPECT_EQ(usage[1].errors, 0);
  EXPECT_EQ(usage[2].tenant_id, "cobalt");
  EXPECT_EQ(usage[2].invocations, 2);
  EXPECT_EQ(usage[2].errors, 0);

  auto top1 = store().usage_since(day2, "", 1);
  ASSERT_EQ(top1.size(), 1u);
  EXPECT_EQ(top1[0].tenant_id, "acme");

  auto cobalt = store().usage_since(day1, "cobalt", 10);
  ASSERT_EQ(cobalt.size(), 1u);
  EXPECT_EQ(cobalt[0].invocations, 3);
  EXPECT_EQ(cobalt[0].errors, 1);

  EXPECT_TRUE(store().usage_since(day2, "initech", 10).empty());
  EXPECT_TRUE(store().usage_since("2027-01-01T00:00:00.000Z", "", 10).empty());
}

TEST_P(ActivityRowsTest, SessionInsertFindAndEnd) {
  SessionRecord s = session("sess-1", "");
  store().insert_session(s);
  auto got = store().find_session("sess-1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->session_id, "sess-1");
  EXPECT_EQ(got->tenant_id, "acme");
  EXPECT_EQ(got->principal, "alice");
  EXPECT_EQ(got->agent, "echo");
  EXPECT_EQ(got->status, "active");
  EXPECT_EQ(got->created_at, "2026-01-01T00:00:00.000Z");
  // A new session was last seen when it was created: retention must not purge it at once.
  EXPECT_EQ(got->last_seen_at, "2026-01-01T00:00:00.000Z");
  EXPECT_FALSE(store().find_session("sess-2").has_value());

  EXPECT_TRUE(store().end_session("sess-1"));
  EXPECT_EQ(store().find_session("sess-1")->status, "ended");
  EXPECT_TRUE(store().end_session("sess-1"));  // ending twice is not an error
  EXPECT_FALSE(store().end_session("sess-2"));
  EXPECT_FALSE(store().find_session("sess-2").has_value());
}

TEST_P(ActivityRowsTest, DuplicateSessionIdThrowsDuplicate) {
  store().insert_session(session("sess-1", "2026-01-01T00:00:00.000Z"));
  try {
    store().insert_session(session("sess-1", "2026-01-01T00:00:00.000Z", "globex"));
    FAIL() << "a duplicate session id must throw";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::duplicate);
  }
  // The first owner keeps it: a second tenant must not take over a session by its id.
  EXPECT_EQ(store().find_session("sess-1")->tenant_id, "acme");
}

TEST_P(ActivityRowsTest, SessionPurgeGoesByLastSeen) {
  SessionRecord old_but_active = session("recent", "2026-01-05T00:00:00.000Z");
  old_but_active.created_at = "2025-12-01T00:00:00.000Z";  // created long ago, used lately: keep
  store().insert_session(old_but_active);
  store().insert_session(session("stale-1", "2026-01-01T00:00:00.000Z"));
  store().insert_session(session("stale-2", "2026-01-02T00:00:00.000Z", "globex"));
  store().insert_session(session("edge", "2026-01-03T00:00:00.000Z"));

  EXPECT_EQ(store().purge_sessions_before("2026-01-03T00:00:00.000Z"), 2);
  EXPECT_FALSE(store().find_session("stale-1").has_value());
  EXPECT_FALSE(store().find_session("stale-2").has_value());
  EXPECT_TRUE(store().find_session("edge").has_value());
  EXPECT_TRUE(store().find_session("recent").has_value());
  EXPECT_EQ(store().purge_sessions_before("2026-01-03T00:00:00.000Z"), 0);
}

PC_ALL_BACKENDS(ActivityRowsTest);

}  // namespace
}  // namespace pc::store
