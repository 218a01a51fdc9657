// Act-on-behalf tokens for MCP servers (issue 10, SPEC §4): minted for exactly one server URL,
// checked the way a tool would check them (the gateway's JWKS, its own URL as the audience), cached
// per session and audience, and never usable as an agent identity at the token endpoint.
#include "auth/act_on_behalf.h"

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include <boost/json.hpp>

#include "auth/agent_identity.h"
#include "core/base64url.h"
#include "crypto/master_key.h"
#include "jose/jws.h"
#include "jose/sign.h"
#include "store/store.h"
#include "support/temp_dir.h"

namespace pc::auth {
namespace {

namespace json = boost::json;

constexpr std::int64_t kNow = 1'700'000'000;
const std::string kIssuer = "https://gw.test";
const std::string kServerA = "http://127.0.0.1:7001/mcp";
const std::string kServerB = "http://127.0.0.1:7002/mcp";

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

std::string resign(const std::string& token, const jose::PrivateKey& key, const std::function<void(json::object&)>& edit,
                   json::object header = {{"typ", "JWT"}}) {
  json::object payload = part(token, 1);
  edit(payload);
  return jose::make_jws(key, header, payload);
}

// An end user of tenant acme whose token was exchanged by the agent "agent:planner" (the client
// calling the gateway's /mcp), so the chain is planner then the user's app.
Principal user_via_agent() {
  Principal p;
  p.issuer = kIssuer;
  p.issuer_name = "builtin";
  p.subject = "user-42";
  p.tenant = "acme";
  p.app = "portal";
  p.client = "agent:planner";
  p.actor = "agent:planner";
  p.prior_actors = {"portal"};
  p.roles = {"Agent.Invoke"};
  p.scopes = {"mcp:tools"};
  p.expires_at = kNow + 900;
  return p;
}

class ActOnBehalfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SigningKeys::ensure_key(*store, mk);
    keys.load(*store, kNow);
  }

  std::variant<OnBehalfClaims, std::string> verify(const std::string& token, const std::string& audience,
                                                    std::int64_t now = kNow, const std::string& issuer = kIssuer) {
    return verify_on_behalf_token(token, *keys.verification_keys()->load(), issuer, audience, now);
  }
  bool refused(const std::string& token, const std::string& audience = kServerA, std::int64_t now = kNow) {
    return std::holds_alternative<std::string>(verify(token, audience, now));
  }

  pc::testing::TempDir dir{"pc-act-on-behalf"};
  std::unique_ptr<store::Store> store = store::Store::open_sqlite(dir.file("portcullis.db"));
  crypto::MasterKey mk = master_key();
  SigningKeys keys{mk};
  OnBehalfIssuer issuer{keys, kIssuer};
};

TEST_F(ActOnBehalfTest, ServerTokenCarriesTheClaimsAToolNeeds) {
  const std::string t = issuer.server_token_for(user_via_agent(), "premium", kServerA, "mcp-sess-1", kNow);
  const json::object h = part(t, 0);
  EXPECT_EQ(h.at("typ"), "JWT");
  EXPECT_EQ(h.at("alg"), "ES256");
  EXPECT_EQ(h.at("kid"), json::value(keys.active()->kid()));
  const json::object c = part(t, 1);
  EXPECT_EQ(c.at("iss"), json::value(kIssuer));
  EXPECT_EQ(c.at("aud"), json::value(kServerA)) << "a single string: the server's own URL";
  EXPECT_EQ(c.at("sub"), "user-42");
  EXPECT_EQ(c.at("act"), (json::object{{"sub", "agent:planner"}, {"act", {{"sub", "portal"}}}}));
  EXPECT_EQ(c.at("tenantid"), "acme");
  EXPECT_EQ(c.at("tier"), "premium");
  EXPECT_EQ(c.at("scope"), "mcp:tools");
  EXPECT_EQ(c.at("session_id"), "mcp-sess-1");
  EXPECT_FALSE(c.at("jti").as_string().empty());
  EXPECT_EQ(c.at("iat").as_int64(), kNow);
  EXPECT_EQ(c.at("exp").as_int64(), kNow + 300);
  EXPECT_FALSE(c.contains("roles")) << "it grants nothing at the gateway";

  auto v = verify(t, kServerA, kNow + 10);
  ASSERT_TRUE(std::holds_alternative<OnBehalfClaims>(v)) << std::get<std::string>(v);
  const auto& claims = std::get<OnBehalfClaims>(v);
  EXPECT_EQ(claims.audience, kServerA);
  EXPECT_EQ(claims.subject, "user-42");
  EXPECT_EQ(claims.tenant, "acme");
  EXPECT_EQ(claims.session_id, "mcp-sess-1");
  EXPECT_EQ(claims.actors, (std::vector<std::string>{"agent:planner", "portal"}));
  EXPECT_EQ(claims.scopes, (std::vector<std::string>{"mcp:tools"}));
  EXPECT_EQ(claims.expires_at, kNow + 300);
}

