// SecretsVault against a real store: versions, listings without values, tenant isolation, input
// limits, rotation seen at once by another gateway, and rows that were moved failing to open.
#include "vault/secrets.h"

#include <gtest/gtest.h>

#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "crypto/associated_data.h"
#include "support/test_store.h"
#include "vault/vault_test_util.h"

namespace pc::vault {
namespace {

using testing::master_key;

class SecretsTest : public pc::testing::BackendTest {
 protected:
  // The store exists only once BackendTest::SetUp has run.
  void SetUp() override {
    BackendTest::SetUp();
    keys.emplace(store(), ring);
    vault.emplace(store(), *keys);
  }
  crypto::MasterKeyring ring{master_key(1)};
  std::optional<DataKeys> keys;
  std::optional<SecretsVault> vault;
};

TEST_P(SecretsTest, PutGetAndVersions) {
  EXPECT_EQ(vault->get("acme", "api-key"), std::nullopt);
  EXPECT_EQ(vault->put("acme", "api-key", "first", "alice"), 1);
  EXPECT_EQ(vault->put("acme", "api-key", "second", "bob"), 2);
  EXPECT_EQ(vault->get("acme", "api-key"), "second");  // newest
  EXPECT_EQ(vault->get("acme", "api-key", 1), "first");
  EXPECT_EQ(vault->get("acme", "api-key", 2), "second");
  EXPECT_EQ(vault->get("acme", "api-key", 3), std::nullopt);
  EXPECT_THROW(vault->get("acme", "api-key", 0), std::invalid_argument);
  // Empty values and binary values round-trip.
  EXPECT_EQ(vault->put("acme", "empty", "", "alice"), 1);
  EXPECT_EQ(vault->get("acme", "empty"), "");
  const std::string binary("\0\x01\xff\n", 4);
  vault->put("acme", "bin", binary, "alice");
  EXPECT_EQ(vault->get("acme", "bin"), binary);
}

TEST_P(SecretsTest, StoredSealedUnderTheTenantsSecretKeyNeverInTheClear) {
  vault->put("acme", "db.password", "hunter2-very-secret", "alice");
  const auto row = store().find_secret("acme", "db.password", 1);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->sealed.find("hunter2"), std::string::npos);
  EXPECT_EQ(row->created_by, "alice");
  EXPECT_FALSE(row->created_at.empty());
  // Sealed with the "secret" data key and the row's identity as AAD.
  EXPECT_EQ(keys->open("acme", "secret", crypto::row_aad("acme", "secrets", "db.password#1", "sealed"), row->sealed),
            "hunter2-very-secret");
  EXPECT_EQ(store().data_keys("acme", "secret").size(), 1u);
}

TEST_P(SecretsTest, ListShowsNamesAndVersionsNeverValues) {
  vault->put("acme", "b-secret", "VALUE-ONE", "alice");
  vault->put("acme", "a-secret", "VALUE-TWO", "alice");
  vault->put("acme", "a-secret", "VALUE-THREE", "bob");
  vault->put("beta", "c-secret", "VALUE-FOUR", "carol");
  const auto list = vault->list("acme");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "a-secret");
  EXPECT_EQ(list[0].version, 2);
  EXPECT_EQ(list[0].created_by, "bob");
  EXPECT_FALSE(list[0].created_at.empty());
  EXPECT_EQ(list[1].name, "b-secret");
  EXPECT_EQ(list[1].version, 1);
  // Nothing in a listing carries a value (SecretInfo has no such field; this guards the text
  // fields against one ever being put there).
  for (const auto& s : list)
    for (const std::string* f : {&s.name, &s.created_at, &s.created_by})
      EXPECT_EQ(f->find("VALUE"), std::string::npos) << *f;
  EXPECT_TRUE(vault->list("gamma").empty());
}

TEST_P(SecretsTest, AnotherTenantsSecretIsNotFound) {
  vault->put("acme", "shared-name", "acme's", "alice");
  EXPECT_EQ(vault->get("beta", "shared-name"), std::nullopt);
  EXPECT_EQ(vault->get("beta", "shared-name", 1), std::nullopt);
  EXPECT_FALSE(vault->remove("beta", "shared-name"));
  EXPECT_EQ(vault->get("acme", "shared-name"), "acme's");  // beta's remove touched nothing
  // The same name in both tenants: separate secrets, separate version counters.
  EXPECT_EQ(vault->put("beta", "shared-name", "beta's", "bob"), 1);
  EXPECT_EQ(vault->get("beta", "shared-name"), "beta's");
  EXPECT_EQ(vault->get("acme", "shared-name"), "acme's");
  // Platform secrets live under the "platform" tenant like any other.
  vault->put("platform", "shared-name", "platform's", "root");
  EXPECT_EQ(vault->get("platform", "shared-name"), "platform's");
}

