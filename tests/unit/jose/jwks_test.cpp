#include "jose/jwks.h"

#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "jose/jws_test_util.h"
#include "jose/sign.h"

namespace pc::jose {
namespace {

namespace json = boost::json;
using testing::good_payload;
using testing::opts;
using testing::sign_raw;

json::object claims() { return json::parse(good_payload()).as_object(); }

std::string jwks_text(const std::vector<json::value>& keys) {
  json::object doc;
  json::array arr;
  for (const auto& k : keys) arr.push_back(k);
  doc["keys"] = std::move(arr);
  return json::serialize(doc);
}

struct Fixture {
  PrivateKey es1 = PrivateKey::generate(Alg::ES256, "es1");
  PrivateKey es2 = PrivateKey::generate(Alg::ES256, "es2");
  PrivateKey ed1 = PrivateKey::generate(Alg::EdDSA, "ed1");
  std::string text() const { return jwks_text({es1.public_jwk(), es2.public_jwk(), ed1.public_jwk()}); }
};

const std::vector<Alg> kBoth = {Alg::ES256, Alg::EdDSA};

TEST(JwksParse, ParsesSetAndFindsByKid) {
  Fixture f;
  std::vector<std::string> skipped;
  auto set = JwkSet::parse(f.text(), &skipped);
  EXPECT_EQ(set.size(), 3u);
  EXPECT_TRUE(skipped.empty());
  ASSERT_EQ(set.find("es2").size(), 1u);
  EXPECT_EQ(set.find("es2")[0]->kid(), "es2");
  EXPECT_TRUE(set.find("nope").empty());
}

TEST(JwksParse, KeepsAtMostTheKeyCap) {
  // One public key published under many kids: what counts is how many the set keeps.
  PrivateKey k = PrivateKey::generate(Alg::EdDSA, "k");
  std::vector<json::value> keys;
  for (std::size_t i = 0; i < kMaxJwksKeys + 5; ++i) {
    json::object jwk = k.public_jwk();
    // (Appending rather than "k" + to_string(i): GCC 12 -O2 gives a false -Wrestrict there.)
    jwk["kid"] = std::string("k").append(std::to_string(i));
    keys.emplace_back(std::move(jwk));
  }
  std::vector<std::string> skipped;
  auto set = JwkSet::parse(jwks_text(keys), &skipped);
  EXPECT_EQ(set.size(), kMaxJwksKeys);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("more than"), std::string::npos) << skipped[0];
  EXPECT_TRUE(set.find("k" + std::to_string(kMaxJwksKeys)).empty());
}

TEST(JwksVerify, TokenSignedByEachKeyVerifies) {
  Fixture f;
  auto set = JwkSet::parse(f.text());
  for (const PrivateKey* k : {&f.es1, &f.es2, &f.ed1}) {
    auto r = verify_jws_with_set(make_jws(*k, {}, claims()), set, kBoth, opts());
    EXPECT_TRUE(r.ok) << k->kid() << ": " << r.reason;
    EXPECT_FALSE(r.unknown_kid);
    EXPECT_EQ(r.payload.at("sub").as_string(), "u1");
  }
}

TEST(JwksVerify, UnknownKidSetsFlag) {
  Fixture f;
  auto set = JwkSet::parse(f.text());
  auto other = PrivateKey::generate(Alg::ES256, "rotated-in");
  auto r = verify_jws_with_set(make_jws(other, {}, claims()), set, kBoth, opts());
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.unknown_kid);
  EXPECT_NE(r.reason.find("no key for kid"), std::string::npos) << r.reason;
}

