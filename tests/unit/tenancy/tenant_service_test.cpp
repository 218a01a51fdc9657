#include "tenancy/tenant_service.h"

#include "store/tenant_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include "core/clock.h"
#include "crypto/secret_hash.h"
#include "store/store.h"
#include "support/temp_dir.h"

namespace pc::tenancy {
namespace {

using Kind = TenancyError::Kind;

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::invalid: return "invalid";
    case Kind::not_found: return "not_found";
    case Kind::conflict: return "conflict";
  }
  return "?";
}

// Runs `f`, which must throw TenancyError of `kind`.
template <class F>
::testing::AssertionResult refused(Kind kind, F&& f) {
  try {
    f();
  } catch (const TenancyError& e) {
    if (e.kind() == kind) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "kind " << kind_name(e.kind()) << " (" << e.what() << "), wanted "
                                         << kind_name(kind);
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw something else: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

class TenantServiceTest : public ::testing::Test {
 protected:
  pc::testing::TempDir dir{"pc-tenant-service"};
  std::unique_ptr<store::Store> store = store::Store::open_sqlite(dir.file("portcullis.db"));
  TenantDirectory directory;
  std::set<std::string> tiers{"basic", "standard", "premium"};
  TenantService svc{*store, directory, [this](const std::string& t) { return tiers.count(t) > 0; }};

  static NewClient client(std::vector<std::string> roles, std::string name = "ci bot") {
    NewClient c;
    c.name = std::move(name);
    c.roles = std::move(roles);
    return c;
  }
};

// ---- tenants

TEST_F(TenantServiceTest, CreateStoresAndPublishesTheTenant) {
  auto t = svc.create("acme", "Acme Corp", "basic");
  EXPECT_EQ(t.tenant_id, "acme");
  EXPECT_EQ(t.display_name, "Acme Corp");
  EXPECT_EQ(t.tier, "basic");
  EXPECT_EQ(t.status, "active");
  EXPECT_FALSE(t.created_at.empty());
  EXPECT_GT(t.revision, 0);

  auto stored = svc.get("acme");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->tier, "basic");
  // The directory knows it at once, without a refresh.
  const TenantInfo* info = directory.find("acme");
  ASSERT_NE(info, nullptr);
  EXPECT_TRUE(info->active());
  EXPECT_EQ(info->tier, "basic");
}

TEST_F(TenantServiceTest, DisplayNameDefaultsToTheId) {
  EXPECT_EQ(svc.create("demo", "", "standard").display_name, "demo");
}

TEST_F(TenantServiceTest, CreateRefusesIdsOutsideThePattern) {
  for (const char* id : {"", "ab", "A-corp", "1abc", "abc-", "a_b", "acme ", "abcdefghijklmnopqrstuvwxyz0123456"})
    EXPECT_TRUE(refused(Kind::invalid, [&] { svc.create(id, "", "basic"); })) << id;
  EXPECT_EQ(svc.list("", 100).size(), 0u);
}

TEST_F(TenantServiceTest, CreateRefusesReservedIds) {
  for (const char* id : {"platform", "admin", "root", "system", "stub"})
    EXPECT_TRUE(refused(Kind::invalid, [&] { svc.create(id, "", "basic"); })) << id;
  EXPECT_FALSE(store->find_tenant("platform"));
}

TEST_F(TenantServiceTest, CreateRefusesAnUnknownTier) {
  EXPECT_TRUE(refused(Kind::invalid, [&] { svc.create("acme", "", "gold"); }));
  EXPECT_TRUE(refused(Kind::invalid, [&] { svc.create("acme", "", ""); }));
  EXPECT_FALSE(svc.get("acme"));
  EXPECT_EQ(directory.find("acme"), nullptr);
  // The tier set is read per call: a reload that adds a tier counts at once.
  tiers.insert("gold");
  EXPECT_EQ(svc.create("acme", "", "gold").tier, "gold");
}

TEST_F(TenantServiceTest, CreateRefusesALongDisplayName) {
  EXPECT_TRUE(refused(Kind::invalid, [&] { svc.create("acme", std::string(201, 'x'), "basic"); }));
  EXPECT_EQ(svc.create("acme", std::string(200, 'x'), "basic").display_name.size(), 200u);
}

TEST_F(TenantServiceTest, DuplicateIsAConflict) {
  svc.create("acme", "", "basic");
  EXPECT_TRUE(refused(Kind::conflict, [&] { svc.create("acme", "Other", "premium"); }));
  EXPECT_EQ(svc.get("acme")->tier, "basic");
  EXPECT_EQ(directory.find("acme")->tier, "basic");
}

TEST_F(TenantServiceTest, ListIsOrderedAndPaged) {
  svc.create("charlie", "", "basic");
  svc.create("alpha", "", "basic");
  svc.create("bravo", "", "basic");
  auto page = svc.list("", 2);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].tenant_id, "alpha");
  EXPECT_EQ(page[1].tenant_id, "bravo");
  auto rest = svc.list("bravo", 2);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].tenant_id, "charlie");
}

