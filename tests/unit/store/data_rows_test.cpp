// Data keys, secrets and the tenant purge: versions, duplicates, master-key re-wrapping, and
// that one tenant's rows never leak into or out of another's. Runs on every backend.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/store.h"
#include "support/test_store.h"

namespace pc::store {
namespace {

using pc::testing::Backend;

// Sealed bytes are binary: NULs and high bytes must survive as they are.
using namespace std::string_literals;

const std::string kBinary = "\x00\x01\xff\xfe sealed\x00tail"s;

DataKeyRecord data_key(std::string tenant, std::string data_class, int version, std::string wrapped = "wrapped") {
  DataKeyRecord k;
  k.tenant_id = std::move(tenant);
  k.data_class = std::move(data_class);
  k.version = version;
  k.wrapped = std::move(wrapped);
  k.master_key_id = "mk1";
  return k;
}

SecretRecord secret(std::string tenant, std::string name, int version, std::string sealed = "sealed") {
  SecretRecord s;
  s.tenant_id = std::move(tenant);
  s.name = std::move(name);
  s.version = version;
  s.sealed = std::move(sealed);
  s.created_by = "alice";
  return s;
}

SigningKeyRecord signing_key(std::string kid) {
  SigningKeyRecord k;
  k.kid = std::move(kid);
  k.alg = "ES256";
  k.public_jwk = R"({"kty":"EC"})";
  k.private_sealed = "private-under-mk1";
  k.master_key_id = "mk1";
  return k;
}

std::vector<int> versions(const std::vector<DataKeyRecord>& keys) {
  std::vector<int> out;
  for (const auto& k : keys) out.push_back(k.version);
  return out;
}

class DataRowsTest : public pc::testing::BackendTest {};

TEST_P(DataRowsTest, DataKeysComeNewestFirstPerTenantAndClass) {
  EXPECT_TRUE(store().data_keys("acme", "invocation").empty());
  ASSERT_TRUE(store().insert_data_key(data_key("acme", "invocation", 1)));
  ASSERT_TRUE(store().insert_data_key(data_key("acme", "invocation", 3)));
  ASSERT_TRUE(store().insert_data_key(data_key("acme", "invocation", 2)));
  ASSERT_TRUE(store().insert_data_key(data_key("acme", "secret", 1)));
  ASSERT_TRUE(store().insert_data_key(data_key("globex", "invocation", 7)));

  EXPECT_EQ(versions(store().data_keys("acme", "invocation")), (std::vector<int>{3, 2, 1}));
  EXPECT_EQ(versions(store().data_keys("acme", "secret")), std::vector<int>{1});
  EXPECT_EQ(versions(store().data_keys("globex", "invocation")), std::vector<int>{7});
  EXPECT_TRUE(store().data_keys("globex", "secret").empty());
}

TEST_P(DataRowsTest, DataKeyRoundTripsBinaryAndIsStamped) {
  DataKeyRecord k = data_key("acme", "invocation", 1, kBinary);
  ASSERT_TRUE(store().insert_data_key(k));
  auto got = store().data_keys("acme", "invocation");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].tenant_id, "acme");
  EXPECT_EQ(got[0].data_class, "invocation");
  EXPECT_EQ(got[0].wrapped, kBinary);
  EXPECT_EQ(got[0].master_key_id, "mk1");
  EXPECT_EQ(got[0].created_at.size(), 24u) << got[0].created_at;  // RFC 3339 with milliseconds
}

TEST_P(DataRowsTest, SecondInsertOfADataKeyVersionLosesAndChangesNothing) {
  ASSERT_TRUE(store().insert_data_key(data_key("acme", "invocation", 1, "first")));
  // Another node raced us: overwriting would make its ciphertexts undecryptable.
  EXPECT_FALSE(store().insert_data_key(data_key("acme", "invocation", 1, "second")));
  auto got = store().data_keys("acme", "invocation");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].wrapped, "first");
  // The same version of another class or tenant is a different key.
  EXPECT_TRUE(store().insert_data_key(data_key("acme", "secret", 1)));
  EXPECT_TRUE(store().insert_data_key(data_key("globex", "invocation", 1)));
}