TEST(JwksVerify, TokenWithoutKidTriesFittingKeys) {
  Fixture f;
  auto set = JwkSet::parse(f.text());
  const std::string t2 = sign_raw(f.es2, R"({"alg":"ES256","typ":"JWT"})", good_payload());
  auto r = verify_jws_with_set(t2, set, kBoth, opts());
  EXPECT_TRUE(r.ok) << r.reason;
  const std::string te = sign_raw(f.ed1, R"({"alg":"EdDSA"})", good_payload());
  r = verify_jws_with_set(te, set, kBoth, opts());
  EXPECT_TRUE(r.ok) << r.reason;
  ParsedJws p = parse_jws(t2);
  EXPECT_EQ(set.candidates(p).size(), 2u);  // both ES256 keys, not the Ed25519 one

  // No kid and a key the set does not hold: no fitting key verifies.
  auto stranger = PrivateKey::generate(Alg::ES256, "");
  r = verify_jws_with_set(sign_raw(stranger, R"({"alg":"ES256"})", good_payload()), set, kBoth,
                          opts());
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.unknown_kid);
  EXPECT_FALSE(r.reason.empty());
}

TEST(JwksVerify, NoKidAndNoFittingKeySetsFlag) {
  auto es = PrivateKey::generate(Alg::ES256, "es");
  auto set = JwkSet::parse(jwks_text({es.public_jwk()}));
  auto ed = PrivateKey::generate(Alg::EdDSA, "");
  auto r = verify_jws_with_set(sign_raw(ed, R"({"alg":"EdDSA"})", good_payload()), set, kBoth,
                               opts());
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.unknown_kid);
}

TEST(JwksVerify, AlgNotOnAllowListRejected) {
  Fixture f;
  auto set = JwkSet::parse(f.text());
  const std::string t = make_jws(f.es1, {}, claims());
  auto r = verify_jws_with_set(t, set, {Alg::RS256}, opts());
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.unknown_kid);
  EXPECT_NE(r.reason.find("not allowed"), std::string::npos) << r.reason;
  r = verify_jws_with_set(t, set, {}, opts());
  EXPECT_FALSE(r.ok);
}

TEST(JwksVerify, EdDsaRejectedWhenOnlyEs256Allowed) {
  Fixture f;
  auto set = JwkSet::parse(f.text());
  auto r = verify_jws_with_set(make_jws(f.ed1, {}, claims()), set, {Alg::ES256}, opts());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("EdDSA"), std::string::npos) << r.reason;
}

TEST(JwksParse, EncKeySkippedAndItsTokenFails) {
  Fixture f;
  auto enc = PrivateKey::generate(Alg::ES256, "enc1");
  json::object jwk = enc.public_jwk();
  jwk["use"] = "enc";
  jwk.erase("alg");
  std::vector<std::string> skipped;
  auto set = JwkSet::parse(jwks_text({f.es1.public_jwk(), jwk}), &skipped);
  EXPECT_EQ(set.size(), 1u);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("enc"), std::string::npos) << skipped[0];
  auto r = verify_jws_with_set(make_jws(enc, {}, claims()), set, kBoth, opts());
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.unknown_kid);
  r = verify_jws_with_set(make_jws(f.es1, {}, claims()), set, kBoth, opts());
  EXPECT_TRUE(r.ok) << r.reason;
}

TEST(JwksParse, GarbageEntriesSkippedRestWorks) {
  Fixture f;
  json::object priv = f.es2.public_jwk();
  priv["d"] = "AAAA";
  json::object badb64 = f.ed1.public_jwk();
  badb64["x"] = "!!not base64!!";
  badb64["kid"] = "bad";
  json::object alg_mismatch = PrivateKey::generate(Alg::ES256, "mm").public_jwk();
  alg_mismatch["alg"] = "EdDSA";
  std::vector<std::string> skipped;
  auto set = JwkSet::parse(
      jwks_text({json::parse(R"({"kty":"oct","k":"c2VjcmV0","kid":"hmac"})"), priv,
                 f.es1.public_jwk(), badb64, json::value(42), alg_mismatch,
                 json::parse(R"({"kty":"RSA","alg":"RSA-OAEP","n":"AQAB","e":"AQAB"})")}),
      &skipped);
  EXPECT_EQ(set.size(), 1u);
  EXPECT_EQ(skipped.size(), 6u);
  for (const auto& s : skipped) {
    EXPECT_EQ(s.find("AAAA"), std::string::npos) << s;  // no key bytes in reasons
  }
  auto r = verify_jws_with_set(make_jws(f.es1, {}, claims()), set, kBoth, opts());
  EXPECT_TRUE(r.ok) << r.reason;
  // The key with a private member was skipped, so its kid is unknown.
  r = verify_jws_with_set(make_jws(f.es2, {}, claims()), set, kBoth, opts());
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.unknown_kid);
}

