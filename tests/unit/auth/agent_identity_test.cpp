// Identity to agents (issue 9): the tokens the gateway signs for agents, checked with the same jose
// verifier any runtime would use; the loop and depth rule; and the agent's token exchange.
#include "auth/agent_identity.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include <boost/json.hpp>

#include "auth/authenticator.h"
#include "auth/token_service.h"
#include "core/base64url.h"
#include "crypto/master_key.h"
#include "jose/jws.h"
#include "jose/sign.h"
#include "support/temp_dir.h"
#include "tenancy/tenant_service.h"

namespace pc::auth {
namespace {

namespace json = boost::json;

constexpr std::int64_t kNow = 1'700'000'000;
const std::string kIssuer = "https://gw.test";

crypto::MasterKey master_key() {
  std::array<unsigned char, crypto::MasterKey::kSize> bytes;
  bytes.fill(0x3c);
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

// A token re-signed with `key` after `edit` changed its payload (forgeries, expired tokens).
std::string resign(const std::string& token, const jose::PrivateKey& key, const std::function<void(json::object&)>& edit,
                   std::string typ = "JWT") {
  json::object payload = part(token, 1);
  edit(payload);
  return jose::make_jws(key, json::object{{"typ", typ}}, payload);
}

Principal machine_caller(std::string tenant = "acme") {
  Principal p;
  p.issuer = kIssuer;
  p.issuer_name = "builtin";
  p.subject = "client-123";
  p.tenant = std::move(tenant);
  p.app = "client-123";
  p.client = "client-123";
  p.roles = {"Machine.Invoke"};
  p.scopes = {"agents:invoke", "mcp:tools"};
  p.expires_at = kNow + 900;
  return p;
}

class AgentIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SigningKeys::ensure_key(*store, mk);
    keys.load(*store, kNow);
    TrustedIssuer builtin;
    builtin.name = "builtin";
    builtin.issuer = kIssuer;
    builtin.audiences = {kIssuer};
    builtin.algorithms = {jose::Alg::ES256};
    builtin.leeway_seconds = 30;
    builtin.max_lifetime_seconds = 3600;
    builtin.keys = keys.verification_keys();
    builtin.may_speak_for_platform = true;
    auth.set_issuers({builtin});
    tenants.create("acme", "", "basic");
    tenants.create("globex", "", "premium");
  }

  // What a runtime does with X-Portcullis-Identity: the published keys, ES256, its own audience.
  jose::JwksVerifyResult runtime_verify(const std::string& token, const std::string& agent, std::int64_t now = kNow) {
    jose::VerifyOptions o;
    o.jws.require_typ = true;
    o.claims.issuer = kIssuer;
    o.claims.audiences = {"agent:" + agent};
    o.claims.now = now;
    o.claims.max_lifetime_seconds = 300;
    return jose::verify_jws_with_set(token, *keys.verification_keys()->load(), {jose::Alg::ES256}, o);
  }

  std::variant<IssuedToken, OAuthError> exchange_identity(const std::string& identity, std::int64_t now = kNow,
                                                          std::optional<std::string> scope = std::nullopt) {
    TokenRequest r;
    r.grant_type = std::string(kGrantTokenExchange);
    r.subject_token = identity;
    r.subject_token_type = std::string(kTokenTypeJwt);
    r.scope = std::move(scope);
    return ts.handle(r, now);
  }

  pc::testing::TempDir dir{"pc-agent-identity"};
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
                  TokenSettings{kIssuer, {kIssuer}, 900}};
  AgentIdentity identity{keys, kIssuer};
};

// ---- the token

TEST_F(AgentIdentityTest, TokenVerifiesAgainstThePublishedKeysWithItsClaims) {
  const std::string t = identity.token_for(machine_caller(), "basic", "echo", "sess-1", kNow);
  auto v = runtime_verify(t, "echo");
  ASSERT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.header.at("typ"), "JWT");
  EXPECT_EQ(v.header.at("alg"), "ES256");
  EXPECT_EQ(v.header.at("kid"), json::value(keys.active()->kid()));
  const auto& c = v.payload;
  EXPECT_EQ(c.at("iss"), json::value(kIssuer));
  EXPECT_EQ(c.at("aud"), "agent:echo");
  EXPECT_EQ(c.at("sub"), "client-123");
  EXPECT_EQ(c.at("tenantid"), "acme");
  EXPECT_EQ(c.at("tier"), "basic");
  EXPECT_EQ(c.at("client_id"), "client-123");
  EXPECT_EQ(c.at("scope"), "agents:invoke mcp:tools");
  EXPECT_EQ(c.at("session_id"), "sess-1");
  EXPECT_EQ(c.at("act"), (json::object{{"sub", "client-123"}}));
  EXPECT_EQ(c.at("iat").as_int64(), kNow);
  EXPECT_EQ(c.at("exp").as_int64(), kNow + kIdentityLifetimeSeconds);
  EXPECT_FALSE(c.at("jti").as_string().empty());
  EXPECT_FALSE(c.contains("roles")) << "an identity is not an access token: it grants nothing at the gateway";
  EXPECT_FALSE(part(identity.token_for(machine_caller(), "basic", "echo", "", kNow), 1).contains("session_id"));
}

