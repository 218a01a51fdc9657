#include "jose/sign.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace pc::jose