TEST_P(DataRowsTest, AllDataKeysListsEveryTenant) {
  store().insert_data_key(data_key("globex", "invocation", 1));
  store().insert_data_key(data_key("acme", "secret", 1));
  store().insert_data_key(data_key("acme", "invocation", 2));
  store().insert_data_key(data_key("acme", "invocation", 1));
  auto all = store().all_data_keys();
  ASSERT_EQ(all.size(), 4u);
  std::vector<std::string> ids;
  for (const auto& k : all) ids.push_back(k.tenant_id + "/" + k.data_class + "/" + std::to_string(k.version));
  EXPECT_EQ(ids, (std::vector<std::string>{"acme/invocation/2", "acme/invocation/1", "acme/secret/1",
                                           "globex/invocation/1"}));
}

TEST_P(DataRowsTest, RewrapReplacesWrappingOfTheGivenRowsOnly) {
  store().insert_data_key(data_key("acme", "invocation", 1, "acme-under-mk1"));
  store().insert_data_key(data_key("globex", "invocation", 1, "globex-under-mk1"));
  ASSERT_TRUE(store().insert_first_signing_key(signing_key("k1")));

  DataKeyRecord acme = data_key("acme", "invocation", 1, "acme-under-mk2" + kBinary);
  acme.master_key_id = "mk2";
  SigningKeyRecord k1 = signing_key("k1");
  k1.private_sealed = "k1-under-mk2";
  k1.master_key_id = "mk2";
  k1.status = "retired";  // only the wrapping may change, whatever else the caller passes
  // A key whose tenant was purged while the rotation ran: nothing left to re-wrap, not an error.
  DataKeyRecord gone = data_key("initech", "invocation", 1, "x");
  store().rewrap({acme, gone}, {k1});

  auto a = store().data_keys("acme", "invocation");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].wrapped, "acme-under-mk2" + kBinary);
  EXPECT_EQ(a[0].master_key_id, "mk2");
  auto g = store().data_keys("globex", "invocation");
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].wrapped, "globex-under-mk1");
  EXPECT_EQ(g[0].master_key_id, "mk1");
  EXPECT_TRUE(store().data_keys("initech", "invocation").empty());  // not created by the update

  auto keys = store().all_signing_keys();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].private_sealed, "k1-under-mk2");
  EXPECT_EQ(keys[0].master_key_id, "mk2");
  EXPECT_EQ(keys[0].status, "active");
}

TEST_P(DataRowsTest, RewrapIsAllOrNothing) {
  Store& s = store();
  s.insert_data_key(data_key("acme", "invocation", 1, "under-mk1"));
  ASSERT_TRUE(s.insert_first_signing_key(signing_key("k1")));
  {
    // Stands in for any failure after the data keys were updated (disk full, a lost connection):
    // a trigger, made behind the store's back, that refuses every update of a signing key.
    auto db = connect();
    if (GetParam() == Backend::sqlite) {
      db->exec("CREATE TRIGGER fail_rewrap BEFORE UPDATE ON signing_keys BEGIN SELECT RAISE(ABORT, 'boom'); END");
    } else {
      db->exec(
          "CREATE FUNCTION fail_rewrap() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$;"
          "CREATE TRIGGER fail_rewrap BEFORE UPDATE ON signing_keys FOR EACH ROW EXECUTE FUNCTION fail_rewrap()");
    }
  }
  DataKeyRecord dk = data_key("acme", "invocation", 1, "under-mk2");
  dk.master_key_id = "mk2";
  SigningKeyRecord k1 = signing_key("k1");
  k1.master_key_id = "mk2";
  try {
    s.rewrap({dk}, {k1});
    FAIL() << "rewrap should have failed";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("rewrap signing key k1"), std::string::npos) << e.what();
  }
  // Half a rotation would leave keys under a master key the operator is about to retire.
  auto keys = s.data_keys("acme", "invocation");
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].wrapped, "under-mk1");
  EXPECT_EQ(keys[0].master_key_id, "mk1");
}

