// The Db contract every backend keeps (store/db.h): what SqlStore's one body of SQL relies on.
#include "store/db.h"

#include <gtest/gtest.h>

#include "store/migrations.h"
#include "support/test_store.h"

namespace pc::store {
namespace {

using pc::testing::Backend;

class DbTest : public ::testing::TestWithParam<Backend> {
 protected:
  std::int64_t count(const std::string& table) {
    Statement q = db->prepare("SELECT COUNT(*) FROM " + table);
    q.step();
    return q.column_int64(0);
  }

  // Test tables are written in SQLite's words, as migrations are.
  void create(std::string_view sql) {
    db->exec(db->dialect() == Db::Dialect::postgres ? postgres_ddl(sql) : std::string(sql));
  }

  pc::testing::TestDatabase database{GetParam()};
  std::unique_ptr<Db> db = database.connect();
};
PC_ALL_BACKENDS(DbTest);

TEST_P(DbTest, TypedBindsAndColumnsRoundTrip) {
  create("CREATE TABLE t(a TEXT, b INTEGER, c BLOB, d TEXT, e BLOB)");
  EXPECT_EQ(db->dialect(), GetParam() == Backend::sqlite ? Db::Dialect::sqlite : Db::Dialect::postgres);
  std::string every_byte;
  for (int i = 0; i < 256; ++i) every_byte.push_back(static_cast<char>(i));
  const std::string nul_inside("a\0b\0", 4);
  Statement ins = db->prepare("INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)");
  ins.bind_text(1, "héllo ✓").bind_int64(2, INT64_MIN).bind_blob(3, every_byte).bind_null(4).bind_null(5).run();
  EXPECT_EQ(db->changes(), 1);
  ins.reset();
  ins.bind_text(1, "").bind_int64(2, INT64_MAX).bind_blob(3, nul_inside).bind_optional(4, "set").bind_blob(5, "").run();

  Statement q = db->prepare("SELECT a, b, c, d, e FROM t ORDER BY b");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_count(), 5);
  EXPECT_EQ(q.column_text(0), "héllo ✓");
  EXPECT_EQ(q.column_int64(1), INT64_MIN);
  EXPECT_EQ(q.column_blob(2), every_byte);
  EXPECT_TRUE(q.column_is_null(3));
  EXPECT_EQ(q.column_text(3), "");
  EXPECT_TRUE(q.column_is_null(4));
  ASSERT_TRUE(q.step());
  EXPECT_FALSE(q.column_is_null(0));
  EXPECT_EQ(q.column_text(0), "");
  EXPECT_EQ(q.column_int64(1), INT64_MAX);
  EXPECT_EQ(q.column_blob(2), nul_inside);
  EXPECT_EQ(q.column_text(3), "set");
  EXPECT_EQ(q.column_blob(4), "");
  EXPECT_FALSE(q.step());
}

TEST_P(DbTest, ParametersMayRepeatAndUnboundOnesAreNull) {
  create("CREATE TABLE t(a TEXT, b TEXT, c TEXT)");
  db->prepare("INSERT INTO t VALUES (?1, ?3, ?1)").bind_text(1, "x").run();
  Statement q = db->prepare("SELECT a = c, b IS NULL FROM t");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_int64(0), 1);
  EXPECT_EQ(q.column_int64(1), 1);
  // Integer binds add up as 64-bit numbers.
  Statement sum = db->prepare("SELECT ?1 + 1");
  sum.bind_int64(1, 5000000000);
  ASSERT_TRUE(sum.step());
  EXPECT_EQ(sum.column_int64(0), 5000000001);
}

// bind_text_kept: stored as bound (SQLite reads it in place), and a statement taken again from
// the connection's cache after the values are gone has no binds left that point at them.
TEST_P(DbTest, KeptTextBindsStoreTheValueAndAreClearedWithTheStatement) {
  create("CREATE TABLE t(n INTEGER, a TEXT, b TEXT)");
  const std::string sql = "INSERT INTO t VALUES (?3, ?1, ?2)";
  {
    auto a = std::make_unique<std::string>(300, 'x');
    std::string b = "héllo";
    db->prepare(sql).bind_text_kept(1, *a).bind_text_kept(2, b).bind_int64(3, 1).run();
    db->prepare(sql).bind_text_kept(1, std::string_view{}).bind_text_kept(2, "").bind_int64(3, 2).run();
    a.reset();  // gone before the same SQL is prepared again
  }
  db->prepare(sql).bind_text(1, "after").bind_int64(3, 3).run();
  Statement q = db->prepare("SELECT a, b, b IS NULL FROM t ORDER BY n");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_text(0), std::string(300, 'x'));
  EXPECT_EQ(q.column_text(1), "héllo");
  ASSERT_TRUE(q.step());
  EXPECT_FALSE(q.column_is_null(0));  // an empty view is empty text, not NULL
  EXPECT_EQ(q.column_text(0), "");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_text(0), "after");
  EXPECT_EQ(q.column_int64(2), 1);  // ?2 unbound: NULL, not the earlier row's value
  EXPECT_FALSE(q.step());
}

