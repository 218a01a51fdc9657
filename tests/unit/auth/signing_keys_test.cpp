#include "auth/signing_keys.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <boost/json.hpp>

#include "auth/token_service.h"
#include "crypto/aead.h"
#include "jose/jwks.h"
#include "jose/sign.h"
#include "support/forwarding_store.h"
#include "support/temp_dir.h"
#include "tenancy/tenant_directory.h"

namespace pc::auth {
namespace {

namespace json = boost::json;

constexpr std::int64_t kNow = 1'700'000'000;

crypto::MasterKey master_key(unsigned char fill) {
  std::array<unsigned char, crypto::MasterKey::kSize> bytes;
  bytes.fill(fill);
  return crypto::MasterKey(std::span<const unsigned char, crypto::MasterKey::kSize>(bytes));
}

std::set<std::string> kids_of(const std::string& jwks_json) {
  std::set<std::string> out;
  const json::value doc = json::parse(jwks_json);
  for (const auto& k : doc.at("keys").as_array()) out.insert(std::string(k.at("kid").as_string()));
  return out;
}

std::set<std::string> kids_of(const jose::JwkSet& set) {
  std::set<std::string> out;
  for (const auto& k : set.keys()) out.insert(k.kid());
  return out;
}

jose::VerifyOptions opts(std::int64_t now = kNow) {
  jose::VerifyOptions o;
  o.claims.issuer = "https://gw.test";
  o.claims.audiences = {"https://gw.test"};
  o.claims.now = now;
  return o;
}

json::object payload(std::int64_t now = kNow) {
  return json::object{{"iss", "https://gw.test"}, {"aud", "https://gw.test"}, {"sub", "s"}, {"exp", now + 300}};
}

// Reads the store like a second gateway racing this one on first start: it saw no key yet.
class NoKeysYetStore : public pc::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::vector<store::SigningKeyRecord> published_signing_keys() override { return {}; }
};

// The first read (the background refresh's, say) returns the rows as they were, then stalls
// until another load finished or 500 ms passed: a slow read that an admin rotation's load
// overtakes.
class StalledFirstReadStore : public pc::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::vector<store::SigningKeyRecord> published_signing_keys() override {
    auto rows = ForwardingStore::published_signing_keys();
    std::unique_lock lock(mu);
    if (!first_read_done) {
      first_read_done = true;
      cv.notify_all();
      cv.wait_for(lock, std::chrono::milliseconds(500), [this] { return other_load_done; });
    }
    return rows;
  }
  std::mutex mu;
  std::condition_variable cv;
  bool first_read_done = false;
  bool other_load_done = false;
};

class SigningKeysTest : public ::testing::Test {
 protected:
  pc::testing::TempDir dir{"pc-signing-keys"};
  std::unique_ptr<store::Store> store = store::Store::open_sqlite(dir.file("portcullis.db"));
  crypto::MasterKey mk = master_key(0x42);
};

TEST_F(SigningKeysTest, EnsureKeyCreatesTheFirstKeyOnce) {
  EXPECT_TRUE(SigningKeys::ensure_key(*store, mk));
  EXPECT_FALSE(SigningKeys::ensure_key(*store, mk));
  EXPECT_FALSE(SigningKeys::ensure_key(*store, mk));
  auto rows = store->published_signing_keys();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, "active");
  EXPECT_EQ(rows[0].alg, "ES256");
  EXPECT_FALSE(rows[0].kid.empty());
  EXPECT_FALSE(rows[0].private_sealed.empty());
  // The published JWK is public only.
  auto jwk = json::parse(rows[0].public_jwk).as_object();
  EXPECT_EQ(jwk.at("kty").as_string(), "EC");
  EXPECT_EQ(jwk.at("crv").as_string(), "P-256");
  EXPECT_EQ(jwk.at("kid").as_string(), rows[0].kid);
  EXPECT_FALSE(jwk.contains("d"));
}

TEST_F(SigningKeysTest, EnsureKeyLosingAFirstStartRaceKeepsTheWinnersKey) {
  ASSERT_TRUE(SigningKeys::ensure_key(*store, mk));  // the other gateway won
  const std::string winner = store->published_signing_keys().at(0).kid;
  SigningKeys theirs(mk);
  theirs.load(*store, kNow);
  const std::string token = jose::make_jws(*theirs.active(), {}, payload());

  NoKeysYetStore racing(*store);  // this gateway read the store before the winner's key landed
  const bool created = SigningKeys::ensure_key(racing, mk);
  SigningKeys ours(mk);
  ours.load(*store, kNow);
  const auto jwks = ours.verification_keys()->load();
  const bool winner_still_verifies =
      jose::verify_jws_with_set(token, *jwks, {jose::Alg::ES256}, opts()).ok;
  EXPECT_FALSE(created);
  EXPECT_EQ(ours.active()->kid(), winner);
  EXPECT_TRUE(winner_still_verifies);
}

