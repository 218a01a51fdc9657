#include "auth/token_service.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <set>
#include <string>

#include <boost/json.hpp>

#include "core/base64url.h"
#include "crypto/master_key.h"
#include "crypto/secret_hash.h"
#include "jose/sign.h"
#include "support/temp_dir.h"
#include "tenancy/tenant_service.h"

namespace pc::auth {
namespace {

namespace json = boost::json;

constexpr std::int64_t kNow = 1'700'000'000;
const std::string kIssuer = "https://gw.test";
const std::string kAgentsAud = "api://agents";

crypto::MasterKey master_key() {
  std::array<unsigned char, crypto::MasterKey::kSize> bytes;
  bytes.fill(0x5a);
  return crypto::MasterKey(std::span<const unsigned char, crypto::MasterKey::kSize>(bytes));
}

json::object part(const std::string& token, int index) {
  std::size_t start = 0;
  for (int i = 0; i < index; ++i) start = token.find('.', start) + 1;
  const std::size_t end = token.find('.', start);
  auto bytes = core::base64url_decode(std::string_view(token).substr(start, end - start));
  EXPECT_TRUE(bytes.has_value());
  return json::parse(bytes.value_or("{}")).as_object();
}
json::object header_of(const std::string& token) { return part(token, 0); }
json::object payload_of(const std::string& token) { return part(token, 1); }

class TokenServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SigningKeys::ensure_key(*store, mk);
    keys.load(*store, kNow);
    // Configured like the gateway's built-in issuer (src/app/gateway.cpp).
    TrustedIssuer builtin;
    builtin.name = "builtin";
    builtin.issuer = kIssuer;
    builtin.audiences = {kIssuer, kAgentsAud};
    builtin.algorithms = {jose::Alg::ES256};
    builtin.leeway_seconds = 30;
    builtin.max_lifetime_seconds = 3600;
    builtin.keys = keys.verification_keys();
    builtin.may_speak_for_platform = true;
    auth.set_issuers({builtin});

    tenants.create("acme", "", "basic");
    tenants.create("globex", "", "premium");
  }

  // A client of `tenant` with `roles`, `scopes` and `grants`; returns {client_id, secret}.
  std::pair<std::string, std::string> client(const std::string& tenant, std::vector<std::string> roles,
                                             std::vector<std::string> scopes = {},
                                             std::vector<std::string> grants = {"client_credentials"}) {
    tenancy::NewClient nc;
    nc.name = "test client";
    nc.roles = std::move(roles);
    nc.scopes = std::move(scopes);
    nc.grant_types = std::move(grants);
    auto made = tenants.create_client(tenant, nc);
    return {made.client.client_id, made.secret};
  }

  static TokenRequest cc(const std::pair<std::string, std::string>& creds) {
    TokenRequest r;
    r.grant_type = std::string(kGrantClientCredentials);
    r.client_id = creds.first;
    r.client_secret = creds.second;
    return r;
  }

  static TokenRequest exchange(const std::pair<std::string, std::string>& creds, std::string subject_token) {
    TokenRequest r;
    r.grant_type = std::string(kGrantTokenExchange);
    r.client_id = creds.first;
    r.client_secret = creds.second;
    r.subject_token = std::move(subject_token);
    r.subject_token_type = std::string(kTokenTypeAccessToken);
    return r;
  }

  // A user's access token of the built-in issuer (as if a front end had obtained it).
  std::string user_token(const std::string& tenant, std::int64_t expires_at = kNow + 600,
                         std::vector<std::string> scopes = {"read", "write"}, std::string actor = "") {
    AccessTokenClaims c;
    c.subject = "user-1";
    c.audiences = {kIssuer};
    c.client_id = "spa";
    c.tenant = tenant;
    c.app = "portal";
    c.roles = {"Agent.Invoke", "SelfService.Admin"};
    c.scopes = std::move(scopes);
    c.email = "u1@" + tenant + ".test";
    c.name = "User One";
    c.actor = std::move(actor);
    c.expires_at = expires_at;
    return ts.mint(c, kNow);
  }

