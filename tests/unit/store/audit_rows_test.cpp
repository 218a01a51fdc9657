// The audit log's rows: seq assignment and linking under concurrent writers, query filters,
// retention purge and its anchor. Runs on every backend.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "store/store.h"
#include "support/test_store.h"

namespace pc::store {
namespace {

// A stand-in for the audit module's hash: anything that depends on the predecessor's hash, so a
// record linked to the wrong predecessor gets a different hash.
void test_link(AuditRecord& r, const std::string& prev) {
  r.prev_hash = prev;
  r.hash = std::to_string(std::hash<std::string>{}(prev + "|" + std::to_string(r.seq) + "|" + r.action));
}

AuditRecord event(std::string action, std::string time = "2026-01-01T00:00:00.000Z", std::string tenant = "acme",
                  std::string actor = "alice") {
  AuditRecord r;
  r.time = std::move(time);
  r.tenant_id = std::move(tenant);
  r.actor = std::move(actor);
  r.action = std::move(action);
  r.resource = "/v1/thing";
  r.outcome = "success";
  r.request_id = "req-" + r.action;
  r.details = "{}";
  return r;
}

// Every record follows its predecessor: seq + 1 and prev_hash = the predecessor's hash, starting
// from `from` (the anchor, or seq 0 and "" for a log that was never purged).
void expect_chain(const std::vector<AuditRecord>& rows, AuditAnchor from = {}) {
  for (const AuditRecord& r : rows) {
    EXPECT_EQ(r.seq, from.seq + 1) << "gap or reorder before " << r.action;
    EXPECT_EQ(r.prev_hash, from.hash) << "wrong link at seq " << r.seq;
    AuditRecord copy = r;
    test_link(copy, from.hash);
    EXPECT_EQ(r.hash, copy.hash) << "hash not computed over its predecessor at seq " << r.seq;
    from = AuditAnchor{r.seq, r.hash};
  }
}

std::vector<AuditRecord> all_rows(Store& s) {
  AuditQuery q;
  q.limit = 100000;
  return s.query_audit(q);
}

std::vector<std::string> actions(const std::vector<AuditRecord>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.action);
  return out;
}

class AuditRowsTest : public pc::testing::BackendTest {
 protected:
  void append(std::vector<AuditRecord> batch) { store().append_audit(batch, test_link); }

  // Two gateways sharing one database: two more Store objects on store()'s database, each with
  // its own connections (its own pool on PostgreSQL), as two processes would open it.
  std::pair<std::unique_ptr<Store>, std::unique_ptr<Store>> two_gateways() {
    auto a = open_again();
    auto b = open_again();
    return {std::move(a), std::move(b)};
  }
};

TEST_P(AuditRowsTest, AppendAssignsSeqFromOneAndLinksEachRecordToItsPredecessor) {
  std::vector<AuditRecord> batch = {event("a.one"), event("a.two"), event("a.three")};
  store().append_audit(batch, test_link);

  // The caller's batch carries what was stored (the audit writer reports seqs back).
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[0].seq, 1);
  EXPECT_EQ(batch[0].prev_hash, "");
  EXPECT_EQ(batch[2].seq, 3);
  expect_chain(batch);

  auto rows = all_rows(store());
  ASSERT_EQ(rows.size(), 3u);
  expect_chain(rows);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].seq, batch[i].seq);
    EXPECT_EQ(rows[i].hash, batch[i].hash);
    EXPECT_EQ(rows[i].prev_hash, batch[i].prev_hash);
  }
  const AuditRecord& r = rows[1];
  EXPECT_EQ(r.time, "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(r.tenant_id, "acme");
  EXPECT_EQ(r.actor, "alice");
  EXPECT_EQ(r.action, "a.two");
  EXPECT_EQ(r.resource, "/v1/thing");
  EXPECT_EQ(r.outcome, "success");
  EXPECT_EQ(r.request_id, "req-a.two");
  EXPECT_EQ(r.details, "{}");
}

TEST_P(AuditRowsTest, SeqContinuesWithoutGapsAcrossBatches) {
  append({event("b1"), event("b2")});
  append({event("b3")});
  append({event("b4"), event("b5"), event("b6")});
  auto rows = all_rows(store());
  EXPECT_EQ(actions(rows), (std::vector<std::string>{"b1", "b2", "b3", "b4", "b5", "b6"}));
  expect_chain(rows);
}

