#include "auth/authenticator.h"

#include <gtest/gtest.h>

#include <future>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "core/base64url.h"
#include "jose/jws_test_util.h"
#include "jose/sign.h"

namespace pc::auth {
namespace {

namespace json = boost::json;
using jose::Alg;
using jose::PrivateKey;
using Status = AuthResult::Status;

constexpr std::int64_t kNow = 1'700'000'000;
const std::string kIss = "https://idp.test";
const std::string kAud = "api://portcullis";

const PrivateKey& es_key() {
  static const PrivateKey k = PrivateKey::generate(Alg::ES256, "es-1");
  return k;
}
const PrivateKey& ed_key() {
  static const PrivateKey k = PrivateKey::generate(Alg::EdDSA, "ed-1");
  return k;
}
// An attacker's key that claims the trusted key's kid.
const PrivateKey& impostor_same_kid() {
  static const PrivateKey k = PrivateKey::generate(Alg::ES256, "es-1");
  return k;
}
// An attacker's key with no kid: the token is tried against every ES256 key of the issuer.
const PrivateKey& impostor_no_kid() {
  static const PrivateKey k = PrivateKey::generate(Alg::ES256, "");
  return k;
}
const PrivateKey& new_key() {
  static const PrivateKey k = PrivateKey::generate(Alg::ES256, "es-2");
  return k;
}

std::shared_ptr<const jose::JwkSet> set_of(std::initializer_list<const PrivateKey*> keys) {
  json::array a;
  for (const auto* k : keys) a.push_back(k->public_jwk());
  return std::make_shared<jose::JwkSet>(jose::JwkSet::parse(json::serialize(json::object{{"keys", a}})));
}

store::TenantRecord tenant_row(std::string id, std::string tier, std::string status, std::int64_t revision) {
  store::TenantRecord r;
  r.tenant_id = std::move(id);
  r.tier = std::move(tier);
  r.status = std::move(status);
  r.revision = revision;
  return r;
}

std::string sign(const PrivateKey& key, const json::object& payload, const json::object& header = {}) {
  return jose::make_jws(key, header, payload);
}

// "header.payload.signature" with the payload replaced, the rest borrowed from `token`.
std::string with_payload(const std::string& token, const json::object& payload) {
  const auto a = token.find('.'), b = token.rfind('.');
  return token.substr(0, a + 1) + core::base64url_encode(json::serialize(payload)) + token.substr(b);
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tenants.apply(tenant_row("acme", "basic", "active", 1));
    tenants.apply(tenant_row("globex", "premium", "active", 2));
    tenants.apply(tenant_row("sleepy", "standard", "suspended", 3));
    keys->publish(set_of({&es_key(), &ed_key()}));
    auth.set_issuers({issuer()});
  }

  TrustedIssuer issuer() const {
    TrustedIssuer t;
    t.name = "corp";
    t.issuer = kIss;
    t.audiences = {kAud, "api://other"};
    t.algorithms = {Alg::ES256, Alg::EdDSA};
    t.leeway_seconds = 60;
    t.keys = keys;
    return t;
  }

  static json::object claims() {
    return json::object{{"iss", kIss},          {"aud", kAud},        {"sub", "user-1"},
                        {"exp", kNow + 600},    {"iat", kNow},        {"tenantid", "acme"},
                        {"appid", "app-1"}};
  }

  AuthResult run(std::string_view token, std::int64_t now = kNow, bool allow_refetch = true) const {
    return auth.authenticate(token, now, allow_refetch);
  }

