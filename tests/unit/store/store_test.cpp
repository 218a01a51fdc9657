#include "store/store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <thread>

#include "core/config.h"
#include "store/migrations.h"
#include "store/sqlite_db.h"
#include "support/temp_dir.h"
#include "support/test_store.h"

namespace pc::store {
namespace {

namespace fs = std::filesystem;
using pc::testing::Backend;
using pc::testing::file_mode;

ClientRecord client(std::string id) {
  ClientRecord c;
  c.client_id = std::move(id);
  c.tenant_id = "acme";
  c.name = "ci bot";
  c.secret_hash = "s256$salt$hash";
  c.roles = {"Machine.Invoke", "Agent.Invoke"};
  c.grant_types = {"client_credentials"};
  return c;
}

TenantRecord tenant(std::string id) {
  TenantRecord t;
  t.tenant_id = std::move(id);
  t.display_name = "Acme";
  t.tier = "basic";
  return t;
}

// ---- SQLite files: what only the embedded backend has ------------------------------------

class SqliteStoreTest : public ::testing::Test {
 protected:
  pc::testing::TempDir dir{"pc-store"};
  std::string path = (dir.path() / "var" / "portcullis.db").string();
};

TEST_F(SqliteStoreTest, OpenCreatesAPrivateDirAndFileAndMigrates) {
  auto store = Store::open_sqlite(path);
  EXPECT_EQ(file_mode(fs::path(path).parent_path().string()), 0700u);
  EXPECT_EQ(file_mode(path), 0600u);
  EXPECT_EQ(file_mode(path + "-wal"), 0600u);  // SQLite copies the database file's mode
  EXPECT_TRUE(store->ping());
  EXPECT_EQ(store->schema_version(), static_cast<int>(sqlite_migrations().size()));
}

TEST_F(SqliteStoreTest, UsesWalMode) {
  auto store = Store::open_sqlite(path);
  SqliteDb db(path);
  Statement q = db.prepare("PRAGMA journal_mode");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_text(0), "wal");
}

TEST_F(SqliteStoreTest, OpenFollowsTheConfiguredBackend) {
  core::StorageConfig cfg;  // backend sqlite by default
  EXPECT_TRUE(Store::open(cfg, path)->ping());
  EXPECT_TRUE(fs::exists(path));
  cfg.backend = "postgres";
  cfg.postgres_url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2";  // nothing listens there
  try {
    Store::open(cfg, path);
    FAIL() << "the postgres backend opened the SQLite file instead";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::busy) << e.what();
    EXPECT_NE(std::string(e.what()).find("127.0.0.1"), std::string::npos) << e.what();
  }
  cfg.backend = "mysql";
  EXPECT_THROW(Store::open(cfg, path), StoreError);
}

// ---- every backend -----------------------------------------------------------------------

class StoreTest : public pc::testing::BackendTest {};
PC_ALL_BACKENDS(StoreTest);

TEST_P(StoreTest, OpensMigratedAndAnswersPing) {
  EXPECT_TRUE(store().ping());
  EXPECT_EQ(store().schema_version(), static_cast<int>(sqlite_migrations().size()));
}

TEST_P(StoreTest, ReopeningKeepsDataAndSchema) {
  store().insert_client(client("c1"));
  auto again = open_again();
  EXPECT_EQ(again->schema_version(), static_cast<int>(sqlite_migrations().size()));
  EXPECT_TRUE(again->find_client("c1").has_value());
}

TEST_P(StoreTest, RefusesANewerSchema) {
  connect()->exec("INSERT INTO schema_migrations VALUES (999, 'future', '2999-01-01T00:00:00Z')");
  EXPECT_THROW(open_again(), StoreError);
}

TEST_P(StoreTest, FreshStoresDoNotShareData) {
  store().insert_client(client("c1"));
  auto other = open_store();
  EXPECT_FALSE(other->find_client("c1").has_value());
  EXPECT_TRUE(store().find_client("c1").has_value());
}

TEST_P(StoreTest, ClientInsertAndFind) {
  store().insert_client(client("c1"));
  auto got = store().find_client("c1");
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

  EXPECT_FALSE(store().find_client("c2").has_value());
  EXPECT_FALSE(store().find_client("").has_value());
  EXPECT_FALSE(store().find_bootstrap_client().has_value());
}

