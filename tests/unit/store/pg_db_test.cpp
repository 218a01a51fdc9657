// What only the PostgreSQL connection does: placeholder rewriting, error mapping, lost
// connections, notices. The contract both backends share is in db_test.cpp.
#include "store/pg_db.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <latch>
#include <optional>
#include <thread>

#include "support/test_store.h"

namespace pc::store {
namespace {

using pc::testing::Backend;

// ---- pure functions (no server needed) ---------------------------------------------------

TEST(PgPlaceholders, NumberedOnesBecomeDollarsOutsideLiteralsAndComments) {
  PgSql sql = pg_placeholders("SELECT ?1, '?2', 'it''s ?2', \"?3\", ?12 -- ?4\n/* ?5 */ FROM t WHERE a = ?1");
  EXPECT_EQ(sql.text, "SELECT $1, '?2', 'it''s ?2', \"?3\", $12 -- ?4\n/* ?5 */ FROM t WHERE a = $1");
  ASSERT_EQ(sql.used.size(), 12u);  // the highest number decides how many parameters there are
  EXPECT_TRUE(sql.used[0]);
  EXPECT_FALSE(sql.used[1]);
  EXPECT_TRUE(sql.used[11]);
  EXPECT_TRUE(pg_placeholders("SELECT 1").used.empty());
}

TEST(PgPlaceholders, BareOnesAreNumberedInOrder) {
  auto p = pg_placeholders("INSERT INTO t VALUES (?, ?), (?, '?', ?)");
  EXPECT_EQ(p.text, "INSERT INTO t VALUES ($1, $2), ($3, '?', $4)");
  EXPECT_EQ(p.used.size(), 4u);
}

TEST(PgPlaceholders, RejectsMixedFormsAndOutOfRange) {
  EXPECT_THROW(pg_placeholders("SELECT ?, ?1"), StoreError);
  EXPECT_THROW(pg_placeholders("SELECT ?1, ?"), StoreError);
  EXPECT_THROW(pg_placeholders("SELECT ?0"), StoreError);
  EXPECT_THROW(pg_placeholders("SELECT ?65536"), StoreError);
  EXPECT_THROW(pg_placeholders("SELECT ?99999999999999999999"), StoreError);
}

TEST(RedactPgUrl, KeepsWhereButNotThePassword) {
  EXPECT_EQ(redact_pg_url("postgresql://pc:hunter2@db.internal:5433/portcullis?sslmode=require&password=x"),
            "postgresql://pc@db.internal:5433/portcullis");
  EXPECT_EQ(redact_pg_url("postgres://pc@h/db"), "postgres://pc@h/db");
  EXPECT_EQ(redact_pg_url("postgresql://h"), "postgresql://h");
  EXPECT_EQ(redact_pg_url("host=h password=hunter2"), "postgres connection string");
}

TEST(PgDbConnect, FailureIsBusyAndHidesThePassword) {
  try {
    PgDb nowhere("postgresql://pc:hunter2@127.0.0.1:1/portcullis?connect_timeout=2");
    FAIL() << "connected to a closed port";
  } catch (const StoreError& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.kind(), StoreError::Kind::busy);
    EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("postgresql://pc@127.0.0.1:1/portcullis"), std::string::npos) << msg;
  }
}

// ---- against the test server -------------------------------------------------------------

class PgDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (pc::testing::pg_test_url().empty()) GTEST_SKIP() << "PORTCULLIS_TEST_PG_URL is not set";
    database = std::make_unique<pc::testing::TestDatabase>(Backend::postgres);
    db = std::make_unique<PgDb>(database->location());
  }
  std::int64_t count(PgDb& on, const std::string& table) {
    Statement q = on.prepare("SELECT COUNT(*) FROM " + table);
    q.step();
    return q.column_int64(0);
  }
  // The StoreError f throws; nullopt when it throws none.
  static std::optional<StoreError> error_of(const std::function<void()>& f) {
    try {
      f();
    } catch (const StoreError& e) {
      return e;
    }
    return std::nullopt;
  }
  static StoreError::Kind kind_of(const std::function<void()>& f) {
    if (auto e = error_of(f)) return e->kind();
    ADD_FAILURE() << "no StoreError";
    return StoreError::Kind::other;
  }

  std::unique_ptr<pc::testing::TestDatabase> database;
  std::unique_ptr<PgDb> db;
};