  IssuedToken issued(const TokenRequest& req, std::int64_t now = kNow) {
    auto out = ts.handle(req, now);
    if (auto* e = std::get_if<OAuthError>(&out)) {
      ADD_FAILURE() << "refused: " << e->status << " " << e->error << ": " << e->description;
      return {};
    }
    return std::get<IssuedToken>(out);
  }

  OAuthError refused(const TokenRequest& req, std::int64_t now = kNow) {
    auto out = ts.handle(req, now);
    if (auto* t = std::get_if<IssuedToken>(&out)) {
      ADD_FAILURE() << "issued a token: " << t->access_token;
      return {};
    }
    return std::get<OAuthError>(out);
  }

  pc::testing::TempDir dir{"pc-token-service"};
  std::unique_ptr<store::Store> store = store::Store::open_sqlite(dir.file("portcullis.db"));
  crypto::MasterKey mk = master_key();
  SigningKeys keys{mk};
  tenancy::TenantDirectory directory;
  tenancy::TenantService tenants{*store, directory, [](const std::string& t) {
                                   return t == "basic" || t == "standard" || t == "premium";
                                 }};
  Authenticator auth{directory};
  TokenService ts{*store, keys, directory,
                  [this](const std::string& token, std::int64_t now) { return auth.authenticate(token, now); },
                  TokenSettings{kIssuer, {kIssuer, kAgentsAud}, 900}};
};

// ---- client_credentials

TEST_F(TokenServiceTest, ClientCredentialsIssuesAVerifiableAccessToken) {
  auto creds = client("acme", {"Machine.Invoke", "Agent.Invoke"}, {"agents:invoke", "tools:read"});
  IssuedToken t = issued(cc(creds));
  ASSERT_FALSE(t.access_token.empty());
  EXPECT_EQ(t.expires_in, 900);
  EXPECT_EQ(t.scope, "agents:invoke tools:read");
  EXPECT_EQ(t.issued_token_type, "");

  auto r = auth.authenticate(t.access_token, kNow);
  ASSERT_EQ(r.status, AuthResult::Status::ok) << r.reason << ": " << r.detail;
  const Principal& p = *r.principal;
  EXPECT_EQ(p.issuer, kIssuer);
  EXPECT_EQ(p.subject, creds.first);
  EXPECT_EQ(p.tenant, "acme");
  EXPECT_EQ(p.app, creds.first);
  EXPECT_EQ(p.client, creds.first);
  EXPECT_EQ(p.roles, (std::vector<std::string>{"Machine.Invoke", "Agent.Invoke"}));
  EXPECT_EQ(p.scopes, (std::vector<std::string>{"agents:invoke", "tools:read"}));
  EXPECT_EQ(p.actor, "");
  EXPECT_EQ(p.expires_at, kNow + 900);
  EXPECT_EQ(r.tier, "basic");

  // RFC 9068 shape.
  auto h = header_of(t.access_token);
  EXPECT_EQ(h.at("typ").as_string(), "at+jwt");
  EXPECT_EQ(h.at("alg").as_string(), "ES256");
  EXPECT_EQ(h.at("kid").as_string(), keys.active()->kid());
  auto c = payload_of(t.access_token);
  EXPECT_EQ(c.at("iss").as_string(), kIssuer);
  EXPECT_EQ(c.at("sub").as_string(), creds.first);
  EXPECT_EQ(c.at("aud").as_string(), kIssuer);  // the default audience
  EXPECT_EQ(c.at("iat").to_number<std::int64_t>(), kNow);
  EXPECT_EQ(c.at("nbf").to_number<std::int64_t>(), kNow);
  EXPECT_EQ(c.at("exp").to_number<std::int64_t>(), kNow + 900);
  EXPECT_EQ(c.at("client_id").as_string(), creds.first);
  EXPECT_EQ(c.at("tenantid").as_string(), "acme");
  EXPECT_EQ(c.at("appid").as_string(), creds.first);
  EXPECT_EQ(c.at("scope").as_string(), "agents:invoke tools:read");
  EXPECT_EQ(c.at("jti").as_string().size(), 36u);
  EXPECT_FALSE(c.contains("act"));
  EXPECT_FALSE(c.contains("tier")) << "the tier is read from the tenant record, never carried";

  // Every token has its own jti.
  EXPECT_NE(payload_of(issued(cc(creds)).access_token).at("jti"), c.at("jti"));
}