TEST_P(StoreTest, ExplicitCreatedAtIsKept) {
  ClientRecord c = client("c1");
  c.created_at = "2024-05-01T10:00:00.000Z";
  c.roles.clear();  // an empty array round-trips too
  store().insert_client(c);
  auto got = store().find_client("c1");
  EXPECT_EQ(got->created_at, "2024-05-01T10:00:00.000Z");
  EXPECT_TRUE(got->roles.empty());
}

TEST_P(StoreTest, DuplicateClientIdIsADuplicateError) {
  store().insert_client(client("c1"));
  ClientRecord again = client("c1");
  again.name = "other";
  try {
    store().insert_client(again);
    FAIL() << "duplicate client_id accepted";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::duplicate);
    EXPECT_NE(std::string(e.what()).find("c1"), std::string::npos) << e.what();
  }
  EXPECT_EQ(store().find_client("c1")->name, "ci bot");
}

TEST_P(StoreTest, BootstrapClientIsFoundAndUnique) {
  store().insert_client(client("ordinary"));
  ClientRecord admin = client("pc-admin-1");
  admin.tenant_id = "platform";
  admin.is_bootstrap = true;
  store().insert_client(admin);
  auto got = store().find_bootstrap_client();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->client_id, "pc-admin-1");
  EXPECT_TRUE(got->is_bootstrap);

  ClientRecord second = admin;
  second.client_id = "pc-admin-2";
  try {
    store().insert_client(second);
    FAIL() << "second bootstrap client accepted";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::duplicate);
  }
}

TEST_P(StoreTest, CorruptJsonColumnIsAClearError) {
  store().insert_client(client("c1"));
  connect()->exec("UPDATE clients SET roles = '{\"not\":\"an array\"}' WHERE client_id = 'c1'");
  try {
    store().find_client("c1");
    FAIL();
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("roles"), std::string::npos) << e.what();
  }
}

TEST_P(StoreTest, ClientScopesListAndSecretUpdate) {
  ClientRecord c = client("c1");
  c.scopes = {"agents:invoke", "mcp:tools"};
  store().insert_client(c);
  ClientRecord other = client("c2");
  other.tenant_id = "globex";
  store().insert_client(other);
  EXPECT_EQ(store().find_client("c1")->scopes, c.scopes);

  auto acme = store().list_clients("acme");
  ASSERT_EQ(acme.size(), 1u);
  EXPECT_EQ(acme[0].client_id, "c1");
  EXPECT_TRUE(store().list_clients("nobody").empty());

  EXPECT_TRUE(store().update_client_secret("c1", "s256$new$hash"));
  EXPECT_EQ(store().find_client("c1")->secret_hash, "s256$new$hash");
  EXPECT_EQ(store().find_client("c2")->secret_hash, "s256$salt$hash");
  EXPECT_FALSE(store().update_client_secret("missing", "x"));

  // Issue 8 item 20: disable, re-enable, delete. Blocked clients are the ones not active; a
  // deleted client stays (a tombstone, so its tokens stay refused) but is not listed, and never
  // comes back.
  EXPECT_TRUE(store().blocked_clients().empty());
  EXPECT_TRUE(store().set_client_status("c1", "disabled"));
  EXPECT_EQ(store().blocked_clients(), std::vector<std::string>{"c1"});
  EXPECT_EQ(store().list_clients("acme").size(), 1u);
  EXPECT_TRUE(store().set_client_status("c1", "active"));
  EXPECT_TRUE(store().blocked_clients().empty());
  EXPECT_TRUE(store().set_client_status("c1", "deleted"));
  EXPECT_EQ(store().blocked_clients(), std::vector<std::string>{"c1"});
  EXPECT_TRUE(store().list_clients("acme").empty());
  EXPECT_FALSE(store().set_client_status("c1", "active"));
  EXPECT_EQ(store().find_client("c1")->status, "deleted");
  EXPECT_FALSE(store().set_client_status("missing", "disabled"));
  EXPECT_EQ(store().find_client("c2")->status, "active");
}