TEST_F(AgentIdentityTest, TokenIsForOneAgentOnly) {
  const std::string t = identity.token_for(machine_caller(), "basic", "echo", "", kNow);
  EXPECT_TRUE(runtime_verify(t, "echo").ok);
  auto other = runtime_verify(t, "summarizer");
  EXPECT_FALSE(other.ok);
  EXPECT_NE(other.reason.find("aud"), std::string::npos) << other.reason;
}

TEST_F(AgentIdentityTest, TokenIsRefusedOnceExpired) {
  const std::string t = identity.token_for(machine_caller(), "basic", "echo", "", kNow);
  EXPECT_TRUE(runtime_verify(t, "echo", kNow + 299).ok);
  EXPECT_FALSE(runtime_verify(t, "echo", kNow + 300).ok);
}

TEST_F(AgentIdentityTest, TokenNeverOutlivesTheCallersToken) {
  Principal p = machine_caller();
  p.expires_at = kNow + 100;
  const std::string t = identity.token_for(p, "basic", "echo", "", kNow);
  EXPECT_EQ(part(t, 1).at("exp").as_int64(), kNow + 100);
}

TEST_F(AgentIdentityTest, ActNestsTheCallersDelegationChain) {
  // A user token exchanged by client "portal-backend": client and current actor are the same party.
  Principal p = machine_caller();
  p.subject = "user-1";
  p.client = "portal-backend";
  p.actor = "portal-backend";
  p.prior_actors = {"spa"};
  json::object act = part(identity.token_for(p, "basic", "echo", "", kNow), 1).at("act").as_object();
  EXPECT_EQ(act, (json::object{{"sub", "portal-backend"}, {"act", {{"sub", "spa"}}}}));
  EXPECT_EQ(actor_chain(p), (std::vector<std::string>{"portal-backend", "spa"}));

  // A token whose actor differs from its client keeps both, client first.
  p.client = "relay";
  EXPECT_EQ(actor_chain(p), (std::vector<std::string>{"relay", "portal-backend", "spa"}));
  // No client claim: the app stands for it.
  Principal u = machine_caller();
  u.client.clear();
  u.app = "portal";
  EXPECT_EQ(actor_chain(u), (std::vector<std::string>{"portal"}));
}

TEST_F(AgentIdentityTest, NoIssuerYetMeansNoToken) {
  AgentIdentity early{keys};
  EXPECT_THROW(early.token_for(machine_caller(), "basic", "echo", "", kNow), std::runtime_error);
  early.set_issuer(kIssuer);
  EXPECT_TRUE(runtime_verify(early.token_for(machine_caller(), "basic", "echo", "", kNow), "echo").ok);
}

// ---- the cache

TEST_F(AgentIdentityTest, CachedUntilThirtySecondsBeforeExpiry) {
  const Principal p = machine_caller();
  const std::string first = identity.token_for(p, "basic", "echo", "s", kNow);
  EXPECT_EQ(identity.token_for(p, "basic", "echo", "s", kNow + 1), first);
  EXPECT_EQ(identity.token_for(p, "basic", "echo", "s", kNow + 269), first);
  EXPECT_EQ(identity.minted(), 1u);
  const std::string renewed = identity.token_for(p, "basic", "echo", "s", kNow + 270);
  EXPECT_NE(renewed, first);
  EXPECT_EQ(identity.minted(), 2u);
  EXPECT_EQ(part(renewed, 1).at("exp").as_int64(), kNow + 270 + 300);
}

