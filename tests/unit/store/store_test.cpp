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

TEST_F(StoreTest, ClientScopesListAndSecretUpdate) {
  auto store = Store::open_sqlite(path);
  ClientRecord c = client("c1");
  c.scopes = {"agents:invoke", "mcp:tools"};
  store->insert_client(c);
  ClientRecord other = client("c2");
  other.tenant_id = "globex";
  store->insert_client(other);
  EXPECT_EQ(store->find_client("c1")->scopes, c.scopes);

  auto acme = store->list_clients("acme");
  ASSERT_EQ(acme.size(), 1u);
  EXPECT_EQ(acme[0].client_id, "c1");
  EXPECT_TRUE(store->list_clients("nobody").empty());

  EXPECT_TRUE(store->update_client_secret("c1", "s256$new$hash"));
  EXPECT_EQ(store->find_client("c1")->secret_hash, "s256$new$hash");
  EXPECT_EQ(store->find_client("c2")->secret_hash, "s256$salt$hash");
  EXPECT_FALSE(store->update_client_secret("missing", "x"));
}

TEST_F(StoreTest, TenantsInsertFindListUpdateWithRevisions) {
  auto store = Store::open_sqlite(path);
  TenantRecord t;
  t.tenant_id = "acme";
  t.display_name = "Acme";
  t.tier = "basic";
  auto a = store->insert_tenant(t);
  EXPECT_EQ(a.status, "active");
  EXPECT_EQ(a.revision, 1);
  EXPECT_FALSE(a.created_at.empty());
  t.tenant_id = "globex";
  auto g = store->insert_tenant(t);
  EXPECT_EQ(g.revision, 2);

  try {
    store->insert_tenant(t);
    FAIL() << "duplicate tenant accepted";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::duplicate);
  }

  auto page = store->list_tenants("", 1);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].tenant_id, "acme");
  page = store->list_tenants("acme", 10);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].tenant_id, "globex");

  TenantPatch p;
  p.status = "suspended";
  auto u = store->update_tenant("acme", p);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->status, "suspended");
  EXPECT_EQ(u->tier, "basic");  // unset fields are kept
  EXPECT_EQ(u->revision, 3);
  EXPECT_FALSE(store->update_tenant("nobody", p));

  auto changed = store->tenants_changed_since(2);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].tenant_id, "acme");
  EXPECT_EQ(store->tenants_changed_since(0).size(), 2u);
  EXPECT_TRUE(store->tenants_changed_since(3).empty());
}

TEST_F(StoreTest, TenantStatusIsConstrained) {
  auto store = Store::open_sqlite(path);
  TenantRecord t;
  t.tenant_id = "acme";
  t.display_name = "Acme";
  t.tier = "basic";
  store->insert_tenant(t);
  TenantPatch p;
  p.status = "frozen";
  EXPECT_THROW(store->update_tenant("acme", p), StoreError);
  EXPECT_EQ(store->find_tenant("acme")->status, "active");  // the failed update changed nothing
}

TEST_F(StoreTest, SigningKeyRotationKeepsOneActiveAndRetiresExpired) {
  auto store = Store::open_sqlite(path);
  auto key = [](std::string kid) {
    SigningKeyRecord k;
    k.kid = std::move(kid);
    k.alg = "ES256";
    k.public_jwk = "{}";
    k.private_sealed = std::string("\x01sealed\0bytes", 14);
    return k;
  };
  store->rotate_signing_key(key("k1"), 0, 100);
  auto keys = store->published_signing_keys();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].status, "active");
  EXPECT_EQ(keys[0].private_sealed, std::string("\x01sealed\0bytes", 14));  // binary-safe

  store->rotate_signing_key(key("k2"), /*old_not_after=*/1000, /*now=*/200);
  keys = store->published_signing_keys();
  ASSERT_EQ(keys.size(), 2u);
  for (const auto& k : keys) {
    if (k.kid == "k1") {
      EXPECT_EQ(k.status, "retiring");
      EXPECT_EQ(k.not_after, 1000);
    } else {
      EXPECT_EQ(k.status, "active");
    }
  }
  // Before k1's not_after it stays; after, the next rotation retires it.
  store->rotate_signing_key(key("k3"), 5000, 999);
  EXPECT_EQ(store->published_signing_keys().size(), 3u);
  store->rotate_signing_key(key("k4"), 9000, 1001);
  keys = store->published_signing_keys();
  ASSERT_EQ(keys.size(), 3u);
  for (const auto& k : keys) EXPECT_NE(k.kid, "k1");

  // A duplicate kid fails the whole rotation: the active key stays active.
  EXPECT_THROW(store->rotate_signing_key(key("k4"), 0, 2000), StoreError);
  int active = 0;
  for (const auto& k : store->published_signing_keys()) active += k.status == "active";
  EXPECT_EQ(active, 1);
}

}  // namespace
}  // namespace pc::store
