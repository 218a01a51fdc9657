#include "jose/jwk.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/rsa.h>

#include "core/base64url.h"
#include "jose/test_util.h"
#include "jose/verify.h"

namespace pc::jose {
namespace {

using testing::unhex;

// A valid P-256 public key (from Wycheproof's ecdsa_secp256r1_sha256_p1363 first group).
const char* kX = "KSexBRK64-3c_kZ4KBKLrSkDJpkZ9whgacjE32xzKDg";
const char* kY = "x3h5ZOqsAOWSH7FJimD0YGdms9loUAFVjRqXTnNBUT4";

boost::json::object ec_jwk(std::string x = kX, std::string y = kY, std::string crv = "P-256") {
  return {{"kty", "EC"}, {"crv", crv}, {"x", x}, {"y", y}, {"kid", "k1"}, {"use", "sig"}};
}

// RFC 8032 §7.1 TEST 1: empty message.
const char* kEdPk = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const char* kEdSig =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
    "d25bf5f0595bbe24655141438e7a100b";

boost::json::object ed_jwk() {
  return {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", core::base64url_encode(unhex(kEdPk))}};
}

// An RSA JWK for a freshly generated key of `bits`.
boost::json::object rsa_jwk(unsigned bits) {
  EvpPkeyPtr key(EVP_RSA_gen(bits));
  if (!key) throw std::runtime_error("EVP_RSA_gen failed");
  auto b64 = [&](const char* name) {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(key.get(), name, &bn) != 1) throw std::runtime_error(name);
    std::string bytes(std::size_t(BN_num_bytes(bn)), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
    BN_free(bn);
    return core::base64url_encode(bytes);
  };
  return {{"kty", "RSA"}, {"n", b64(OSSL_PKEY_PARAM_RSA_N)}, {"e", b64(OSSL_PKEY_PARAM_RSA_E)}};
}

void expect_rejected(const boost::json::object& jwk, const std::string& reason_part) {
  try {
    parse_jwk(jwk);
    ADD_FAILURE() << "accepted " << boost::json::serialize(jwk);
  } catch (const JoseError& e) {
    EXPECT_NE(std::string(e.what()).find(reason_part), std::string::npos) << e.what();
  }
}

TEST(Jwk, ParsesEcP256AndKeepsMetadata) {
  auto key = parse_jwk(ec_jwk());
  EXPECT_EQ(key.kty(), KeyType::EC);
  EXPECT_EQ(key.curve(), Curve::P256);
  EXPECT_EQ(key.kid(), "k1");
  EXPECT_EQ(key.use(), "sig");
  EXPECT_EQ(key.alg(), "");
  EXPECT_NE(key.pkey(), nullptr);
}

TEST(Jwk, RejectsOffCurvePoint) {
  auto y = *core::base64url_decode(kY);
  y.back() ^= 1;
  expect_rejected(ec_jwk(kX, core::base64url_encode(y)), "not on");
}

TEST(Jwk, RejectsWrongCoordinateLength) {
  auto x = *core::base64url_decode(kX);
  expect_rejected(ec_jwk(core::base64url_encode(x.substr(1))), "length");
  expect_rejected(ec_jwk(core::base64url_encode(std::string(1, '\0') + x)), "length");
  // A P-256 point labelled P-384.
  expect_rejected(ec_jwk(kX, kY, "P-384"), "length");
}

TEST(Jwk, RejectsUnknownKtyAndCrv) {
  expect_rejected(ec_jwk(kX, kY, "secp256k1"), "crv");
  auto oct = boost::json::object{{"kty", "oct"}, {"kk", "AAAA"}};
  expect_rejected(oct, "kty");
  expect_rejected(boost::json::object{{"x", kX}}, "kty");
  auto x25519 = ed_jwk();
  x25519["crv"] = "X25519";
  expect_rejected(x25519, "crv");
}

TEST(Jwk, RejectsPrivateMembers) {
  auto ec = ec_jwk();
  ec["d"] = "AAAA";
  expect_rejected(ec, "private");
  auto oct = boost::json::object{{"kty", "oct"}, {"k", "AAAA"}};
  expect_rejected(oct, "private");
  for (const char* m : {"p", "q", "dp", "dq", "qi", "oth"}) {
    auto rsa = boost::json::object{{"kty", "RSA"}, {"n", "AQAB"}, {"e", "AQAB"}};
    rsa[m] = "AQAB";
    expect_rejected(rsa, "private");
  }
}

TEST(Jwk, RejectsMalformedMembers) {
  expect_rejected(ec_jwk(std::string(kX) + "="), "base64url");
  auto bad = ec_jwk();
  bad["x"] = 5;
  expect_rejected(bad, "not a string");
  bad = ec_jwk();
  bad.erase("y");
  expect_rejected(bad, "missing");
}

TEST(Jwk, RsaSizeLimit) {
  expect_rejected(rsa_jwk(1024), "bits");
  auto key = parse_jwk(rsa_jwk(2048));
  EXPECT_EQ(key.kty(), KeyType::RSA);
  EXPECT_EQ(key.curve(), Curve::None);
}

TEST(Jwk, RejectsBadRsaExponent) {
  auto jwk = rsa_jwk(2048);
  jwk["e"] = core::base64url_encode("\x01");
  expect_rejected(jwk, "exponent");
  jwk["e"] = core::base64url_encode("\x01\x00");
  expect_rejected(jwk, "exponent");
}

TEST(Jwk, Ed25519) {
  auto key = parse_jwk(ed_jwk());
  EXPECT_EQ(key.curve(), Curve::Ed25519);
  auto short_x = ed_jwk();
  short_x["x"] = core::base64url_encode(unhex(kEdPk).substr(1));
  expect_rejected(short_x, "32 bytes");
}

TEST(Verify, ParseAlgRejectsNoneAndHmac) {
  for (const char* bad : {"none", "None", "NONE", "nOnE", "HS256", "HS384", "HS512", "", "rs256",
                          "ES256K", "EdDSA "})
    EXPECT_FALSE(parse_alg(bad)) << bad;
  for (const char* good : {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                           "ES512", "EdDSA"}) {
    auto alg = parse_alg(good);
    ASSERT_TRUE(alg) << good;
    EXPECT_EQ(alg_name(*alg), good);
  }
}

TEST(Verify, Ed25519Rfc8032AndAlgKeyMismatch) {
  auto key = parse_jwk(ed_jwk());
  const auto sig = unhex(kEdSig);
  EXPECT_TRUE(verify(key, Alg::EdDSA, "", sig));
  EXPECT_FALSE(verify(key, Alg::EdDSA, "x", sig));
  EXPECT_FALSE(verify(key, Alg::EdDSA, "", sig.substr(1)));
  for (Alg other : {Alg::RS256, Alg::PS256, Alg::ES256, Alg::ES512})
    EXPECT_FALSE(verify(key, other, "", sig));
  // A JWK that names its alg may be used only with it.
  auto named = ed_jwk();
  named["alg"] = "ES256";
  EXPECT_FALSE(verify(parse_jwk(named), Alg::EdDSA, "", sig));
  named["alg"] = "EdDSA";
  EXPECT_TRUE(verify(parse_jwk(named), Alg::EdDSA, "", sig));
}

TEST(Verify, EcAlgMustMatchCurve) {
  auto key = parse_jwk(ec_jwk());
  const std::string zeros(64, '\0');
  EXPECT_FALSE(verify(key, Alg::ES256, "", zeros));  // r = s = 0 ("psychic signature")
  EXPECT_FALSE(verify(key, Alg::ES384, "", std::string(96, '\x01')));
  EXPECT_FALSE(verify(key, Alg::RS256, "", std::string(256, '\x01')));
  EXPECT_FALSE(verify(key, Alg::EdDSA, "", zeros));
}

TEST(Jwk, RejectsRocaModulus) {
  // The Infineon-generated (ROCA, CVE-2017-15361) modulus from Wycheproof's
  // json_web_crypto_test.json group jws_rsa_roca_key.
  const char* n =
    "AanFpofbj7KjD4Lf-N2hVMKR7yewSyXhhbirIMTGpfYEhZ_lnt5UoK98DnKIgArXGTu3MaW_HhFw16HGaTDUHqPrId"
    "7fe4r11CqRw09yBFuW79V8sYIwHdzCaWflUI6auImYbVfoN9_nD5n8N8SY9DwXw7mwZM9wREPXoDPgOoIWl6q_MPsp"
    "7n0zs3Z5ZaiQWOOzl1S9OhwAfSiiOwz6efnXEaxuTEtPd7BjSx7NaFka8Dx9U7YqXy2RFj1O9PjyaDGuRh7YXsX3iM"
    "USP_wSyHQg_c_qHRtKUsNSGCT7OZg0hzm2KphtjnayKJvC64vAbROBR4Ubg6Bxg9IQVZ-QYyE";
  expect_rejected({{"kty", "RSA"}, {"n", n}, {"e", "AQAB"}}, "ROCA");
}

TEST(Jwk, FreshRsaKeysAreNotFlaggedAsRoca) {
  for (int i = 0; i < 4; ++i) EXPECT_NO_THROW(parse_jwk(rsa_jwk(2048)));
}

}  // namespace
}  // namespace pc::jose