TEST_F(ActOnBehalfTest, LifetimeIsAtMostFiveMinutesAndNeverBeyondTheCallersToken) {
  Principal p = user_via_agent();
  EXPECT_EQ(part(issuer.server_token_for(p, "basic", kServerA, "s", kNow), 1).at("exp").as_int64(), kNow + 300);
  p.expires_at = kNow + 45;
  const std::string capped = issuer.server_token_for(p, "basic", kServerA, "s", kNow);
  EXPECT_EQ(part(capped, 1).at("exp").as_int64(), kNow + 45);
  EXPECT_TRUE(refused(capped, kServerA, kNow + 45 + 6));
}

TEST_F(ActOnBehalfTest, ATokenForServerAIsRefusedByServerB) {
  const std::string for_a = issuer.server_token_for(user_via_agent(), "basic", kServerA, "s", kNow);
  EXPECT_FALSE(refused(for_a, kServerA));
  EXPECT_TRUE(refused(for_a, kServerB));
  // Near misses of the URL are other audiences too: the comparison is exact.
  EXPECT_TRUE(refused(for_a, kServerA + "/"));
  EXPECT_TRUE(refused(for_a, "http://127.0.0.1:7001/MCP"));
  EXPECT_TRUE(refused(for_a, "http://127.0.0.1:7001"));
  EXPECT_TRUE(refused(for_a, ""));
}

TEST_F(ActOnBehalfTest, ForgedExpiredAlgSwappedAndTamperedTokensAreRefused) {
  const std::string good = issuer.server_token_for(user_via_agent(), "basic", kServerA, "s", kNow);
  ASSERT_FALSE(refused(good));
  auto active = keys.active();
  // Expired (past the leeway), not yet valid, or from another issuer.
  EXPECT_TRUE(refused(good, kServerA, kNow + 300 + 6));
  EXPECT_TRUE(std::holds_alternative<std::string>(verify(good, kServerA, kNow, "https://elsewhere.test")));
  EXPECT_TRUE(refused(resign(good, *active, [](json::object& p) { p["nbf"] = kNow + 60; p["iat"] = kNow + 60; })));
  // Forged: a key the gateway never published, even under the active kid.
  jose::PrivateKey forger = jose::PrivateKey::generate(jose::Alg::ES256, active->kid());
  EXPECT_TRUE(refused(resign(good, forger, [](json::object&) {})));
  // Alg swapped: "none", and HS256 keyed with something public.
  {
    const std::size_t dot = good.find('.');
    const std::string body = good.substr(dot + 1, good.rfind('.') - dot - 1);
    const std::string none_header =
        core::base64url_encode(json::serialize(json::object{{"alg", "none"}, {"typ", "JWT"}, {"kid", active->kid()}}));
    EXPECT_TRUE(refused(none_header + "." + body + "."));
    const std::string hs_header =
        core::base64url_encode(json::serialize(json::object{{"alg", "HS256"}, {"typ", "JWT"}, {"kid", active->kid()}}));
    EXPECT_TRUE(refused(hs_header + "." + body + "." + good.substr(good.rfind('.') + 1)));
  }
  // Another asymmetric algorithm, under the active kid: only ES256 is accepted.
  jose::PrivateKey eddsa = jose::PrivateKey::generate(jose::Alg::EdDSA, active->kid());
  EXPECT_TRUE(refused(resign(good, eddsa, [](json::object&) {})));
  // Tampered after signing.
  {
    std::string t = good;
    const std::size_t a = t.find('.') + 1, b = t.find('.', a);
    json::object payload = part(good, 1);
    payload["sub"] = "admin";
    t.replace(a, b - a, core::base64url_encode(json::serialize(payload)));
    EXPECT_TRUE(refused(t));
  }
  // Signed by the gateway, but an audience array (meant for others too), lifetime above five
  // minutes, missing sub or tenant, malformed act, or a typ that is not JWT (an access token).
  EXPECT_TRUE(refused(resign(good, *active, [](json::object& p) { p["aud"] = json::array{kServerA, kServerB}; })));
  EXPECT_TRUE(refused(resign(good, *active, [](json::object& p) { p["exp"] = kNow + 3600; })));
  EXPECT_TRUE(refused(resign(good, *active, [](json::object& p) { p.erase("sub"); })));
  EXPECT_TRUE(refused(resign(good, *active, [](json::object& p) { p.erase("tenantid"); })));
  EXPECT_TRUE(refused(resign(good, *active, [](json::object& p) { p["act"] = "agent:planner"; })));
  EXPECT_TRUE(refused(resign(good, *active, [](json::object&) {}, json::object{{"typ", "at+jwt"}})));
  EXPECT_TRUE(refused("not.a.token"));
  EXPECT_TRUE(refused(""));
}