TEST_F(TokenServiceTest, ClientWithoutScopesGetsATokenWithoutScope) {
  auto creds = client("acme", {"Machine.Invoke"});
  IssuedToken t = issued(cc(creds));
  EXPECT_EQ(t.scope, "");
  EXPECT_FALSE(payload_of(t.access_token).contains("scope"));
}

TEST_F(TokenServiceTest, PlatformClientsGetPlatformRoles) {
  auto creds = client("platform", {"Platform.Admin", "Platform.Operator"});
  IssuedToken t = issued(cc(creds));
  auto r = auth.authenticate(t.access_token, kNow);
  ASSERT_EQ(r.status, AuthResult::Status::ok) << r.detail;
  EXPECT_TRUE(r.principal->is_platform());
  EXPECT_EQ(r.principal->roles, (std::vector<std::string>{"Platform.Admin", "Platform.Operator"}));
}

TEST_F(TokenServiceTest, TenantClientsNeverGetPlatformRoles) {
  // A row that bypassed the tenant service's role rules (an old row, a manual edit).
  store::ClientRecord row;
  row.client_id = "acme-legacy";
  row.tenant_id = "acme";
  row.name = "legacy";
  row.secret_hash = crypto::hash_secret("legacy-secret");
  row.roles = {"Platform.Admin", "Machine.Invoke", "Made.Up"};
  row.grant_types = {"client_credentials"};
  store->insert_client(row);
  IssuedToken t = issued(cc({"acme-legacy", "legacy-secret"}));
  auto roles = payload_of(t.access_token).at("roles").as_array();
  EXPECT_EQ(roles, (json::array{"Machine.Invoke"}));
}

TEST_F(TokenServiceTest, ClientAuthenticationFailuresAreInvalidClient401) {
  auto creds = client("acme", {"Machine.Invoke"});
  std::vector<TokenRequest> bad;
  bad.push_back(cc({"acme-unknown", creds.second}));
  bad.push_back(cc({creds.first, creds.second + "x"}));
  bad.push_back(cc({creds.first, ""}));
  bad.push_back(cc({"", creds.second}));
  bad.push_back(cc({creds.first, creds.second.substr(1)}));
  std::set<std::string> descriptions;
  for (const auto& req : bad) {
    OAuthError e = refused(req);
    EXPECT_EQ(e.status, 401);
    EXPECT_EQ(e.error, "invalid_client");
    if (!req.client_id.empty()) descriptions.insert(e.description);
  }
  EXPECT_EQ(descriptions.size(), 1u) << "an unknown client and a wrong secret must read the same";
}

TEST_F(TokenServiceTest, InactiveClientIsInvalidClient) {
  store::ClientRecord row;
  row.client_id = "acme-disabled";
  row.tenant_id = "acme";
  row.name = "disabled";
  row.secret_hash = crypto::hash_secret("s3cret");
  row.roles = {"Machine.Invoke"};
  row.grant_types = {"client_credentials"};
  row.status = "disabled";
  store->insert_client(row);
  OAuthError e = refused(cc({"acme-disabled", "s3cret"}));
  EXPECT_EQ(e.status, 401);
  EXPECT_EQ(e.error, "invalid_client");
}

TEST_F(TokenServiceTest, GrantNotAllowedForTheClientIsUnauthorizedClient) {
  auto creds = client("acme", {"Machine.Invoke"});  // client_credentials only
  OAuthError e = refused(exchange(creds, user_token("acme")));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.error, "unauthorized_client");

  auto xonly = client("acme", {"Machine.Invoke"}, {}, {std::string(kGrantTokenExchange)});
  OAuthError e2 = refused(cc(xonly));
  EXPECT_EQ(e2.error, "unauthorized_client");
}