TEST_P(AuditRowsTest, EmptyBatchWritesNothingAndCallsNoLinker) {
  std::vector<AuditRecord> empty;
  int calls = 0;
  store().append_audit(empty, [&](AuditRecord&, const std::string&) { ++calls; });
  EXPECT_EQ(calls, 0);
  append({event("first")});
  auto rows = all_rows(store());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].seq, 1);  // the empty batch consumed no seq
}

TEST_P(AuditRowsTest, AFailingLinkerStoresNoneOfTheBatchAndLeavesItUntouched) {
  append({event("before")});
  std::vector<AuditRecord> batch = {event("x1"), event("x2"), event("x3")};
  auto failing = [](AuditRecord& r, const std::string& prev) {
    if (r.action == "x2") throw std::runtime_error("hasher broke");
    test_link(r, prev);
  };
  EXPECT_THROW(store().append_audit(batch, failing), std::runtime_error);

  // All or nothing: x1 was linked but must not be stored, or the chain would hold half a batch.
  EXPECT_EQ(actions(all_rows(store())), std::vector<std::string>{"before"});
  // The caller may retry the same batch: it must not carry seqs that were never stored.
  for (const auto& r : batch) {
    EXPECT_EQ(r.seq, 0);
    EXPECT_EQ(r.hash, "");
  }
  store().append_audit(batch, test_link);
  auto rows = all_rows(store());
  EXPECT_EQ(actions(rows), (std::vector<std::string>{"before", "x1", "x2", "x3"}));
  expect_chain(rows);
}

TEST_P(AuditRowsTest, TwoGatewaysOnOneDatabaseShareOneChain) {
  auto [a, b] = two_gateways();
  std::vector<AuditRecord> b1 = {event("a1"), event("a2")};
  a->append_audit(b1, test_link);
  std::vector<AuditRecord> b2 = {event("b1")};
  b->append_audit(b2, test_link);
  std::vector<AuditRecord> b3 = {event("a3")};
  a->append_audit(b3, test_link);

  // Each gateway continues the shared chain, not a counter of its own.
  EXPECT_EQ(b2[0].seq, 3);
  EXPECT_EQ(b2[0].prev_hash, b1[1].hash);
  EXPECT_EQ(b3[0].seq, 4);
  auto rows = all_rows(*b);
  EXPECT_EQ(actions(rows), (std::vector<std::string>{"a1", "a2", "b1", "a3"}));
  expect_chain(rows);
}

TEST_P(AuditRowsTest, ConcurrentWritersOnTwoGatewaysNeverDuplicateOrSkipASeq) {
  auto [a, b] = two_gateways();
  constexpr int kBatches = 25;
  // An exception escaping a thread would abort the whole test binary: report it instead.
  auto writer = [](Store* s, std::string who, std::string* error) {
    try {
      for (int i = 0; i < kBatches; ++i) {
        std::vector<AuditRecord> batch = {event(who + std::to_string(i) + ".a"),
                                          event(who + std::to_string(i) + ".b")};
        s->append_audit(batch, test_link);
      }
    } catch (const std::exception& e) {
      *error = e.what();
    }
  };
  std::string error_a, error_b, error_c;
  std::thread ta(writer, a.get(), "a", &error_a);
  std::thread tb(writer, b.get(), "b", &error_b);
  // A third writer on gateway a's thread pool: two threads of one gateway share its connection
  // (SQLite) or its pool (PostgreSQL).
  writer(a.get(), "c", &error_c);
  ta.join();
  tb.join();
  EXPECT_EQ(error_a, "");
  EXPECT_EQ(error_b, "");
  EXPECT_EQ(error_c, "");

  auto rows = all_rows(*a);
  ASSERT_EQ(rows.size(), 3u * kBatches * 2);
  expect_chain(rows);
  // A batch is appended as one unit: its two records are adjacent.
  for (std::size_t i = 0; i < rows.size(); i += 2) {
    ASSERT_EQ(rows[i].action.back(), 'a') << rows[i].action;
    EXPECT_EQ(rows[i + 1].action, rows[i].action.substr(0, rows[i].action.size() - 1) + "b");
  }
}