TEST_P(StoreTest, TenantsInsertFindListUpdateWithRevisions) {
  TenantRecord t;
  t.tenant_id = "acme";
  t.display_name = "Acme";
  t.tier = "basic";
  auto a = store().insert_tenant(t);
  EXPECT_EQ(a.status, "active");
  EXPECT_EQ(a.revision, 1);
  EXPECT_FALSE(a.created_at.empty());
  t.tenant_id = "globex";
  auto g = store().insert_tenant(t);
  EXPECT_EQ(g.revision, 2);

  try {
    store().insert_tenant(t);
    FAIL() << "duplicate tenant accepted";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::duplicate);
  }

  auto page = store().list_tenants("", 1);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].tenant_id, "acme");
  page = store().list_tenants("acme", 10);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].tenant_id, "globex");

  TenantPatch p;
  p.status = "suspended";
  auto u = store().update_tenant("acme", p);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->status, "suspended");
  EXPECT_EQ(u->tier, "basic");  // unset fields are kept
  EXPECT_EQ(u->revision, 3);
  EXPECT_FALSE(store().update_tenant("nobody", p));

  auto changed = store().tenants_changed_since(2);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].tenant_id, "acme");
  EXPECT_EQ(store().tenants_changed_since(0).size(), 2u);
  EXPECT_TRUE(store().tenants_changed_since(3).empty());
}

TEST_P(StoreTest, TenantStatusIsConstrained) {
  TenantRecord t;
  t.tenant_id = "acme";
  t.display_name = "Acme";
  t.tier = "basic";
  store().insert_tenant(t);
  TenantPatch p;
  p.status = "frozen";
  EXPECT_THROW(store().update_tenant("acme", p), StoreError);
  EXPECT_EQ(store().find_tenant("acme")->status, "active");  // the failed update changed nothing
}

TEST_P(StoreTest, SigningKeyRotationKeepsOneActiveAndRetiresExpired) {
  auto key = [](std::string kid) {
    SigningKeyRecord k;
    k.kid = std::move(kid);
    k.alg = "ES256";
    k.public_jwk = "{}";
    k.private_sealed = std::string("\x01sealed\0bytes", 14);
    return k;
  };
  store().rotate_signing_key(key("k1"), 0, 100);
  auto keys = store().published_signing_keys();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].status, "active");
  EXPECT_EQ(keys[0].private_sealed, std::string("\x01sealed\0bytes", 14));  // binary-safe

  store().rotate_signing_key(key("k2"), /*old_not_after=*/1000, /*now=*/200);
  keys = store().published_signing_keys();
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
  store().rotate_signing_key(key("k3"), 5000, 999);
  EXPECT_EQ(store().published_signing_keys().size(), 3u);
  store().rotate_signing_key(key("k4"), 9000, 1001);
  keys = store().published_signing_keys();
  ASSERT_EQ(keys.size(), 3u);
  for (const auto& k : keys) EXPECT_NE(k.kid, "k1");

  // A duplicate kid fails the whole rotation: the active key stays active.
  EXPECT_THROW(store().rotate_signing_key(key("k4"), 0, 2000), StoreError);
  int active = 0;
  for (const auto& k : store().published_signing_keys()) active += k.status == "active";
  EXPECT_EQ(active, 1);
}

