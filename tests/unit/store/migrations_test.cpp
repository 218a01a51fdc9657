#include "store/migrations.h"

#include <gtest/gtest.h>

#include <thread>

#include "store/db.h"
#include "support/test_store.h"

namespace pc::store {
namespace {

using pc::testing::Backend;

class MigrationsTest : public ::testing::TestWithParam<Backend> {
 protected:
  static bool has_table(Db& db, const std::string& name) {
    Statement q = db.prepare(db.dialect() == Db::Dialect::postgres
                                 ? "SELECT to_regclass(?1) IS NOT NULL"
                                 : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1");
    q.bind_text(1, name);
    return q.step() && q.column_int64(0) == 1;
  }
  static std::int64_t count(Db& db, const std::string& table) {
    Statement q = db.prepare("SELECT COUNT(*) FROM " + table);
    q.step();
    return q.column_int64(0);
  }

  pc::testing::TestDatabase database{GetParam()};
  std::unique_ptr<Db> db = database.connect();
  const int newest = static_cast<int>(sqlite_migrations().size());
};
PC_ALL_BACKENDS(MigrationsTest);

TEST_P(MigrationsTest, FreshDatabaseGetsEveryMigration) {
  EXPECT_EQ(schema_version(*db), 0);
  EXPECT_FALSE(has_table(*db, "schema_migrations"));  // asking does not create it
  int v = migrate(*db);
  EXPECT_EQ(v, newest);
  EXPECT_EQ(schema_version(*db), v);
  for (const char* table : {"clients", "meta", "tenants", "signing_keys", "data_keys", "secrets", "audit_log",
                            "capabilities", "agents", "agent_versions", "invocations", "sessions"})
    EXPECT_TRUE(has_table(*db, table)) << table;

  Statement q = db->prepare("SELECT version, name, applied_at FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_int64(0), 1);
  EXPECT_FALSE(q.column_text(1).empty());
  // RFC 3339 UTC, e.g. 2025-01-31T12:34:56.789Z
  EXPECT_EQ(q.column_text(2).size(), 24u);
  EXPECT_EQ(q.column_text(2).back(), 'Z');
}

TEST_P(MigrationsTest, IsIdempotent) {
  migrate(*database.connect());
  EXPECT_EQ(migrate(*db), newest);
  EXPECT_EQ(count(*db, "schema_migrations"), newest);
}

TEST_P(MigrationsTest, RefusesANewerDatabase) {
  migrate(*db);
  db->exec("INSERT INTO schema_migrations VALUES (999, 'from the future', '2999-01-01T00:00:00Z')");
  try {
    migrate(*db);
    FAIL() << "migrated a database newer than this binary";
  } catch (const StoreError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("999"), std::string::npos) << msg;
    EXPECT_NE(msg.find("newer"), std::string::npos) << msg;
    EXPECT_NE(msg.find(db->path()), std::string::npos) << msg;
  }
  EXPECT_EQ(schema_version(*db), 999);  // untouched
}

TEST_P(MigrationsTest, AppliesOnlyPendingOnesInOrder) {
  const Migration v1[] = {{1, "one", "CREATE TABLE a(x INTEGER)"}};
  const Migration v2[] = {{1, "one", "CREATE TABLE a(x INTEGER)"}, {2, "two", "CREATE TABLE b(x INTEGER)"}};
  EXPECT_EQ(migrate(*db, v1), 1);
  EXPECT_EQ(migrate(*db, v2), 2);  // would fail if migration 1 ran again (table a exists)
  EXPECT_TRUE(has_table(*db, "b"));
}

TEST_P(MigrationsTest, FailedMigrationLeavesTheLastGoodVersion) {
  const Migration ms[] = {{1, "one", "CREATE TABLE a(x INTEGER)"},
                          {2, "broken", "CREATE TABLE c(x INTEGER); CREATE TABLE a(x INTEGER)"}};
  try {
    migrate(*db, ms);
    FAIL();
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("migration 2 (broken)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(schema_version(*db), 1);
  EXPECT_FALSE(has_table(*db, "c"));  // its first statement was rolled back too
}

// Migration 13 (review M6): the counts of a v12 database, one row per tenant and day, survive as
// node '' rows of the per-node table.
TEST_P(MigrationsTest, DailyUsageOfVersion12BecomesANodesRow) {
  const auto all = sqlite_migrations();
  ASSERT_GE(all.size(), 13u);
  ASSERT_EQ(migrate(*db, all.first(12)), 12);
  db->exec("INSERT INTO daily_usage(tenant_id, day, invocations, tool_calls, updated_at) "
           "VALUES ('acme', '2026-12-06T00:00:00.000Z', 7, 2, '2026-12-06T01:00:00.000Z')");
  ASSERT_EQ(migrate(*db), newest);
  Statement q = db->prepare("SELECT tenant_id, day, node_id, invocations, tool_calls FROM daily_usage");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_text(0), "acme");
  EXPECT_EQ(q.column_text(2), "");
  EXPECT_EQ(q.column_int64(3), 7);
  EXPECT_EQ(q.column_int64(4), 2);
  EXPECT_FALSE(q.step());
  EXPECT_FALSE(has_table(*db, "daily_usage_v12"));
}

TEST_P(MigrationsTest, RejectsMisnumberedLists) {
  const Migration gap[] = {{1, "one", "SELECT 1"}, {3, "three", "SELECT 1"}};
  EXPECT_THROW(migrate(*db, gap), StoreError);
  EXPECT_EQ(schema_version(*db), 0);
}

// Several gateways starting at once on an empty database: one migrates, the others wait and
// then find nothing left to do.
TEST_P(MigrationsTest, ConcurrentMigratorsApplyEachMigrationOnce) {
  constexpr int kMigrators = 4;
  std::vector<std::unique_ptr<Db>> conns;
  for (int i = 0; i < kMigrators; ++i) conns.push_back(database.connect());
  std::vector<int> versions(kMigrators, -1);
  std::vector<std::string> errors(kMigrators);
  std::vector<std::thread> threads;
  for (int i = 0; i < kMigrators; ++i)
    threads.emplace_back([&, i] {
      try {
        versions[i] = migrate(*conns[i]);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kMigrators; ++i) {
    EXPECT_EQ(versions[i], newest) << errors[i];
  }
  EXPECT_EQ(count(*db, "schema_migrations"), newest);
}

TEST_P(MigrationsTest, AtMostOneBootstrapClient) {
  migrate(*db);
  const char* ins =
      "INSERT INTO clients(client_id, tenant_id, name, secret_hash, roles, grant_types, created_at, "
      "updated_at, is_bootstrap) VALUES (?1, 'platform', 'n', 'h', '[]', '[]', 't', 't', ?2)";
  db->prepare(ins).bind_text(1, "a").bind_int64(2, 1).run();
  db->prepare(ins).bind_text(1, "b").bind_int64(2, 0).run();
  db->prepare(ins).bind_text(1, "c").bind_int64(2, 0).run();
  try {
    db->prepare(ins).bind_text(1, "d").bind_int64(2, 1).run();
    FAIL() << "second bootstrap client accepted";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::duplicate) << e.what();
  }
}

TEST_P(MigrationsTest, OnePromotedVersionPerAgentAndVersionsGoWithTheirAgent) {
  migrate(*db);
  db->exec("INSERT INTO agents VALUES ('a', 'd', 'basic', 'http', 't', 't')");
  const char* ins = "INSERT INTO agent_versions VALUES ('a', ?1, 'http://x', ?2, 't', 't')";
  db->prepare(ins).bind_text(1, "v1").bind_text(2, "promoted").run();
  db->prepare(ins).bind_text(1, "v2").bind_text(2, "superseded").run();
  try {
    db->prepare(ins).bind_text(1, "v3").bind_text(2, "promoted").run();
    FAIL() << "second promoted version accepted";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::duplicate) << e.what();
  }
  db->exec("DELETE FROM agents WHERE name = 'a'");
  EXPECT_EQ(count(*db, "agent_versions"), 0);  // ON DELETE CASCADE
}

// SQLite's INTEGER is 64-bit: on PostgreSQL it must become BIGINT, not the 32-bit INTEGER, and
// BLOB must become BYTEA. On SQLite the migration's own words stay.
TEST_P(MigrationsTest, PostgresColumnsGetSixtyFourBitIntegersAndBytea) {
  migrate(*db);
  const bool pg = GetParam() == Backend::postgres;
  auto type_of = [&](const char* table, const char* column) {
    Statement q = db->prepare(
        pg ? "SELECT data_type FROM information_schema.columns WHERE table_name = ?1 AND column_name = ?2"
           : "SELECT lower(type) FROM pragma_table_info(?1) WHERE name = ?2");
    q.bind_text(1, table).bind_text(2, column);
    return q.step() ? q.column_text(0) : "missing";
  };
  const std::string integer = pg ? "bigint" : "integer", blob = pg ? "bytea" : "blob";
  EXPECT_EQ(type_of("audit_log", "seq"), integer);
  EXPECT_EQ(type_of("tenants", "revision"), integer);
  EXPECT_EQ(type_of("tenants", "purge_after"), integer);  // added by ALTER TABLE
  EXPECT_EQ(type_of("schema_migrations", "version"), integer);
  EXPECT_EQ(type_of("daily_usage", "invocations"), integer);  // rebuilt by migration 13
  EXPECT_EQ(type_of("signing_keys", "private_sealed"), blob);
  EXPECT_EQ(type_of("invocations", "content_sealed"), blob);
  EXPECT_EQ(type_of("clients", "scopes"), "text");
}

// ---- the DDL translation itself (no server needed) ----------------------------------------

TEST(PostgresDdl, TranslatesTypeWordsOnly) {
  EXPECT_EQ(postgres_ddl("CREATE TABLE t(a INTEGER PRIMARY KEY, b blob, c Integer NOT NULL)"),
            "CREATE TABLE t(a BIGINT PRIMARY KEY, b BYTEA, c BIGINT NOT NULL)");
  // Longer words, literals, quoted identifiers and comments stay as written.
  EXPECT_EQ(postgres_ddl("INTEGERS BLOBS x_INTEGER DEFAULT 'INTEGER' \"BLOB\" -- INTEGER\n/* BLOB */ INTEGER"),
            "INTEGERS BLOBS x_INTEGER DEFAULT 'INTEGER' \"BLOB\" -- INTEGER\n/* BLOB */ BIGINT");
  EXPECT_EQ(postgres_ddl("DEFAULT 'it''s INTEGER' INTEGER"), "DEFAULT 'it''s INTEGER' BIGINT");
}

TEST(PostgresDdl, ReleasedMigrationsKeepEverythingButTheTypes) {
  for (const Migration& m : sqlite_migrations()) {
    std::string pg = postgres_ddl(m.sql);
    std::string back = pg;
    for (auto [from, to] : {std::pair{"BIGINT", "INTEGER"}, std::pair{"BYTEA", "BLOB"}})
      for (std::size_t at; (at = back.find(from)) != std::string::npos;) back.replace(at, std::string(from).size(), to);
    EXPECT_EQ(back, m.sql) << "migration " << m.version;
    EXPECT_EQ(pg.find("INTEGER"), std::string::npos) << "migration " << m.version;
    EXPECT_EQ(pg.find("BLOB"), std::string::npos) << "migration " << m.version;
  }
}

}  // namespace
}  // namespace pc::store