TEST_P(AuditRowsTest, QueryFiltersByTenantActorAndTimeWindow) {
  append({
      event("tenant.create", "2026-01-01T10:00:00.000Z", "acme", "alice"),
      event("tenant.update", "2026-01-01T11:00:00.000Z", "globex", "alice"),
      event("client.create", "2026-01-01T12:00:00.000Z", "acme", "bob"),
      event("tenant.delete", "2026-01-01T13:00:00.000Z", "acme", "alice"),
  });

  AuditQuery by_tenant;
  by_tenant.tenant_id = "acme";
  EXPECT_EQ(actions(store().query_audit(by_tenant)),
            (std::vector<std::string>{"tenant.create", "client.create", "tenant.delete"}));

  AuditQuery by_actor;
  by_actor.actor = "bob";
  EXPECT_EQ(actions(store().query_audit(by_actor)), std::vector<std::string>{"client.create"});

  // since is inclusive, until exclusive: adjacent windows never count a record twice.
  AuditQuery window;
  window.since = "2026-01-01T11:00:00.000Z";
  window.until = "2026-01-01T13:00:00.000Z";
  EXPECT_EQ(actions(store().query_audit(window)), (std::vector<std::string>{"tenant.update", "client.create"}));

  AuditQuery combined;
  combined.tenant_id = "acme";
  combined.actor = "alice";
  combined.action_prefix = "tenant.";
  EXPECT_EQ(actions(store().query_audit(combined)), (std::vector<std::string>{"tenant.create", "tenant.delete"}));

  AuditQuery none;
  none.tenant_id = "initech";
  EXPECT_TRUE(store().query_audit(none).empty());
}

TEST_P(AuditRowsTest, QueryPagesBySeqWithAfterSeqAndLimit) {
  std::vector<AuditRecord> batch;
  for (int i = 1; i <= 7; ++i) batch.push_back(event("e" + std::to_string(i)));
  append(batch);

  AuditQuery page;
  page.limit = 3;
  auto first = store().query_audit(page);
  EXPECT_EQ(actions(first), (std::vector<std::string>{"e1", "e2", "e3"}));
  page.after_seq = first.back().seq;
  auto second = store().query_audit(page);
  EXPECT_EQ(actions(second), (std::vector<std::string>{"e4", "e5", "e6"}));
  page.after_seq = second.back().seq;
  EXPECT_EQ(actions(store().query_audit(page)), std::vector<std::string>{"e7"});
  page.after_seq = 7;
  EXPECT_TRUE(store().query_audit(page).empty());
}

TEST_P(AuditRowsTest, ActionPrefixTreatsLikeWildcardsAsPlainCharacters) {
  append({event("a_b.one"), event("axb.two"), event("a%b.three"), event("aZZb.four"), event("a\\b.five"),
          event("ab.six")});
  auto with_prefix = [&](std::string prefix) {
    AuditQuery q;
    q.action_prefix = std::move(prefix);
    return actions(store().query_audit(q));
  };
  // Unescaped, "a_b" would match axb and "a%b" would match every action starting with a and
  // containing b.
  EXPECT_EQ(with_prefix("a_b"), std::vector<std::string>{"a_b.one"});
  EXPECT_EQ(with_prefix("a%b"), std::vector<std::string>{"a%b.three"});
  EXPECT_EQ(with_prefix("a\\b"), std::vector<std::string>{"a\\b.five"});
  EXPECT_EQ(with_prefix("%"), std::vector<std::string>{});
  EXPECT_EQ(with_prefix("a").size(), 6u);
}

TEST_P(AuditRowsTest, ActionPrefixIsCaseSensitiveOnEveryBackend) {
  append({event("security.tenant_access_violation"), event("Security.other")});
  AuditQuery q;
  q.action_prefix = "security.";
  // SQLite's LIKE ignores ASCII case; a security-event search must not depend on the backend.
  EXPECT_EQ(actions(store().query_audit(q)), std::vector<std::string>{"security.tenant_access_violation"});
}

TEST_P(AuditRowsTest, NoAnchorUntilSomethingIsPurged) {
  EXPECT_FALSE(store().audit_anchor().has_value());
  append({event("x", "2026-01-01T00:00:00.000Z")});
  EXPECT_EQ(store().purge_audit_before("2026-01-01T00:00:00.000Z"), 0);  // strictly before
  EXPECT_FALSE(store().audit_anchor().has_value());
  EXPECT_EQ(all_rows(store()).size(), 1u);
}