TEST_F(SigningKeysTest, LoadWithoutAnyKeyThrows) {
  SigningKeys keys(mk);
  EXPECT_EQ(keys.active(), nullptr);
  EXPECT_EQ(keys.jwks_json(), nullptr);
  EXPECT_EQ(keys.verification_keys()->current(), nullptr);
  EXPECT_THROW(keys.load(*store, kNow), std::runtime_error);
  EXPECT_EQ(keys.active(), nullptr);
}

TEST_F(SigningKeysTest, LoadPublishesTheActiveKeyAndTheJwks) {
  SigningKeys::ensure_key(*store, mk);
  const std::string kid = store->published_signing_keys().at(0).kid;
  SigningKeys keys(mk);
  EXPECT_TRUE(keys.load(*store, kNow));
  ASSERT_NE(keys.active(), nullptr);
  EXPECT_EQ(keys.active()->kid(), kid);
  EXPECT_EQ(keys.active()->alg(), jose::Alg::ES256);
  ASSERT_NE(keys.jwks_json(), nullptr);
  EXPECT_EQ(kids_of(*keys.jwks_json()), std::set<std::string>{kid});
  EXPECT_EQ(keys.jwks_json()->find("\"d\""), std::string::npos) << "private key material in the JWKS";
  auto set = keys.verification_keys()->load();
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(kids_of(*set), std::set<std::string>{kid});

  // Nothing changed: nothing republished.
  auto before = keys.verification_keys()->load();
  EXPECT_FALSE(keys.load(*store, kNow + 10));
  EXPECT_EQ(keys.verification_keys()->load(), before);
}

TEST_F(SigningKeysTest, TokensSignedWithTheActiveKeyVerifyAgainstTheVerificationKeys) {
  SigningKeys::ensure_key(*store, mk);
  SigningKeys keys(mk);
  keys.load(*store, kNow);
  const std::string token = jose::make_jws(*keys.active(), json::object{{"typ", "at+jwt"}}, payload());
  auto r = jose::verify_jws_with_set(token, *keys.verification_keys()->load(), {jose::Alg::ES256}, opts());
  EXPECT_TRUE(r.ok) << r.reason;

  // And through the token service's own minting path.
  tenancy::TenantDirectory directory;
  TokenService ts(*store, keys, directory, [](const std::string&, std::int64_t) { return AuthResult{}; },
                  TokenSettings{"https://gw.test", {"https://gw.test"}, 900});
  AccessTokenClaims c;
  c.subject = "client-1";
  c.audiences = {"https://gw.test"};
  c.client_id = "client-1";
  c.tenant = "acme";
  c.app = "client-1";
  c.expires_at = kNow + 900;
  const std::string minted = ts.mint(c, kNow);
  auto m = jose::verify_jws_with_set(minted, *keys.verification_keys()->load(), {jose::Alg::ES256}, opts());
  EXPECT_TRUE(m.ok) << m.reason;
  EXPECT_EQ(m.header.at("kid").as_string(), keys.active()->kid());
  EXPECT_EQ(m.header.at("typ").as_string(), "at+jwt");
}

TEST_F(SigningKeysTest, ThePrivateKeyIsStoredOnlySealed) {
  SigningKeys::ensure_key(*store, mk);
  SigningKeys keys(mk);
  keys.load(*store, kNow);
  const auto row = store->published_signing_keys().at(0);
  std::string der = keys.active()->to_pkcs8_der();
  ASSERT_GT(der.size(), 32u);
  EXPECT_NE(row.private_sealed, der);
  EXPECT_EQ(row.private_sealed.find(der), std::string::npos);
  // Not even the 32-byte private scalar appears in the clear: look for any 16-byte window of the DER's tail.
  const std::string tail = der.substr(der.size() - 16);
  EXPECT_EQ(row.private_sealed.find(tail), std::string::npos);
  EXPECT_EQ(row.public_jwk.find(tail), std::string::npos);
  // It is sealed as documented: under the master key, bound to its kid.
  EXPECT_EQ(crypto::open(mk.bytes(), row.private_sealed, "signing-key:" + row.kid), der);
  EXPECT_THROW(crypto::open(mk.bytes(), row.private_sealed, "signing-key:other"), crypto::AeadError);
}

TEST_F(SigningKeysTest, AnotherMasterKeyCannotLoadTheKeys) {
  SigningKeys::ensure_key(*store, mk);
  const crypto::MasterKey wrong = master_key(0x43);
  SigningKeys keys(wrong);
  EXPECT_THROW(keys.load(*store, kNow), std::runtime_error);
  EXPECT_EQ(keys.active(), nullptr);
  EXPECT_EQ(keys.jwks_json(), nullptr);
  EXPECT_EQ(keys.verification_keys()->current(), nullptr);
}