TEST_P(DbTest, StatementsCanBeResetAndReused) {
  create("CREATE TABLE t(v INTEGER)");
  Statement ins = db->prepare("INSERT INTO t VALUES (?1)");
  for (int i = 0; i < 3; ++i) {
    ins.bind_int64(1, i).run();
    ins.reset();
  }
  EXPECT_EQ(count("t"), 3);
  Statement q = db->prepare("SELECT v FROM t WHERE v >= ?1 ORDER BY v");
  q.bind_int64(1, 1);
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_int64(0), 1);
  q.reset();
  q.bind_int64(1, 2);
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_int64(0), 2);
  EXPECT_FALSE(q.step());
}

TEST_P(DbTest, ChangesCountsTheLastWrite) {
  create("CREATE TABLE t(v INTEGER)");
  db->exec("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); INSERT INTO t VALUES (3)");
  db->prepare("UPDATE t SET v = v + 10 WHERE v >= ?1").bind_int64(1, 2).run();
  EXPECT_EQ(db->changes(), 2);
  Statement q = db->prepare("SELECT v FROM t");
  while (q.step()) {
  }
  EXPECT_EQ(db->changes(), 2);  // a read is not a change
  db->prepare("DELETE FROM t WHERE v = ?1").bind_int64(1, 99).run();
  EXPECT_EQ(db->changes(), 0);
}

TEST_P(DbTest, ErrorsHaveAKind) {
  create("CREATE TABLE t(id TEXT PRIMARY KEY, n INTEGER CHECK (n > 0))");
  db->prepare("INSERT INTO t VALUES ('x', 1)").run();
  try {
    db->prepare("INSERT INTO t VALUES ('x', 2)").run();
    FAIL() << "duplicate insert succeeded";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::duplicate) << e.what();
  }
  try {
    db->prepare("INSERT INTO t VALUES (?1, 0)").bind_text(1, "secret-value").run();
    FAIL() << "check constraint not enforced";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::other) << e.what();
    // Values are bound, never quoted back: a failing row may hold a secret.
    EXPECT_EQ(std::string(e.what()).find("secret-value"), std::string::npos) << e.what();
  }
  EXPECT_THROW(db->prepare("SELEC nonsense").run(), StoreError);
  EXPECT_THROW(db->exec("INSERT INTO missing VALUES (1)"), StoreError);
  EXPECT_THROW(db->prepare("SELECT ?1").bind_int64(2, 0), StoreError);  // no such parameter
}

TEST_P(DbTest, TransactionRollsBackUnlessCommitted) {
  create("CREATE TABLE t(v INTEGER)");
  EXPECT_FALSE(db->in_transaction());
  {
    Transaction tx(*db);
    db->exec("INSERT INTO t VALUES (1)");
    EXPECT_TRUE(db->in_transaction());
  }
  EXPECT_FALSE(db->in_transaction());
  EXPECT_EQ(count("t"), 0);

  try {
    Transaction tx(*db);
    db->exec("INSERT INTO t VALUES (1)");
    throw std::runtime_error("unit of work failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(count("t"), 0);

  {
    Transaction tx(*db, Transaction::Mode::deferred);
    db->exec("INSERT INTO t VALUES (2)");
    tx.commit();
  }
  EXPECT_FALSE(db->in_transaction());
  EXPECT_EQ(count("t"), 1);
}

TEST_P(DbTest, LockForWriteNeedsATransactionAndAPlainName) {
  create("CREATE TABLE t(v INTEGER)");
  EXPECT_THROW(db->lock_for_write("t"), StoreError);  // outside a transaction
  Transaction tx(*db);
  EXPECT_THROW(db->lock_for_write("t; DROP TABLE t"), StoreError);
  EXPECT_THROW(db->lock_for_write("T"), StoreError);
  EXPECT_THROW(db->lock_for_write(""), StoreError);
  db->lock_for_write("t");
  db->exec("INSERT INTO t VALUES (1)");
  tx.commit();
  EXPECT_EQ(count("t"), 1);
}

}  // namespace
}  // namespace pc::store