TEST_P(AuditRowsTest, PurgeRemovesOlderRecordsAndAnchorsTheNewestRemoved) {
  std::vector<AuditRecord> batch = {
      event("p1", "2026-01-01T00:00:00.000Z"), event("p2", "2026-01-02T00:00:00.000Z"),
      event("p3", "2026-01-03T00:00:00.000Z"), event("p4", "2026-01-04T00:00:00.000Z"),
      event("p5", "2026-01-05T00:00:00.000Z"),
  };
  store().append_audit(batch, test_link);

  EXPECT_EQ(store().purge_audit_before("2026-01-03T00:00:00.000Z"), 2);
  auto anchor = store().audit_anchor();
  ASSERT_TRUE(anchor.has_value());
  EXPECT_EQ(anchor->seq, 2);
  EXPECT_EQ(anchor->hash, batch[1].hash);
  auto rows = all_rows(store());
  EXPECT_EQ(actions(rows), (std::vector<std::string>{"p3", "p4", "p5"}));
  expect_chain(rows, *anchor);  // what `audit verify` does after retention

  // A purge that finds nothing older keeps the anchor where it was.
  EXPECT_EQ(store().purge_audit_before("2026-01-02T00:00:00.000Z"), 0);
  EXPECT_EQ(store().audit_anchor()->seq, 2);

  // A later purge moves it forward.
  EXPECT_EQ(store().purge_audit_before("2026-01-05T00:00:00.000Z"), 2);
  anchor = store().audit_anchor();
  ASSERT_TRUE(anchor.has_value());
  EXPECT_EQ(anchor->seq, 4);
  EXPECT_EQ(anchor->hash, batch[3].hash);
}

TEST_P(AuditRowsTest, PurgeRemovesAContiguousPrefixEvenWhenClocksDisagree) {
  // seq 2 was written by a gateway whose clock ran ahead; keeping it while removing seq 3 would
  // leave a hole the chain cannot be verified across.
  append({event("q1", "2026-01-01T00:00:00.000Z"), event("q2", "2026-01-09T00:00:00.000Z"),
          event("q3", "2026-01-02T00:00:00.000Z"), event("q4", "2026-01-10T00:00:00.000Z")});
  EXPECT_EQ(store().purge_audit_before("2026-01-05T00:00:00.000Z"), 3);
  auto rows = all_rows(store());
  EXPECT_EQ(actions(rows), std::vector<std::string>{"q4"});
  expect_chain(rows, *store().audit_anchor());
}

TEST_P(AuditRowsTest, AppendAfterPurgingEverythingContinuesFromTheAnchor) {
  std::vector<AuditRecord> old = {event("old1", "2026-01-01T00:00:00.000Z"), event("old2", "2026-01-02T00:00:00.000Z")};
  store().append_audit(old, test_link);
  EXPECT_EQ(store().purge_audit_before("2027-01-01T00:00:00.000Z"), 2);
  EXPECT_TRUE(all_rows(store()).empty());

  std::vector<AuditRecord> next = {event("new1", "2027-01-02T00:00:00.000Z")};
  store().append_audit(next, test_link);
  // Restarting at seq 1 with prev "" would make a truncated log look like a complete one.
  EXPECT_EQ(next[0].seq, 3);
  EXPECT_EQ(next[0].prev_hash, old[1].hash);
  expect_chain(all_rows(store()), *store().audit_anchor());
}

TEST_P(AuditRowsTest, AnotherGatewayContinuesFromTheAnchorAfterAPurge) {
  auto [a, b] = two_gateways();
  std::vector<AuditRecord> old = {event("o1", "2026-01-01T00:00:00.000Z")};
  a->append_audit(old, test_link);
  EXPECT_EQ(a->purge_audit_before("2027-01-01T00:00:00.000Z"), 1);
  std::vector<AuditRecord> next = {event("n1", "2027-01-02T00:00:00.000Z")};
  b->append_audit(next, test_link);
  EXPECT_EQ(next[0].seq, 2);
  EXPECT_EQ(next[0].prev_hash, old[0].hash);
  ASSERT_TRUE(b->audit_anchor().has_value());
  EXPECT_EQ(b->audit_anchor()->seq, 1);
}

PC_ALL_BACKENDS(AuditRowsTest);

