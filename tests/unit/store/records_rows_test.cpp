// Records (issue 9) on every backend: invocation mode, status, error and token counts that may be
// unknown (NULL, never 0) and their sums, data-key seal reservations that never pass the limit
// even when several stores (nodes) reserve at once, idempotency keys (claim, replay row, takeover
// of an expired or lapsed claim, scoping by tenant and principal, purge), migration 4 over a
// version 3 database with rows, and the demo's version endpoint.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "store/db.h"
#include "store/migrations.h"
#include "store/store.h"
#include "support/test_store.h"

namespace pc::store {
namespace {

using namespace std::string_literals;

InvocationRecord invocation(std::string id, std::string tenant = "acme") {
  InvocationRecord r;
  r.invocation_id = std::move(id);
  r.tenant_id = std::move(tenant);
  r.agent = "echo";
  r.agent_version = "1";
  r.session_id = "s-1";
  r.principal = "alice";
  r.status = "succeeded";
  r.http_status = 200;
  r.latency_ms = 3;
  r.created_at = "2026-01-02T00:00:00.000Z";
  return r;
}

void add_tenant(Store& s, const std::string& id) {
  TenantRecord t;
  t.tenant_id = id;
  t.display_name = id;
  t.tier = "basic";
  s.insert_tenant(t);
}

DataKeyRecord data_key(std::string tenant, int version) {
  DataKeyRecord k;
  k.tenant_id = std::move(tenant);
  k.data_class = "invocation";
  k.version = version;
  k.wrapped = "\x01wrapped\x00"s;
  k.master_key_id = "m1";
  return k;
}

IdempotencyRecord pending(std::string owner, std::string hash = "h1", std::string principal = "alice",
                          std::string tenant = "acme") {
  IdempotencyRecord r;
  r.tenant_id = std::move(tenant);
  r.principal = std::move(principal);
  r.key = "key-1";
  r.request_hash = std::move(hash);
  r.owner = std::move(owner);
  r.created_at = "2026-01-01T00:00:00.000Z";
  r.expires_at = "2026-01-02T00:00:00.000Z";
  r.locked_until = "2026-01-01T00:05:00.000Z";
  return r;
}

const std::string kNow = "2026-01-01T00:01:00.000Z";

class RecordsRowsTest : public pc::testing::BackendTest {};

TEST_P(RecordsRowsTest, UnknownTokenCountsStayUnknownAndModeStatusErrorRoundTrip) {
  InvocationRecord known = invocation("inv-1");
  known.mode = "stream";
  known.input_tokens = 0;  // a reported zero is a count
  known.output_tokens = 9;
  InvocationRecord unknown = invocation("inv-2");
  unknown.mode = "async";
  unknown.status = "failed";
  unknown.error = "upstream_timeout";
  unknown.http_status = 504;
  store().insert_invocations({known, unknown});

  auto a = store().find_invocation("inv-1");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->mode, "stream");
  ASSERT_TRUE(a->input_tokens);
  EXPECT_EQ(*a->input_tokens, 0);
  EXPECT_EQ(a->output_tokens, 9);
  auto b = store().find_invocation("inv-2");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->mode, "async");
  EXPECT_EQ(b->status, "failed");
  EXPECT_EQ(b->error, "upstream_timeout");
  EXPECT_FALSE(b->input_tokens) << "unknown must not read back as 0";
  EXPECT_FALSE(b->output_tokens);
  InvocationQuery q;
  q.tenant_id = "acme";
  auto rows = store().list_invocations(q);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_FALSE(rows[1].input_tokens);
}

TEST_P(RecordsRowsTest, UsageSumsReportedTokensAndIsNullWhenNoneReported) {
  InvocationRecord a = invocation("a1");
  a.input_tokens = 10;
  a.output_tokens = 20;
  InvocationRecord b = invocation("a2");
  b.input_tokens = 1;  // output unknown
  InvocationRecord c = invocation("a3");
  c.status = "failed";
  InvocationRecord d = invocation("b1", "beta");  // nothing reported
  InvocationRecord e = invocation("a4");
  e.status = "cancelled";  // a client that left is not an error
  e.http_status = 499;
  store().insert_invocations({a, b, c, d, e});
  auto usage = store().usage_since("2026-01-01T00:00:00.000Z", "", 10);
  ASSERT_EQ(usage.size(), 2u);
  EXPECT_EQ(usage[0].tenant_id, "acme");
  EXPECT_EQ(usage[0].invocations, 4);
  EXPECT_EQ(usage[0].errors, 1);
  EXPECT_EQ(usage[0].input_tokens, 11);
  EXPECT_EQ(usage[0].output_tokens, 20);
  EXPECT_EQ(usage[1].tenant_id, "beta");
  EXPECT_FALSE(usage[1].input_tokens);
  EXPECT_FALSE(usage[1].output_tokens);
}

