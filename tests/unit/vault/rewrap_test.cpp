// Master-key rotation: rewrap_all re-wraps every data key and signing key under the new key in
// one go (the sealed data itself untouched), and rotate_master_key's file dance leaves a
// readable state whichever step a crash interrupts.
#include "vault/rewrap.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "crypto/associated_data.h"
#include "support/forwarding_store.h"
#include "support/temp_dir.h"
#include "support/test_store.h"
#include "vault/secrets.h"
#include "vault/vault_test_util.h"

namespace pc::vault {
namespace {

namespace fs = std::filesystem;
using testing::aead_error_of;
using testing::master_key;

std::string bytes_of(const crypto::MasterKey& k) {
  return {reinterpret_cast<const char*>(k.bytes().data()), k.bytes().size()};
}

std::string read(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

const std::string kFakeDer = "not really PKCS#8, but the bytes a signing key row seals";

// (tenant, name, version) -> value
using Expected = std::map<std::tuple<std::string, std::string, int>, std::string>;

// Fills a store the way a running gateway would, with everything wrapped under `ring`: secrets
// of three tenants (one with two data-key versions), an invocation-class key, and two signing
// keys (one active, one retiring).
Expected populate(store::Store& store, const crypto::MasterKeyring& ring) {
  DataKeys keys(store, ring);
  SecretsVault vault(store, keys);
  Expected e;
  auto put = [&](const std::string& t, const std::string& n, const std::string& v) {
    e[{t, n, vault.put(t, n, v, "test")}] = v;
  };
  put("acme", "api-key", "acme-1");
  keys.rotate("acme", "secret");
  put("acme", "api-key", "acme-2");
  put("beta", "db", "beta-1");
  put("platform", "smtp", "platform-1");
  keys.seal("acme", "invocation", crypto::row_aad("acme", "invocations", "i1", "content"), "content");
  for (const char* kid : {"pc-first", "pc-second"}) {
    store::SigningKeyRecord k;
    k.kid = kid;
    k.alg = "ES256";
    k.public_jwk = "{}";
    k.private_sealed = ring.wrap(kFakeDer + kid, crypto::signing_key_aad(kid));
    k.master_key_id = ring.current_id();
    if (std::string(kid) == "pc-first") {
      EXPECT_TRUE(store.insert_first_signing_key(k));
    } else {
      store.rotate_signing_key(k, 4102444800, 1700000000);
    }
  }
  return e;
}

// Every expected secret opens through a vault built on `ring`, and every signing key unwraps.
void expect_readable(store::Store& store, const crypto::MasterKeyring& ring, const Expected& e) {
  DataKeys keys(store, ring);
  SecretsVault vault(store, keys);
  for (const auto& [id, value] : e) {
    const auto& [t, n, v] = id;
    EXPECT_EQ(vault.get(t, n, v), value) << t << "/" << n << " v" << v;
  }
  for (const auto& k : store.all_signing_keys())
    EXPECT_EQ(ring.unwrap(k.master_key_id, k.private_sealed, crypto::signing_key_aad(k.kid)), kFakeDer + k.kid);
}

std::map<std::tuple<std::string, std::string, int>, std::string> sealed_rows(store::Store& store, const Expected& e) {
  std::map<std::tuple<std::string, std::string, int>, std::string> out;
  for (const auto& [id, value] : e) {
    const auto& [t, n, v] = id;
    out[id] = store.find_secret(t, n, v)->sealed;
  }
  return out;
}

class RewrapTest : public pc::testing::BackendTest {
 protected:
  crypto::MasterKeyring old_ring{master_key(1)};
};

TEST_P(RewrapTest, RewrapsEveryKeyAndNotTheData) {
  const Expected e = populate(store(), old_ring);
  const auto data_before = store().all_data_keys();
  const auto signing_before = store().all_signing_keys();
  const auto secrets_before = sealed_rows(store(), e);
  ASSERT_EQ(data_before.size(), 5u);  // acme secret v1+v2, beta, platform, acme invocation
  ASSERT_EQ(signing_before.size(), 2u);

  const crypto::MasterKey new_key = master_key(2);
  const RewrapResult r = rewrap_all(store(), old_ring, new_key);
  EXPECT_EQ(r.data_keys, 5u);
  EXPECT_EQ(r.signing_keys, 2u);
  EXPECT_EQ(r.new_key_id, crypto::master_key_id(new_key));
  EXPECT_EQ(r.rows_by_old_key, (std::map<std::string, std::size_t>{{old_ring.current_id(), 7u}}));

  // Every wrapped blob changed and names the new key...
  std::map<std::string, std::string> wrapped_before;
  for (const auto& k : data_before) wrapped_before[k.tenant_id + "/" + k.data_class + std::to_string(k.version)] = k.wrapped;
  const auto data_after = store().all_data_keys();
  ASSERT_EQ(data_after.size(), data_before.size());
  for (const auto& k : data_after) {
    ASSERT_TRUE(wrapped_before.count(k.tenant_id + "/" + k.data_class + std::to_string(k.version)));
    EXPECT_NE(k.wrapped, wrapped_before[k.tenant_id + "/" + k.data_class + std::to_string(k.version)]);
    EXPECT_EQ(k.master_key_id, r.new_key_id);
  }
  for (const auto& k : store().all_signing_keys()) {
    EXPECT_EQ(k.master_key_id, r.new_key_id);
    for (const auto& b : signing_before) {
      if (b.kid == k.kid) {
        EXPECT_NE(k.private_sealed, b.private_sealed);
      }
    }
  }
  // ...while the sealed secrets are byte for byte what they were: data is never re-encrypted.
  EXPECT_EQ(sealed_rows(store(), e), secrets_before);

  // Only the new key reads everything now; the old key alone reads nothing.
  expect_readable(store(), crypto::MasterKeyring(master_key(2)), e);
  crypto::MasterKeyring only_old(master_key(1));
  DataKeys old_keys(store(), only_old);
  SecretsVault old_vault(store(), old_keys);
  const std::string err = aead_error_of([&] { old_vault.get("acme", "api-key"); });
  EXPECT_NE(err.find("not loaded"), std::string::npos) << err;
  EXPECT_NE(err.find(r.new_key_id), std::string::npos) << err;
}

// A row no key of the ring opens stops the rotation before anything is written: otherwise the
// rows re-wrapped so far would be under a key whose file the operator may discard, and the
// failing one under a key nobody has.
TEST_P(RewrapTest, ARowThatDoesNotUnwrapChangesNothing) {
  const Expected e = populate(store(), old_ring);
  store::DataKeyRecord stray;
  stray.tenant_id = "zeta";
  stray.data_class = "secret";
  stray.version = 1;
  const crypto::MasterKey stranger = master_key(9);
  stray.wrapped = crypto::seal(stranger.bytes(), std::string(32, 's'), crypto::data_key_aad("zeta", "secret", 1));
  stray.master_key_id = crypto::master_key_id(stranger);
  ASSERT_TRUE(store().insert_data_key(stray));
  const auto data_before = store().all_data_keys();
  const auto signing_before = store().all_signing_keys();

  const std::string err = aead_error_of([&] { rewrap_all(store(), old_ring, master_key(2)); });
  EXPECT_NE(err.find("data key zeta/secret v1"), std::string::npos) << err;
  EXPECT_NE(err.find(stray.master_key_id), std::string::npos) << err;
  EXPECT_NE(err.find("nothing was re-wrapped"), std::string::npos) << err;
  const auto data_after = store().all_data_keys();
  ASSERT_EQ(data_after.size(), data_before.size());
  for (std::size_t i = 0; i < data_after.size(); ++i) {
    EXPECT_EQ(data_after[i].wrapped, data_before[i].wrapped);
    EXPECT_EQ(data_after[i].master_key_id, data_before[i].master_key_id);
  }
  const auto signing_after = store().all_signing_keys();
  ASSERT_EQ(signing_after.size(), signing_before.size());
  for (std::size_t i = 0; i < signing_after.size(); ++i)
    EXPECT_EQ(signing_after[i].private_sealed, signing_before[i].private_sealed);
  expect_readable(store(), old_ring, e);
}

// Rows written before master-key ids existed ("") are re-wrapped with the ring's current key,
// and come out with an id; a second run over rows already under the new key is harmless.
TEST_P(RewrapTest, LegacyRowsAndRerunsAreHandled) {
  const Expected e = populate(store(), old_ring);
  store::DataKeyRecord legacy;
  legacy.tenant_id = "legacy";
  legacy.data_class = "secret";
  legacy.version = 1;
  legacy.wrapped = old_ring.wrap(std::string(32, 'l'), crypto::data_key_aad("legacy", "secret", 1));
  legacy.master_key_id = "";
  ASSERT_TRUE(store().insert_data_key(legacy));

  const RewrapResult first = rewrap_all(store(), old_ring, master_key(2));
  EXPECT_EQ(first.rows_by_old_key.at(""), 1u);
  EXPECT_EQ(store().data_keys("legacy", "secret").at(0).master_key_id, first.new_key_id);

  crypto::MasterKeyring both(master_key(1));
  both.add(master_key(2));
  const RewrapResult again = rewrap_all(store(), both, master_key(2));
  EXPECT_EQ(again.rows_by_old_key, (std::map<std::string, std::size_t>{{first.new_key_id, 8u}}));
  expect_readable(store(), crypto::MasterKeyring(master_key(2)), e);
}

// A running gateway creates a data key (a new tenant's first secret) under the old master key
// while the rotation runs: after the rotation read the rows, before it committed. It must come
// out under the new key like every other row.
class KeyCreatedDuringRewrapStore : public pc::testing::ForwardingStore {
 public:
  KeyCreatedDuringRewrapStore(store::Store& real, const crypto::MasterKeyring& gateway_ring)
      : ForwardingStore(real), ring_(gateway_ring) {}
  void rewrap(const std::vector<store::DataKeyRecord>& d, const std::vector<store::SigningKeyRecord>& s) override {
    if (!created_) {
      created_ = true;
      DataKeys keys(*this, ring_);
      SecretsVault vault(*this, keys);
      vault.put("late", "api-key", "late-1", "test");
    }
    ForwardingStore::rewrap(d, s);
  }

 private:
  const crypto::MasterKeyring& ring_;
  bool created_ = false;
};

TEST_P(RewrapTest, ADataKeyCreatedWhileItRunsIsRewrappedToo) {
  Expected e = populate(store(), old_ring);
  KeyCreatedDuringRewrapStore racing(store(), old_ring);
  const RewrapResult r = rewrap_all(racing, old_ring, master_key(2));
  e[{"late", "api-key", 1}] = "late-1";
  for (const auto& k : store().all_data_keys())
    EXPECT_EQ(k.master_key_id, r.new_key_id) << "data key " << k.tenant_id << "/" << k.data_class << " v" << k.version
                                             << " was left under the old master key";
  EXPECT_EQ(r.data_keys, 6u);
  expect_readable(store(), crypto::MasterKeyring(master_key(2)), e);
}

class RotateMasterKeyTest : public RewrapTest {
 protected:
  void SetUp() override {
    RewrapTest::SetUp();
    ASSERT_TRUE(crypto::write_private_file(path, bytes_of(master_key(1)), false));
  }
  pc::testing::TempDir dir{"pc-rotate"};
  std::string path = dir.file("master.key");
};

TEST_P(RotateMasterKeyTest, RotatesEndToEnd) {
  const Expected e = populate(store(), old_ring);
  const MasterKeyRotation r = rotate_master_key(store(), path, 1700000000);
  EXPECT_FALSE(r.resumed);
  EXPECT_EQ(r.old_key_id, old_ring.current_id());
  EXPECT_EQ(r.retired_path, path + ".old-1700000000");
  EXPECT_EQ(r.rewrapped.data_keys, 5u);
  EXPECT_EQ(r.rewrapped.signing_keys, 2u);
  EXPECT_EQ(read(r.retired_path), bytes_of(master_key(1)));
  EXPECT_FALSE(fs::exists(path + ".new"));
  crypto::MasterKey installed = crypto::load_master_key(path);  // also checks 0600 and 32 bytes
  EXPECT_NE(bytes_of(installed), bytes_of(master_key(1)));
  EXPECT_EQ(crypto::master_key_id(installed), r.rewrapped.new_key_id);
  // The key file alone (no .old, no .new) reads everything.
  expect_readable(store(), crypto::MasterKeyring(std::move(installed)), e);
}

// A crash after each step: the state on disk and in the store must be readable by the next start
// (which loads the keyring: key file + .new + .old-*), and a rerun must finish the rotation with
// the same new key.
TEST_P(RotateMasterKeyTest, ACrashAtAnyStepLeavesAReadableStateAndARerunFinishes) {
  for (const std::string crash_at : {"pending", "rewrapped", "retired"}) {
    SCOPED_TRACE("crash after " + crash_at);
    auto st = open_store();
    pc::testing::TempDir d{"pc-rotate-crash"};
    const std::string p = d.file("master.key");
    ASSERT_TRUE(crypto::write_private_file(p, bytes_of(master_key(1)), false));
    const Expected e = populate(*st, old_ring);

    std::string pending;
    struct Crash {};
    EXPECT_THROW(rotate_master_key(*st, p, 1700000000,
                                   [&](std::string_view step) {
                                     if (step == "pending") pending = read(p + ".new");
                                     if (step == crash_at) throw Crash{};
                                   }),
                 Crash);
    ASSERT_EQ(pending.size(), 32u);
    EXPECT_EQ(read(p), bytes_of(master_key(1))) << "the key file must still hold the old key";
    expect_readable(*st, crypto::load_master_keyring(p), e);

    const MasterKeyRotation r = rotate_master_key(*st, p, 1700000001);
    EXPECT_TRUE(r.resumed);
    EXPECT_EQ(read(p), pending) << "the rerun must install the pending key, not a fresh one";
    EXPECT_FALSE(fs::exists(p + ".new"));
    expect_readable(*st, crypto::MasterKeyring(crypto::load_master_key(p)), e);
  }
}

// A real failure in step 2 (a row no loaded key opens): the command reports the step, the key
// file and the store are as they were, and once the cause is fixed a rerun resumes with the same
// pending key.
TEST_P(RotateMasterKeyTest, AFailedRewrapNamesTheStepAndChangesNothing) {
  const Expected e = populate(store(), old_ring);
  store::DataKeyRecord stray;
  stray.tenant_id = "zeta";
  stray.data_class = "secret";
  stray.version = 1;
  stray.wrapped = crypto::seal(master_key(9).bytes(), std::string(32, 's'), crypto::data_key_aad("zeta", "secret", 1));
  stray.master_key_id = crypto::master_key_id(master_key(9));
  ASSERT_TRUE(store().insert_data_key(stray));

  std::string err;
  try {
    rotate_master_key(store(), path, 1700000000);
  } catch (const std::runtime_error& ex) {
    err = ex.what();
  }
  EXPECT_NE(err.find("step 2"), std::string::npos) << err;
  EXPECT_NE(err.find("data key zeta/secret v1"), std::string::npos) << err;
  EXPECT_EQ(read(path), bytes_of(master_key(1)));
  const std::string pending = read(path + ".new");
  ASSERT_EQ(pending.size(), 32u);
  for (const auto& k : store().all_data_keys()) {
    if (k.tenant_id != "zeta") {
      EXPECT_EQ(k.master_key_id, old_ring.current_id());
    }
  }
  expect_readable(store(), crypto::load_master_keyring(path), e);

  store().purge_tenant("zeta");  // the operator deals with the stray row
  const MasterKeyRotation r = rotate_master_key(store(), path, 1700000000);
  EXPECT_TRUE(r.resumed);
  EXPECT_EQ(read(path), pending);
  expect_readable(store(), crypto::MasterKeyring(crypto::load_master_key(path)), e);
}

PC_ALL_BACKENDS(RewrapTest);
PC_ALL_BACKENDS(RotateMasterKeyTest);

}  // namespace
}  // namespace pc::vault