TEST_F(PgDbTest, PlaceholdersInsideLiteralsReachTheServerUntouched) {
  Statement q = db->prepare("SELECT '?1' AS literal, ?1 AS value, 'it''s' -- ?2 is not a parameter");
  q.bind_text(1, "bound");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_text(0), "?1");
  EXPECT_EQ(q.column_text(1), "bound");
  EXPECT_EQ(q.column_text(2), "it's");
  EXPECT_THROW(q.bind_text(2, "x"), StoreError);  // only ?1 exists
}

TEST_F(PgDbTest, TextWithANulByteIsRefusedNotTruncated) {
  Statement q = db->prepare("SELECT ?1");
  EXPECT_THROW(q.bind_text(1, std::string("ab\0cd", 5)), StoreError);
}

TEST_F(PgDbTest, BinaryBlobsSurviveAByteaRoundTripAndComparisons) {
  db->exec("CREATE TABLE b(k BYTEA PRIMARY KEY, v BYTEA)");
  const std::string key("\0\0\x01", 3), value("\xff\0\\x00'", 6);
  db->prepare("INSERT INTO b VALUES (?1, ?2)").bind_blob(1, key).bind_blob(2, value).run();
  Statement q = db->prepare("SELECT v, length(v) FROM b WHERE k = ?1");
  q.bind_blob(1, key);
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_blob(0), value);
  EXPECT_EQ(q.column_int64(1), 6);  // stored as bytes, not as escaped text
}

TEST_F(PgDbTest, BooleansAndNumericsReadAsIntegers) {
  Statement q = db->prepare("SELECT true, false, SUM(x), 'abc' FROM (VALUES (2::bigint), (3)) v(x)");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_int64(0), 1);
  EXPECT_EQ(q.column_int64(1), 0);
  EXPECT_EQ(q.column_int64(2), 5);  // SUM(bigint) is numeric
  EXPECT_EQ(q.column_int64(3), 0);  // not a number reads 0, as in SQLite
}

TEST_F(PgDbTest, LockTimeoutIsBusy) {
  db->exec("CREATE TABLE t(v BIGINT)");
  PgDb other(database->location(), {.lock_timeout_ms = 100});
  Transaction holder(*db);
  db->lock_for_write("t");
  Transaction waiter(other);
  EXPECT_EQ(kind_of([&] { other.lock_for_write("t"); }), StoreError::Kind::busy);  // 55P03
  // Plain reads are not blocked by the write lock.
  PgDb reader(database->location(), {.lock_timeout_ms = 100});
  EXPECT_EQ(count(reader, "t"), 0);
}

TEST_F(PgDbTest, CancelledStatementIsBusy) {
  db->exec("SET statement_timeout = 50");
  EXPECT_EQ(kind_of([&] { db->prepare("SELECT pg_sleep(2)").step(); }), StoreError::Kind::busy);  // 57014
  EXPECT_TRUE(db->usable());
}