TEST_F(TokenServiceTest, ClientOfASuspendedTenantIsUnauthorizedClient) {
  auto creds = client("acme", {"Machine.Invoke"});
  store::TenantPatch p;
  p.status = "suspended";
  tenants.update("acme", p);
  OAuthError e = refused(cc(creds));
  EXPECT_EQ(e.error, "unauthorized_client");
  EXPECT_EQ(e.status, 400);

  p.status = "active";
  tenants.update("acme", p);
  EXPECT_FALSE(issued(cc(creds)).access_token.empty());
}

TEST_F(TokenServiceTest, ClientOfATenantTheDirectoryDoesNotKnowIsRefused) {
  store::ClientRecord row;
  row.client_id = "ghost-1";
  row.tenant_id = "ghost";
  row.name = "ghost";
  row.secret_hash = crypto::hash_secret("boo");
  row.roles = {"Machine.Invoke"};
  row.grant_types = {"client_credentials"};
  store->insert_client(row);
  EXPECT_EQ(refused(cc({"ghost-1", "boo"})).error, "unauthorized_client");
}

TEST_F(TokenServiceTest, RequestedScopesAreNarrowed) {
  auto creds = client("acme", {"Machine.Invoke"}, {"a", "b", "c"});
  auto req = cc(creds);
  req.scope = "b";
  IssuedToken t = issued(req);
  EXPECT_EQ(t.scope, "b");
  EXPECT_EQ(payload_of(t.access_token).at("scope").as_string(), "b");

  req.scope = "c a c";
  EXPECT_EQ(issued(req).scope, "c a");
}

TEST_F(TokenServiceTest, UngrantableScopeIsInvalidScope) {
  auto creds = client("acme", {"Machine.Invoke"}, {"a", "b"});
  auto req = cc(creds);
  req.scope = "a admin";
  OAuthError e = refused(req);
  EXPECT_EQ(e.error, "invalid_scope");
  EXPECT_EQ(e.status, 400);
  req.scope = "A";  // scopes are case-sensitive
  EXPECT_EQ(refused(req).error, "invalid_scope");

  auto none = client("acme", {"Machine.Invoke"});
  auto req2 = cc(none);
  req2.scope = "a";
  EXPECT_EQ(refused(req2).error, "invalid_scope");
}

TEST_F(TokenServiceTest, MalformedScopeIsInvalidScope) {
  auto creds = client("acme", {"Machine.Invoke"}, {"a"});
  for (std::string s : {std::string("a\"b"), std::string("a\\b"), std::string("a\tb"), std::string("caf\xc3\xa9"),
                        std::string("a\nb"), std::string("nul\0", 4)}) {
    auto req = cc(creds);
    req.scope = s;
    EXPECT_EQ(refused(req).error, "invalid_scope") << s;
  }
}

TEST_F(TokenServiceTest, AudienceMustBeServedHere) {
  auto creds = client("acme", {"Machine.Invoke"});
  auto req = cc(creds);
  req.audiences = {kAgentsAud};
  EXPECT_EQ(payload_of(issued(req).access_token).at("aud").as_string(), kAgentsAud);

  req.audiences = {kAgentsAud, kIssuer, kAgentsAud};
  EXPECT_EQ(payload_of(issued(req).access_token).at("aud"), json::value(json::array{kAgentsAud, kIssuer}));

  req.audiences = {"https://evil.test"};
  OAuthError e = refused(req);
  EXPECT_EQ(e.error, "invalid_target");
  EXPECT_EQ(e.status, 400);
  req.audiences = {kIssuer, "https://evil.test"};
  EXPECT_EQ(refused(req).error, "invalid_target");
}

TEST_F(TokenServiceTest, UnsupportedOrMissingGrant) {
  auto creds = client("acme", {"Machine.Invoke"});
  auto req = cc(creds);
  for (const char* g : {"password", "authorization_code", "refresh_token", "CLIENT_CREDENTIALS"}) {
    req.grant_type = g;
    OAuthError e = refused(req);
    EXPECT_EQ(e.error, "unsupported_grant_type") << g;
    EXPECT_EQ(e.status, 400);
  }
  req.grant_type = "";
  EXPECT_EQ(refused(req).error, "invalid_request");
  // An unsupported grant is refused before the client's credentials are looked at.
  auto anon = cc({"", ""});
  anon.grant_type = "password";
  EXPECT_EQ(refused(anon).error, "unsupported_grant_type");
}

