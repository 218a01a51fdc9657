#include "store/sqlite_db.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "support/temp_dir.h"

namespace pc::store {
namespace {

namespace fs = std::filesystem;

class SqliteDbTest : public ::testing::Test {
 protected:
  static std::int64_t count(SqliteDb& db, const std::string& table) {
    Statement q = db.prepare("SELECT COUNT(*) FROM " + table);
    q.step();
    return q.column_int64(0);
  }
  static std::string pragma(SqliteDb& db, const std::string& name) {
    Statement q = db.prepare("PRAGMA " + name);
    return q.step() ? q.column_text(0) : "";
  }

  pc::testing::TempDir dir{"pc-store"};
  std::string path = dir.file("test.db");
};

TEST_F(SqliteDbTest, OpensInWalModeWithSafetyPragmas) {
  SqliteDb db(path);
  EXPECT_EQ(pragma(db, "journal_mode"), "wal");
  EXPECT_EQ(pragma(db, "synchronous"), "1");  // NORMAL
  EXPECT_EQ(pragma(db, "foreign_keys"), "1");
  EXPECT_EQ(pragma(db, "busy_timeout"), "5000");
  SqliteDb other(path, {.busy_timeout_ms = 250});
  EXPECT_EQ(pragma(other, "busy_timeout"), "250");
}

TEST_F(SqliteDbTest, TypedBindsAndColumnsRoundTrip) {
  SqliteDb db(path);
  db.exec("CREATE TABLE t(a TEXT, b INTEGER, c BLOB, d TEXT)");
  std::string blob("\x00\x01\xff", 3);
  db.prepare("INSERT INTO t VALUES (?1, ?2, ?3, ?4)")
      .bind_text(1, "héllo")
      .bind_int64(2, INT64_MIN)
      .bind_blob(3, blob)
      .bind_null(4)
      .run();
  EXPECT_EQ(db.changes(), 1);
  EXPECT_EQ(db.last_insert_rowid(), 1);
  Statement q = db.prepare("SELECT a, b, c, d FROM t");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_count(), 4);
  EXPECT_EQ(q.column_text(0), "héllo");
  EXPECT_EQ(q.column_int64(1), INT64_MIN);
  EXPECT_EQ(q.column_blob(2), blob);
  EXPECT_TRUE(q.column_is_null(3));
  EXPECT_EQ(q.column_text(3), "");
  EXPECT_FALSE(q.step());
}

TEST_F(SqliteDbTest, StatementsCanBeResetAndReused) {
  SqliteDb db(path);
  db.exec("CREATE TABLE t(v INTEGER)");
  Statement ins = db.prepare("INSERT INTO t VALUES (?1)");
  for (int i = 0; i < 3; ++i) {
    ins.bind_int64(1, i).run();
    ins.reset();
  }
  EXPECT_EQ(count(db, "t"), 3);
}

// Issue 8 item 9: a full disk answered 500. SQLITE_FULL is its own kind (the API answers 503
// storage_full); max_page_count stands in for the disk.
TEST_F(SqliteDbTest, OutOfSpaceIsKindFull) {
  SqliteDb db(path);
  db.exec("CREATE TABLE t(b BLOB)");
  Statement q = db.prepare("SELECT page_count FROM pragma_page_count");
  ASSERT_TRUE(q.step());
  db.exec("PRAGMA max_page_count = " + std::to_string(q.column_int64(0) + 2));
  try {
    for (int i = 0; i < 100; ++i) db.prepare("INSERT INTO t VALUES (?1)").bind_blob(1, std::string(8192, 'x')).run();
    FAIL() << "the database never filled up";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::full) << e.what();
  }
}

TEST_F(SqliteDbTest, ErrorsCarrySqliteMessageAndKind) {
  SqliteDb db(path);
  db.exec("CREATE TABLE t(id TEXT PRIMARY KEY)");
  db.prepare("INSERT INTO t VALUES ('x')").run();
  try {
    db.prepare("INSERT INTO t VALUES ('x')").run();
    FAIL() << "duplicate insert succeeded";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::duplicate);
    EXPECT_NE(std::string(e.what()).find("UNIQUE constraint failed: t.id"), std::string::npos) << e.what();
  }
  try {
    db.prepare("SELEC nonsense");
    FAIL() << "bad SQL prepared";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::other);
    EXPECT_NE(std::string(e.what()).find("syntax error"), std::string::npos) << e.what();
  }
  EXPECT_THROW(db.exec("INSERT INTO missing VALUES (1)"), StoreError);
  EXPECT_THROW(db.prepare("SELECT 1; SELECT 2"), StoreError);  // one statement only
  EXPECT_THROW(db.prepare("SELECT ?1").bind_int64(2, 0), StoreError);  // no such parameter
}

TEST_F(SqliteDbTest, OpenFailureNamesThePath) {
  std::string bad = (dir.path() / "no" / "such" / "dir" / "x.db").string();
  try {
    SqliteDb db(bad);
    FAIL();
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
}

TEST_F(SqliteDbTest, TransactionRollsBackUnlessCommitted) {
  SqliteDb db(path);
  db.exec("CREATE TABLE t(v INTEGER)");
  {
    Transaction tx(db);
    db.exec("INSERT INTO t VALUES (1)");
    EXPECT_TRUE(db.in_transaction());
  }
  EXPECT_FALSE(db.in_transaction());
  EXPECT_EQ(count(db, "t"), 0);

  try {
    Transaction tx(db);
    db.exec("INSERT INTO t VALUES (1)");
    throw std::runtime_error("unit of work failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(count(db, "t"), 0);

  {
    Transaction tx(db, Transaction::Mode::deferred);
    db.exec("INSERT INTO t VALUES (2)");
    tx.commit();
  }
  EXPECT_EQ(count(db, "t"), 1);
}

TEST_F(SqliteDbTest, ImmediateTransactionHoldsTheWriteLock) {
  SqliteDb a(path), b(path, {.busy_timeout_ms = 0});
  a.exec("CREATE TABLE t(v INTEGER)");
  Transaction tx(a);
  try {
    Transaction other(b);
    FAIL() << "second writer got the lock";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::busy);
  }
  // WAL: readers are not blocked by the writer.
  EXPECT_EQ(count(b, "t"), 0);
}

}  // namespace
}  // namespace pc::store
