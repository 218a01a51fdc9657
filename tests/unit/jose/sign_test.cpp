#include "jose/sign.h"

#include <gtest/gtest.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/base64url.h"
#include "jose/jws.h"
#include "jose/jws_test_util.h"
#include "jose/verify.h"

namespace pc::jose {
namespace {

namespace json = boost::json;
using testing::kNow;
using testing::opts;


json::object claims() {
  return {{"iss", "https://issuer.example"}, {"aud", "portcullis"}, {"sub", "u1"},
          {"exp", kNow + 300}, {"iat", kNow}};
}

class RoundTrip : public ::testing::TestWithParam<Alg> {};

TEST_P(RoundTrip, SignThenVerify) {
  const Alg alg = GetParam();
  auto key = PrivateKey::generate(alg, "k-1");
  const json::object jwk = key.public_jwk();
  EXPECT_FALSE(jwk.contains("d"));
  EXPECT_EQ(jwk.at("use").as_string(), "sig");
  EXPECT_EQ(jwk.at("alg").as_string(), alg_name(alg));
  EXPECT_EQ(jwk.at("kid").as_string(), "k-1");
  auto pub = parse_jwk(jwk);

  const std::string token = make_jws(key, {{"typ", "at+jwt"}}, claims());
  auto r = verify_jws(token, pub, opts());
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.payload.at("sub").as_string(), "u1");
  EXPECT_EQ(r.header.at("typ").as_string(), "at+jwt");
  EXPECT_EQ(r.header.at("kid").as_string(), "k-1");
  EXPECT_EQ(r.header.at("alg").as_string(), alg_name(alg));

