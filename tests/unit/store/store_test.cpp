#include "store/store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/migrations.h"
#include "support/temp_dir.h"

namespace pc::store {
namespace {

namespace fs = std::filesystem;
using pc::testing::file_mode;

class StoreTest : public ::testing::Test {
 protected:
  static ClientRecord client(std::string id) {
    ClientRecord c;
    c.client_id = std::move(id);
    c.tenant_id = "acme";
    c.name = "ci bot";
    c.secret_hash = "s256$salt$hash";
    c.roles = {"Machine.Invoke", "Agent.Invoke"};
    c.grant_types = {"client_credentials"};
    return c;
  }

  pc::testing::TempDir dir{"pc-store"};
  std::string path = (dir.path() / "var" / "portcullis.db").string();
};

TEST_F(StoreTest, OpenCreatesAPrivateDirAndFileAndMigrates) {
  auto store = Store::open_sqlite(path);
  EXPECT_EQ(file_mode(fs::path(path).parent_path().string()), 0700u);
  EXPECT_EQ(file_mode(path), 0600u);
  EXPECT_EQ(file_mode(path + "-wal"), 0600u);  // SQLite copies the database file's mode
  EXPECT_TRUE(store->ping());
  EXPECT_EQ(store->schema_version(), static_cast<int>(sqlite_migrations().size()));
}

TEST_F(StoreTest, UsesWalMode) {
  auto store = Store::open_sqlite(path);
  SqliteDb db(path);
  Statement q = db.prepare("PRAGMA journal_mode");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_text(0), "wal");
}

TEST_F(StoreTest, ReopeningKeepsDataAndSchema) {
  Store::open_sqlite(path)->insert_client(client("c1"));
  auto store = Store::open_sqlite(path);
  EXPECT_EQ(store->schema_version(), static_cast<int>(sqlite_migrations().size()));
  EXPECT_TRUE(store->find_client("c1").has_value());
}

TEST_F(StoreTest, RefusesANewerSchema) {
  Store::open_sqlite(path).reset();
  {
    SqliteDb db(path);
    db.exec("INSERT INTO schema_migrations VALUES (999, 'future', '2999-01-01T00:00:00Z')");
  }
  EXPECT_THROW(Store::open_sqlite(path), StoreError);
}

TEST_F(StoreTest, ClientInsertAndFind) {
  auto store = Store::open_sqlite(path);
  store->insert_client(client("c1"));
  auto got = store->find_client("c1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->client_id, "c1");
  EXPECT_EQ(got->tenant_id, "acme");
  EXPECT_EQ(got->name, "ci bot");
  EXPECT_EQ(got->secret_hash, "s256$salt$hash");
  EXPECT_EQ(got->roles, (std::vector<std::string>{"Machine.Invoke", "Agent.Invoke"}));
  EXPECT_EQ(got->grant_types, std::vector<std::string>{"client_credentials"});
  EXPECT_EQ(got->status, "active");
  EXPECT_FALSE(got->is_bootstrap);
  // Stamped by the store: RFC 3339 UTC with milliseconds.
  EXPECT_EQ(got->created_at.size(), 24u) << got->created_at;
  EXPECT_EQ(got->created_at[10], 'T');
  EXPECT_EQ(got->created_at.back(), 'Z');

  EXPECT_FALSE(store->find_client("c2").has_value());
  EXPECT_FALSE(store->find_client("").has_value());
  EXPECT_FALSE(store->find_bootstrap_client().has_value());
}

TEST_F(StoreTest, ExplicitCreatedAtIsKept) {
  auto store = Store::open_sqlite(path);
  ClientRecord c = client("c1");
  c.created_at = "2024-05-01T10:00:00.000Z";
  c.roles.clear();  // an empty array round-trips too
  store->insert_client(c);
  auto got = store->find_client("c1");
  EXPECT_EQ(got->created_at, "2024-05-01T10:00:00.000Z");
  EXPECT_TRUE(got->roles.empty());
}

TEST_F(StoreTest, DuplicateClientIdIsADuplicateError) {
  auto store = Store::open_sqlite(path);
  store->insert_client(client("c1"));
  ClientRecord again = client("c1");
  again.name = "other";
  try {
    store->insert_client(again);
    FAIL() << "duplicate client_id accepted";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::duplicate);
    EXPECT_NE(std::string(e.what()).find("c1"), std::string::npos) << e.what();
  }
  EXPECT_EQ(store->find_client("c1")->name, "ci bot");
}

TEST_F(StoreTest, BootstrapClientIsFoundAndUnique) {
  auto store = Store::open_sqlite(path);
  store->insert_client(client("ordinary"));
  ClientRecord admin = client("pc-admin-1");
  admin.tenant_id = "platform";
  admin.is_bootstrap = true;
  store->insert_client(admin);
  auto got = store->find_bootstrap_client();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->client_id, "pc-admin-1");
  EXPECT_TRUE(got->is_bootstrap);

  ClientRecord second = admin;
  second.client_id = "pc-admin-2";
  try {
    store->insert_client(second);
    FAIL() << "second bootstrap client accepted";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::duplicate);
  }
}

TEST_F(StoreTest, CorruptJsonColumnIsAClearError) {
  auto store = Store::open_sqlite(path);
  store->insert_client(client("c1"));
  {
    SqliteDb db(path);
    db.exec("UPDATE clients SET roles = '{\"not\":\"an array\"}' WHERE client_id = 'c1'");
  }
  try {
    store->find_client("c1");
    FAIL();
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("roles"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace pc::store