TEST_P(SecretsTest, RemoveDeletesEveryVersion) {
  vault->put("acme", "gone", "1", "alice");
  vault->put("acme", "gone", "2", "alice");
  EXPECT_TRUE(vault->remove("acme", "gone"));
  EXPECT_EQ(vault->get("acme", "gone"), std::nullopt);
  EXPECT_EQ(vault->get("acme", "gone", 1), std::nullopt);
  EXPECT_TRUE(vault->list("acme").empty());
  EXPECT_FALSE(vault->remove("acme", "gone"));
  EXPECT_EQ(vault->put("acme", "gone", "again", "alice"), 1);  // starts over
}

TEST_P(SecretsTest, NamesAndValuesAreChecked) {
  for (const char* bad : {"", "has space", "slash/name", "colon:name", "hash#1", "ümlaut", "new\nline"}) {
    EXPECT_THROW(vault->put("acme", bad, "v", "alice"), std::invalid_argument) << bad;
    EXPECT_THROW(vault->get("acme", bad), std::invalid_argument) << bad;
  }
  EXPECT_THROW(vault->put("acme", std::string(129, 'a'), "v", "alice"), std::invalid_argument);
  EXPECT_EQ(vault->put("acme", std::string(128, 'a'), "v", "alice"), 1);
  EXPECT_EQ(vault->put("acme", "A-z_0.9", "v", "alice"), 1);

  EXPECT_EQ(vault->put("acme", "big", std::string(64 * 1024, 'x'), "alice"), 1);
  EXPECT_EQ(vault->get("acme", "big")->size(), 64u * 1024);
  try {
    vault->put("acme", "too-big", std::string(64 * 1024 + 1, 'x'), "alice");
    ADD_FAILURE() << "a 64 KiB + 1 value was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("65536"), std::string::npos) << e.what();
  }
  EXPECT_THROW(vault->put("", "name", "v", "alice"), std::invalid_argument);
  EXPECT_THROW(vault->put("acme", "name", "v", ""), std::invalid_argument);
  EXPECT_EQ(store().find_secret("acme", "too-big", 0), std::nullopt);
}

// Rotation takes effect without a restart: another gateway's vault sees the new version on
// its very next get().
TEST_P(SecretsTest, RotationIsSeenAtOnceByAnotherGateway) {
  DataKeys other_keys(store(), ring);
  SecretsVault other(store(), other_keys);
  vault->put("acme", "token", "v1", "alice");
  EXPECT_EQ(other.get("acme", "token"), "v1");
  vault->put("acme", "token", "v2", "alice");
  EXPECT_EQ(other.get("acme", "token"), "v2");
  // Also across a data-key rotation: old versions stay readable.
  keys->rotate("acme", "secret");
  vault->put("acme", "token", "v3", "alice");
  EXPECT_EQ(other.get("acme", "token"), "v3");
  EXPECT_EQ(other.get("acme", "token", 1), "v1");
}

// Two writers adding versions of one name at once: every put gets its own version, none is lost.
TEST_P(SecretsTest, ConcurrentPutsGetDistinctVersions) {
  DataKeys other_keys(store(), ring);
  SecretsVault other(store(), other_keys);
  constexpr int kThreads = 4, kEach = 5;
  std::mutex mu;
  std::set<int> versions;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      SecretsVault& v = t % 2 ? *vault : other;
      for (int i = 0; i < kEach; ++i) {
        const int n = v.put("acme", "hot", "t" + std::to_string(t) + "-" + std::to_string(i), "w");
        std::lock_guard lock(mu);
        EXPECT_TRUE(versions.insert(n).second) << "version " << n << " handed out twice";
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(versions.size(), static_cast<std::size_t>(kThreads * kEach));
  EXPECT_EQ(*versions.rbegin(), kThreads * kEach);
  for (int n = 1; n <= kThreads * kEach; ++n) EXPECT_TRUE(vault->get("acme", "hot", n).has_value()) << n;
}

// A sealed value copied into another row (as a store-level attacker or a bug might) does not
// open there: not under another tenant, name or version.
TEST_P(SecretsTest, ASealedValueCopiedToAnotherRowFailsToOpen) {
  vault->put("acme", "source", "acme's secret", "alice");
  vault->put("beta", "anything", "x", "bob");  // beta has a secret key
  const std::string sealed = store().find_secret("acme", "source", 1)->sealed;

  auto plant = [&](const std::string& tenant, const std::string& name, int version) {
    store::SecretRecord r;
    r.tenant_id = tenant;
    r.name = name;
    r.version = version;
    r.sealed = sealed;
    r.created_by = "attacker";
    store().insert_secret(r);
  };
  plant("beta", "source", 1);   // another tenant, same name
  plant("acme", "copy", 1);     // another name
  plant("acme", "source", 2);   // another version of the same name
  EXPECT_THROW(vault->get("beta", "source"), crypto::AeadError);
  EXPECT_THROW(vault->get("acme", "copy"), crypto::AeadError);
  EXPECT_THROW(vault->get("acme", "source"), crypto::AeadError);  // newest is the planted v2
  EXPECT_EQ(vault->get("acme", "source", 1), "acme's secret");
}

PC_ALL_BACKENDS(SecretsTest);

}  // namespace
}  // namespace pc::vault