TEST_P(DataRowsTest, SecretVersionsAndNewest) {
  store().insert_secret(secret("acme", "db-password", 1, "v1"));
  store().insert_secret(secret("acme", "db-password", 2, "v2" + kBinary));

  auto newest = store().find_secret("acme", "db-password", 0);
  ASSERT_TRUE(newest.has_value());
  EXPECT_EQ(newest->version, 2);
  EXPECT_EQ(newest->sealed, "v2" + kBinary);
  EXPECT_EQ(newest->tenant_id, "acme");
  EXPECT_EQ(newest->name, "db-password");
  EXPECT_EQ(newest->created_by, "alice");
  EXPECT_EQ(newest->created_at.size(), 24u) << newest->created_at;

  auto v1 = store().find_secret("acme", "db-password", 1);
  ASSERT_TRUE(v1.has_value());
  EXPECT_EQ(v1->sealed, "v1");
  EXPECT_FALSE(store().find_secret("acme", "db-password", 3).has_value());
  EXPECT_FALSE(store().find_secret("acme", "other", 0).has_value());
  // Another tenant's secret of the same name is not visible under acme, and vice versa.
  EXPECT_FALSE(store().find_secret("globex", "db-password", 0).has_value());
}

TEST_P(DataRowsTest, DuplicateSecretVersionThrowsDuplicateNamingTheSecret) {
  store().insert_secret(secret("acme", "api-key", 2, "original"));
  try {
    store().insert_secret(secret("acme", "api-key", 2, "replacement"));
    FAIL() << "a duplicate version must throw";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::duplicate);  // the API maps it to 409
    EXPECT_NE(std::string(e.what()).find("insert secret acme/api-key v2"), std::string::npos) << e.what();
  }
  EXPECT_EQ(store().find_secret("acme", "api-key", 2)->sealed, "original");
  // The same name and version in another tenant is another secret.
  EXPECT_NO_THROW(store().insert_secret(secret("globex", "api-key", 2)));
}

TEST_P(DataRowsTest, ListSecretsShowsTheNewestOfEachNameWithoutCiphertext) {
  store().insert_secret(secret("acme", "zeta", 1));
  store().insert_secret(secret("acme", "alpha", 1));
  store().insert_secret(secret("acme", "alpha", 3));
  store().insert_secret(secret("acme", "alpha", 2));
  store().insert_secret(secret("globex", "beta", 5));

  auto list = store().list_secrets("acme");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "alpha");
  EXPECT_EQ(list[0].version, 3);
  EXPECT_EQ(list[1].name, "zeta");
  EXPECT_EQ(list[1].version, 1);
  for (const auto& s : list) {
    EXPECT_EQ(s.tenant_id, "acme");
    EXPECT_EQ(s.sealed, "") << s.name;
    EXPECT_EQ(s.created_by, "alice");
    EXPECT_FALSE(s.created_at.empty());
  }
  EXPECT_TRUE(store().list_secrets("initech").empty());
}

TEST_P(DataRowsTest, DeleteSecretRemovesEveryVersionOfThatTenantOnly) {
  store().insert_secret(secret("acme", "token", 1));
  store().insert_secret(secret("acme", "token", 2));
  store().insert_secret(secret("acme", "keep", 1));
  store().insert_secret(secret("globex", "token", 1));

  EXPECT_TRUE(store().delete_secret("acme", "token"));
  EXPECT_FALSE(store().find_secret("acme", "token", 0).has_value());
  EXPECT_FALSE(store().find_secret("acme", "token", 1).has_value());
  EXPECT_TRUE(store().find_secret("acme", "keep", 0).has_value());
  EXPECT_TRUE(store().find_secret("globex", "token", 0).has_value());
  EXPECT_FALSE(store().delete_secret("acme", "token"));  // nothing left: the API answers 404
  EXPECT_FALSE(store().delete_secret("initech", "keep"));
  EXPECT_TRUE(store().find_secret("acme", "keep", 0).has_value());
}