TEST_F(AgentIdentityTest, CacheSeparatesEverythingTheTokenSays) {
  const Principal p = machine_caller();
  const std::string base = identity.token_for(p, "basic", "echo", "s", kNow);
  std::set<std::string> seen{base};
  seen.insert(identity.token_for(p, "basic", "other", "s", kNow));
  seen.insert(identity.token_for(p, "basic", "echo", "s2", kNow));
  seen.insert(identity.token_for(p, "premium", "echo", "s", kNow));
  Principal q = p;
  q.tenant = "globex";
  seen.insert(identity.token_for(q, "basic", "echo", "s", kNow));
  q = p;
  q.subject = "someone-else";
  seen.insert(identity.token_for(q, "basic", "echo", "s", kNow));
  q = p;
  q.scopes = {"agents:invoke"};
  seen.insert(identity.token_for(q, "basic", "echo", "s", kNow));
  q = p;
  q.actor = "agent:x";
  seen.insert(identity.token_for(q, "basic", "echo", "s", kNow));
  EXPECT_EQ(seen.size(), 8u);
  // Field boundaries cannot be shifted to collide: ("ab","c") and ("a","bc").
  Principal a = p, b = p;
  a.subject = "ab";
  a.client = "c";
  b.subject = "a";
  b.client = "bc";
  EXPECT_NE(identity.token_for(a, "basic", "echo", "", kNow), identity.token_for(b, "basic", "echo", "", kNow));
}

TEST_F(AgentIdentityTest, CallerTokenExpiringSoonerIsNotServedALongerCachedIdentity) {
  Principal p = machine_caller();
  const std::string long_lived = identity.token_for(p, "basic", "echo", "", kNow);
  p.expires_at = kNow + 60;
  const std::string capped = identity.token_for(p, "basic", "echo", "", kNow);
  EXPECT_NE(capped, long_lived);
  EXPECT_EQ(part(capped, 1).at("exp").as_int64(), kNow + 60);
}

TEST_F(AgentIdentityTest, KeyRotationDropsCachedTokens) {
  const Principal p = machine_caller();
  const std::string before = identity.token_for(p, "basic", "echo", "", kNow);
  const std::string new_kid = SigningKeys::rotate(*store, mk, 900, kNow);
  ASSERT_TRUE(keys.load(*store, kNow));
  const std::string after = identity.token_for(p, "basic", "echo", "", kNow + 1);
  EXPECT_NE(after, before);
  EXPECT_EQ(part(after, 0).at("kid"), json::value(new_kid));
  EXPECT_TRUE(runtime_verify(after, "echo", kNow + 1).ok);
}

TEST_F(AgentIdentityTest, IssuerChangeDropsCachedTokens) {
  const Principal p = machine_caller();
  const std::string before = identity.token_for(p, "basic", "echo", "", kNow);
  identity.set_issuer(kIssuer);  // unchanged: kept
  EXPECT_EQ(identity.token_for(p, "basic", "echo", "", kNow), before);
  identity.set_issuer("https://gw2.test");
  const std::string after = identity.token_for(p, "basic", "echo", "", kNow);
  EXPECT_EQ(part(after, 1).at("iss"), "https://gw2.test");
}