TEST(JwksParse, NullSkippedReasonsIsFine) {
  auto set = JwkSet::parse(R"({"keys":[{"kty":"oct","k":"AA"}, 1, "x"]})");
  EXPECT_EQ(set.size(), 0u);
}

TEST(JwksParse, MalformedDocumentsThrow) {
  EXPECT_THROW(JwkSet::parse("[]"), JoseError);
  EXPECT_THROW(JwkSet::parse("\"keys\""), JoseError);
  EXPECT_THROW(JwkSet::parse("{}"), JoseError);
  EXPECT_THROW(JwkSet::parse(R"({"keys":{}})"), JoseError);
  EXPECT_THROW(JwkSet::parse(R"({"keys":"x"})"), JoseError);
  EXPECT_THROW(JwkSet::parse("{\"keys\":["), JoseError);
  EXPECT_THROW(JwkSet::parse(""), JoseError);
  std::string big = R"({"keys":[],"pad":")" + std::string(kMaxJwksSize, 'a') + "\"}";
  EXPECT_THROW(JwkSet::parse(big), JoseError);
  std::string deep = R"({"keys":[],"x":)" + std::string(20, '[') + std::string(20, ']') + "}";
  EXPECT_THROW(JwkSet::parse(deep), JoseError);
  EXPECT_NO_THROW(JwkSet::parse(R"({"keys":[]})"));
}

TEST(JwksVerify, DuplicateKidSecondKeyStillVerifies) {
  auto a = PrivateKey::generate(Alg::ES256, "dup");
  auto b = PrivateKey::generate(Alg::ES256, "dup");
  auto set = JwkSet::parse(jwks_text({a.public_jwk(), b.public_jwk()}));
  EXPECT_EQ(set.size(), 2u);
  EXPECT_EQ(set.find("dup").size(), 2u);
  auto r = verify_jws_with_set(make_jws(b, {}, claims()), set, kBoth, opts());
  EXPECT_TRUE(r.ok) << r.reason;
  r = verify_jws_with_set(make_jws(a, {}, claims()), set, kBoth, opts());
  EXPECT_TRUE(r.ok) << r.reason;
  // A third key with the same kid, not in the set, fails (signature), not unknown kid.
  auto c = PrivateKey::generate(Alg::ES256, "dup");
  r = verify_jws_with_set(make_jws(c, {}, claims()), set, kBoth, opts());
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.unknown_kid);
}

TEST(JwksVerify, KidOfKeyWithOtherAlgRejected) {
  Fixture f;
  auto set = JwkSet::parse(f.text());
  // An Ed25519 key claiming the kid of an ES256 key in the set.
  auto imposter = PrivateKey::generate(Alg::EdDSA, "es1");
  auto r = verify_jws_with_set(make_jws(imposter, {}, claims()), set, kBoth, opts());
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.unknown_kid);
  // ES256 header pointing at the Ed25519 key's kid.
  auto es = PrivateKey::generate(Alg::ES256, "ed1");
  r = verify_jws_with_set(make_jws(es, {}, claims()), set, kBoth, opts());
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.unknown_kid);
}

TEST(JwksVerify, BadInputNeverThrows) {
  Fixture f;
  auto set = JwkSet::parse(f.text());
  for (const char* t : {"", "a.b.c", "....", "not a token"}) {
    JwksVerifyResult r;
    EXPECT_NO_THROW(r = verify_jws_with_set(t, set, kBoth, opts()));
    EXPECT_FALSE(r.ok);
    EXPECT_FALSE(r.unknown_kid);
    EXPECT_FALSE(r.reason.empty());
  }
  // Expired claims: signature fine, claims reject.
  auto o = opts();
  o.claims.now = testing::kNow + 100000;
  auto r = verify_jws_with_set(make_jws(f.es1, {}, claims()), set, kBoth, o);
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.reason.empty());
}

}  // namespace
}  // namespace pc::jose