// ---- token exchange (RFC 8693)

TEST_F(TokenServiceTest, ExchangeKeepsTheSubjectAndNamesTheClientAsActor) {
  auto agent = client("acme", {"Agent.Invoke", "SelfService.Admin"}, {"read", "write"},
                      {std::string(kGrantTokenExchange)});
  const std::string subject = user_token("acme", kNow + 600);
  auto req = exchange(agent, subject);
  req.scope = "read";
  req.audiences = {kAgentsAud};
  IssuedToken t = issued(req);
  EXPECT_EQ(t.issued_token_type, std::string(kTokenTypeAccessToken));
  EXPECT_EQ(t.scope, "read");
  EXPECT_EQ(t.expires_in, 600) << "never outlives the subject token";

  auto c = payload_of(t.access_token);
  EXPECT_EQ(c.at("sub").as_string(), "user-1");
  EXPECT_EQ(c.at("act"), json::value(json::object{{"sub", agent.first}}));
  EXPECT_EQ(c.at("client_id").as_string(), agent.first);
  EXPECT_EQ(c.at("aud").as_string(), kAgentsAud);
  EXPECT_EQ(c.at("tenantid").as_string(), "acme");
  EXPECT_EQ(c.at("appid").as_string(), "portal");
  EXPECT_EQ(c.at("email").as_string(), "u1@acme.test");
  EXPECT_EQ(c.at("name").as_string(), "User One");
  EXPECT_EQ(c.at("roles"), json::value(json::array{"Agent.Invoke", "SelfService.Admin"}));
  EXPECT_LE(c.at("exp").to_number<std::int64_t>(), payload_of(subject).at("exp").to_number<std::int64_t>());

  // The gateway's verifier accepts it for the new audience.
  auto r = auth.authenticate(t.access_token, kNow);
  ASSERT_EQ(r.status, AuthResult::Status::ok) << r.detail;
  EXPECT_EQ(r.principal->subject, "user-1");
  EXPECT_EQ(r.principal->actor, agent.first);
  EXPECT_EQ(r.principal->scopes, (std::vector<std::string>{"read"}));
}

// Issue 8 item 13: a Machine.Invoke client must not obtain SelfService.Admin (or Agent.Invoke) from
// a user's token: the exchanged roles are those both the subject and the acting client hold.
TEST_F(TokenServiceTest, ExchangeCannotEscalateRolesBeyondTheClients) {
  auto machine = client("acme", {"Machine.Invoke"}, {"read"}, {std::string(kGrantTokenExchange)});
  IssuedToken t = issued(exchange(machine, user_token("acme")));
  EXPECT_EQ(payload_of(t.access_token).at("roles"), json::value(json::array{}));
  auto r = auth.authenticate(t.access_token, kNow);
  ASSERT_EQ(r.status, AuthResult::Status::ok) << r.detail;
  EXPECT_FALSE(r.principal->has_role("SelfService.Admin"));
  EXPECT_FALSE(r.principal->has_role("Agent.Invoke"));

  // A client holding one of the subject's roles keeps that one only.
  auto invoker = client("acme", {"Agent.Invoke", "Machine.Invoke"}, {}, {std::string(kGrantTokenExchange)});
  IssuedToken u = issued(exchange(invoker, user_token("acme")));
  EXPECT_EQ(payload_of(u.access_token).at("roles"), json::value(json::array{"Agent.Invoke"}));
}

TEST_F(TokenServiceTest, ExchangeLifetimeIsCappedByTheTtl) {
  auto agent = client("acme", {"Machine.Invoke"}, {"read", "write", "admin"}, {std::string(kGrantTokenExchange)});
  IssuedToken t = issued(exchange(agent, user_token("acme", kNow + 3000)));
  EXPECT_EQ(t.expires_in, 900);
  EXPECT_EQ(payload_of(t.access_token).at("exp").to_number<std::int64_t>(), kNow + 900);
  // Without a scope parameter the scopes both the subject and the client hold carry over.
  EXPECT_EQ(t.scope, "read write");
}