TEST_F(TenantServiceTest, UpdateValidatesTierAndStatus) {
  svc.create("acme", "", "basic");
  store::TenantPatch p;
  p.tier = "gold";
  EXPECT_TRUE(refused(Kind::invalid, [&] { svc.update("acme", p); }));
  for (const char* status : {"deleted", "Active", "", "paused"}) {
    store::TenantPatch s;
    s.status = status;
    EXPECT_TRUE(refused(Kind::invalid, [&] { svc.update("acme", s); })) << status;
  }
  store::TenantPatch name;
  name.display_name = std::string(201, 'n');
  EXPECT_TRUE(refused(Kind::invalid, [&] { svc.update("acme", name); }));

  auto after = svc.get("acme");
  EXPECT_EQ(after->tier, "basic");
  EXPECT_EQ(after->status, "active");
}

TEST_F(TenantServiceTest, UpdateOfAnUnknownTenantIsNotFound) {
  store::TenantPatch p;
  p.tier = "premium";
  EXPECT_TRUE(refused(Kind::not_found, [&] { svc.update("nobody", p); }));
  EXPECT_TRUE(refused(Kind::not_found, [&] { svc.update("platform", p); }));
}

TEST_F(TenantServiceTest, UpdateOfADeletedTenantIsAConflict) {
  svc.create("acme", "", "basic");
  store::TenantPatch del;
  del.status = "deleted";
  store->update_tenant("acme", del);
  store::TenantPatch p;
  p.status = "active";
  EXPECT_TRUE(refused(Kind::conflict, [&] { svc.update("acme", p); }));
  EXPECT_EQ(svc.get("acme")->status, "deleted");
}

TEST_F(TenantServiceTest, SuspendAndReactivateUpdateTheDirectoryAtOnce) {
  svc.create("acme", "", "basic");
  store::TenantPatch suspend;
  suspend.status = "suspended";
  auto s = svc.update("acme", suspend);
  EXPECT_EQ(s.status, "suspended");
  ASSERT_NE(directory.find("acme"), nullptr);
  EXPECT_FALSE(directory.find("acme")->active());
  EXPECT_EQ(directory.find("acme")->revision, s.revision);

  store::TenantPatch activate;
  activate.status = "active";
  activate.tier = "premium";
  auto a = svc.update("acme", activate);
  EXPECT_EQ(a.status, "active");
  EXPECT_GT(a.revision, s.revision);
  EXPECT_TRUE(directory.find("acme")->active());
  EXPECT_EQ(directory.find("acme")->tier, "premium");
  EXPECT_EQ(svc.get("acme")->tier, "premium");
}

// ---- remove

TEST_F(TenantServiceTest, RemoveMarksTheTenantDeletedWithItsPurgeTime) {
  auto made = svc.create("acme", "", "standard");
  const std::int64_t purge_after = 1'900'000'000;
  auto t = svc.remove("acme", purge_after);
  EXPECT_EQ(t.tenant_id, "acme");
  EXPECT_EQ(t.status, "deleted");
  EXPECT_EQ(t.purge_after, purge_after);
  EXPECT_EQ(t.tier, "standard");
  EXPECT_GT(t.revision, made.revision);

  // Stored, not just returned: the retention job finds it due at purge_after, not before.
  auto stored = store->find_tenant("acme");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->status, "deleted");
  EXPECT_EQ(stored->purge_after, purge_after);
  EXPECT_EQ(store->tenants_due_for_purge(purge_after - 1), std::vector<std::string>{});
  EXPECT_EQ(store->tenants_due_for_purge(purge_after), std::vector<std::string>{"acme"});
}

