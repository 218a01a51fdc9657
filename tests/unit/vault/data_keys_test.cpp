// DataKeys against a real store: keys created once and shared by every gateway on the store,
// ciphertexts bound to their tenant, class and row, rotation that keeps old values readable, and
// clear failures under the wrong master key.
#include "vault/data_keys.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>
#include <vector>

#include "crypto/associated_data.h"
#include "support/test_store.h"
#include "vault/vault_test_util.h"

namespace pc::vault {
namespace {

using namespace std::chrono_literals;
using testing::aead_error_of;
using testing::CountingStore;
using testing::master_key;

class DataKeysTest : public pc::testing::BackendTest {
 protected:
  static DataKeys::Options no_ttl() {
    DataKeys::Options o;
    o.newest_version_ttl = 0ms;
    return o;
  }
  static std::string aad(std::string_view tenant, std::string_view row) {
    return crypto::row_aad(tenant, "secrets", row, "sealed");
  }
  crypto::MasterKeyring ring{master_key(1)};
};

TEST_P(DataKeysTest, CreatedOnFirstUseThenReused) {
  DataKeys keys(store(), ring);
  EXPECT_TRUE(store().data_keys("acme", "secret").empty());
  const std::string a = keys.seal("acme", "secret", aad("acme", "a#1"), "alpha");
  const std::string b = keys.seal("acme", "secret", aad("acme", "b#1"), "beta");

  const auto rows = store().data_keys("acme", "secret");
  ASSERT_EQ(rows.size(), 1u) << "the second seal must reuse the first key";
  EXPECT_EQ(rows[0].version, 1);
  EXPECT_EQ(rows[0].master_key_id, ring.current_id());
  // The row holds the key wrapped by the master key under its identity, never the raw key.
  const std::string raw = crypto::open(ring.current().bytes(), rows[0].wrapped, crypto::data_key_aad("acme", "secret", 1));
  EXPECT_EQ(raw.size(), 32u);
  EXPECT_EQ(rows[0].wrapped.find(raw), std::string::npos);

  EXPECT_EQ(DataKeys::version_of(a), 1);
  EXPECT_EQ(a.find("alpha"), std::string::npos);
  EXPECT_EQ(keys.open("acme", "secret", aad("acme", "a#1"), a), "alpha");
  EXPECT_EQ(keys.open("acme", "secret", aad("acme", "b#1"), b), "beta");
  // A cold instance (a restarted gateway) reads the same key from the store.
  DataKeys restarted(store(), ring);
  EXPECT_EQ(restarted.open("acme", "secret", aad("acme", "a#1"), a), "alpha");
  EXPECT_EQ(store().data_keys("acme", "secret").size(), 1u);
  // Other tenants and classes get keys of their own.
  keys.seal("beta", "secret", aad("beta", "a#1"), "x");
  keys.seal("acme", "invocation", aad("acme", "a#1"), "x");
  EXPECT_EQ(store().all_data_keys().size(), 3u);
}

TEST_P(DataKeysTest, TheKeyIsCachedAfterFirstUse) {
  CountingStore counting(store());
  DataKeys keys(counting, ring);
  const std::string a = keys.seal("acme", "secret", aad("acme", "a#1"), "alpha");
  const int after_first = counting.data_key_reads.load();
  for (int i = 0; i < 5; ++i) {
    keys.seal("acme", "secret", aad("acme", "a#1"), "alpha");
    EXPECT_EQ(keys.open("acme", "secret", aad("acme", "a#1"), a), "alpha");
  }
  EXPECT_EQ(counting.data_key_reads.load(), after_first) << "seal/open with a warm cache must not hit the store";
}

TEST_P(DataKeysTest, TwoGatewaysOnOneStoreAgree) {
  DataKeys g1(store(), ring), g2(store(), ring);
  const std::string s1 = g1.seal("acme", "secret", aad("acme", "n#1"), "from g1");
  const std::string s2 = g2.seal("acme", "secret", aad("acme", "n#2"), "from g2");
  EXPECT_EQ(g2.open("acme", "secret", aad("acme", "n#1"), s1), "from g1");
  EXPECT_EQ(g1.open("acme", "secret", aad("acme", "n#2"), s2), "from g2");
  EXPECT_EQ(store().data_keys("acme", "secret").size(), 1u);
}

// Many threads on two gateways all use a fresh tenant at once: exactly one key must result and
// every value must open everywhere (a loser of the insert race must adopt the winner's key).
TEST_P(DataKeysTest, ConcurrentFirstUseCreatesOneKey) {
  DataKeys g1(store(), ring, no_ttl()), g2(store(), ring, no_ttl());
  constexpr int kThreads = 8;
  std::vector<std::string> sealed(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      DataKeys& g = i % 2 ? g1 : g2;
      sealed[i] = g.seal("race", "secret", aad("race", std::to_string(i)), "v" + std::to_string(i));
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(store().data_keys("race", "secret").size(), 1u);
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_EQ(g1.open("race", "secret", aad("race", std::to_string(i)), sealed[i]), "v" + std::to_string(i));
    EXPECT_EQ(g2.open("race", "secret", aad("race", std::to_string(i)), sealed[i]), "v" + std::to_string(i));
  }
}

TEST_P(DataKeysTest, ACiphertextMovedToAnotherRowTenantOrClassFailsToOpen) {
  DataKeys keys(store(), ring);
  const std::string row = crypto::row_aad("acme", "secrets", "db#1", "sealed");
  const std::string s = keys.seal("acme", "secret", row, "acme's password");
  // The other tenant and class have keys of their own, so the failures below are not "no key".
  keys.seal("beta", "secret", crypto::row_aad("beta", "secrets", "db#1", "sealed"), "x");
  keys.seal("acme", "invocation", row, "x");

  // Another row, another version, another column, another table of the same tenant.
  EXPECT_THROW(keys.open("acme", "secret", crypto::row_aad("acme", "secrets", "db#2", "sealed"), s), crypto::AeadError);
  EXPECT_THROW(keys.open("acme", "secret", crypto::row_aad("acme", "secrets", "other#1", "sealed"), s), crypto::AeadError);
  EXPECT_THROW(keys.open("acme", "secret", crypto::row_aad("acme", "secrets", "db#1", "other"), s), crypto::AeadError);
  EXPECT_THROW(keys.open("acme", "secret", crypto::row_aad("acme", "invocations", "db#1", "sealed"), s), crypto::AeadError);
  // The same row name under another tenant: wrong key and wrong AAD.
  EXPECT_THROW(keys.open("beta", "secret", crypto::row_aad("beta", "secrets", "db#1", "sealed"), s), crypto::AeadError);
  // Even with the original AAD, the other tenant's key does not open it.
  EXPECT_THROW(keys.open("beta", "secret", row, s), crypto::AeadError);
  // Another class of the same tenant, same row AAD: another key.
  EXPECT_THROW(keys.open("acme", "invocation", row, s), crypto::AeadError);
  // A tenant without keys at all: no key is created for it by open().
  EXPECT_THROW(keys.open("gamma", "secret", row, s), crypto::AeadError);
  EXPECT_TRUE(store().data_keys("gamma", "secret").empty());
  // And the original still opens.
  EXPECT_EQ(keys.open("acme", "secret", row, s), "acme's password");
}

TEST_P(DataKeysTest, AlteredOrMalformedValuesFailToOpen) {
  DataKeys keys(store(), ring);
  const std::string row = aad("acme", "db#1");
  const std::string s = keys.seal("acme", "secret", row, "secret value");
  keys.rotate("acme", "secret");  // so that version 2 exists and a header naming it finds a key
  for (std::size_t i = 0; i < s.size(); ++i) {
    std::string bad = s;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_THROW(keys.open("acme", "secret", row, bad), crypto::AeadError) << "byte " << i;
  }
  EXPECT_THROW(keys.open("acme", "secret", row, s.substr(0, s.size() - 1)), crypto::AeadError);
  EXPECT_THROW(keys.open("acme", "secret", row, s.substr(0, 5)), crypto::AeadError);
  EXPECT_THROW(keys.open("acme", "secret", row, ""), crypto::AeadError);
  EXPECT_FALSE(DataKeys::version_of("").has_value());
  EXPECT_FALSE(DataKeys::version_of(std::string("\x01\x00\x00\x00\x00", 5)).has_value());  // version 0
  EXPECT_FALSE(DataKeys::version_of(std::string("\x02\x00\x00\x00\x01", 5)).has_value());  // unknown format
  EXPECT_NE(aead_error_of([&] { keys.open("acme", "secret", row, std::string("\x01\x00\x00\x00\x09", 5) + s.substr(5)); })
                .find("no data key acme/secret v9"),
            std::string::npos);
}

TEST_P(DataKeysTest, RotationAddsAVersionAndOldValuesStillOpen) {
  DataKeys keys(store(), ring), other(store(), ring, no_ttl());
  const std::string old_value = keys.seal("acme", "secret", aad("acme", "n#1"), "old");
  EXPECT_EQ(keys.rotate("acme", "secret"), 2);
  const std::string new_value = keys.seal("acme", "secret", aad("acme", "n#2"), "new");
  EXPECT_EQ(DataKeys::version_of(old_value), 1);
  EXPECT_EQ(DataKeys::version_of(new_value), 2);  // this instance uses the new version at once
  EXPECT_EQ(DataKeys::version_of(other.seal("acme", "secret", aad("acme", "n#3"), "x")), 2);  // and a peer (no TTL)
  const auto rows = store().data_keys("acme", "secret");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_NE(rows[0].wrapped, rows[1].wrapped);
  for (DataKeys* k : {&keys, &other}) {
    EXPECT_EQ(k->open("acme", "secret", aad("acme", "n#1"), old_value), "old");
    EXPECT_EQ(k->open("acme", "secret", aad("acme", "n#2"), new_value), "new");
  }
  // Rotation before any use starts at version 1; rotations only touch their own tenant and class.
  EXPECT_EQ(keys.rotate("beta", "secret"), 1);
  EXPECT_EQ(store().data_keys("acme", "invocation").size(), 0u);
  EXPECT_EQ(keys.rotate("acme", "secret"), 3);
}

TEST_P(DataKeysTest, AWrongMasterKeyFailsClearlyAndCreatesNothing) {
  DataKeys right(store(), ring);
  const std::string s = right.seal("acme", "secret", aad("acme", "n#1"), "v");

  crypto::MasterKeyring other_ring(master_key(2));
  DataKeys wrong(store(), other_ring);
  const std::string err = aead_error_of([&] { wrong.open("acme", "secret", aad("acme", "n#1"), s); });
  EXPECT_NE(err.find("data key acme/secret v1"), std::string::npos) << err;
  EXPECT_NE(err.find(ring.current_id()), std::string::npos) << "must name the key the row needs: " << err;
  EXPECT_NE(err.find("not loaded"), std::string::npos) << err;
  // Sealing must not paper over it with a second key the other gateways cannot read.
  EXPECT_THROW(wrong.seal("acme", "secret", aad("acme", "n#2"), "v"), crypto::AeadError);
  EXPECT_EQ(store().data_keys("acme", "secret").size(), 1u);
}

// Rows from before master-key ids existed carry "": they are opened with the current key, and a
// wrong current key is reported as such.
TEST_P(DataKeysTest, RowsWithoutAMasterKeyIdUseTheCurrentKey) {
  const std::string raw(32, 'k');
  store::DataKeyRecord legacy;
  legacy.tenant_id = "legacy";
  legacy.data_class = "secret";
  legacy.version = 1;
  legacy.wrapped = crypto::seal(ring.current().bytes(), raw, crypto::data_key_aad("legacy", "secret", 1));
  legacy.master_key_id = "";
  ASSERT_TRUE(store().insert_data_key(legacy));

  DataKeys keys(store(), ring);
  const std::string s = keys.seal("legacy", "secret", aad("legacy", "n#1"), "v");
  EXPECT_EQ(keys.open("legacy", "secret", aad("legacy", "n#1"), s), "v");
  // It really used the legacy key, not a new one.
  EXPECT_EQ(crypto::open(std::span<const unsigned char, 32>(reinterpret_cast<const unsigned char*>(raw.data()), 32),
                         s.substr(5), s.substr(0, 5) + aad("legacy", "n#1")),
            "v");

  crypto::MasterKeyring other_ring(master_key(2));
  DataKeys wrong(store(), other_ring);
  const std::string err = aead_error_of([&] { wrong.open("legacy", "secret", aad("legacy", "n#1"), s); });
  EXPECT_NE(err.find("does not unwrap with master key " + other_ring.current_id()), std::string::npos) << err;
}

TEST_P(DataKeysTest, APreviousMasterKeyStillUnwrapsItsRows) {
  DataKeys before(store(), ring);
  const std::string s = before.seal("acme", "secret", aad("acme", "n#1"), "v");

  crypto::MasterKeyring next(master_key(2));
  next.add(master_key(1));
  DataKeys after(store(), next);
  EXPECT_EQ(after.open("acme", "secret", aad("acme", "n#1"), s), "v");
  // New keys are wrapped by the current key only.
  after.seal("beta", "secret", aad("beta", "n#1"), "v");
  EXPECT_EQ(store().data_keys("beta", "secret").at(0).master_key_id, next.current_id());
}

TEST_P(DataKeysTest, ABoundedCacheEvictsAndReloads) {
  CountingStore counting(store());
  DataKeys::Options o;
  o.cache_capacity = 2;
  DataKeys keys(counting, ring, o);
  std::vector<std::string> sealed;
  for (int i = 0; i < 5; ++i) {
    const std::string t = "t" + std::to_string(i);
    sealed.push_back(keys.seal(t, "secret", aad(t, "n#1"), t));
  }
  const int before = counting.data_key_reads.load();
  for (int i = 4; i >= 0; --i) {
    const std::string t = "t" + std::to_string(i);
    EXPECT_EQ(keys.open(t, "secret", aad(t, "n#1"), sealed[i]), t);
  }
  // t4 and t3 were still cached; t2, t1, t0 had been evicted and came back from the store.
  EXPECT_EQ(counting.data_key_reads.load() - before, 3);
}

// A purged tenant whose id is reused gets new keys; a gateway that still caches the old ones must
// not fail on (or, after forget(), hold on to) them.
TEST_P(DataKeysTest, APurgedTenantsCachedKeysDoNotLinger) {
  CountingStore counting(store());
  DataKeys g1(counting, ring), g2(store(), ring);
  g1.seal("acme", "secret", aad("acme", "n#1"), "old tenant");
  store().purge_tenant("acme");
  ASSERT_TRUE(store().data_keys("acme", "secret").empty());
  const std::string s = g2.seal("acme", "secret", aad("acme", "n#1"), "new tenant");  // a new v1 key
  // g1's cached v1 is the purged key: open retries against the store and succeeds.
  EXPECT_EQ(g1.open("acme", "secret", aad("acme", "n#1"), s), "new tenant");

  // forget() drops the tenant's entries: the next use reads the store again.
  const int before = counting.data_key_reads.load();
  g1.forget("acme");
  EXPECT_EQ(g1.open("acme", "secret", aad("acme", "n#1"), s), "new tenant");
  EXPECT_EQ(counting.data_key_reads.load() - before, 1);
}

// rotation by seal count and by age.

DataKeys::Options rotating(std::int64_t max_seals, std::int64_t block, std::chrono::seconds max_age = std::chrono::hours(24)) {
  DataKeys::Options o;
  o.max_seals_per_key = max_seals;
  o.seal_block = block;
  o.max_key_age = max_age;
  return o;
}

std::map<int, int> seals_per_version(const std::vector<std::string>& sealed) {
  std::map<int, int> out;
  for (const auto& s : sealed) ++out[DataKeys::version_of(s).value_or(-1)];
  return out;
}

TEST_P(DataKeysTest, NoKeySealsMoreThanTheLimitThenANewVersionIsUsed) {
  DataKeys keys(store(), ring, rotating(10, 4));
  std::vector<std::string> sealed;
  for (int i = 0; i < 25; ++i)
    sealed.push_back(keys.seal("acme", "invocation", aad("acme", std::to_string(i)), "v" + std::to_string(i)));
  const auto per = seals_per_version(sealed);
  for (auto [version, n] : per) EXPECT_LE(n, 10) << "version " << version;
  EXPECT_GE(per.size(), 3u);
  for (const auto& row : store().data_keys("acme", "invocation")) EXPECT_LE(row.seal_count, 10) << row.version;
  // Every value still opens, on this node and on a cold one.
  DataKeys cold(store(), ring);
  for (int i = 0; i < 25; ++i)
    EXPECT_EQ(cold.open("acme", "invocation", aad("acme", std::to_string(i)), sealed[static_cast<std::size_t>(i)]),
              "v" + std::to_string(i));
}

// Two nodes, several threads each, sealing under one tenant: the store's count keeps every key
// under the limit, whoever rotates first.
TEST_P(DataKeysTest, TwoNodesSealingAtOnceNeverPassTheLimit) {
  auto other_store = open_again();
  DataKeys g1(store(), ring, rotating(50, 8)), g2(*other_store, ring, rotating(50, 8));
  constexpr int kThreads = 6, kEach = 40;
  std::vector<std::vector<std::string>> sealed(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      DataKeys& g = t % 2 ? g1 : g2;
      for (int i = 0; i < kEach; ++i)
        sealed[static_cast<std::size_t>(t)].push_back(
            g.seal("acme", "invocation", aad("acme", std::to_string(t * 1000 + i)), "x"));
    });
  for (auto& th : threads) th.join();
  std::vector<std::string> all;
  for (auto& v : sealed) all.insert(all.end(), v.begin(), v.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads * kEach));
  for (auto [version, n] : seals_per_version(all)) EXPECT_LE(n, 50) << "version " << version;
  for (const auto& row : store().data_keys("acme", "invocation")) EXPECT_LE(row.seal_count, 50) << row.version;
  EXPECT_EQ(g1.open("acme", "invocation", aad("acme", "1000"), sealed[1][0]), "x");
}