// Issue 8 item 9: a change committed first and its audit event later could be separated by a
// kill or a full disk (a change no audit row mentions). audited() commits both or neither.
TEST_P(AuditRowsTest, AnAuditedChangeAndItsEventCommitTogetherOrNotAtAll) {
  TenantRecord t;
  t.tenant_id = "acme";
  t.display_name = "Acme";
  t.tier = "basic";
  t.status = "active";
  std::vector<AuditRecord> before{event("earlier")};
  store().append_audit(before, test_link);

  // Both: the change is visible and its event follows the chain.
  AuditRecord created = event("tenant.create");
  store().audited(created, test_link, [&] { store().insert_tenant(t); });
  EXPECT_TRUE(store().find_tenant("acme"));
  EXPECT_EQ(created.seq, 2);

  // The change fails: no event.
  AuditRecord dup = event("tenant.create again");
  EXPECT_THROW(store().audited(dup, test_link, [&] { store().insert_tenant(t); }), StoreError);
  EXPECT_EQ(dup.seq, 0);

  // The event cannot be written (the linker stands in for a full disk at the audit insert):
  // the change is rolled back with it.
  TenantRecord other = t;
  other.tenant_id = "globex";
  AuditRecord lost = event("tenant.create globex");
  auto failing_link = [](AuditRecord&, const std::string&) { throw StoreError("disk full (test)", StoreError::Kind::full); };
  try {
    store().audited(lost, failing_link, [&] { store().insert_tenant(other); });
    FAIL() << "the audited change succeeded";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::full);
  }
  EXPECT_FALSE(store().find_tenant("globex")) << "a change committed without its audit event";

  // An unknown commit outcome (the connection went during COMMIT) reaches the caller as such
  // through audited()'s rethrow: the handler must say "may have been applied" (CI saw it lost).
  auto unknown_link = [](AuditRecord&, const std::string&) {
    throw StoreError("connection lost during COMMIT (test)", StoreError::OutcomeUnknown{});
  };
  try {
    AuditRecord maybe = event("tenant.create globex");
    store().audited(maybe, unknown_link, [&] { store().insert_tenant(other); });
    FAIL() << "the audited change succeeded";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::busy);
    EXPECT_TRUE(e.commit_outcome_unknown()) << e.what();
    EXPECT_NE(std::string(e.what()).find("audited change (tenant.create globex): "), std::string::npos) << e.what();
  }

  // Several store calls in one change, each with its own (nested) transaction; then the log
  // goes on from the change's event.
  AuditRecord patched = event("tenant.update");
  store().audited(patched, test_link, [&] {
    TenantPatch p;
    p.display_name = "Acme Inc";
    ASSERT_TRUE(store().update_tenant("acme", p));
    p.tier = "premium";
    ASSERT_TRUE(store().update_tenant("acme", p));
  });
  EXPECT_EQ(store().find_tenant("acme")->tier, "premium");
  std::vector<AuditRecord> after{event("later")};
  store().append_audit(after, test_link);

  AuditQuery q;
  q.limit = 100;
  const auto rows = store().query_audit(q);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].action, "earlier");
  EXPECT_EQ(rows[1].action, "tenant.create");
  EXPECT_EQ(rows[2].action, "tenant.update");
  EXPECT_EQ(rows[3].action, "later");
  expect_chain(rows);
}

// The writer thread's batches and audited changes on other threads share one gapless chain.
TEST_P(AuditRowsTest, AuditedChangesInterleaveWithBatchesInOneChain) {
  constexpr int kEach = 30;
  std::thread batches([&] {
    for (int i = 0; i < kEach; ++i) {
      std::vector<AuditRecord> b{event("batch-" + std::to_string(i) + "a"), event("batch-" + std::to_string(i) + "b")};
      store().append_audit(b, test_link);
    }
  });
  for (int i = 0; i < kEach; ++i) {
    TenantRecord t;
    t.tenant_id = "t-" + std::to_string(i);
    t.display_name = t.tenant_id;
    t.tier = "basic";
    t.status = "active";
    AuditRecord e = event("tenant.create " + t.tenant_id);
    store().audited(e, test_link, [&] { store().insert_tenant(t); });
  }
  batches.join();
  AuditQuery q;
  q.limit = 1000;
  const auto rows = store().query_audit(q);
  EXPECT_EQ(rows.size(), 3u * kEach);
  expect_chain(rows);
}

}  // namespace
}  // namespace pc::store