TEST_F(TokenServiceTest, ExchangeGrantsOnlyScopesTheClientMayHoldToo) {
  auto agent = client("acme", {"Machine.Invoke"}, {"read"}, {std::string(kGrantTokenExchange)});
  IssuedToken t = issued(exchange(agent, user_token("acme", kNow + 600, {"read", "write"})));
  EXPECT_EQ(t.scope, "read");
  auto req = exchange(agent, user_token("acme", kNow + 600, {"read", "write"}));
  req.scope = "write";
  EXPECT_EQ(refused(req).error, "invalid_scope");
}

TEST_F(TokenServiceTest, ExchangingAnExchangedTokenNestsTheActors) {
  auto first = client("acme", {"Machine.Invoke"}, {}, {std::string(kGrantTokenExchange)});
  auto second = client("acme", {"Machine.Invoke"}, {}, {std::string(kGrantTokenExchange)});
  IssuedToken once = issued(exchange(first, user_token("acme")));
  IssuedToken twice = issued(exchange(second, once.access_token));
  auto c = payload_of(twice.access_token);
  EXPECT_EQ(c.at("sub").as_string(), "user-1");
  EXPECT_EQ(c.at("act"), json::value(json::object{{"sub", second.first}, {"act", json::object{{"sub", first.first}}}}));

  // A third exchange keeps the whole chain, nearest actor outermost (RFC 8693 §4.1).
  auto third = client("acme", {"Machine.Invoke"}, {}, {std::string(kGrantTokenExchange)});
  IssuedToken thrice = issued(exchange(third, twice.access_token));
  json::value want = json::object{
      {"sub", third.first},
      {"act", json::object{{"sub", second.first}, {"act", json::object{{"sub", first.first}}}}}};
  EXPECT_EQ(payload_of(thrice.access_token).at("act"), want);
  auto r = auth.authenticate(thrice.access_token, kNow);
  ASSERT_EQ(r.status, AuthResult::Status::ok) << r.detail;
  EXPECT_EQ(r.principal->actor, third.first);
  EXPECT_EQ(r.principal->prior_actors, (std::vector<std::string>{second.first, first.first}));
}

TEST_F(TokenServiceTest, DelegationChainsAreBounded) {
  std::string token = user_token("acme");
  int issued_count = 0;
  for (int i = 0; i < 12; ++i) {
    auto agent = client("acme", {"Machine.Invoke"}, {}, {std::string(kGrantTokenExchange)});
    auto out = ts.handle(exchange(agent, token), kNow);
    if (auto* e = std::get_if<OAuthError>(&out)) {
      EXPECT_EQ(e->error, "invalid_grant");
      break;
    }
    token = std::get<IssuedToken>(out).access_token;
    ++issued_count;
  }
  EXPECT_EQ(issued_count, 8);  // act nests at most eight actors
  EXPECT_EQ(auth.authenticate(token, kNow).status, AuthResult::Status::ok);
}

TEST_F(TokenServiceTest, ExchangeCannotWidenScope) {
  auto agent = client("acme", {"Machine.Invoke"}, {"admin"}, {std::string(kGrantTokenExchange)});
  auto req = exchange(agent, user_token("acme"));
  req.scope = "read admin";  // admin is the client's, not the subject's
  EXPECT_EQ(refused(req).error, "invalid_scope");
}

TEST_F(TokenServiceTest, ExchangeRefusesAnotherTenantsSubject) {
  auto agent = client("acme", {"Machine.Invoke"}, {}, {std::string(kGrantTokenExchange)});
  OAuthError e = refused(exchange(agent, user_token("globex")));
  EXPECT_EQ(e.error, "invalid_grant");
  EXPECT_EQ(e.status, 400);
  auto platform_subject = refused(exchange(agent, user_token("platform")));
  EXPECT_EQ(platform_subject.error, "invalid_grant");
}