TEST_F(AgentIdentityTest, ConcurrentCallersAllGetValidTokens) {
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      Principal p = machine_caller();
      p.subject = "user-" + std::to_string(t);
      for (int i = 0; i < 200; ++i) {
        std::string tok = identity.token_for(p, "basic", "echo", std::to_string(i % 7), kNow);
        if (i % 50 == 0 && !runtime_verify(tok, "echo").ok) ++bad;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(identity.minted(), 4u * 7u) << "one token per (caller, session) per thread";
}

// ---- loops and depth

TEST_F(AgentIdentityTest, CallRefusalNamesLoopsAndDepth) {
  Principal p = machine_caller();
  EXPECT_EQ(agent_call_refusal(p, "echo"), std::nullopt);
  // Called by agent a (its exchanged token), on behalf of client-123.
  p.client = "agent:a";
  p.actor = "agent:a";
  p.prior_actors = {"client-123"};
  EXPECT_EQ(agent_call_refusal(p, "a"), "loop");
  EXPECT_EQ(agent_call_refusal(p, "b"), std::nullopt);
  // a → b → c → d already: a fifth agent is one too many at the default depth of 4.
  p.client = "agent:d";
  p.actor = "agent:d";
  p.prior_actors = {"agent:c", "agent:b", "agent:a", "client-123"};
  EXPECT_EQ(agent_call_refusal(p, "a"), "loop");
  EXPECT_EQ(agent_call_refusal(p, "e"), "depth");
  EXPECT_EQ(agent_call_refusal(p, "e", 5), std::nullopt);
  // Actors that are not agents do not count toward the depth, only toward the act limit.
  p.prior_actors = {"x1", "x2", "x3", "x4", "x5", "x6"};
  EXPECT_EQ(agent_call_refusal(p, "e", 100), std::nullopt);
  p.prior_actors.push_back("x7");
  EXPECT_EQ(agent_call_refusal(p, "e", 100), "depth") << "the callee's exchange would exceed 8 actors";
  // A name that only starts like an agent on the chain is not a loop.
  p.prior_actors = {"agent:echo2"};
  EXPECT_EQ(agent_call_refusal(p, "echo"), std::nullopt);
}

// ---- verify_identity_token (what the token endpoint accepts)

TEST_F(AgentIdentityTest, VerifyIdentityTokenAcceptsOursAndReadsTheClaims) {
  Principal p = machine_caller();
  p.client = "agent:a";
  p.actor = "agent:a";
  p.prior_actors = {"client-123"};
  const std::string t = identity.token_for(p, "basic", "b", "sess", kNow);
  auto v = verify_identity_token(t, *keys.verification_keys()->load(), kIssuer, kNow + 10);
  ASSERT_TRUE(std::holds_alternative<IdentityClaims>(v)) << std::get<std::string>(v);
  const auto& c = std::get<IdentityClaims>(v);
  EXPECT_EQ(c.agent, "b");
  EXPECT_EQ(c.subject, "client-123");
  EXPECT_EQ(c.tenant, "acme");
  EXPECT_EQ(c.client, "agent:a");
  EXPECT_EQ(c.session_id, "sess");
  EXPECT_EQ(c.actors, (std::vector<std::string>{"agent:a", "client-123"}));
  EXPECT_EQ(c.scopes, (std::vector<std::string>{"agents:invoke", "mcp:tools"}));
}

TEST_F(AgentIdentityTest, VerifyIdentityTokenRefusesEverythingElse) {
  const auto set = keys.verification_keys()->load();
  const std::string good = identity.token_for(machine_caller(), "basic", "echo", "", kNow);
  auto refused = [&](const std::string& token, std::int64_t now = kNow, std::string issuer = kIssuer) {
    auto v = verify_identity_token(token, *set, issuer, now);
    return std::holds_alternative<std::string>(v);
  };
  EXPECT_FALSE(refused(good));
  // Forged: same claims, a key the gateway never published (same kid, too).
  jose::PrivateKey forger = jose::PrivateKey::generate(jose::Alg::ES256, keys.active()->kid());
  EXPECT_TRUE(refused(resign(good, forger, [](json::object&) {})));
  // Tampered: the payload changed after signing.
  {
    std::string t = good;
    const std::size_t a = t.find('.') + 1, b = t.find('.', a);
    json::object payload = part(good, 1);
    payload["sub"] = "admin";
    t.replace(a, b - a, core::base64url_encode(json::serialize(payload)));
    EXPECT_TRUE(refused(t));
  }
  // Expired, from another issuer, or not an identity token at all.
  EXPECT_TRUE(refused(good, kNow + 300 + 6));
  EXPECT_TRUE(refused(good, kNow, "https://elsewhere.test"));
  EXPECT_TRUE(refused("not.a.token"));
  EXPECT_TRUE(refused(""));
  // The gateway's own key, but an access token (typ at+jwt), even one claiming an agent audience.
  AccessTokenClaims ac;
  ac.subject = "client-123";
  ac.audiences = {"agent:echo"};
  ac.client_id = "client-123";
  ac.tenant = "acme";
  ac.app = "client-123";
  ac.expires_at = kNow + 300;
  EXPECT_TRUE(refused(ts.mint(ac, kNow)));
  // Signed by the gateway but for the gateway's own audience, or for "agent:" with no name.
  auto active = keys.active();
  EXPECT_TRUE(refused(resign(good, *active, [](json::object& p) { p["aud"] = kIssuer; })));
  EXPECT_TRUE(refused(resign(good, *active, [](json::object& p) { p["aud"] = "agent:"; })));
  EXPECT_TRUE(refused(resign(good, *active, [](json::object& p) { p["aud"] = json::array{"agent:echo", "agent:b"}; })));
  // Lifetime above five minutes, missing subject or tenant, malformed act.
  EXPECT_TRUE(refused(resign(good, *active, [](json::object& p) { p["exp"] = kNow + 3600; })));
  EXPECT_TRUE(refused(resign(good, *active, [](json::object& p) { p.erase("sub"); })));
  EXPECT_TRUE(refused(resign(good, *active, [](json::object& p) { p.erase("tenantid"); })));
  EXPECT_TRUE(refused(resign(good, *active, [](json::object& p) { p["act"] = "agent:a"; })));
  EXPECT_TRUE(refused(resign(good, *active, [](json::object& p) { p["act"] = json::object{{"act", {{"sub", "x"}}}}; })));
}

// ---- the agent's exchange at /oauth2/token

TEST_F(AgentIdentityTest, ExchangeTurnsAnIdentityIntoAnAccessTokenWithTheAgentAsActor) {
  const std::string id = identity.token_for(machine_caller(), "basic", "alpha", "sess", kNow);
  auto out = exchange_identity(id, kNow + 5);
  ASSERT_TRUE(std::holds_alternative<IssuedToken>(out)) << std::get<OAuthError>(out).description;
  const IssuedToken& t = std::get<IssuedToken>(out);
  EXPECT_EQ(t.issued_token_type, kTokenTypeAccessToken);
  EXPECT_EQ(t.tenant, "acme");
  EXPECT_EQ(t.subject, "client-123");
  EXPECT_EQ(t.actor, "agent:alpha");
  EXPECT_EQ(t.scope, "agents:invoke mcp:tools");
  EXPECT_LE(t.expires_in, 295);
  EXPECT_EQ(part(t.access_token, 0).at("typ"), "at+jwt");
  json::object c = part(t.access_token, 1);
  EXPECT_EQ(c.at("exp").as_int64(), kNow + 300) << "never outlives the identity it came from";
  EXPECT_EQ(c.at("roles"), (json::array{"Machine.Invoke"}));
  EXPECT_EQ(c.at("act"), (json::object{{"sub", "agent:alpha"}, {"act", {{"sub", "client-123"}}}}));

  // The gateway accepts it like any of its access tokens: sub and tenant of the user, the agent
  // as client and actor; and calling alpha again with it is a loop.
  AuthResult r = auth.authenticate(t.access_token, kNow + 5);
  ASSERT_EQ(r.status, AuthResult::Status::ok) << r.detail;
  EXPECT_EQ(r.principal->subject, "client-123");
  EXPECT_EQ(r.principal->tenant, "acme");
  EXPECT_EQ(r.principal->client, "agent:alpha");
  EXPECT_EQ(r.principal->roles, (std::vector<std::string>{"Machine.Invoke"}));
  EXPECT_EQ(agent_call_refusal(*r.principal, "alpha"), "loop");
  EXPECT_EQ(agent_call_refusal(*r.principal, "beta"), std::nullopt);

  // alpha → beta: beta's identity nests the chain, and beta's own exchange nests it once more.
  const std::string id_b = identity.token_for(*r.principal, "basic", "beta", "", kNow + 5);
  EXPECT_EQ(part(id_b, 1).at("act"), (json::object{{"sub", "agent:alpha"}, {"act", {{"sub", "client-123"}}}}));
  auto out_b = exchange_identity(id_b, kNow + 6);
  ASSERT_TRUE(std::holds_alternative<IssuedToken>(out_b));
  AuthResult rb = auth.authenticate(std::get<IssuedToken>(out_b).access_token, kNow + 6);
  ASSERT_EQ(rb.status, AuthResult::Status::ok) << rb.detail;
  EXPECT_EQ(actor_chain(*rb.principal), (std::vector<std::string>{"agent:beta", "agent:alpha", "client-123"}));
  EXPECT_EQ(agent_call_refusal(*rb.principal, "alpha"), "loop") << "alpha → beta → alpha";
}

TEST_F(AgentIdentityTest, ExchangeNarrowsButNeverWidensScope) {
  const std::string id = identity.token_for(machine_caller(), "basic", "alpha", "", kNow);
  auto narrowed = exchange_identity(id, kNow, "agents:invoke");
  ASSERT_TRUE(std::holds_alternative<IssuedToken>(narrowed));
  EXPECT_EQ(std::get<IssuedToken>(narrowed).scope, "agents:invoke");
  auto widened = exchange_identity(id, kNow, "agents:invoke admin");
  ASSERT_TRUE(std::holds_alternative<OAuthError>(widened));
  EXPECT_EQ(std::get<OAuthError>(widened).error, "invalid_scope");
}

TEST_F(AgentIdentityTest, ExchangeRefusesWhatIsNotAValidIdentity) {
  auto error_of = [&](const std::string& token, std::int64_t now = kNow) {
    auto out = exchange_identity(token, now);
    if (auto* t = std::get_if<IssuedToken>(&out)) return "issued " + t->access_token;
    return std::get<OAuthError>(out).error;
  };
  const std::string id = identity.token_for(machine_caller(), "basic", "alpha", "", kNow);
  EXPECT_EQ(error_of(id, kNow + 300 + 6), "invalid_grant") << "expired";
  jose::PrivateKey forger = jose::PrivateKey::generate(jose::Alg::ES256, keys.active()->kid());
  EXPECT_EQ(error_of(resign(id, forger, [](json::object&) {})), "invalid_grant") << "forged";
  // The caller's own access token is not an identity: no client credentials, no exchange.
  AccessTokenClaims ac;
  ac.subject = "client-123";
  ac.audiences = {kIssuer};
  ac.client_id = "client-123";
  ac.tenant = "acme";
  ac.app = "client-123";
  ac.expires_at = kNow + 300;
  EXPECT_EQ(error_of(ts.mint(ac, kNow)), "invalid_grant");
  EXPECT_EQ(error_of(""), "invalid_request");

  // A suspended tenant's identities are refused.
  store::TenantPatch patch;
  patch.status = "suspended";
  tenants.update("acme", patch);
  EXPECT_EQ(error_of(id), "invalid_grant");
  patch.status = "active";
  tenants.update("acme", patch);
  EXPECT_EQ(error_of(id).rfind("issued ", 0), 0u);

  // Platform identities are never exchanged (agents serve tenants).
  Principal platform = machine_caller("platform");
  EXPECT_EQ(error_of(identity.token_for(platform, "", "alpha", "", kNow)), "invalid_grant");

  // An actor token is not how an agent proves itself.
  TokenRequest r;
  r.grant_type = std::string(kGrantTokenExchange);
  r.subject_token = id;
  r.subject_token_type = std::string(kTokenTypeJwt);
  r.actor_token = id;
  auto out = ts.handle(r, kNow);
  ASSERT_TRUE(std::holds_alternative<OAuthError>(out));
  EXPECT_EQ(std::get<OAuthError>(out).error, "invalid_request");
}

TEST_F(AgentIdentityTest, ADisabledClientStopsActingThroughAgents) {
  tenancy::NewClient nc;
  nc.name = "app";
  nc.roles = {"Machine.Invoke"};
  const std::string client = tenants.create_client("acme", nc).client.client_id;
  Principal p = machine_caller();
  p.subject = p.client = p.app = client;
  const std::string id = identity.token_for(p, "basic", "alpha", "", kNow);
  auto out = exchange_identity(id, kNow);
  ASSERT_TRUE(std::holds_alternative<IssuedToken>(out));
  const std::string exchanged = std::get<IssuedToken>(out).access_token;
  ASSERT_EQ(auth.authenticate(exchanged, kNow).status, AuthResult::Status::ok);

  tenants.set_client_enabled("acme", client, false);
  // Its identities are no longer exchanged, and what an agent already obtained stops working.
  auto again = exchange_identity(id, kNow);
  ASSERT_TRUE(std::holds_alternative<OAuthError>(again));
  EXPECT_EQ(std::get<OAuthError>(again).error, "invalid_grant");
  AuthResult r = auth.authenticate(exchanged, kNow);
  EXPECT_EQ(r.status, AuthResult::Status::invalid);
  EXPECT_EQ(r.reason, "client");
}

TEST_F(AgentIdentityTest, ExchangeWithClientCredentialsIsTheOrdinaryExchange) {
  // The identity path is only taken without client authentication; a client that authenticates
  // exchanges access tokens as before (an identity token is not one: refused).
  TokenRequest r;
  r.grant_type = std::string(kGrantTokenExchange);
  r.client_id = "nobody";
  r.client_secret = "wrong";
  r.subject_token = identity.token_for(machine_caller(), "basic", "alpha", "", kNow);
  r.subject_token_type = std::string(kTokenTypeJwt);
  auto out = ts.handle(r, kNow);
  ASSERT_TRUE(std::holds_alternative<OAuthError>(out));
  EXPECT_EQ(std::get<OAuthError>(out).error, "invalid_client");
}

}  // namespace
}  // namespace pc::auth