TEST_F(PgDbTest, DeadlockIsBusy) {
  db->exec("CREATE TABLE t1(v BIGINT); CREATE TABLE t2(v BIGINT)");
  PgDb other(database->location(), {.lock_timeout_ms = 10000});
  for (PgDb* c : {db.get(), &other}) c->exec("SET deadlock_timeout = '50ms'");
  std::latch both_hold_one(2);
  std::atomic<int> busy = 0, committed = 0;
  // Each takes one table, then wants the other's: the server picks a victim, whose rollback
  // (leaving the scope) lets the survivor through.
  auto contend = [&](PgDb& c, const char* first, const char* second) {
    try {
      Transaction tx(c);
      c.lock_for_write(first);
      both_hold_one.arrive_and_wait();
      c.lock_for_write(second);
      tx.commit();
      ++committed;
    } catch (const StoreError& e) {
      busy += e.kind() == StoreError::Kind::busy;  // 40P01
    }
  };
  std::thread t(contend, std::ref(*db), "t1", "t2");
  contend(other, "t2", "t1");
  t.join();
  EXPECT_EQ(busy.load(), 1);
  EXPECT_EQ(committed.load(), 1);
}

TEST_F(PgDbTest, LostConnectionIsBusyAndUnusable) {
  PgDb admin(pc::testing::pg_test_url());
  ASSERT_TRUE(db->usable());
  admin.prepare("SELECT pg_terminate_backend(CAST(?1 AS INTEGER))").bind_int64(1, db->backend_pid()).run();
  EXPECT_EQ(kind_of([&] { db->prepare("SELECT 1").step(); }), StoreError::Kind::busy);
  EXPECT_FALSE(db->usable());
  EXPECT_FALSE(db->in_transaction());
}

// A connection lost with COMMIT on its way may have committed (the server can write the commit
// and go before it answers): the error says the outcome is unknown, so a handler does not tell
// its client that nothing was changed. A refusal on a live connection is no such case.
TEST_F(PgDbTest, ACommitThatLosesItsConnectionHasAnUnknownOutcome) {
  db->exec("CREATE TABLE t(id BIGINT PRIMARY KEY)");
  PgDb admin(pc::testing::pg_test_url());
  {
    Transaction tx(*db);
    db->exec("INSERT INTO t VALUES (1)");
    admin.prepare("SELECT pg_terminate_backend(CAST(?1 AS INTEGER))").bind_int64(1, db->backend_pid()).run();
    auto e = error_of([&] { tx.commit(); });
    ASSERT_TRUE(e) << "a commit on a terminated connection succeeded";
    EXPECT_EQ(e->kind(), StoreError::Kind::busy);
    EXPECT_TRUE(e->commit_outcome_unknown()) << e->what();
  }
  EXPECT_FALSE(db->usable());

  // A deferred unique check refused at COMMIT, the connection alive: it rolled back, known.
  PgDb live(database->location());
  live.exec("CREATE TABLE d(id BIGINT, CONSTRAINT d_id UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)");
  Transaction tx(live);
  live.exec("INSERT INTO d VALUES (1), (1)");
  auto e = error_of([&] { tx.commit(); });
  ASSERT_TRUE(e) << "a duplicate passed a deferred unique check";
  EXPECT_EQ(e->kind(), StoreError::Kind::duplicate);
  EXPECT_FALSE(e->commit_outcome_unknown()) << e->what();
}

// PostgreSQL aborts the whole transaction at the first error; COMMIT would then roll back
// without a word. The caller must hear it.
TEST_F(PgDbTest, CommitAfterAFailedStatementThrowsAndKeepsNothing) {
  db->exec("CREATE TABLE t(id BIGINT PRIMARY KEY)");
  db->exec("INSERT INTO t VALUES (1)");
  {
    Transaction tx(*db);
    db->exec("INSERT INTO t VALUES (2)");
    EXPECT_THROW(db->exec("INSERT INTO t VALUES (1)"), StoreError);
    EXPECT_THROW(tx.commit(), StoreError);
  }
  EXPECT_FALSE(db->in_transaction());
  EXPECT_EQ(count(*db, "t"), 1);
}

TEST_F(PgDbTest, NoticesStayOffStderr) {
  ::testing::internal::CaptureStderr();
  db->exec("DROP TABLE IF EXISTS no_such_table");  // the server answers with a NOTICE
  db->exec("DO $$ BEGIN RAISE WARNING 'loud'; END $$");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace pc::store
