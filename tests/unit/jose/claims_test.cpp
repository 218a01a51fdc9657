#include "jose/claims.h"

#include <gtest/gtest.h>

namespace pc::jose {
namespace {

namespace json = boost::json;

constexpr std::int64_t kNow = 1'700'000'000;

ClaimsPolicy policy(std::int64_t leeway = 0) {
  ClaimsPolicy p;
  p.issuer = "https://issuer.example";
  p.audiences = {"portcullis", "other"};
  p.leeway_seconds = leeway;
  p.now = kNow;
  return p;
}

json::object good() {
  return {{"iss", "https://issuer.example"}, {"aud", "portcullis"}, {"exp", kNow + 60},
          {"nbf", kNow - 10}, {"iat", kNow - 10}};
}

void expect_reason(const json::object& claims, const ClaimsPolicy& p, const std::string& part) {
  auto r = check_claims(claims, p);
  ASSERT_TRUE(r.has_value()) << "accepted " << json::serialize(claims);
  EXPECT_NE(r->find(part), std::string::npos) << *r;
}

TEST(Claims, AcceptsGood) { EXPECT_EQ(check_claims(good(), policy()), std::nullopt); }

TEST(Claims, AcceptsAudArrayIntersecting) {
  auto c = good();
  c["aud"] = json::array{"x", "other"};
  EXPECT_EQ(check_claims(c, policy()), std::nullopt);
}

TEST(Claims, AcceptsDoubleExp) {
  auto c = good();
  c["exp"] = double(kNow) + 0.5;
  EXPECT_EQ(check_claims(c, policy()), std::nullopt);
}

TEST(Claims, WrongIssuer) {
  auto c = good();
  c["iss"] = "https://issuer.example/";  // exact match, no normalisation
  expect_reason(c, policy(), "wrong issuer");
  c["iss"] = 5;
  expect_reason(c, policy(), "iss is not a string");
  c.erase("iss");
  expect_reason(c, policy(), "missing iss");
}

TEST(Claims, WrongAudienceString) {
  auto c = good();
  c["aud"] = "Portcullis";
  expect_reason(c, policy(), "wrong audience");
}

TEST(Claims, WrongAudienceArray) {
  auto c = good();
  c["aud"] = json::array{"a", "b"};
  expect_reason(c, policy(), "wrong audience");
  c["aud"] = json::array{};
  expect_reason(c, policy(), "empty array");
}

TEST(Claims, AudOfWrongType) {
  auto c = good();
  c["aud"] = 7;
  expect_reason(c, policy(), "not a string or array");
  c["aud"] = json::object{{"portcullis", true}};
  expect_reason(c, policy(), "not a string or array");
  c["aud"] = json::array{"portcullis", 1};
  expect_reason(c, policy(), "non-string");
  c.erase("aud");
  expect_reason(c, policy(), "missing aud");
}

TEST(Claims, ExpMissing) {
  auto c = good();
  c.erase("exp");
  expect_reason(c, policy(), "missing exp");
}

TEST(Claims, ExpString) {
  auto c = good();
  c["exp"] = std::to_string(kNow + 60);
  expect_reason(c, policy(), "exp is not a number");
  c["exp"] = true;
  expect_reason(c, policy(), "exp is not a number");
  c["exp"] = nullptr;
  expect_reason(c, policy(), "exp is not a number");
}

TEST(Claims, ExpNegative) {
  auto c = good();
  c["exp"] = -1;
  expect_reason(c, policy(), "exp is out of range");
  c["exp"] = -0.5;
  expect_reason(c, policy(), "exp is out of range");
}

TEST(Claims, ExpHuge) {
  auto c = good();
  c["exp"] = std::uint64_t(1) << 53;
  expect_reason(c, policy(), "exp is out of range");
  c["exp"] = std::uint64_t(-1);
  expect_reason(c, policy(), "exp is out of range");
  c["exp"] = 1e300;
  expect_reason(c, policy(), "exp is out of range");
  c["exp"] = (std::int64_t(1) << 53) - 1;  // largest allowed
  EXPECT_EQ(check_claims(c, policy()), std::nullopt);
}

TEST(Claims, Expired) {
  auto c = good();
  c["exp"] = kNow - 1;
  expect_reason(c, policy(), "expired");
}

TEST(Claims, ExpLeewayBoundary) {
  auto c = good();
  c["exp"] = kNow;  // exp == now: expired (now < exp required)
  expect_reason(c, policy(), "expired");
  c["exp"] = kNow + 1;
  EXPECT_EQ(check_claims(c, policy()), std::nullopt);
  c["exp"] = kNow - 30;  // exp == now - leeway: expired
  expect_reason(c, policy(30), "expired");
  c["exp"] = kNow - 29;
  EXPECT_EQ(check_claims(c, policy(30)), std::nullopt);
}

TEST(Claims, NotYetValid) {
  auto c = good();
  c["nbf"] = kNow + 1;
  expect_reason(c, policy(), "not yet valid");
  c["nbf"] = "soon";
  expect_reason(c, policy(), "nbf is not a number");
}

TEST(Claims, NbfLeewayBoundary) {
  auto c = good();
  c["nbf"] = kNow;  // nbf == now: valid
  EXPECT_EQ(check_claims(c, policy()), std::nullopt);
  c["nbf"] = kNow + 30;  // nbf == now + leeway: valid
  EXPECT_EQ(check_claims(c, policy(30)), std::nullopt);
  c["nbf"] = kNow + 31;
  expect_reason(c, policy(30), "not yet valid");
}

TEST(Claims, IatInTheFuture) {
  auto c = good();
  c["iat"] = kNow + 1;
  expect_reason(c, policy(), "iat is in the future");
  c["iat"] = kNow + 30;
  EXPECT_EQ(check_claims(c, policy(30)), std::nullopt);
  c["iat"] = kNow + 31;
  expect_reason(c, policy(30), "iat is in the future");
  c["iat"] = "now";
  expect_reason(c, policy(), "iat is not a number");
  c["iat"] = -5;
  expect_reason(c, policy(), "iat is out of range");
}

TEST(Claims, OptionalNbfAndIat) {
  auto c = good();
  c.erase("nbf");
  c.erase("iat");
  EXPECT_EQ(check_claims(c, policy()), std::nullopt);
}

TEST(Claims, MaxLifetime) {
  auto p = policy();
  p.max_lifetime_seconds = 300;
  auto c = good();
  c["iat"] = kNow;
  c["exp"] = kNow + 300;
  EXPECT_EQ(check_claims(c, p), std::nullopt);
  c["exp"] = kNow + 301;
  expect_reason(c, p, "lifetime");
  c.erase("iat");
  expect_reason(c, p, "too far in the future");
}

TEST(Claims, PolicyMustNameIssuerAndAudience) {
  auto p = policy();
  p.issuer.clear();
  expect_reason(good(), p, "policy has no issuer");
  p = policy();
  p.audiences.clear();
  expect_reason(good(), p, "policy has no audience");
  p = policy();
  p.now = 0;
  expect_reason(good(), p, "policy has no clock");
  p = policy();
  p.leeway_seconds = -1;
  expect_reason(good(), p, "negative leeway");
}

}  // namespace
}  // namespace pc::jose
