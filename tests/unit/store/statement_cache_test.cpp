// SqliteDb's per-connection statement cache (sqlite_db.h): a statement prepared again after its
// first use comes back reset and unbound, never holds locks while idle, follows schema changes,
// and two live statements of the same SQL stay independent.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <unistd.h>

#include "store/sqlite_db.h"

namespace pc::store {
namespace {

class StatementCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("pc-stmt-cache-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    db = std::make_unique<SqliteDb>((dir / "t.db").string());
    db->exec("CREATE TABLE t(a INTEGER, b TEXT)");
  }
  void TearDown() override {
    db.reset();
    std::filesystem::remove_all(dir);
  }
  std::filesystem::path dir;
  std::unique_ptr<SqliteDb> db;
};

TEST_F(StatementCacheTest, AReusedStatementComesBackWithoutTheOldBinds) {
  {
    Statement ins = db->prepare("INSERT INTO t(a, b) VALUES (?1, ?2)");
    ins.bind_int64(1, 7).bind_text(2, "seven").run();
  }
  {
    // Same text: the cached statement. Only ?1 is bound; ?2 must be NULL, not "seven".
    Statement ins = db->prepare("INSERT INTO t(a, b) VALUES (?1, ?2)");
    ins.bind_int64(1, 8).run();
  }
  Statement q = db->prepare("SELECT a, b FROM t ORDER BY a");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_int64(0), 7);
  EXPECT_EQ(q.column_text(1), "seven");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_int64(0), 8);
  EXPECT_TRUE(q.column_is_null(1));
  EXPECT_FALSE(q.step());
}

TEST_F(StatementCacheTest, AHalfReadStatementHoldsNoLockOnceReturned) {
  db->exec("INSERT INTO t(a) VALUES (1), (2), (3)");
  {
    Statement q = db->prepare("SELECT a FROM t");
    ASSERT_TRUE(q.step());  // rows left unread
  }
  // SQLite refuses to drop a table a running statement reads ("database table is locked"): the
  // cached statement must have been reset when it was handed back.
  EXPECT_NO_THROW(db->exec("DROP TABLE t"));
}

TEST_F(StatementCacheTest, ACachedStatementFollowsASchemaChange) {
  {
    Statement q = db->prepare("SELECT * FROM t");
    EXPECT_EQ(q.column_count(), 2);
  }
  db->exec("ALTER TABLE t ADD COLUMN c TEXT");
  Statement q = db->prepare("SELECT * FROM t");
  q.step();
  EXPECT_EQ(q.column_count(), 3);
}

TEST_F(StatementCacheTest, TwoLiveStatementsOfTheSameSqlAreIndependent) {
  db->exec("INSERT INTO t(a) VALUES (1), (2)");
  Statement first = db->prepare("SELECT a FROM t WHERE a = ?1");
  Statement second = db->prepare("SELECT a FROM t WHERE a = ?1");
  first.bind_int64(1, 1);
  second.bind_int64(1, 2);
  ASSERT_TRUE(first.step());
  ASSERT_TRUE(second.step());
  EXPECT_EQ(first.column_int64(0), 1);
  EXPECT_EQ(second.column_int64(0), 2);
}

TEST_F(StatementCacheTest, TransactionsStillCommitAndRollBack) {
  {
    Transaction tx(*db);
    db->exec("INSERT INTO t(a) VALUES (1)");
    tx.commit();
  }
  for (int i = 0; i < 3; ++i) {  // BEGIN and ROLLBACK from the cache, several times
    Transaction tx(*db);
    db->exec("INSERT INTO t(a) VALUES (2)");
  }
  EXPECT_FALSE(db->in_transaction());
  Statement q = db->prepare("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_int64(0), 1);
}

TEST_F(StatementCacheTest, AStatementOutlivingItsConnectionIsStillFreed) {
  // Not the store's usage, but it must not crash or leak: the statement finalizes itself.
  auto other = std::make_unique<SqliteDb>((dir / "t.db").string());
  Statement q = other->prepare("SELECT COUNT(*) FROM t");
  other.reset();
  SUCCEED();
}

TEST_F(StatementCacheTest, AMovedConnectionKeepsItsCache) {
  { Statement ins = db->prepare("INSERT INTO t(a) VALUES (?1)"); ins.bind_int64(1, 1).run(); }
  SqliteDb moved(std::move(*db));
  Statement ins = moved.prepare("INSERT INTO t(a) VALUES (?1)");
  ins.bind_int64(1, 2).run();
  Statement q = moved.prepare("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_int64(0), 2);
}

}  // namespace
}  // namespace pc::store