  tenancy::TenantDirectory tenants;
  Authenticator auth{tenants};
  std::shared_ptr<PublishedKeys> keys = std::make_shared<PublishedKeys>();
};

::testing::AssertionResult is_ok(const AuthResult& r) {
  if (r.status == Status::ok && r.principal) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "status " << static_cast<int>(r.status) << " reason " << r.reason << ": "
                                       << r.detail;
}

::testing::AssertionResult is_invalid(const AuthResult& r, std::string_view reason) {
  if (r.status != Status::invalid)
    return ::testing::AssertionFailure() << "status " << static_cast<int>(r.status) << ", wanted invalid/" << reason;
  if (r.principal) return ::testing::AssertionFailure() << "an invalid result carries a principal";
  if (r.reason != reason)
    return ::testing::AssertionFailure() << "reason " << r.reason << " (" << r.detail << "), wanted " << reason;
  return ::testing::AssertionSuccess();
}

// ---- the happy path and the claim mapping

TEST_F(AuthenticatorTest, ValidTokenMapsEveryClaim) {
  auto c = claims();
  c["client_id"] = "cli-1";
  c["azp"] = "ignored-azp";
  c["roles"] = json::array{"Agent.Invoke", "Machine.Invoke", "Bogus.Role", "Platform.Admin", "Agent.Invoke",
                           "SelfService.Admin"};
  c["scope"] = "read  write";
  c["scp"] = json::array{"ignored"};
  c["email"] = "u1@acme.test";
  c["name"] = "User One";
  c["act"] = json::object{{"sub", "agent-7"}};
  c["jti"] = "jti-1";
  auto r = run(sign(es_key(), c));
  ASSERT_TRUE(is_ok(r));
  const Principal& p = *r.principal;
  EXPECT_EQ(p.issuer, kIss);
  EXPECT_EQ(p.subject, "user-1");
  EXPECT_EQ(p.tenant, "acme");
  EXPECT_EQ(p.app, "app-1");
  EXPECT_EQ(p.client, "cli-1");
  // Unknown roles are dropped, platform roles are dropped for a tenant principal, duplicates once.
  EXPECT_EQ(p.roles, (std::vector<std::string>{"Agent.Invoke", "Machine.Invoke", "SelfService.Admin"}));
  EXPECT_TRUE(p.has_role("Machine.Invoke"));
  EXPECT_FALSE(p.has_role("Platform.Admin"));
  EXPECT_EQ(p.scopes, (std::vector<std::string>{"read", "write"}));
  EXPECT_TRUE(p.has_scope("write"));
  EXPECT_FALSE(p.has_scope("ignored"));
  EXPECT_EQ(p.email, "u1@acme.test");
  EXPECT_EQ(p.name, "User One");
  EXPECT_EQ(p.actor, "agent-7");
  EXPECT_EQ(p.token_id, "jti-1");
  EXPECT_EQ(p.expires_at, kNow + 600);
  EXPECT_FALSE(p.is_platform());
  EXPECT_EQ(r.tier, "basic");  // from the tenant record
  EXPECT_FALSE(r.cached);
}

TEST_F(AuthenticatorTest, IssuerNameIsKnownOnceTheTokenNamedATrustedIssuer) {
  auto c = claims();
  c["aud"] = "api://someone-else";
  EXPECT_EQ(run(sign(es_key(), c)).issuer_name, "corp");  // a verification failure names it
  auto ok = run(sign(es_key(), claims()));
  ASSERT_TRUE(is_ok(ok));
  auto t = claims();
  t["tenantid"] = "sleepy";
  auto suspended = run(sign(es_key(), t));
  ASSERT_EQ(suspended.status, Status::invalid);
  EXPECT_EQ(ok.issuer_name, "corp");
  EXPECT_EQ(suspended.issuer_name, "corp");
}

TEST_F(AuthenticatorTest, OptionalClaimsMayBeAbsent) {
  auto r = run(sign(es_key(), claims()));
  ASSERT_TRUE(is_ok(r));
  const Principal& p = *r.principal;
  EXPECT_EQ(p.client, "");
  EXPECT_TRUE(p.roles.empty());
  EXPECT_TRUE(p.scopes.empty());
  EXPECT_EQ(p.email, "");
  EXPECT_EQ(p.name, "");
  EXPECT_EQ(p.actor, "");
  EXPECT_EQ(p.token_id, "");
}

TEST_F(AuthenticatorTest, TierComesFromTheTenantRecordNeverFromTheToken) {
  auto c = claims();
  c["tenantid"] = "globex";
  c["tier"] = "basic";
  auto r = run(sign(es_key(), c));
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(r.tier, "premium");
}

TEST_F(AuthenticatorTest, ClientComesFromAzpWhenThereIsNoClientId) {
  auto c = claims();
  c["azp"] = "spa-1";
  auto r = run(sign(es_key(), c));
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(r.principal->client, "spa-1");
}

TEST_F(AuthenticatorTest, RolesMayBeASpaceSeparatedString) {
  auto c = claims();
  c["roles"] = "Agent.Invoke  Unknown Platform.Operator SelfService.Admin";
  auto r = run(sign(es_key(), c));
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(r.principal->roles, (std::vector<std::string>{"Agent.Invoke", "SelfService.Admin"}));
}

TEST_F(AuthenticatorTest, ScpArrayIsUsedWhenThereIsNoScope) {
  auto c = claims();
  c["scp"] = json::array{"a", "b"};
  auto r = run(sign(es_key(), c));
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(r.principal->scopes, (std::vector<std::string>{"a", "b"}));
}

TEST_F(AuthenticatorTest, PlatformRolesAreKeptForThePlatformTenant) {
  auto c = claims();
  c["tenantid"] = "platform";
  c["roles"] = json::array{"Platform.Admin", "Platform.Operator", "Agent.Invoke", "Platform.Nonsense"};
  // An external issuer speaks for the platform tenant only when that is configured.
  auto refused = run(sign(es_key(), c));
  ASSERT_EQ(refused.status, Status::invalid);
  EXPECT_NE(refused.detail.find("platform"), std::string::npos) << refused.detail;
  auto is = issuer();
  is.tenants = {"platform", "acme"};
  auth.set_issuers({is});
  auto r = run(sign(es_key(), c));
  ASSERT_TRUE(is_ok(r));
  EXPECT_TRUE(r.principal->is_platform());
  EXPECT_EQ(r.principal->roles, (std::vector<std::string>{"Platform.Admin", "Platform.Operator", "Agent.Invoke"}));
  EXPECT_EQ(r.tier, "premium");
}

TEST_F(AuthenticatorTest, ClaimNamesFollowTheIssuerConfig) {
  auto is = issuer();
  is.claims.tenant = "tid";
  is.claims.app = "app";
  is.claims.roles = "groups";
  is.claims.email = "upn";
  is.claims.name = "display";
  auth.set_issuers({is});
  auto c = claims();
  c.erase("tenantid");
  c.erase("appid");
  c["tid"] = "globex";
  c["app"] = "crm";
  c["groups"] = json::array{"Agent.Developer"};
  c["roles"] = json::array{"SelfService.Admin"};  // not this issuer's roles claim
  c["upn"] = "x@globex.test";
  c["display"] = "X";
  auto r = run(sign(es_key(), c));
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(r.principal->tenant, "globex");
  EXPECT_EQ(r.principal->app, "crm");
  EXPECT_EQ(r.principal->roles, (std::vector<std::string>{"Agent.Developer"}));
  EXPECT_EQ(r.principal->email, "x@globex.test");
  EXPECT_EQ(r.principal->name, "X");
}

TEST_F(AuthenticatorTest, EdDsaTokensVerifyWhenAllowed) {
  ASSERT_TRUE(is_ok(run(sign(ed_key(), claims()))));
}

TEST_F(AuthenticatorTest, TypJwtAndAtJwtAreAccepted) {
  for (const char* typ : {"JWT", "at+jwt", "application/at+jwt"})
    EXPECT_TRUE(is_ok(run(sign(es_key(), claims(), json::object{{"typ", typ}})))) << typ;
}

TEST_F(AuthenticatorTest, SecondCallIsAnsweredFromTheCache) {
  const std::string token = sign(es_key(), claims());
  auto first = run(token);
  ASSERT_TRUE(is_ok(first));
  EXPECT_FALSE(first.cached);
  auto second = run(token, kNow + 1);
  ASSERT_TRUE(is_ok(second));
  EXPECT_TRUE(second.cached);
  EXPECT_EQ(second.principal.get(), first.principal.get());
  EXPECT_EQ(second.tier, "basic");
}

TEST_F(AuthenticatorTest, TheCacheIsPerThread) {
  const std::string token = sign(es_key(), claims());
  ASSERT_TRUE(run(token).status == Status::ok);
  auto other = std::async(std::launch::async, [&] { return run(token); }).get();
  ASSERT_TRUE(is_ok(other));
  EXPECT_FALSE(other.cached);
}

TEST_F(AuthenticatorTest, AnotherAuthenticatorOnTheSameThreadDoesNotShareTheCache) {
  const std::string token = sign(es_key(), claims());
  ASSERT_TRUE(is_ok(run(token)));
  tenancy::TenantDirectory empty;
  Authenticator other(empty);  // trusts no issuer and knows no tenant
  EXPECT_TRUE(is_invalid(other.authenticate(token, kNow), "issuer"));
  // And the first one's cache was not poisoned either way.
  EXPECT_TRUE(is_ok(run(token)));
}

// ---- time

TEST_F(AuthenticatorTest, ExpiredTokenIsRefusedPastTheLeeway) {
  auto c = claims();
  c["exp"] = kNow - 30;  // within the 60 s leeway
  EXPECT_TRUE(is_ok(run(sign(es_key(), c))));
  c["exp"] = kNow - 60;
  EXPECT_TRUE(is_invalid(run(sign(es_key(), c)), "expired"));
  c["exp"] = kNow - 3600;
  auto r = run(sign(es_key(), c));
  EXPECT_TRUE(is_invalid(r, "expired"));
  EXPECT_EQ(r.issuer_name, "corp");
}

TEST_F(AuthenticatorTest, ACachedTokenStopsWorkingWhenItExpires) {
  const std::string token = sign(es_key(), claims());  // exp = kNow + 600, leeway 60
  ASSERT_TRUE(is_ok(run(token)));
  auto late = run(token, kNow + 659);
  ASSERT_TRUE(is_ok(late));
  EXPECT_TRUE(late.cached);
  EXPECT_TRUE(is_invalid(run(token, kNow + 660), "expired"));
  EXPECT_TRUE(is_invalid(run(token, kNow + 100000), "expired"));
}

TEST_F(AuthenticatorTest, NotYetValidTokenIsRefused) {
  auto c = claims();
  c["nbf"] = kNow + 120;
  EXPECT_TRUE(is_invalid(run(sign(es_key(), c)), "not_yet_valid"));
  c["nbf"] = kNow + 30;  // within leeway
  EXPECT_TRUE(is_ok(run(sign(es_key(), c))));
  auto d = claims();
  d["iat"] = kNow + 3600;
  EXPECT_TRUE(is_invalid(run(sign(es_key(), d)), "not_yet_valid"));
}

TEST_F(AuthenticatorTest, MissingOrMalformedExpIsRefused) {
  auto c = claims();
  c.erase("exp");
  EXPECT_EQ(run(sign(es_key(), c)).status, Status::invalid);
  c["exp"] = "tomorrow";
  EXPECT_EQ(run(sign(es_key(), c)).status, Status::invalid);
  c["exp"] = 1e300;
  EXPECT_EQ(run(sign(es_key(), c)).status, Status::invalid);
}

TEST_F(AuthenticatorTest, MaxLifetimeIsEnforced) {
  auto is = issuer();
  is.max_lifetime_seconds = 3600;
  auth.set_issuers({is});
  auto c = claims();
  c["exp"] = kNow + 7200;
  EXPECT_EQ(run(sign(es_key(), c)).status, Status::invalid);
  c["exp"] = kNow + 1800;
  EXPECT_TRUE(is_ok(run(sign(es_key(), c))));
}

// ---- issuer, audience, algorithm, signature

TEST_F(AuthenticatorTest, UntrustedIssuerIsRefused) {
  auto c = claims();
  c["iss"] = "https://evil.test";
  EXPECT_TRUE(is_invalid(run(sign(es_key(), c)), "issuer"));
  c["iss"] = kIss + "/";  // exact match only
  EXPECT_TRUE(is_invalid(run(sign(es_key(), c)), "issuer"));
  c.erase("iss");
  EXPECT_EQ(run(sign(es_key(), c)).status, Status::invalid);
  c["iss"] = 42;
  EXPECT_EQ(run(sign(es_key(), c)).status, Status::invalid);
}

TEST_F(AuthenticatorTest, TokenClaimingAnotherTrustedIssuerMustCarryThatIssuersSignature) {
  auto other_keys = std::make_shared<PublishedKeys>();
  other_keys->publish(set_of({&new_key()}));
  TrustedIssuer other = issuer();
  other.name = "other";
  other.issuer = "https://other-idp.test";
  other.keys = other_keys;
  auth.set_issuers({issuer(), other});
  auto c = claims();
  c["iss"] = "https://other-idp.test";
  // Signed by the first issuer's key: its kid is unknown to the other issuer.
  auto r = run(sign(es_key(), c));
  EXPECT_EQ(r.status, Status::invalid);
  EXPECT_EQ(r.issuer_name, "other");
  EXPECT_TRUE(is_ok(run(sign(new_key(), c))));
}

TEST_F(AuthenticatorTest, WrongAudienceIsRefused) {
  auto c = claims();
  c["aud"] = "api://someone-else";
  EXPECT_TRUE(is_invalid(run(sign(es_key(), c)), "audience"));
  c["aud"] = json::array{"x", "y"};
  EXPECT_TRUE(is_invalid(run(sign(es_key(), c)), "audience"));
  c["aud"] = json::array{"x", "api://other"};  // any one of the issuer's audiences
  EXPECT_TRUE(is_ok(run(sign(es_key(), c))));
  c.erase("aud");
  EXPECT_TRUE(is_invalid(run(sign(es_key(), c)), "audience"));
}

TEST_F(AuthenticatorTest, AlgorithmNotOnTheAllowListIsRefused) {
  auto is = issuer();
  is.algorithms = {Alg::ES256};
  auth.set_issuers({is});
  EXPECT_TRUE(is_invalid(run(sign(ed_key(), claims())), "algorithm"));
  is.algorithms = {};
  auth.set_issuers({is});
  EXPECT_TRUE(is_invalid(run(sign(es_key(), claims())), "algorithm")) << "an empty allow-list allows nothing";
}

TEST_F(AuthenticatorTest, AlgNoneIsRefused) {
  const std::string payload = json::serialize(claims());
  for (const char* header : {R"({"alg":"none","typ":"JWT"})", R"({"alg":"None","kid":"es-1"})",
                             R"({"alg":"HS256","kid":"es-1"})"}) {
    const std::string token = jose::testing::sign_raw(es_key(), header, payload);
    EXPECT_TRUE(is_invalid(run(token), "algorithm")) << header;
  }
  // An unsigned token.
  const std::string unsigned_token =
      core::base64url_encode(R"({"alg":"none"})") + "." + core::base64url_encode(payload) + ".";
  EXPECT_EQ(run(unsigned_token).status, Status::invalid);
}

TEST_F(AuthenticatorTest, AlgThatDoesNotFitTheKidsKeyIsRefused) {
  // An EdDSA signature presented under the ES256 key's kid.
  const std::string token =
      jose::testing::sign_raw(ed_key(), R"({"alg":"EdDSA","kid":"es-1"})", json::serialize(claims()));
  EXPECT_EQ(run(token).status, Status::invalid);
}

TEST_F(AuthenticatorTest, TamperedPayloadFailsEvenAfterTheOriginalWasCached) {
  const std::string token = sign(es_key(), claims());
  ASSERT_TRUE(is_ok(run(token)));
  ASSERT_TRUE(run(token).cached);

  auto evil = claims();
  evil["sub"] = "admin";
  EXPECT_TRUE(is_invalid(run(with_payload(token, evil)), "signature"));
  evil = claims();
  evil["tenantid"] = "globex";
  EXPECT_TRUE(is_invalid(run(with_payload(token, evil)), "signature"));
  evil = claims();
  evil["roles"] = json::array{"SelfService.Admin"};
  EXPECT_TRUE(is_invalid(run(with_payload(token, evil)), "signature"));
  // A changed signature byte.
  std::string t = token;
  t.back() = t.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(run(t).status, Status::invalid);
  // The original still works.
  EXPECT_TRUE(run(token).cached);
}

TEST_F(AuthenticatorTest, TokenSignedByAnotherKeyIsRefused) {
  EXPECT_TRUE(is_invalid(run(sign(impostor_same_kid(), claims())), "signature"));
  EXPECT_TRUE(is_invalid(run(sign(impostor_no_kid(), claims())), "signature"));
}

TEST_F(AuthenticatorTest, TokenWithoutKidVerifiesAgainstAFittingKey) {
  const PrivateKey k = PrivateKey::generate(Alg::ES256, "");
  keys->publish(set_of({&ed_key(), &k, &es_key()}));
  auth.keys_changed();
  EXPECT_TRUE(is_ok(run(sign(k, claims()))));
}

TEST_F(AuthenticatorTest, UnsupportedHeadersAreRefused) {
  EXPECT_EQ(run(sign(es_key(), claims(), json::object{{"typ", "JOSE"}})).status, Status::invalid);
  EXPECT_EQ(run(sign(es_key(), claims(), json::object{{"crit", json::array{"exp"}}})).status, Status::invalid);
  EXPECT_EQ(run(sign(es_key(), claims(), json::object{{"jku", "https://evil.test/jwks"}})).status, Status::invalid);
}

// ---- tenants

TEST_F(AuthenticatorTest, UnknownTenantIsRefused) {
  auto c = claims();
  c["tenantid"] = "nobody";
  EXPECT_TRUE(is_invalid(run(sign(es_key(), c)), "tenant"));
}

TEST_F(AuthenticatorTest, SuspendedTenantIsRefused) {
  auto c = claims();
  c["tenantid"] = "sleepy";
  auto r = run(sign(es_key(), c));
  EXPECT_TRUE(is_invalid(r, "tenant"));
  EXPECT_NE(r.detail.find("suspended"), std::string::npos) << r.detail;
}

TEST_F(AuthenticatorTest, SuspendingATenantRefusesItsCachedTokensAtOnce) {
  const std::string token = sign(es_key(), claims());
  ASSERT_TRUE(is_ok(run(token)));
  ASSERT_TRUE(run(token).cached);

  tenants.apply(tenant_row("acme", "basic", "suspended", 10));
  EXPECT_TRUE(is_invalid(run(token), "tenant"));

  tenants.apply(tenant_row("acme", "premium", "active", 11));
  auto back = run(token);
  ASSERT_TRUE(is_ok(back));
  EXPECT_EQ(back.tier, "premium") << "the tier is read per request, not cached with the token";

  tenants.apply(tenant_row("acme", "premium", "deleted", 12));
  EXPECT_TRUE(is_invalid(run(token), "tenant"));
}

TEST_F(AuthenticatorTest, IssuerTenantAllowList) {
  auto is = issuer();
  is.tenants = {"globex"};
  auth.set_issuers({is});
  auto r = run(sign(es_key(), claims()));
  EXPECT_TRUE(is_invalid(r, "claims"));
  auto c = claims();
  c["tenantid"] = "globex";
  EXPECT_TRUE(is_ok(run(sign(es_key(), c))));
  c["tenantid"] = "platform";
  c["roles"] = json::array{"Platform.Admin"};
  EXPECT_TRUE(is_invalid(run(sign(es_key(), c)), "claims")) << "an allow-list without platform excludes it";
}

TEST_F(AuthenticatorTest, AllowedClients) {
  auto is = issuer();
  is.allowed_clients = {"cli-1", "spa-1"};
  auth.set_issuers({is});
  auto c = claims();
  EXPECT_TRUE(is_invalid(run(sign(es_key(), c)), "claims")) << "a token naming no client";
  c["client_id"] = "cli-2";
  EXPECT_TRUE(is_invalid(run(sign(es_key(), c)), "claims"));
  c["client_id"] = "cli-1";
  EXPECT_TRUE(is_ok(run(sign(es_key(), c))));
  c.erase("client_id");
  c["azp"] = "spa-1";
  EXPECT_TRUE(is_ok(run(sign(es_key(), c))));
  c["client_id"] = "cli-2";  // client_id wins over azp
  EXPECT_TRUE(is_invalid(run(sign(es_key(), c)), "claims"));
}

TEST_F(AuthenticatorTest, RequiredClaimsMustBePresent) {
  for (const char* name : {"sub", "tenantid", "appid"}) {
    auto c = claims();
    c.erase(name);
    EXPECT_TRUE(is_invalid(run(sign(es_key(), c)), "claims")) << name << " missing";
    c[name] = "";
    EXPECT_TRUE(is_invalid(run(sign(es_key(), c)), "claims")) << name << " empty";
    c[name] = 7;
    EXPECT_TRUE(is_invalid(run(sign(es_key(), c)), "claims")) << name << " not a string";
  }
}

TEST_F(AuthenticatorTest, MistypedOptionalClaimsAreRefused) {
  for (const char* name : {"client_id", "azp", "email", "name", "jti"}) {
    auto c = claims();
    c[name] = json::array{"x"};
    EXPECT_TRUE(is_invalid(run(sign(es_key(), c)), "claims")) << name;
  }
  auto c = claims();
  c["roles"] = json::object{{"a", 1}};
  EXPECT_TRUE(is_invalid(run(sign(es_key(), c)), "claims"));
  c["roles"] = json::array{"Agent.Invoke", 3};
  EXPECT_TRUE(is_invalid(run(sign(es_key(), c)), "claims"));
  c = claims();
  c["act"] = json::object{{"sub", 5}};
  EXPECT_TRUE(is_invalid(run(sign(es_key(), c)), "claims"));
}

TEST_F(AuthenticatorTest, InvalidTenantIdIsRefused) {
  for (const char* id : {"Acme", "ac", "acme_corp", "-acme", "acme/../globex"}) {
    auto c = claims();
    c["tenantid"] = id;
    EXPECT_TRUE(is_invalid(run(sign(es_key(), c)), "claims")) << id;
  }
}

// ---- size and shape

TEST_F(AuthenticatorTest, EmptyTokenIsMissing) {
  auto r = run("");
  EXPECT_TRUE(is_invalid(r, "missing"));
}

TEST_F(AuthenticatorTest, TokensLargerThan16KiBAreRefusedUnverified) {
  // Find the largest padding that keeps the token within 16 KiB.
  std::string small, large;
  for (std::size_t pad = 11'000; large.empty(); ++pad) {
    auto c = claims();
    c["pad"] = std::string(pad, 'p');
    std::string t = sign(es_key(), c);
    if (t.size() <= jose::kMaxJwsSize) small = std::move(t);
    else large = std::move(t);
  }
  ASSERT_FALSE(small.empty());
  EXPECT_GT(small.size(), jose::kMaxJwsSize - 8);
  EXPECT_TRUE(is_ok(run(small)));
  EXPECT_GT(large.size(), jose::kMaxJwsSize);
  EXPECT_TRUE(is_invalid(run(large), "malformed"));
  EXPECT_TRUE(is_invalid(run(std::string(1 << 20, 'a')), "malformed"));
}

TEST_F(AuthenticatorTest, GarbageIsMalformed) {
  for (const char* t : {"abc", "a.b", "a.b.c.d", "....", "eyJ.eyJ.sig", "Bearer x.y.z"})
    EXPECT_EQ(run(t).status, Status::invalid) << t;
}

// ---- key changes

TEST_F(AuthenticatorTest, KeysChangedMakesCachedTokensVerifyAgain) {
  const std::string token = sign(es_key(), claims());
  ASSERT_TRUE(is_ok(run(token)));
  ASSERT_TRUE(run(token).cached);
  const auto epoch = auth.epoch();

  keys->publish(set_of({&ed_key()}));  // es-1 removed
  auth.keys_changed();
  EXPECT_GT(auth.epoch(), epoch);
  EXPECT_TRUE(is_invalid(run(token), "unknown_key")) << "a removed key kept working from the cache";

  keys->publish(set_of({&ed_key(), &es_key()}));
  auth.keys_changed();
  auto back = run(token);
  ASSERT_TRUE(is_ok(back));
  EXPECT_FALSE(back.cached);
}

TEST_F(AuthenticatorTest, IssuerWithoutKeysFailsClosed) {
  auto empty = std::make_shared<PublishedKeys>();
  auto is = issuer();
  is.keys = empty;
  auth.set_issuers({is});
  EXPECT_TRUE(is_invalid(run(sign(es_key(), claims())), "unknown_key"));
  is.keys = nullptr;
  auth.set_issuers({is});
  EXPECT_TRUE(is_invalid(run(sign(es_key(), claims())), "unknown_key"));
}

TEST_F(AuthenticatorTest, UnknownKidAsksForARefetchWhenTheIssuerKeysAreRemote) {
  int fetches = 0;
  core::IssuerConfig cfg;
  cfg.name = "corp";
  cfg.issuer = kIss;
  auto remote = std::make_shared<RemoteKeys>(cfg, [&](const std::string&) {
    ++fetches;
    return FetchedDocument{500, "", ""};
  });
  auto is = issuer();
  is.remote = remote;
  auth.set_issuers({is});

  const std::string token = sign(new_key(), claims());  // kid es-2: not in the set
  auto r = run(token);
  EXPECT_EQ(r.status, Status::refetch);
  EXPECT_EQ(r.refetch, remote);
  EXPECT_EQ(r.issuer_name, "corp");
  EXPECT_FALSE(r.principal);

  auto again = run(token, kNow, /*allow_refetch=*/false);
  EXPECT_TRUE(is_invalid(again, "unknown_key"));
  EXPECT_EQ(fetches, 0) << "the authenticator never does I/O itself";

  // Keys the set has still verify normally.
  EXPECT_TRUE(is_ok(run(sign(es_key(), claims()))));
}

TEST_F(AuthenticatorTest, IssuerWhoseRemoteKeysWereNeverFetchedAsksForARefetch) {
  core::IssuerConfig cfg;
  cfg.name = "corp";
  cfg.issuer = kIss;
  auto remote = std::make_shared<RemoteKeys>(cfg, [](const std::string&) { return FetchedDocument{500, "", ""}; });
  auto is = issuer();
  is.keys = remote;
  is.remote = remote;
  auth.set_issuers({is});
  EXPECT_EQ(run(sign(es_key(), claims())).status, Status::refetch);
  EXPECT_TRUE(is_invalid(run(sign(es_key(), claims()), kNow, false), "unknown_key"));
}

TEST_F(AuthenticatorTest, UnknownKidWithoutRemoteKeysIsInvalid) {
  EXPECT_TRUE(is_invalid(run(sign(new_key(), claims())), "unknown_key"));
}

TEST_F(AuthenticatorTest, SetIssuersReplacesTheTrustedIssuers) {
  const std::string token = sign(es_key(), claims());
  ASSERT_TRUE(is_ok(run(token)));
  ASSERT_TRUE(run(token).cached);

  auto other_keys = std::make_shared<PublishedKeys>();
  other_keys->publish(set_of({&new_key()}));
  TrustedIssuer other = issuer();
  other.name = "next";
  other.issuer = "https://next-idp.test";
  other.keys = other_keys;
  auth.set_issuers({other});
  EXPECT_TRUE(is_invalid(run(token), "issuer")) << "the old issuer's cached token still worked";

  auto c = claims();
  c["iss"] = "https://next-idp.test";
  EXPECT_TRUE(is_ok(run(sign(new_key(), c))));

  auth.set_issuers({});
  EXPECT_TRUE(is_invalid(run(sign(new_key(), c)), "issuer"));
}

TEST_F(AuthenticatorTest, ConcurrentAuthenticationFromManyThreads) {
  std::vector<std::string> tokens;
  for (int i = 0; i < 8; ++i) {
    auto c = claims();
    c["sub"] = "user-" + std::to_string(i);
    tokens.push_back(sign(es_key(), c));
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto r = run(tokens[(i + t) % tokens.size()]);
        if (r.status != Status::ok || r.principal->subject != "user-" + std::to_string((i + t) % tokens.size()))
          ++failures;
      }
    });
  for (int i = 0; i < 50; ++i) {
    keys->publish(set_of({&es_key(), &ed_key()}));
    auth.keys_changed();
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

// ---- failure labels

TEST(FailureLabel, MapsJoseReasonsToFixedLabels) {
  const std::pair<const char*, const char*> cases[] = {
      {"claims: token expired", "expired"},
      {"claims: token not yet valid (nbf)", "not_yet_valid"},
      {"claims: iat is in the future", "not_yet_valid"},
      {"claims: wrong issuer", "issuer"},
      {"claims: iss is not a string", "issuer"},
      {"claims: wrong audience", "audience"},
      {"claims: missing aud", "audience"},
      {"claims: aud is an empty array", "audience"},
      {"jws: signature verification failed", "signature"},
      {"alg 'EdDSA' is not allowed for this issuer", "algorithm"},
      {"jws: alg none is not allowed", "algorithm"},
      {"jws: HMAC alg 'HS256' is not allowed", "algorithm"},
      {"jws: alg ES256 does not fit the key type", "algorithm"},
      {"claims: missing exp", "claims"},
      {"claims: lifetime (exp - iat) exceeds the maximum", "claims"},
      {"claims: exp is too far in the future", "claims"},
      {"jws: compact JWS must have exactly three parts", "malformed"},
      {"jws: header is not canonical base64url", "malformed"},
      {"json: duplicate member name", "malformed"},
      {"", "malformed"},
  };
  for (const auto& [reason, label] : cases) EXPECT_EQ(failure_label(reason), label) << reason;
}

TEST(FailureLabel, AttackerChosenTextDoesNotPickTheLabel) {
  // Parts of these reasons (an unsupported alg name, a typ value) are copied from the token.
  const std::string_view typ_reason = "jws: typ 'expired-aud' is not JWT or at+jwt";
  const std::string_view alg_reason = "jws: unsupported alg 'aud'";
  EXPECT_EQ(failure_label(typ_reason), "malformed");
  EXPECT_EQ(failure_label(alg_reason), "algorithm");
}

}  // namespace
}  // namespace pc::auth