TEST_F(SigningKeysTest, RotateAddsANewActiveKeyAndKeepsTheOldOnePublished) {
  SigningKeys::ensure_key(*store, mk);
  SigningKeys keys(mk);
  keys.load(*store, kNow);
  const std::string old_kid = keys.active()->kid();
  const std::string old_token = jose::make_jws(*keys.active(), {}, payload());

  const std::string new_kid = SigningKeys::rotate(*store, mk, 900, kNow);
  EXPECT_NE(new_kid, old_kid);
  EXPECT_EQ(keys.active()->kid(), old_kid) << "nothing changes before the next load";

  EXPECT_TRUE(keys.load(*store, kNow + 1));
  EXPECT_EQ(keys.active()->kid(), new_kid);
  EXPECT_EQ(kids_of(*keys.jwks_json()), (std::set<std::string>{old_kid, new_kid}));
  auto set = keys.verification_keys()->load();
  EXPECT_EQ(kids_of(*set), (std::set<std::string>{old_kid, new_kid}));

  // A token the old key signed before the rotation still verifies; new tokens use the new key.
  auto r = jose::verify_jws_with_set(old_token, *set, {jose::Alg::ES256}, opts(kNow + 1));
  EXPECT_TRUE(r.ok) << r.reason;
  const std::string new_token = jose::make_jws(*keys.active(), {}, payload(kNow + 1));
  EXPECT_TRUE(jose::verify_jws_with_set(new_token, *set, {jose::Alg::ES256}, opts(kNow + 1)).ok);

  // The store agrees: one active, one retiring until past every token the old key signed.
  int active = 0;
  for (const auto& row : store->published_signing_keys()) {
    if (row.status == "active") {
      ++active;
      EXPECT_EQ(row.kid, new_kid);
    } else {
      EXPECT_EQ(row.status, "retiring");
      EXPECT_EQ(row.kid, old_kid);
      EXPECT_GE(row.not_after, kNow + 900);
    }
  }
  EXPECT_EQ(active, 1);

  // Another gateway with the same master key sees the same.
  SigningKeys other(mk);
  other.load(*store, kNow + 1);
  EXPECT_EQ(other.active()->kid(), new_kid);
}

TEST_F(SigningKeysTest, ARetiringKeyLeavesTheJwksOnceItsTokensExpired) {
  SigningKeys::ensure_key(*store, mk);
  SigningKeys keys(mk);
  keys.load(*store, kNow);
  const std::string old_kid = keys.active()->kid();
  const std::string new_kid = SigningKeys::rotate(*store, mk, 900, kNow);
  std::int64_t not_after = 0;
  for (const auto& row : store->published_signing_keys())
    if (row.kid == old_kid) not_after = row.not_after;
  ASSERT_GE(not_after, kNow + 900);

  keys.load(*store, not_after);
  EXPECT_EQ(kids_of(*keys.jwks_json()), (std::set<std::string>{old_kid, new_kid}));
  EXPECT_TRUE(keys.load(*store, not_after + 1));
  EXPECT_EQ(kids_of(*keys.jwks_json()), std::set<std::string>{new_kid});
  EXPECT_EQ(kids_of(*keys.verification_keys()->load()), std::set<std::string>{new_kid});
  EXPECT_EQ(keys.active()->kid(), new_kid);

  // The next rotation retires it in the store.
  const std::string third = SigningKeys::rotate(*store, mk, 900, not_after + 1);
  std::set<std::string> published;
  for (const auto& row : store->published_signing_keys()) published.insert(row.kid);
  EXPECT_EQ(published, (std::set<std::string>{new_kid, third}));
}

}  // namespace
}  // namespace pc::auth

namespace pc::auth {
namespace {

// Two threads load at once (the background refresh and an admin rotation): the one that read the
// store first must not publish its older rows over the newer ones the other published.
TEST_F(SigningKeysTest, ConcurrentLoadsNeverPublishAnOlderReadOverANewerOne) {
  ASSERT_TRUE(SigningKeys::ensure_key(*store, mk));
  StalledFirstReadStore staged(*store);
  SigningKeys keys(mk);
  std::thread slow([&] { keys.load(staged, kNow); });  // reads the rows before the rotation
  {
    std::unique_lock lock(staged.mu);
    ASSERT_TRUE(staged.cv.wait_for(lock, std::chrono::seconds(5), [&] { return staged.first_read_done; }));
  }
  const std::string rotated = SigningKeys::rotate(*store, mk, 3600, kNow);
  std::thread fast([&] {
    keys.load(staged, kNow);  // reads after the rotation
    std::lock_guard lock(staged.mu);
    staged.other_load_done = true;
    staged.cv.notify_all();
  });
  slow.join();
  fast.join();
  ASSERT_NE(keys.active(), nullptr);
  EXPECT_EQ(keys.active()->kid(), rotated) << "an older read was published last";
  EXPECT_TRUE(kids_of(*keys.jwks_json()).count(rotated));
}

}  // namespace
}  // namespace pc::auth