  auto parsed = parse_jws(token);
  EXPECT_EQ(parsed.alg, alg);
  EXPECT_EQ(parsed.kid, "k-1");
  EXPECT_EQ(parsed.signature.size(), 64u);
}

TEST_P(RoundTrip, DefaultTypIsJwt) {
  auto key = PrivateKey::generate(GetParam(), "k");
  auto parsed = parse_jws(make_jws(key, {}, claims()));
  EXPECT_EQ(parsed.typ, "JWT");
}

TEST_P(RoundTrip, ManySignaturesAllVerify) {
  // ES256 r/s with leading zero bytes must be zero-padded to 32 bytes; 64 signatures make a
  // short r or s (probability 1/256 each) likely to occur at least sometimes.
  auto key = PrivateKey::generate(GetParam(), "k");
  auto pub = parse_jwk(key.public_jwk());
  for (int i = 0; i < 64; ++i) {
    const std::string input = "msg-" + std::to_string(i);
    const std::string sig = key.sign(GetParam(), input);
    ASSERT_EQ(sig.size(), 64u);
    ASSERT_TRUE(verify(pub, GetParam(), input, sig)) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Algs, RoundTrip, ::testing::Values(Alg::ES256, Alg::EdDSA),
                         [](const auto& info) { return std::string(alg_name(info.param)); });

TEST(Sign, RejectsWrongAlgForKey) {
  auto key = PrivateKey::generate(Alg::ES256, "k");
  EXPECT_THROW(key.sign(Alg::EdDSA, "x"), JoseError);
  EXPECT_THROW(key.sign(Alg::ES384, "x"), JoseError);
}

TEST(Sign, OnlyEs256AndEdDsaCanBeGenerated) {
  EXPECT_THROW(PrivateKey::generate(Alg::RS256, "k"), JoseError);
  EXPECT_THROW(PrivateKey::generate(Alg::ES384, "k"), JoseError);
}

TEST(Sign, MakeJwsOverridesAlgAndKidFromHeaderExtra) {
  auto key = PrivateKey::generate(Alg::EdDSA, "real");
  auto parsed = parse_jws(make_jws(key, {{"alg", "none"}, {"kid", "fake"}}, claims()));
  EXPECT_EQ(parsed.alg, Alg::EdDSA);
  EXPECT_EQ(parsed.kid, "real");
}

TEST(Sign, Ec256JwkCoordinatesAre32Bytes) {
  for (int i = 0; i < 16; ++i) {
    auto jwk = PrivateKey::generate(Alg::ES256, "k").public_jwk();
    EXPECT_EQ(core::base64url_decode(jwk.at("x").as_string())->size(), 32u);
    EXPECT_EQ(core::base64url_decode(jwk.at("y").as_string())->size(), 32u);
  }
}

// ---- PKCS#8 storage

// from_pkcs8_der must throw, and for the stated reason (not some earlier, unrelated failure).
void expect_rejected(std::string_view der, Alg alg, std::string_view why) {
  try {
    PrivateKey::from_pkcs8_der(der, alg, "k");
    ADD_FAILURE() << "accepted; expected: " << why;
  } catch (const JoseError& e) {
    EXPECT_NE(std::string_view(e.what()).find(why), std::string_view::npos) << e.what();
  }
}

class Pkcs8 : public ::testing::TestWithParam<Alg> {};

TEST_P(Pkcs8, RoundTripSignsTokensThePublishedJwkVerifies) {
  const Alg alg = GetParam();
  auto original = PrivateKey::generate(alg, "k-1");
  std::string der = original.to_pkcs8_der();
  ASSERT_FALSE(der.empty());
  EXPECT_EQ(der[0], '\x30');  // a DER SEQUENCE

  auto restored = PrivateKey::from_pkcs8_der(der, alg, "k-1");
  EXPECT_EQ(restored.alg(), alg);
  EXPECT_EQ(restored.kid(), "k-1");
  EXPECT_EQ(restored.public_jwk(), original.public_jwk());  // the same key pair
  EXPECT_EQ(restored.to_pkcs8_der(), der);

  // Signed by the restored key, verified with the JWK published for the original.
  const std::string token = make_jws(restored, {}, claims());
  auto r = verify_jws(token, parse_jwk(original.public_jwk()), opts());
  EXPECT_TRUE(r.ok) << r.reason;
  // ... and with the issuer's own public_key(), through the same verify_jws path.
  const PublicKey own = restored.public_key();
  EXPECT_EQ(own.kid(), "k-1");
  EXPECT_EQ(own.alg(), alg_name(alg));
  EXPECT_EQ(own.use(), "sig");
  r = verify_jws(token, own, opts());
  EXPECT_TRUE(r.ok) << r.reason;
  // A different key's public half does not verify it.
  r = verify_jws(token, PrivateKey::generate(alg, "k-1").public_key(), opts());
  EXPECT_FALSE(r.ok);
}

TEST_P(Pkcs8, KidComesFromTheCaller) {
  auto der = PrivateKey::generate(GetParam(), "old").to_pkcs8_der();
  EXPECT_EQ(PrivateKey::from_pkcs8_der(der, GetParam(), "new").kid(), "new");
}

TEST_P(Pkcs8, GarbageIsRejected) {
  const Alg alg = GetParam();
  const std::string der = PrivateKey::generate(alg, "k").to_pkcs8_der();
  EXPECT_THROW(PrivateKey::from_pkcs8_der("", alg, "k"), JoseError);
  EXPECT_THROW(PrivateKey::from_pkcs8_der("not a key", alg, "k"), JoseError);
  EXPECT_THROW(PrivateKey::from_pkcs8_der(std::string(64, '\0'), alg, "k"), JoseError);
  EXPECT_THROW(PrivateKey::from_pkcs8_der(der.substr(0, der.size() - 1), alg, "k"), JoseError);
  EXPECT_THROW(PrivateKey::from_pkcs8_der(der.substr(1), alg, "k"), JoseError);
  expect_rejected(der + '\0', alg, "trailing bytes");
  // The public JWK's bytes are not a private key.
  EXPECT_THROW(PrivateKey::from_pkcs8_der(
                   boost::json::serialize(PrivateKey::generate(alg, "k").public_jwk()), alg, "k"),
               JoseError);
}

INSTANTIATE_TEST_SUITE_P(Algs, Pkcs8, ::testing::Values(Alg::ES256, Alg::EdDSA),
                         [](const auto& info) { return std::string(alg_name(info.param)); });

TEST(Pkcs8Mismatch, KeyTypeMustFitTheAlg) {
  const std::string ec = PrivateKey::generate(Alg::ES256, "k").to_pkcs8_der();
  const std::string ed = PrivateKey::generate(Alg::EdDSA, "k").to_pkcs8_der();
  expect_rejected(ec, Alg::EdDSA, "does not fit EdDSA");
  expect_rejected(ed, Alg::ES256, "does not fit ES256");
  // Algs we never sign with are refused whatever the key.
  for (Alg other : {Alg::RS256, Alg::PS256, Alg::ES384, Alg::ES512}) {
    EXPECT_THROW(PrivateKey::from_pkcs8_der(ec, other, "k"), JoseError) << alg_name(other);
    EXPECT_THROW(PrivateKey::from_pkcs8_der(ed, other, "k"), JoseError) << alg_name(other);
  }
}

// Serializes an arbitrary OpenSSL key the way to_pkcs8_der does.
std::string pkcs8_of(EVP_PKEY* pkey) {
  PKCS8_PRIV_KEY_INFO* p8 = EVP_PKEY2PKCS8(pkey);
  unsigned char* der = nullptr;
  const int len = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : 0;
  std::string out = len > 0 ? std::string(reinterpret_cast<char*>(der), std::size_t(len)) : "";
  OPENSSL_free(der);
  PKCS8_PRIV_KEY_INFO_free(p8);
  return out;
}

TEST(Pkcs8Mismatch, OtherCurvesAndKeyTypesAreRejected) {
  EvpPkeyPtr p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  EvpPkeyPtr k1(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1"));
  EvpPkeyPtr x25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  EvpPkeyPtr ed448(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448"));
  for (EVP_PKEY* k : {p384.get(), k1.get(), x25519.get(), ed448.get()}) {
    ASSERT_NE(k, nullptr);
    const std::string der = pkcs8_of(k);
    ASSERT_FALSE(der.empty());
    expect_rejected(der, Alg::ES256, "does not fit ES256");
    expect_rejected(der, Alg::EdDSA, "does not fit EdDSA");
  }
}

TEST(Pkcs8Mismatch, RsaKeyIsRejected) {
  EvpPkeyPtr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}));
  ASSERT_NE(rsa, nullptr);
  const std::string der = pkcs8_of(rsa.get());
  expect_rejected(der, Alg::ES256, "does not fit ES256");
  expect_rejected(der, Alg::RS256, "only ES256 and EdDSA");
}

TEST(Pkcs8Mismatch, ExplicitCurveParametersAreRejected) {
  // P-256 written with its parameters spelled out instead of the curve's name.
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  ASSERT_NE(ctx, nullptr);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>("P-256"), 0),
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING,
                                       const_cast<char*>(OSSL_PKEY_EC_ENCODING_EXPLICIT), 0),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* raw = nullptr;
  ASSERT_EQ(EVP_PKEY_keygen_init(ctx), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_params(ctx, params), 1);
  ASSERT_EQ(EVP_PKEY_keygen(ctx, &raw), 1);
  EVP_PKEY_CTX_free(ctx);
  EvpPkeyPtr explicit_p256(raw);
  const std::string der = pkcs8_of(explicit_p256.get());
  ASSERT_FALSE(der.empty());
  EXPECT_GT(der.size(), PrivateKey::generate(Alg::ES256, "k").to_pkcs8_der().size());
  expect_rejected(der, Alg::ES256, "does not fit ES256");
}

TEST(Pkcs8Mismatch, PublicPointThatIsNotThePrivateKeysIsRejected) {
  // The EC PKCS#8 carries the public point next to the private scalar; swap in another key's
  // point (same length, so the DER stays well-formed).
  auto a = PrivateKey::generate(Alg::ES256, "a");
  auto b = PrivateKey::generate(Alg::ES256, "b");
  auto point = [](const PrivateKey& k) {
    const auto jwk = k.public_jwk();
    return "\x04" + *core::base64url_decode(jwk.at("x").as_string()) +
           *core::base64url_decode(jwk.at("y").as_string());
  };
  std::string der = a.to_pkcs8_der();
  const auto at = der.find(point(a));
  ASSERT_NE(at, std::string::npos);
  der.replace(at, 65, point(b));
  expect_rejected(der, Alg::ES256, "halves do not match");
}

}  // namespace
}  // namespace pc::jose
