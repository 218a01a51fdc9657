#include "audit/verify.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "audit/audit_test_support.h"
#include "audit/chain.h"
#include "support/test_store.h"

namespace pc::audit {
namespace {

using testing::all_records;
using testing::append;
using testing::make_record;

// `n` entries in batches of `per_batch`, one per second from 2024-01-01T00:00:00, tenants
// alternating, every third one denied.
void fill(store::Store& s, int n, int per_batch = 7) {
  std::vector<store::AuditRecord> batch;
  for (int i = 0; i < n; ++i) {
    char time[32];
    std::snprintf(time, sizeof time, "2024-01-01T%02d:%02d:%02d.000Z", i / 3600, (i / 60) % 60, i % 60);
    batch.push_back(
        make_record(time, i % 2 ? "acme" : "demo", "test." + std::to_string(i), i % 3 ? "success" : "denied"));
    if (static_cast<int>(batch.size()) == per_batch) append(s, std::exchange(batch, {}));
  }
  if (!batch.empty()) append(s, batch);
}

// ---- on every backend: good logs verify

class VerifyTest : public pc::testing::BackendTest {};

TEST_P(VerifyTest, EmptyLogIsOk) {
  const VerifyResult v = verify(store());
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.checked, 0);
  EXPECT_EQ(v.first_broken_seq, 0);
  EXPECT_EQ(v.reason, "");
}

TEST_P(VerifyTest, GoodLogIsOkAcrossPages) {
  fill(store(), 4501, 500);  // more than two of verify's pages
  const VerifyResult v = verify(store());
  EXPECT_TRUE(v.ok) << v.reason << " at seq " << v.first_broken_seq;
  EXPECT_EQ(v.checked, 4501);
}

TEST_P(VerifyTest, AfterPurgeStartsFromTheAnchor) {
  fill(store(), 100);
  // Entries 1..60 have times before 00:01:00.
  EXPECT_EQ(store().purge_audit_before("2024-01-01T00:01:00.000Z"), 60);
  auto anchor = store().audit_anchor();
  ASSERT_TRUE(anchor.has_value());
  EXPECT_EQ(anchor->seq, 60);

  VerifyResult v = verify(store());
  EXPECT_TRUE(v.ok) << v.reason << " at seq " << v.first_broken_seq;
  EXPECT_EQ(v.checked, 40);

  // New entries keep linking from the remaining ones; verification covers them.
  append(store(), {make_record("2024-02-01T00:00:00.000Z", "acme", "later")});
  v = verify(store());
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.checked, 41);
}

TEST_P(VerifyTest, AfterPurgingEverythingTheNextEntryFollowsTheAnchor) {
  fill(store(), 10);
  EXPECT_EQ(store().purge_audit_before("2025-01-01T00:00:00.000Z"), 10);
  VerifyResult v = verify(store());
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.checked, 0);
  append(store(), {make_record("2025-06-01T00:00:00.000Z", "acme", "after purge")});
  v = verify(store());
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.checked, 1);
  EXPECT_EQ(all_records(store()).front().seq, 11);
}

PC_ALL_BACKENDS(VerifyTest);

// ---- on every backend: rows tampered with behind the store's back (raw SQL on a connection of
// its own)

class VerifyTamperTest : public pc::testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    fill(store(), 10, 3);
    ASSERT_TRUE(verify(store()).ok);
  }

  void sql(const std::string& statement) { connect()->exec(statement); }
  std::string hash_of(std::int64_t seq) {
    auto db = connect();
    store::Statement q = db->prepare("SELECT hash FROM audit_log WHERE seq = ?1");
    q.bind_int64(1, seq);
    EXPECT_TRUE(q.step());
    return q.column_text(0);
  }
  void expect_broken(std::int64_t seq, const std::string& reason_part, std::int64_t checked) {
    const VerifyResult v = verify(store());
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.first_broken_seq, seq) << v.reason;
    EXPECT_NE(v.reason.find(reason_part), std::string::npos) << v.reason;
    EXPECT_EQ(v.checked, checked);
  }
};

TEST_P(VerifyTamperTest, EditedField) {
  sql("UPDATE audit_log SET outcome = 'success' WHERE seq = 4");  // seq 4 was denied
  expect_broken(4, "content", 3);
}

TEST_P(VerifyTamperTest, EditedDetailsOfTheLastEntry) {
  sql(R"(UPDATE audit_log SET details = '{"n":2}' WHERE seq = 10)");
  expect_broken(10, "content", 9);
}

TEST_P(VerifyTamperTest, EditedEntryWithItsHashRecomputed) {
  // A careful forger fixes the edited entry's own hash; the next entry's link still breaks.
  auto rows = all_records(store());
  store::AuditRecord r = rows[4];  // seq 5
  r.actor = "someone-else";
  link(r, r.prev_hash);
  sql("UPDATE audit_log SET actor = 'someone-else', hash = '" + r.hash + "' WHERE seq = 5");
  expect_broken(6, "prev_hash does not match the hash of seq 5", 5);
}

TEST_P(VerifyTamperTest, DeletedMiddleRow) {
  sql("DELETE FROM audit_log WHERE seq = 5");
  expect_broken(5, "missing", 4);
}

TEST_P(VerifyTamperTest, DeletedFirstRows) {
  sql("DELETE FROM audit_log WHERE seq <= 2");  // without the anchor a purge would leave
  expect_broken(1, "missing", 0);
}

TEST_P(VerifyTamperTest, SwappedHashes) {
  const std::string h6 = hash_of(6), h7 = hash_of(7);
  sql("UPDATE audit_log SET hash = '" + h7 + "' WHERE seq = 6");
  sql("UPDATE audit_log SET hash = '" + h6 + "' WHERE seq = 7");
  expect_broken(6, "content", 5);
}

TEST_P(VerifyTamperTest, ReorderedPair) {
  // Entries 3 and 4 trade places (their seqs swapped), each keeping its fields and hashes.
  sql("UPDATE audit_log SET seq = -3 WHERE seq = 3");
  sql("UPDATE audit_log SET seq = 3 WHERE seq = 4");
  sql("UPDATE audit_log SET seq = 4 WHERE seq = -3");
  expect_broken(3, "prev_hash does not match the hash of seq 2", 2);
}

TEST_P(VerifyTamperTest, FirstEntryNotLinkedToTheStart) {
  sql("UPDATE audit_log SET prev_hash = 'x' WHERE seq = 1");
  expect_broken(1, "the start of the log", 0);
}

TEST_P(VerifyTamperTest, TamperingAfterAPurgeIsFoundFromTheAnchor) {
  ASSERT_EQ(store().purge_audit_before("2024-01-01T00:00:04.000Z"), 4);
  ASSERT_TRUE(verify(store()).ok);
  sql("UPDATE audit_log SET resource = '/v1/elsewhere' WHERE seq = 7");
  expect_broken(7, "content", 2);
}

TEST_P(VerifyTamperTest, AnchorThatDoesNotMatchTheFirstRemainingEntry) {
  // Purging more than retention allows and re-pointing the anchor to hide it.
  ASSERT_EQ(store().purge_audit_before("2024-01-01T00:00:04.000Z"), 4);
  sql("DELETE FROM audit_log WHERE seq = 5");
  // The anchor's row is the store's own ("seq:hash" under meta key audit_anchor).
  sql("UPDATE meta SET value = '5:" + std::string(64, 'a') + "' WHERE key = 'audit_anchor'");
  expect_broken(6, "retention anchor (seq 5)", 0);
}

PC_ALL_BACKENDS(VerifyTamperTest);

}  // namespace
}  // namespace pc::audit