TEST_P(StoreTest, DeletedTenantIsPurgedWithItsRowsOnly) {
  store().insert_tenant(tenant("acme"));
  store().insert_tenant(tenant("globex"));
  store().insert_client(client("acme-bot"));
  ClientRecord theirs = client("globex-bot");
  theirs.tenant_id = "globex";
  store().insert_client(theirs);

  auto gone = store().mark_tenant_deleted("acme", /*purge_after=*/100);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, "deleted");
  EXPECT_EQ(gone->purge_after, 100);
  EXPECT_EQ(gone->revision, 3);  // a change like any other, so caches see it
  EXPECT_FALSE(store().mark_tenant_deleted("nobody", 100));
  EXPECT_TRUE(store().tenants_due_for_purge(99).empty());
  EXPECT_EQ(store().tenants_due_for_purge(100), std::vector<std::string>{"acme"});

  store().purge_tenant("acme");
  // A tombstone with a newer revision: gateways following revisions see it, and the highest
  // revision never goes backwards (a deleted row would let the next change reuse revision 3).
  ASSERT_TRUE(store().find_tenant("acme"));
  EXPECT_EQ(store().find_tenant("acme")->status, "deleted");
  EXPECT_GT(store().find_tenant("acme")->revision, 3);
  EXPECT_EQ(store().tenants_changed_since(3).size(), 1u);
  EXPECT_TRUE(store().tenants_due_for_purge(100).empty());
  EXPECT_THROW(store().insert_tenant(store().find_tenant("acme").value()), StoreError);  // the id is not reused
  EXPECT_FALSE(store().find_client("acme-bot"));
  EXPECT_TRUE(store().find_tenant("globex"));
  EXPECT_TRUE(store().find_client("globex-bot"));
}

// Issue 8 item 10: a secret PUT (or a client, data key, session, invocation) into a deleted or
// purged tenant was written, and no purge would ever remove it (the tenant was due once only).
TEST_P(StoreTest, WritesIntoADeletedOrPurgedTenantAreRefused) {
  store().insert_tenant(tenant("acme"));
  store().insert_tenant(tenant("globex"));
  auto kind_of = [](auto&& f) {
    try {
      f();
    } catch (const StoreError& e) {
      return e.kind();
    }
    return StoreError::Kind::other;  // (did not throw: the assertions below fail)
  };
  auto expect_refused = [&](const std::string& tenant_id, const std::string& tag) {
    SecretRecord sec;
    sec.tenant_id = tenant_id;
    sec.name = "db-password-" + tag;
    sec.version = 1;
    sec.sealed = "sealed";
    EXPECT_EQ(kind_of([&] { store().insert_secret(sec); }), StoreError::Kind::gone);
    ClientRecord c = client("late-bot-" + tag);
    c.tenant_id = tenant_id;
    EXPECT_EQ(kind_of([&] { store().insert_client(c); }), StoreError::Kind::gone);
    DataKeyRecord k;
    k.tenant_id = tenant_id;
    k.data_class = "secrets-" + tag;
    k.version = 1;
    k.wrapped = "wrapped";
    k.master_key_id = "mk";
    EXPECT_EQ(kind_of([&] { store().insert_data_key(k); }), StoreError::Kind::gone);
    SessionRecord sess;
    sess.session_id = "sess-" + tag;
    sess.tenant_id = tenant_id;
    sess.principal = "u";
    sess.agent = "echo";
    sess.status = "active";
    EXPECT_EQ(kind_of([&] { store().insert_session(sess); }), StoreError::Kind::gone);
    // The invocation log's batches skip the row (and keep the others).
    InvocationRecord inv, ok;
    inv.invocation_id = "inv-dead-" + tag;
    inv.tenant_id = tenant_id;
    ok.invocation_id = "inv-live-" + tag;
    ok.tenant_id = "globex";
    store().insert_invocations({inv, ok});
    EXPECT_FALSE(store().find_invocation(inv.invocation_id));
    EXPECT_TRUE(store().find_invocation(ok.invocation_id));
    EXPECT_FALSE(store().find_secret(tenant_id, sec.name, 0));
    EXPECT_FALSE(store().find_client(c.client_id));
    EXPECT_TRUE(store().data_keys(tenant_id, k.data_class).empty());
    EXPECT_FALSE(store().find_session(sess.session_id));
  };
  ASSERT_TRUE(store().mark_tenant_deleted("acme", 100));
  expect_refused("acme", "deleted");
  store().purge_tenant("acme");
  expect_refused("acme", "purged");

  // A live tenant, and one the store has no row for (the platform's clients), still take writes.
  ClientRecord live = client("globex-bot");
  live.tenant_id = "globex";
  store().insert_client(live);
  ClientRecord platform = client("platform-bot");
  platform.tenant_id = "platform";
  store().insert_client(platform);
  EXPECT_TRUE(store().find_client("globex-bot"));
  EXPECT_TRUE(store().find_client("platform-bot"));
}