TEST_F(TenantServiceTest, ADeletedTenantIsInactiveInTheDirectoryAtOnce) {
  svc.create("acme", "", "basic");
  svc.create("globex", "", "basic");
  ASSERT_TRUE(directory.find("acme")->active());
  auto t = svc.remove("acme", 1'900'000'000);
  // Its tokens stop working at once: the guard asks the directory, without a refresh.
  const TenantInfo* info = directory.find("acme");
  ASSERT_NE(info, nullptr);
  EXPECT_FALSE(info->active());
  EXPECT_EQ(info->status, "deleted");
  EXPECT_EQ(info->revision, t.revision);
  EXPECT_TRUE(directory.find("globex")->active()) << "another tenant was affected";

  // A refresh from the store (as another gateway would see it) agrees.
  TenantDirectory other;
  other.refresh(*store);
  ASSERT_NE(other.find("acme"), nullptr);
  EXPECT_FALSE(other.find("acme")->active());
}

TEST_F(TenantServiceTest, RemoveOfASuspendedTenantDeletesItToo) {
  svc.create("acme", "", "basic");
  store::TenantPatch suspend;
  suspend.status = "suspended";
  svc.update("acme", suspend);
  auto t = svc.remove("acme", 1'900'000'000);
  EXPECT_EQ(t.status, "deleted");
  EXPECT_EQ(directory.find("acme")->status, "deleted");
}

TEST_F(TenantServiceTest, RemoveIsIdempotentAndKeepsTheFirstPurgeTime) {
  svc.create("acme", "", "basic");
  auto first = svc.remove("acme", 1'900'000'000);
  // A repeated DELETE neither extends nor shortens the grace period, and changes no revision.
  auto again = svc.remove("acme", 2'000'000'000);
  EXPECT_EQ(again.status, "deleted");
  EXPECT_EQ(again.purge_after, 1'900'000'000);
  EXPECT_EQ(again.revision, first.revision);
  EXPECT_EQ(store->find_tenant("acme")->purge_after, 1'900'000'000);
  EXPECT_EQ(store->find_tenant("acme")->revision, first.revision);
  EXPECT_NO_THROW(svc.remove("acme", 1));
  EXPECT_EQ(store->find_tenant("acme")->purge_after, 1'900'000'000);
}

TEST_F(TenantServiceTest, RemoveOfAnUnknownTenantIsNotFound) {
  EXPECT_TRUE(refused(Kind::not_found, [&] { svc.remove("nobody", 1'900'000'000); }));
  // The reserved platform tenant has no row and cannot be deleted.
  EXPECT_TRUE(refused(Kind::not_found, [&] { svc.remove("platform", 1'900'000'000); }));
  ASSERT_NE(directory.find("platform"), nullptr);
  EXPECT_TRUE(directory.find("platform")->active());
  EXPECT_EQ(directory.find("nobody"), nullptr) << "a refused delete published a tenant";
}

TEST_F(TenantServiceTest, ADeletedTenantCannotBeReactivatedOrGetClients) {
  svc.create("acme", "", "basic");
  svc.remove("acme", 1'900'000'000);
  store::TenantPatch p;
  p.status = "active";
  EXPECT_TRUE(refused(Kind::conflict, [&] { svc.update("acme", p); }));
  EXPECT_TRUE(refused(Kind::not_found, [&] { svc.create_client("acme", client({"Machine.Invoke"})); }));
  EXPECT_FALSE(directory.find("acme")->active());
  // The id stays taken until the purge.
  EXPECT_TRUE(refused(Kind::conflict, [&] { svc.create("acme", "", "basic"); }));
}

// ---- clients

TEST_F(TenantServiceTest, CreateClientReturnsTheSecretOnceAndStoresOnlyItsHash) {
  svc.create("acme", "", "basic");
  NewClient nc = client({"Machine.Invoke", "Agent.Invoke"});
  nc.scopes = {"agents:invoke", "tools.read"};
  auto out = svc.create_client("acme", nc);

  EXPECT_GE(out.secret.size(), 43u);  // 256 bits, base64url
  EXPECT_EQ(out.client.tenant_id, "acme");
  EXPECT_EQ(out.client.client_id.rfind("acme-", 0), 0u) << out.client.client_id;
  EXPECT_EQ(out.client.roles, (std::vector<std::string>{"Machine.Invoke", "Agent.Invoke"}));
  EXPECT_EQ(out.client.scopes, (std::vector<std::string>{"agents:invoke", "tools.read"}));
  EXPECT_EQ(out.client.grant_types, (std::vector<std::string>{"client_credentials"}));
  EXPECT_EQ(out.client.status, "active");
  EXPECT_FALSE(out.client.created_at.empty());

  auto stored = store->find_client(out.client.client_id);
  ASSERT_TRUE(stored);
  EXPECT_NE(stored->secret_hash, out.secret);
  EXPECT_EQ(stored->secret_hash.find(out.secret), std::string::npos);
  EXPECT_TRUE(crypto::verify_secret(out.secret, stored->secret_hash));
  EXPECT_FALSE(crypto::verify_secret(out.secret + "x", stored->secret_hash));
  EXPECT_EQ(out.client.secret_hash, stored->secret_hash);

  // Two clients never share an id or a secret.
  auto other = svc.create_client("acme", client({"Machine.Invoke"}));
  EXPECT_NE(other.client.client_id, out.client.client_id);
  EXPECT_NE(other.secret, out.secret);
  EXPECT_EQ(svc.list_clients("acme").size(), 2u);
}

TEST_F(TenantServiceTest, CreateClientForAnUnknownOrDeletedTenantIsNotFound) {
  EXPECT_TRUE(refused(Kind::not_found, [&] { svc.create_client("nobody", client({"Machine.Invoke"})); }));
  svc.create("acme", "", "basic");
  store::TenantPatch del;
  del.status = "deleted";
  store->update_tenant("acme", del);
  EXPECT_TRUE(refused(Kind::not_found, [&] { svc.create_client("acme", client({"Machine.Invoke"})); }));
  EXPECT_TRUE(svc.list_clients("acme").empty());
}

TEST_F(TenantServiceTest, TenantClientsGetTenantRolesOnly) {
  svc.create("acme", "", "basic");
  for (const char* r : {"Agent.Developer", "Agent.Invoke", "SelfService.Admin", "Machine.Invoke"})
    EXPECT_NO_THROW(svc.create_client("acme", client({r}))) << r;
  for (const char* r : {"Platform.Admin", "Platform.Operator", "Platform.Anything", "Root", "", "machine.invoke"})
    EXPECT_TRUE(refused(Kind::invalid, [&] { svc.create_client("acme", client({"Machine.Invoke", r})); })) << r;
  EXPECT_EQ(svc.list_clients("acme").size(), 4u);
}

TEST_F(TenantServiceTest, PlatformClientsGetPlatformRolesOnly) {
  // The reserved tenant has no row, yet platform clients may be made.
  auto admin = svc.create_client("platform", client({"Platform.Admin"}));
  EXPECT_EQ(admin.client.tenant_id, "platform");
  EXPECT_NO_THROW(svc.create_client("platform", client({"Platform.Operator", "Platform.Admin"})));
  for (const char* r : {"Agent.Invoke", "Machine.Invoke", "SelfService.Admin", "Agent.Developer", "Platform.Root"})
    EXPECT_TRUE(refused(Kind::invalid, [&] { svc.create_client("platform", client({r})); })) << r;
}

TEST_F(TenantServiceTest, CreateClientValidatesNameAndRoles) {
  svc.create("acme", "", "basic");
  EXPECT_TRUE(refused(Kind::invalid, [&] { svc.create_client("acme", client({})); }));
  EXPECT_TRUE(refused(Kind::invalid, [&] { svc.create_client("acme", client({"Machine.Invoke"}, "")); }));
  EXPECT_TRUE(refused(Kind::invalid, [&] { svc.create_client("acme", client({"Machine.Invoke"}, std::string(101, 'n'))); }));
  EXPECT_NO_THROW(svc.create_client("acme", client({"Machine.Invoke"}, std::string(100, 'n'))));
}

TEST_F(TenantServiceTest, CreateClientValidatesScopes) {
  svc.create("acme", "", "basic");
  for (std::string bad : {std::string(""), std::string("two words"), std::string("quote\"d"), std::string("back\\slash"),
                          std::string("tab\t"), std::string("caf\xc3\xa9"), std::string(129, 's'), std::string("nul\0x", 5)}) {
    NewClient nc = client({"Machine.Invoke"});
    nc.scopes = {"ok", bad};
    EXPECT_TRUE(refused(Kind::invalid, [&] { svc.create_client("acme", nc); })) << bad;
  }
  NewClient nc = client({"Machine.Invoke"});
  nc.scopes = {"read:agents", "a!#$%&'()*+,-./:;<=>?@[]^_`{|}~", std::string(128, 's')};
  EXPECT_NO_THROW(svc.create_client("acme", nc));
}

TEST_F(TenantServiceTest, CreateClientValidatesGrantTypes) {
  svc.create("acme", "", "basic");
  NewClient none = client({"Machine.Invoke"});
  none.grant_types = {};
  EXPECT_TRUE(refused(Kind::invalid, [&] { svc.create_client("acme", none); }));
  for (const char* g : {"password", "authorization_code", "refresh_token", "implicit", "CLIENT_CREDENTIALS"}) {
    NewClient nc = client({"Machine.Invoke"});
    nc.grant_types = {"client_credentials", g};
    EXPECT_TRUE(refused(Kind::invalid, [&] { svc.create_client("acme", nc); })) << g;
  }
  NewClient both = client({"Machine.Invoke"});
  both.grant_types = {"client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"};
  EXPECT_EQ(svc.create_client("acme", both).client.grant_types, both.grant_types);
}

TEST_F(TenantServiceTest, RotateSecretReplacesTheHash) {
  svc.create("acme", "", "basic");
  auto made = svc.create_client("acme", client({"Machine.Invoke"}));
  const std::string id = made.client.client_id;

  auto rotated = svc.rotate_client_secret("acme", id);
  EXPECT_EQ(rotated.client.client_id, id);
  EXPECT_EQ(rotated.client.tenant_id, "acme");
  EXPECT_NE(rotated.secret, made.secret);
  auto stored = store->find_client(id);
  ASSERT_TRUE(stored);
  EXPECT_TRUE(crypto::verify_secret(rotated.secret, stored->secret_hash));
  EXPECT_FALSE(crypto::verify_secret(made.secret, stored->secret_hash)) << "the old secret still verifies";
  EXPECT_EQ(stored->secret_hash.find(rotated.secret), std::string::npos);
}

TEST_F(TenantServiceTest, RotateSecretReturnsTheClientAsItNowIs) {
  svc.create("acme", "", "basic");
  auto made = svc.create_client("acme", client({"Machine.Invoke"}));
  auto rotated = svc.rotate_client_secret("acme", made.client.client_id);
  EXPECT_TRUE(crypto::verify_secret(rotated.secret, rotated.client.secret_hash));
}

TEST_F(TenantServiceTest, RotateSecretOfAnotherTenantsClientIsAViolation) {
  svc.create("acme", "", "basic");
  svc.create("globex", "", "basic");
  auto theirs = svc.create_client("globex", client({"Machine.Invoke"}));
  const std::string before = store->find_client(theirs.client.client_id)->secret_hash;

  EXPECT_THROW(svc.rotate_client_secret("acme", theirs.client.client_id), store::TenantAccessViolation);
  EXPECT_TRUE(refused(Kind::not_found, [&] { svc.rotate_client_secret("acme", "acme-doesnotexist"); }));
  // Platform principals act as the tenant "platform", which does not own tenant rows either.
  EXPECT_THROW(svc.rotate_client_secret("platform", theirs.client.client_id), store::TenantAccessViolation);
  // The other tenant's secret is untouched.
  EXPECT_EQ(store->find_client(theirs.client.client_id)->secret_hash, before);
  EXPECT_TRUE(crypto::verify_secret(theirs.secret, before));
}

// Issue 8 item 20: disabling and deleting a client blocks it in the directory at once (its
// tokens are refused), a refresh of another gateway's directory sees the same, and another
// tenant's client is a violation that changes nothing.
TEST_F(TenantServiceTest, DisableEnableAndDeleteBlockTheClient) {
  svc.create("acme", "", "basic");
  svc.create("globex", "", "basic");
  const std::string id = svc.create_client("acme", client({"Machine.Invoke"})).client.client_id;
  const std::string theirs = svc.create_client("globex", client({"Machine.Invoke"})).client.client_id;
  EXPECT_FALSE(directory.client_blocked(id));

  EXPECT_EQ(svc.set_client_enabled("acme", id, false).status, "disabled");
  EXPECT_TRUE(directory.client_blocked(id));
  EXPECT_EQ(store->find_client(id)->status, "disabled");
  TenantDirectory other;  // a second gateway on the same store
  other.refresh(*store);
  EXPECT_TRUE(other.client_blocked(id));

  EXPECT_EQ(svc.set_client_enabled("acme", id, true).status, "active");
  EXPECT_FALSE(directory.client_blocked(id));
  other.refresh(*store);
  EXPECT_FALSE(other.client_blocked(id));

  EXPECT_THROW(svc.delete_client("acme", theirs), store::TenantAccessViolation);
  EXPECT_THROW(svc.set_client_enabled("acme", theirs, false), store::TenantAccessViolation);
  EXPECT_EQ(store->find_client(theirs)->status, "active");
  EXPECT_FALSE(directory.client_blocked(theirs));

  svc.delete_client("acme", id);
  EXPECT_TRUE(directory.client_blocked(id));
  other.refresh(*store);
  EXPECT_TRUE(other.client_blocked(id));
  EXPECT_TRUE(svc.list_clients("acme").empty());
  // Final: it cannot be re-enabled, deleted again or rotated.
  EXPECT_TRUE(refused(Kind::not_found, [&] { svc.set_client_enabled("acme", id, true); }));
  EXPECT_TRUE(refused(Kind::not_found, [&] { svc.delete_client("acme", id); }));
  EXPECT_TRUE(refused(Kind::not_found, [&] { svc.rotate_client_secret("acme", id); }));
  EXPECT_TRUE(directory.client_blocked(id));
}

TEST_F(TenantServiceTest, ListClientsIsPerTenant) {
  svc.create("acme", "", "basic");
  svc.create("globex", "", "basic");
  svc.create_client("acme", client({"Machine.Invoke"}));
  svc.create_client("globex", client({"Machine.Invoke"}));
  svc.create_client("globex", client({"Agent.Invoke"}));
  auto a = svc.list_clients("acme");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].tenant_id, "acme");
  auto g = svc.list_clients("globex");
  ASSERT_EQ(g.size(), 2u);
  for (const auto& c : g) EXPECT_EQ(c.tenant_id, "globex");
}

// Issue 8 item 10: DELETE of a purged tenant answered a purgeAfter in 1816 (the tombstone's
// 9999-12-31 overflowed a nanosecond clock on its way to RFC 3339).
TEST_F(TenantServiceTest, DeletingAPurgedTenantAnswersItsTombstoneTime) {
  svc.create("acme", "Acme", "basic");
  svc.remove("acme", 100);
  store->purge_tenant("acme");
  auto t = svc.remove("acme", 200);
  EXPECT_EQ(t.status, "deleted");
  EXPECT_EQ(t.purge_after, store::kPurged);
  EXPECT_EQ(core::rfc3339_from_unix(t.purge_after), "9999-12-31T23:59:59.000Z");
  EXPECT_EQ(core::rfc3339_from_unix(0), "1970-01-01T00:00:00.000Z");
}

// Issue 8 item 10: a client (or any row) created in a deleted tenant is refused.
TEST_F(TenantServiceTest, APatchOfADeletedTenantIsAConflictAndNeverRevivesIt) {
  svc.create("acme", "Acme", "basic");
  svc.remove("acme", 100);
  store::TenantPatch p;
  p.status = "active";
  EXPECT_TRUE(refused(Kind::conflict, [&] { svc.update("acme", p); }));
  EXPECT_EQ(svc.get("acme")->status, "deleted");
  EXPECT_TRUE(refused(Kind::not_found, [&] { svc.create_client("acme", client({"Machine.Invoke"})); }));
}

}  // namespace
}  // namespace pc::tenancy