TEST_P(RecordsRowsTest, SealReservationsNeverPassTheLimit) {
  ASSERT_TRUE(store().insert_data_key(data_key("acme", 1)));
  EXPECT_TRUE(store().reserve_data_key_seals("acme", "invocation", 1, 4, 10));
  EXPECT_TRUE(store().reserve_data_key_seals("acme", "invocation", 1, 6, 10));
  EXPECT_FALSE(store().reserve_data_key_seals("acme", "invocation", 1, 1, 10)) << "full";
  EXPECT_EQ(store().data_keys("acme", "invocation")[0].seal_count, 10);
  EXPECT_FALSE(store().reserve_data_key_seals("acme", "invocation", 2, 1, 10)) << "no such version";
  EXPECT_FALSE(store().reserve_data_key_seals("beta", "invocation", 1, 1, 10)) << "no such tenant key";
}

// Two stores on one database (two nodes), many threads each: the sum granted is exactly the limit.
TEST_P(RecordsRowsTest, ConcurrentReservationsFromTwoNodesStopAtTheLimit) {
  ASSERT_TRUE(store().insert_data_key(data_key("acme", 1)));
  auto other = open_again();
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      Store& s = i % 2 ? store() : *other;
      for (int j = 0; j < 20; ++j)
        if (s.reserve_data_key_seals("acme", "invocation", 1, 3, 100)) granted += 3;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 99) << "33 blocks of 3 fit under 100, the 34th does not";
  EXPECT_EQ(store().data_keys("acme", "invocation")[0].seal_count, 99);
}

TEST_P(RecordsRowsTest, IdempotencyClaimThenCompleteThenReplayRow) {
  auto first = store().claim_idempotency_key(pending("node-a"), kNow);
  EXPECT_TRUE(first.claimed);
  // In flight: a second claim sees the pending row, whatever its hash.
  auto again = store().claim_idempotency_key(pending("node-b", "h2"), kNow);
  ASSERT_FALSE(again.claimed);
  ASSERT_TRUE(again.existing);
  EXPECT_EQ(again.existing->state, "pending");
  EXPECT_EQ(again.existing->request_hash, "h1");
  EXPECT_EQ(again.existing->owner, "node-a");

  IdempotencyRecord done = pending("node-b");
  done.http_status = 200;
  done.content_type = "application/json";
  done.response_sealed = "\x00sealed\xff"s;
  EXPECT_FALSE(store().complete_idempotency_key(done)) << "only the owner completes";
  done.owner = "node-a";
  EXPECT_TRUE(store().complete_idempotency_key(done));
  EXPECT_FALSE(store().complete_idempotency_key(done)) << "done once";

  auto replay = store().claim_idempotency_key(pending("node-c"), kNow);
  ASSERT_FALSE(replay.claimed);
  ASSERT_TRUE(replay.existing);
  EXPECT_EQ(replay.existing->state, "done");
  EXPECT_EQ(replay.existing->http_status, 200);
  EXPECT_EQ(replay.existing->content_type, "application/json");
  EXPECT_EQ(replay.existing->response_sealed, "\x00sealed\xff"s);
  EXPECT_FALSE(store().release_idempotency_key("acme", "alice", "key-1", "node-a")) << "a done key is not released";
}

TEST_P(RecordsRowsTest, IdempotencyKeysAreScopedToTenantAndPrincipal) {
  add_tenant(store(), "acme");
  add_tenant(store(), "beta");
  EXPECT_TRUE(store().claim_idempotency_key(pending("a", "h1", "alice", "acme"), kNow).claimed);
  EXPECT_TRUE(store().claim_idempotency_key(pending("b", "h1", "bob", "acme"), kNow).claimed) << "other principal";
  EXPECT_TRUE(store().claim_idempotency_key(pending("c", "h1", "alice", "beta"), kNow).claimed) << "other tenant";
  EXPECT_FALSE(store().claim_idempotency_key(pending("d", "h1", "alice", "acme"), kNow).claimed);
}

TEST_P(RecordsRowsTest, ReleasedLapsedAndExpiredKeysCanBeClaimedAgain) {
  ASSERT_TRUE(store().claim_idempotency_key(pending("a"), kNow).claimed);
  EXPECT_FALSE(store().release_idempotency_key("acme", "alice", "key-1", "b")) << "not b's claim";
  EXPECT_TRUE(store().release_idempotency_key("acme", "alice", "key-1", "a"));
  EXPECT_TRUE(store().claim_idempotency_key(pending("b"), kNow).claimed) << "released";

  // b's node died: after locked_until another node takes the key over, once.
  const std::string later = "2026-01-01T00:06:00.000Z";
  IdempotencyRecord c = pending("c");
  c.locked_until = "2026-01-01T00:10:00.000Z";
  EXPECT_FALSE(store().claim_idempotency_key(c, kNow).claimed);
  EXPECT_TRUE(store().claim_idempotency_key(c, later).claimed);
  EXPECT_FALSE(store().claim_idempotency_key(pending("d"), later).claimed);
  IdempotencyRecord late = pending("b");
  late.http_status = 200;
  EXPECT_FALSE(store().complete_idempotency_key(late)) << "b lost its claim";

  // A done key past expires_at is a new key again.
  IdempotencyRecord done = pending("c");
  done.http_status = 201;
  ASSERT_TRUE(store().complete_idempotency_key(done));
  EXPECT_FALSE(store().claim_idempotency_key(pending("e"), later).claimed);
  const std::string next_day = "2026-01-02T00:00:01.000Z";
  EXPECT_TRUE(store().claim_idempotency_key(pending("e", "other hash"), next_day).claimed);
}