TEST_P(DataKeysTest, AKeyOlderThanTheMaximumAgeIsRotated) {
  DataKeys keys(store(), ring, rotating(1000, 10, std::chrono::seconds(1)));
  const std::string a = keys.seal("acme", "invocation", aad("acme", "a"), "first");
  EXPECT_EQ(DataKeys::version_of(a), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // created_at has whole-second precision here
  const std::string b = keys.seal("acme", "invocation", aad("acme", "b"), "second");
  EXPECT_EQ(DataKeys::version_of(b), 2) << "the key is older than max_key_age";
  EXPECT_EQ(keys.open("acme", "invocation", aad("acme", "a"), a), "first");
  // Another node that still has version 1 cached moves on too (the age is read from the row).
  DataKeys other(store(), ring, rotating(1000, 10, std::chrono::seconds(1)));
  EXPECT_EQ(DataKeys::version_of(other.seal("acme", "invocation", aad("acme", "c"), "third")), 2);
}

TEST_P(DataKeysTest, EmptyTenantOrClassIsRejected) {
  DataKeys keys(store(), ring);
  EXPECT_THROW(keys.seal("", "secret", "aad", "v"), std::invalid_argument);
  EXPECT_THROW(keys.seal("acme", "", "aad", "v"), std::invalid_argument);
  EXPECT_THROW(keys.rotate("", "secret"), std::invalid_argument);
  EXPECT_TRUE(store().all_data_keys().empty());
}

PC_ALL_BACKENDS(DataKeysTest);

}  // namespace
}  // namespace pc::vault