// Issue 8 item 10: a PATCH that read the tenant active, racing a DELETE, wrote `active` over the
// tombstone. The update is conditional in one statement: a deleted tenant comes back unchanged.
// Deleting again neither moves the purge nor makes a purged tombstone due again.
TEST_P(StoreTest, APatchNeverRevivesADeletedTenantAndDeletingAgainChangesNothing) {
  store().insert_tenant(tenant("acme"));
  ASSERT_TRUE(store().mark_tenant_deleted("acme", 100));
  TenantPatch revive;
  revive.status = "active";
  revive.display_name = "Revived";
  auto after = store().update_tenant("acme", revive);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, "deleted");
  EXPECT_EQ(after->display_name, "Acme");
  EXPECT_EQ(store().find_tenant("acme")->status, "deleted");
  EXPECT_FALSE(store().update_tenant("nobody", revive));

  const auto revision = store().find_tenant("acme")->revision;
  EXPECT_EQ(store().mark_tenant_deleted("acme", 999)->purge_after, 100);
  EXPECT_EQ(store().find_tenant("acme")->revision, revision);
  store().purge_tenant("acme");
  EXPECT_EQ(store().mark_tenant_deleted("acme", 5)->purge_after, kPurged);
  EXPECT_TRUE(store().tenants_due_for_purge(1000).empty());
}

// Two gateways on one database, creating tenants at the same time: each revision is read as
// MAX + 1, so without a write lock around the read both would pick the same one and the second
// insert would fail on the unique revision index.
TEST_P(StoreTest, ConcurrentTenantInsertsFromTwoStoresNeverShareARevision) {
  auto other = open_again();
  constexpr int kEach = 25;
  std::vector<std::string> errors[2];
  auto create = [&](Store& s, char side, std::vector<std::string>& errs) {
    for (int i = 0; i < kEach; ++i) {
      try {
        s.insert_tenant(tenant(std::string("t-") + side + "-" + std::to_string(i)));
      } catch (const StoreError& e) {
        errs.push_back(e.what());
      }
    }
  };
  std::thread a(create, std::ref(store()), 'a', std::ref(errors[0]));
  std::thread b(create, std::ref(*other), 'b', std::ref(errors[1]));
  a.join();
  b.join();
  EXPECT_TRUE(errors[0].empty()) << errors[0].front();
  EXPECT_TRUE(errors[1].empty()) << errors[1].front();

  auto all = store().tenants_changed_since(0);
  ASSERT_EQ(all.size(), 2u * kEach);
  std::set<std::int64_t> revisions;
  for (const auto& t : all) revisions.insert(t.revision);
  EXPECT_EQ(revisions.size(), 2u * kEach);
  EXPECT_EQ(*revisions.begin(), 1);
  EXPECT_EQ(*revisions.rbegin(), 2 * kEach);  // no gaps either
}

TEST_P(StoreTest, ConcurrentRotationsFromTwoStoresKeepOneActiveKey) {
  auto other = open_again();
  auto rotate = [](Store& s, std::string prefix, std::vector<std::string>& errs) {
    for (int i = 0; i < 10; ++i) {
      SigningKeyRecord k;
      k.kid = prefix + std::to_string(i);
      k.alg = "ES256";
      k.public_jwk = "{}";
      k.private_sealed = "sealed";
      try {
        s.rotate_signing_key(k, 1000, 0);
      } catch (const StoreError& e) {
        errs.push_back(e.what());
      }
    }
  };
  std::vector<std::string> errors[2];
  std::thread a(rotate, std::ref(store()), "a", std::ref(errors[0]));
  std::thread b(rotate, std::ref(*other), "b", std::ref(errors[1]));
  a.join();
  b.join();
  EXPECT_TRUE(errors[0].empty()) << errors[0].front();
  EXPECT_TRUE(errors[1].empty()) << errors[1].front();
  auto keys = store().published_signing_keys();
  EXPECT_EQ(keys.size(), 20u);
  int active = 0;
  for (const auto& k : keys) active += k.status == "active";
  EXPECT_EQ(active, 1);
}

}  // namespace
}  // namespace pc::store
