#include "store/migrations.h"

#include <gtest/gtest.h>

#include "store/sqlite_db.h"
#include "support/temp_dir.h"

namespace pc::store {
namespace {

class MigrationsTest : public ::testing::Test {
 protected:
  static bool has_table(SqliteDb& db, const std::string& name) {
    Statement q = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
    q.bind_text(1, name);
    return q.step();
  }

  pc::testing::TempDir dir{"pc-store"};
  std::string path = dir.file("test.db");
};

TEST_F(MigrationsTest, FreshDatabaseGetsEveryMigration) {
  SqliteDb db(path);
  EXPECT_EQ(schema_version(db), 0);
  int v = migrate(db);
  EXPECT_EQ(v, static_cast<int>(sqlite_migrations().size()));
  EXPECT_EQ(schema_version(db), v);
  EXPECT_TRUE(has_table(db, "clients"));
  EXPECT_TRUE(has_table(db, "meta"));

  Statement q = db.prepare("SELECT version, name, applied_at FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_int64(0), 1);
  EXPECT_FALSE(q.column_text(1).empty());
  // RFC 3339 UTC, e.g. 2025-01-31T12:34:56.789Z
  EXPECT_EQ(q.column_text(2).size(), 24u);
  EXPECT_EQ(q.column_text(2).back(), 'Z');
}

TEST_F(MigrationsTest, IsIdempotent) {
  {
    SqliteDb db(path);
    migrate(db);
  }
  SqliteDb db(path);
  EXPECT_EQ(migrate(db), static_cast<int>(sqlite_migrations().size()));
  Statement q = db.prepare("SELECT COUNT(*) FROM schema_migrations");
  q.step();
  EXPECT_EQ(q.column_int64(0), static_cast<std::int64_t>(sqlite_migrations().size()));
}

TEST_F(MigrationsTest, RefusesANewerDatabase) {
  SqliteDb db(path);
  migrate(db);
  db.exec("INSERT INTO schema_migrations VALUES (999, 'from the future', '2999-01-01T00:00:00Z')");
  try {
    migrate(db);
    FAIL() << "migrated a database newer than this binary";
  } catch (const StoreError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("999"), std::string::npos) << msg;
    EXPECT_NE(msg.find("newer"), std::string::npos) << msg;
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
  }
  EXPECT_EQ(schema_version(db), 999);  // untouched
}

TEST_F(MigrationsTest, AppliesOnlyPendingOnesInOrder) {
  const Migration v1[] = {{1, "one", "CREATE TABLE a(x)"}};
  const Migration v2[] = {{1, "one", "CREATE TABLE a(x)"}, {2, "two", "CREATE TABLE b(x)"}};
  SqliteDb db(path);
  EXPECT_EQ(migrate(db, v1), 1);
  EXPECT_EQ(migrate(db, v2), 2);  // would fail if migration 1 ran again (table a exists)
  EXPECT_TRUE(has_table(db, "b"));
}

TEST_F(MigrationsTest, FailedMigrationLeavesTheLastGoodVersion) {
  const Migration ms[] = {{1, "one", "CREATE TABLE a(x)"},
                          {2, "broken", "CREATE TABLE c(x); CREATE TABLE a(x)"}};
  SqliteDb db(path);
  try {
    migrate(db, ms);
    FAIL();
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("migration 2 (broken)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(schema_version(db), 1);
  EXPECT_FALSE(has_table(db, "c"));  // its first statement was rolled back too
}

TEST_F(MigrationsTest, RejectsMisnumberedLists) {
  const Migration gap[] = {{1, "one", "SELECT 1"}, {3, "three", "SELECT 1"}};
  SqliteDb db(path);
  EXPECT_THROW(migrate(db, gap), StoreError);
  EXPECT_EQ(schema_version(db), 0);
}

TEST_F(MigrationsTest, AtMostOneBootstrapClient) {
  SqliteDb db(path);
  migrate(db);
  const char* ins =
      "INSERT INTO clients(client_id, tenant_id, name, secret_hash, roles, grant_types, created_at, "
      "updated_at, is_bootstrap) VALUES (?1, 'platform', 'n', 'h', '[]', '[]', 't', 't', ?2)";
  db.prepare(ins).bind_text(1, "a").bind_int64(2, 1).run();
  db.prepare(ins).bind_text(1, "b").bind_int64(2, 0).run();
  db.prepare(ins).bind_text(1, "c").bind_int64(2, 0).run();
  EXPECT_THROW(db.prepare(ins).bind_text(1, "d").bind_int64(2, 1).run(), StoreError);
}

}  // namespace
}  // namespace pc::store