TEST_F(ActOnBehalfTest, CachedPerSessionAndAudienceUntilShortlyBeforeExpiry) {
  const Principal p = user_via_agent();
  const std::string first = issuer.server_token_for(p, "basic", kServerA, "s1", kNow);
  EXPECT_EQ(issuer.minted(), 1u);
  EXPECT_EQ(issuer.server_token_for(p, "basic", kServerA, "s1", kNow + 1), first) << "a hit signs nothing";
  EXPECT_EQ(issuer.server_token_for(p, "basic", kServerA, "s1", kNow + 269), first);
  EXPECT_EQ(issuer.minted(), 1u);
  // Another audience or another session is a miss.
  std::set<std::string> seen{first};
  seen.insert(issuer.server_token_for(p, "basic", kServerB, "s1", kNow));
  seen.insert(issuer.server_token_for(p, "basic", kServerA, "s2", kNow));
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_EQ(issuer.minted(), 3u);
  // Thirty seconds before expiry the cached token is replaced.
  const std::string renewed = issuer.server_token_for(p, "basic", kServerA, "s1", kNow + 270);
  EXPECT_NE(renewed, first);
  EXPECT_EQ(part(renewed, 1).at("exp").as_int64(), kNow + 270 + 300);
  EXPECT_EQ(issuer.minted(), 4u);
}

TEST_F(ActOnBehalfTest, KeyRotationDropsTheCache) {
  const Principal p = user_via_agent();
  const std::string before = issuer.server_token_for(p, "basic", kServerA, "s", kNow);
  const std::string new_kid = SigningKeys::rotate(*store, mk, 900, kNow);
  ASSERT_TRUE(keys.load(*store, kNow));
  const std::string after = issuer.server_token_for(p, "basic", kServerA, "s", kNow + 1);
  EXPECT_NE(after, before);
  EXPECT_EQ(part(after, 0).at("kid"), json::value(new_kid));
  EXPECT_FALSE(refused(after, kServerA, kNow + 1));
  EXPECT_FALSE(refused(before, kServerA, kNow + 1)) << "the old key stays published until its tokens expired";
}

TEST_F(ActOnBehalfTest, IssuerChangeDropsTheCacheAndNoIssuerMeansNoToken) {
  OnBehalfIssuer early{keys};
  EXPECT_THROW(early.server_token_for(user_via_agent(), "basic", kServerA, "s", kNow), std::runtime_error);
  early.set_issuer(kIssuer);
  const std::string t = early.server_token_for(user_via_agent(), "basic", kServerA, "s", kNow);
  EXPECT_FALSE(refused(t));
  early.set_issuer("https://gw2.test");
  EXPECT_EQ(part(early.server_token_for(user_via_agent(), "basic", kServerA, "s", kNow), 1).at("iss"),
            "https://gw2.test");
}

TEST_F(ActOnBehalfTest, OnlyHttpUrlsAreServerAudiences) {
  const Principal p = user_via_agent();
  for (const std::string bad : {"", "agent:echo", "echo", "ftp://x/mcp", "http://", "https:///mcp",
                                "http://a b/mcp", "http://host/mcp\n"}) {
    EXPECT_FALSE(is_server_audience(bad)) << bad;
    EXPECT_THROW(issuer.server_token_for(p, "basic", bad, "s", kNow), std::invalid_argument) << bad;
  }
  EXPECT_TRUE(is_server_audience("https://tools.example.com/mcp"));
  EXPECT_TRUE(is_server_audience(kServerA));
}

TEST_F(ActOnBehalfTest, AServerTokenIsNotAnAgentIdentityAndViceVersa) {
  // A tool cannot hand its token to the token endpoint as an agent identity to act as the user...
  const std::string for_tool = issuer.server_token_for(user_via_agent(), "basic", kServerA, "s", kNow);
  const auto set = keys.verification_keys()->load();
  EXPECT_TRUE(std::holds_alternative<std::string>(verify_identity_token(for_tool, *set, kIssuer, kNow)));
  // ...and an agent's identity token is not accepted by a tool.
  AgentIdentity agents{keys, kIssuer};
  const std::string for_agent = agents.token_for(user_via_agent(), "basic", "echo", "s", kNow);
  EXPECT_TRUE(refused(for_agent, kServerA));
  EXPECT_FALSE(refused(for_agent, "agent:echo")) << "the same core verifies both, by audience";
  // The agent identity's core is the one the MCP gateway uses: same issuer, same keys.
  EXPECT_FALSE(refused(agents.on_behalf().server_token_for(user_via_agent(), "basic", kServerB, "s", kNow), kServerB));
}

}  // namespace
}  // namespace pc::auth