TEST_F(TokenServiceTest, ExchangeRefusesAnInvalidSubjectToken) {
  auto agent = client("acme", {"Machine.Invoke"}, {}, {std::string(kGrantTokenExchange)});
  // Expired (past the 30 s leeway).
  EXPECT_EQ(refused(exchange(agent, user_token("acme", kNow + 10)), kNow + 100).error, "invalid_grant");
  // Garbage, tampered, signed by a key the issuer does not have.
  EXPECT_EQ(refused(exchange(agent, "not.a.token")).error, "invalid_grant");
  std::string tampered = user_token("acme");
  tampered[tampered.find('.') + 5] ^= 0x01;
  EXPECT_EQ(refused(exchange(agent, tampered)).error, "invalid_grant");
  const auto rogue = jose::PrivateKey::generate(jose::Alg::ES256, keys.active()->kid());
  json::object forged{{"iss", kIssuer}, {"aud", kIssuer}, {"sub", "user-1"}, {"exp", kNow + 600},
                      {"tenantid", "acme"}, {"appid", "portal"}};
  EXPECT_EQ(refused(exchange(agent, jose::make_jws(rogue, {}, forged))).error, "invalid_grant");
  // The subject's (and so the client's) tenant suspended: the client is refused first.
  const std::string acme_user = user_token("acme");
  store::TenantPatch p;
  p.status = "suspended";
  tenants.update("acme", p);
  EXPECT_EQ(refused(exchange(agent, acme_user)).error, "unauthorized_client");
}

TEST_F(TokenServiceTest, ExchangeRequestShapeIsChecked) {
  auto agent = client("acme", {"Machine.Invoke"}, {}, {std::string(kGrantTokenExchange)});
  const std::string subject = user_token("acme");

  auto empty = exchange(agent, "");
  EXPECT_EQ(refused(empty).error, "invalid_request");

  auto actor = exchange(agent, subject);
  actor.actor_token = user_token("acme");
  EXPECT_EQ(refused(actor).error, "invalid_request");

  for (const char* type : {"urn:ietf:params:oauth:token-type:id_token", "urn:ietf:params:oauth:token-type:refresh_token",
                           "urn:ietf:params:oauth:token-type:saml2", "", "access_token"}) {
    auto req = exchange(agent, subject);
    req.subject_token_type = type;
    EXPECT_EQ(refused(req).error, "invalid_request") << type;
  }
  auto jwt_type = exchange(agent, subject);
  jwt_type.subject_token_type = std::string(kTokenTypeJwt);
  EXPECT_FALSE(issued(jwt_type).access_token.empty());

  for (const char* type : {"urn:ietf:params:oauth:token-type:id_token", "urn:ietf:params:oauth:token-type:refresh_token"}) {
    auto req = exchange(agent, subject);
    req.requested_token_type = type;
    EXPECT_EQ(refused(req).error, "invalid_request") << type;
  }
  auto at = exchange(agent, subject);
  at.requested_token_type = std::string(kTokenTypeAccessToken);
  EXPECT_FALSE(issued(at).access_token.empty());
}

TEST_F(TokenServiceTest, ExchangeAudienceMustBeServedHere) {
  auto agent = client("acme", {"Machine.Invoke"}, {}, {std::string(kGrantTokenExchange)});
  auto req = exchange(agent, user_token("acme"));
  req.audiences = {"https://tool.example"};
  EXPECT_EQ(refused(req).error, "invalid_target");
}

TEST_F(TokenServiceTest, ExchangeRequiresClientAuthentication) {
  auto agent = client("acme", {"Machine.Invoke"}, {}, {std::string(kGrantTokenExchange)});
  auto req = exchange({agent.first, "wrong"}, user_token("acme"));
  OAuthError e = refused(req);
  EXPECT_EQ(e.error, "invalid_client");
  EXPECT_EQ(e.status, 401);
}

TEST_F(TokenServiceTest, SettingsChangesApplyToTheNextToken) {
  auto creds = client("acme", {"Machine.Invoke"});
  ts.set_settings(TokenSettings{kIssuer, {kAgentsAud, kIssuer}, 120});
  IssuedToken t = issued(cc(creds));
  EXPECT_EQ(t.expires_in, 120);
  EXPECT_EQ(payload_of(t.access_token).at("aud").as_string(), kAgentsAud);
}

}  // namespace
}  // namespace pc::auth