TEST_P(RecordsRowsTest, PurgeRemovesExpiredKeysOnly) {
  ASSERT_TRUE(store().claim_idempotency_key(pending("a"), kNow).claimed);
  IdempotencyRecord later = pending("b", "h1", "bob");
  later.expires_at = "2026-01-03T00:00:00.000Z";
  ASSERT_TRUE(store().claim_idempotency_key(later, kNow).claimed);
  EXPECT_EQ(store().purge_idempotency_keys_before("2026-01-02T12:00:00.000Z"), 1);
  EXPECT_TRUE(store().claim_idempotency_key(pending("c"), kNow).claimed) << "alice's key was purged";
  EXPECT_FALSE(store().claim_idempotency_key(later, kNow).claimed) << "bob's is kept";
}

TEST_P(RecordsRowsTest, DeletedTenantsGetNoKeysAndPurgeRemovesTheirs) {
  add_tenant(store(), "acme");
  ASSERT_TRUE(store().claim_idempotency_key(pending("a"), kNow).claimed);
  store().purge_tenant("acme");
  try {
    store().claim_idempotency_key(pending("b", "h1", "bob"), kNow);
    FAIL() << "a purged tenant must not get keys";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::gone);
  }
  auto c = connect();
  Statement q = c->prepare("SELECT COUNT(*) FROM idempotency_keys");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_int64(0), 0) << "the purge removed the tenant's remembered answers";
}

TEST_P(RecordsRowsTest, VersionEndpointCanBeMoved) {
  AgentRecord a;
  a.name = "echo";
  store().insert_agent(a);
  AgentVersionRecord v;
  v.agent = "echo";
  v.version = "demo";
  v.endpoint = "http://127.0.0.1:1000";
  store().insert_agent_version(v);
  EXPECT_TRUE(store().set_agent_version_endpoint("echo", "demo", "http://127.0.0.1:2000"));
  EXPECT_EQ(store().agent_versions("echo").at(0).endpoint, "http://127.0.0.1:2000");
  EXPECT_FALSE(store().set_agent_version_endpoint("echo", "nope", "http://127.0.0.1:2000"));
}

// A database at version 3 with an invocation: after migration 4 its hard-coded zero counts are
// unknown, "completed" reads "succeeded", the mode is sync, and content is kept.
TEST_P(RecordsRowsTest, MigrationFourKeepsOldInvocations) {
  auto fresh = std::make_unique<pc::testing::TestDatabase>(GetParam());
  auto db = fresh->connect();
  const auto all = sqlite_migrations();
  ASSERT_GE(all.size(), 4u);
  migrate(*db, all.subspan(0, 3));
  db->prepare(
        "INSERT INTO invocations(invocation_id, tenant_id, agent, agent_version, session_id, principal, status, "
        "http_status, latency_ms, input_tokens, output_tokens, created_at, content_sealed) "
        "VALUES ('old-1', 'acme', 'echo', '1', '', 'alice', 'completed', 200, 5, 0, 0, '2026-01-01T00:00:00.000Z', ?1)")
      .bind_blob(1, "\x01sealed"s)
      .run();
  db->prepare(
        "INSERT INTO invocations(invocation_id, tenant_id, agent, agent_version, session_id, principal, status, "
        "http_status, latency_ms, input_tokens, output_tokens, created_at) "
        "VALUES ('old-2', 'acme', 'echo', '1', '', 'alice', 'failed', 502, 5, 0, 0, '2026-01-01T00:00:01.000Z')")
      .run();
  db.reset();
  auto s = fresh->open_store();
  EXPECT_GE(s->schema_version(), 4);
  auto a = s->find_invocation("old-1");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, "succeeded");
  EXPECT_EQ(a->mode, "sync");
  EXPECT_FALSE(a->input_tokens);
  EXPECT_FALSE(a->output_tokens);
  EXPECT_EQ(a->content_sealed, "\x01sealed"s);
  auto b = s->find_invocation("old-2");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->status, "failed");
  // The indexes came back with the rebuilt table.
  InvocationQuery q;
  q.tenant_id = "acme";
  q.since = "2026-01-01T00:00:00.500Z";
  ASSERT_EQ(s->list_invocations(q).size(), 1u);
  s.reset();
}

PC_ALL_BACKENDS(RecordsRowsTest);

}  // namespace
}  // namespace pc::store