// Fills every table a tenant owns with one row (two for versioned ones) of `tenant`.
void fill_tenant(Store& s, const std::string& tenant) {
  TenantRecord t;
  t.tenant_id = tenant;
  t.display_name = tenant;
  t.tier = "basic";
  s.insert_tenant(t);
  ClientRecord c;
  c.client_id = tenant + "-client";
  c.tenant_id = tenant;
  c.name = "bot";
  c.secret_hash = "hash";
  c.roles = {"Machine.Invoke"};
  c.grant_types = {"client_credentials"};
  s.insert_client(c);
  s.insert_data_key(data_key(tenant, "invocation", 1));
  s.insert_data_key(data_key(tenant, "secret", 1));
  s.insert_secret(secret(tenant, "api-key", 1));
  s.insert_secret(secret(tenant, "api-key", 2));
  InvocationRecord inv;
  inv.invocation_id = tenant + "-inv";
  inv.tenant_id = tenant;
  inv.agent = "echo";
  inv.agent_version = "1";
  inv.session_id = tenant + "-session";
  inv.principal = "alice";
  inv.status = "completed";
  inv.http_status = 200;
  inv.content_sealed = "content";
  s.insert_invocation(inv);
  SessionRecord sess;
  sess.session_id = tenant + "-session";
  sess.tenant_id = tenant;
  sess.principal = "alice";
  sess.agent = "echo";
  s.insert_session(sess);
  std::vector<AuditRecord> audit(1);
  audit[0].time = "2026-01-01T00:00:00.000Z";
  audit[0].tenant_id = tenant;
  audit[0].actor = "alice";
  audit[0].action = "tenant.create";
  audit[0].details = "{}";
  s.append_audit(audit, [](AuditRecord& r, const std::string& prev) {
    r.prev_hash = prev;
    r.hash = prev + "x";
  });
}

TEST_P(DataRowsTest, PurgeTenantRemovesEveryRowOfThatTenantOnlyAndKeepsItsAudit) {
  fill_tenant(store(), "acme");
  fill_tenant(store(), "globex");
  // A tenant id that is a prefix of another must not take the other's rows with it.
  fill_tenant(store(), "acme-two");

  store().purge_tenant("acme");

  // The tenant row stays as a tombstone: deleted, nothing left to purge, its id never reused.
  ASSERT_TRUE(store().find_tenant("acme").has_value());
  EXPECT_EQ(store().find_tenant("acme")->status, "deleted");
  EXPECT_EQ(store().find_tenant("acme")->purge_after, kPurged);
  EXPECT_TRUE(store().tenants_due_for_purge(kPurged - 1).empty());
  EXPECT_FALSE(store().find_client("acme-client").has_value());
  EXPECT_TRUE(store().list_clients("acme").empty());
  EXPECT_TRUE(store().data_keys("acme", "invocation").empty());
  EXPECT_TRUE(store().data_keys("acme", "secret").empty());
  EXPECT_TRUE(store().list_secrets("acme").empty());
  EXPECT_FALSE(store().find_secret("acme", "api-key", 1).has_value());
  EXPECT_FALSE(store().find_invocation("acme-inv").has_value());
  InvocationQuery acme_invocations;
  acme_invocations.tenant_id = "acme";
  EXPECT_TRUE(store().list_invocations(acme_invocations).empty());
  EXPECT_FALSE(store().find_session("acme-session").has_value());
  for (const auto& k : store().all_data_keys()) EXPECT_NE(k.tenant_id, "acme");

  for (std::string other : {"globex", "acme-two"}) {
    EXPECT_TRUE(store().find_tenant(other).has_value()) << other;
    EXPECT_TRUE(store().find_client(other + "-client").has_value()) << other;
    EXPECT_EQ(store().data_keys(other, "invocation").size(), 1u) << other;
    EXPECT_EQ(store().data_keys(other, "secret").size(), 1u) << other;
    EXPECT_EQ(store().find_secret(other, "api-key", 0)->version, 2) << other;
    EXPECT_EQ(store().find_secret(other, "api-key", 1)->version, 1) << other;
    auto inv = store().find_invocation(other + "-inv");
    ASSERT_TRUE(inv.has_value()) << other;
    EXPECT_EQ(inv->content_sealed, std::optional<std::string>("content")) << other;
    EXPECT_TRUE(store().find_session(other + "-session").has_value()) << other;
  }

  // The audit chain keeps the purged tenant's entries: removing them would break every later link.
  AuditQuery acme_audit;
  acme_audit.tenant_id = "acme";
  EXPECT_EQ(store().query_audit(acme_audit).size(), 1u);
  EXPECT_EQ(store().query_audit(AuditQuery{}).size(), 3u);
}

PC_ALL_BACKENDS(DataRowsTest);

}  // namespace
}  // namespace pc::store
