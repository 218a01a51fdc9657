// The rewrite (URLs, security, skills, whitelisting, both shapes), the runtime interfaces, and
// the signature: a card the gateway signs verifies with its JWKS, and every tampering — with the
// card, the protected header, the signature, the key — is refused (Wycheproof-style negatives).
#include "a2a/card.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "a2a/jcs.h"
#include "core/base64url.h"
#include "jose/jwks.h"
#include "jose/sign.h"

namespace pc::a2a {
namespace {
namespace json = boost::json;

// What the @a2a-js/sdk runtime of the integration tests serves (1.0, with 0.3 interfaces too).
const char* kRuntimeV1 = R"({
  "name": "Helper", "description": "helps",
  "supportedInterfaces": [
    {"url": "http://10.0.0.5:9999/a2a/jsonrpc", "protocolBinding": "JSONRPC", "tenant": "", "protocolVersion": "1.0"},
    {"url": "http://10.0.0.5:9999/a2a/rest", "protocolBinding": "HTTP+JSON", "tenant": "", "protocolVersion": "1.0"},
    {"url": "http://10.0.0.5:9999/a2a/jsonrpc", "protocolBinding": "JSONRPC", "tenant": "", "protocolVersion": "0.3"},
    {"url": "grpc://10.0.0.5:9998", "protocolBinding": "GRPC", "protocolVersion": "1.0"}
  ],
  "provider": {"organization": "Tests", "url": "https://example.invalid"},
  "version": "1.0.0",
  "capabilities": {"streaming": true, "pushNotifications": false, "extensions": [
     {"uri": "urn:x", "required": false, "params": {"n": 1.5, "e": ""}}], "extendedAgentCard": true},
  "securitySchemes": {"runtimeKey": {"apiKeySecurityScheme": {"location": "header", "name": "X-Runtime-Key"}}},
  "securityRequirements": [{"schemes": {"runtimeKey": {"list": []}}}],
  "defaultInputModes": ["text"], "defaultOutputModes": ["text", "task-status"],
  "skills": [
    {"id": "echo", "name": "Echo", "description": "Echoes", "tags": ["a"], "securityRequirements": [{"schemes": {"runtimeKey": {"list": []}}}]},
    {"id": "secret", "name": "Secret", "description": "only some tenants", "tags": []}
  ],
  "documentationUrl": "",
  "signatures": [{"protected": "eyJhbGciOiJub25lIn0", "signature": ""}],
  "injected": {"evil": true}
})";

const char* kRuntimeV03 = R"({
  "name": "Old", "description": "0.3 agent", "version": "2", "protocolVersion": "0.3.0",
  "url": "https://evil.example:443/rpc", "preferredTransport": "JSONRPC",
  "additionalInterfaces": [{"url": "https://evil.example/rest/v", "transport": "HTTP+JSON"},
                           {"url": "https://evil.example/g", "transport": "GRPC"}],
  "capabilities": {"streaming": false},
  "supportsAuthenticatedExtendedCard": true,
  "securitySchemes": {"k": {"type": "apiKey", "in": "header", "name": "X"}},
  "security": [{"k": []}],
  "defaultInputModes": ["text"], "defaultOutputModes": ["text"],
  "skills": [{"id": "old", "name": "Old skill", "description": "d", "tags": ["t"]}]
})";

GatewayCardContext gateway() {
  return {"https://gw.example/a2a/helper", "https://gw.example/oauth2/token",
          "https://gw.example/.well-known/oauth-authorization-server", "https://gw.example/.well-known/jwks.json"};
}

json::object parsed(const char* text) {
  std::string err;
  auto c = parse_card(text, err);
  EXPECT_TRUE(c) << err;
  return c ? *c : json::object{};
}

TEST(Card, RuntimeInterfacesArePathsOnly) {
  auto r = runtime_interfaces(parsed(kRuntimeV1));
  EXPECT_EQ(r.jsonrpc_path, "/a2a/jsonrpc");
  EXPECT_EQ(r.rest_path, "/a2a/rest");
  EXPECT_EQ(r.protocol_version, "1.0");
  EXPECT_TRUE(r.streaming);
  EXPECT_FALSE(r.push_notifications);
  EXPECT_TRUE(r.extended_card);
  // A 0.3 card naming another origin: only its paths are kept (the proxy calls the registry's origin).
  auto o = runtime_interfaces(parsed(kRuntimeV03));
  EXPECT_EQ(o.jsonrpc_path, "/rpc");
  EXPECT_EQ(o.rest_path, "/rest/v");
  EXPECT_EQ(o.protocol_version, "0.3.0");
  EXPECT_TRUE(o.extended_card);
  // Only gRPC, or unparsable URLs: nothing to proxy.
  auto g = runtime_interfaces(parsed(R"({"supportedInterfaces":[{"url":"grpc://x:1","protocolBinding":"GRPC"},
      {"url":"::not a url","protocolBinding":"JSONRPC"}]})"));
  EXPECT_TRUE(g.jsonrpc_path.empty());
  EXPECT_TRUE(g.rest_path.empty());
}

TEST(Card, V1RewritePointsEverythingAtTheGateway) {
  auto card = rewrite_card(parsed(kRuntimeV1), gateway(), CardShape::v1_0, nullptr);
  const auto& ifs = card.at("supportedInterfaces").as_array();
  ASSERT_EQ(ifs.size(), 3u);  // gRPC dropped; (JSONRPC 1.0), (HTTP+JSON 1.0), (JSONRPC 0.3)
  for (const auto& i : ifs) {
    EXPECT_EQ(i.at("url").as_string(), "https://gw.example/a2a/helper");
    EXPECT_NE(i.at("protocolBinding").as_string(), "GRPC");
    EXPECT_FALSE(i.as_object().contains("tenant"));
  }
  EXPECT_EQ(ifs[2].at("protocolVersion").as_string(), "0.3");
  const auto& schemes = card.at("securitySchemes").as_object();
  EXPECT_EQ(schemes.size(), 2u);
  EXPECT_FALSE(schemes.contains("runtimeKey"));
  EXPECT_EQ(schemes.at(kOAuthSchemeName).at("oauth2SecurityScheme").at("flows").at("clientCredentials").at("tokenUrl"),
            "https://gw.example/oauth2/token");
  EXPECT_EQ(schemes.at(kBearerSchemeName).at("httpAuthSecurityScheme").at("scheme"), "Bearer");
  EXPECT_EQ(card.at("securityRequirements").as_array().size(), 2u);
  EXPECT_FALSE(card.contains("signatures"));
  EXPECT_FALSE(card.contains("injected"));
  EXPECT_FALSE(card.contains("documentationUrl"));  // empty: left out
  for (const auto& s : card.at("skills").as_array()) EXPECT_FALSE(s.as_object().contains("securityRequirements"));
  // required:false is the default and left out; params are kept.
  const auto& ext = card.at("capabilities").at("extensions").as_array().at(0).as_object();
  EXPECT_FALSE(ext.contains("required"));
  EXPECT_EQ(ext.at("params").at("n").as_double(), 1.5);
  EXPECT_EQ(card.at("capabilities").at("extendedAgentCard"), true);
  // No trace of the runtime's origin anywhere.
  EXPECT_EQ(jcs(card).find("10.0.0.5"), std::string::npos);
}

TEST(Card, V03RewriteOfEitherShape) {
  for (const char* src : {kRuntimeV1, kRuntimeV03}) {
    auto card = rewrite_card(parsed(src), gateway(), CardShape::v0_3, nullptr);
    EXPECT_EQ(card.at("url"), "https://gw.example/a2a/helper");
    EXPECT_EQ(card.at("preferredTransport"), "JSONRPC");
    EXPECT_EQ(card.at("protocolVersion"), "0.3.0");
    for (const auto& i : card.at("additionalInterfaces").as_array()) {
      EXPECT_EQ(i.at("url"), "https://gw.example/a2a/helper");
      EXPECT_NE(i.at("transport"), "GRPC");
    }
    EXPECT_EQ(card.at("securitySchemes").at(kOAuthSchemeName).at("type"), "oauth2");
    EXPECT_EQ(card.at("securitySchemes").at(kBearerSchemeName).at("scheme"), "bearer");
    EXPECT_EQ(card.at("security").as_array().size(), 2u);
    EXPECT_FALSE(card.at("securitySchemes").as_object().contains("k"));
    EXPECT_FALSE(card.contains("supportedInterfaces"));
    EXPECT_EQ(card.at("supportsAuthenticatedExtendedCard"), true);
    const std::string text = jcs(card);
    EXPECT_EQ(text.find("evil.example"), std::string::npos);
    EXPECT_EQ(text.find("10.0.0.5"), std::string::npos);
  }
  // A 0.3 runtime card seen by a 1.0 client.
  auto v1 = rewrite_card(parsed(kRuntimeV03), gateway(), CardShape::v1_0, nullptr);
  ASSERT_EQ(v1.at("supportedInterfaces").as_array().size(), 2u);
  EXPECT_EQ(v1.at("supportedInterfaces").at(0).at("protocolVersion"), "0.3.0");
  EXPECT_EQ(v1.at("capabilities").at("extendedAgentCard"), true);
  EXPECT_FALSE(v1.contains("url"));
  EXPECT_FALSE(v1.contains("security"));
}

TEST(Card, SkillsFilteredPerViewer) {
  auto card = rewrite_card(parsed(kRuntimeV1), gateway(), CardShape::v1_0,
                           [](std::string_view id) { return id != "secret"; });
  ASSERT_EQ(card.at("skills").as_array().size(), 1u);
  EXPECT_EQ(card.at("skills").at(0).at("id"), "echo");
  EXPECT_EQ(jcs(card).find("only some tenants"), std::string::npos);
  auto old = rewrite_card(parsed(kRuntimeV1), gateway(), CardShape::v0_3, [](std::string_view) { return false; });
  EXPECT_TRUE(old.at("skills").as_array().empty());
}

TEST(Card, ParseIsStrictAndBounded) {
  std::string err;
  EXPECT_FALSE(parse_card(R"({"name":"a","name":"b"})", err));
  EXPECT_FALSE(parse_card("[1]", err));
  EXPECT_FALSE(parse_card("{\"name\":\"\xff\"}", err));
  EXPECT_FALSE(parse_card("{} trailing", err));
  std::string big = "{\"d\":\"" + std::string(kMaxCardBytes, 'a') + "\"}";
  EXPECT_FALSE(parse_card(big, err));
  EXPECT_TRUE(parse_card(R"({"name":"ok"})", err));
}

TEST(Card, SigningPayloadDropsEmptiesAndSignatures) {
  json::object c{{"b", ""}, {"a", json::array{}}, {"z", json::object{{"list", json::array{}}}}, {"k", false},
                 {"n", nullptr}, {"signatures", json::array{1}}, {"s", json::array{"", "x"}}};
  EXPECT_EQ(card_signing_payload(c), R"({"k":false,"s":["x"]})");
  EXPECT_EQ(card_signing_payload(json::object{}), "{}");
}

struct Signed : ::testing::Test {
  jose::PrivateKey key = jose::PrivateKey::generate(jose::Alg::ES256, "gw-key-1");
  jose::PrivateKey other = jose::PrivateKey::generate(jose::Alg::ES256, "gw-key-1");  // same kid, another key
  jose::JwkSet jwks = jose::JwkSet::parse(json::serialize(json::object{{"keys", json::array{key.public_jwk()}}}));
  json::object card = [this] {
    auto c = rewrite_card(parsed(kRuntimeV1), gateway(), CardShape::v1_0, nullptr);
    sign_card(c, key, "https://gw.example/.well-known/jwks.json");
    return c;
  }();
  json::object header() const {
    auto h = core::base64url_decode(card.at("signatures").at(0).at("protected").as_string());
    return json::parse(*h).as_object();
  }
  void set_header(json::object h) {
    card["signatures"].as_array()[0].as_object()["protected"] = core::base64url_encode(json::serialize(h));
  }
  std::string sig() const { return std::string(card.at("signatures").at(0).at("signature").as_string()); }
  void set_sig(std::string_view b64) { card["signatures"].as_array()[0].as_object()["signature"] = b64; }
};

TEST_F(Signed, VerifiesWithTheJwks) {
  EXPECT_EQ(verify_card_signature(card, jwks), std::nullopt);
  auto h = header();
  EXPECT_EQ(h.at("alg"), "ES256");
  EXPECT_EQ(h.at("typ"), "JOSE");
  EXPECT_EQ(h.at("kid"), "gw-key-1");
  EXPECT_EQ(h.at("jku"), "https://gw.example/.well-known/jwks.json");
  EXPECT_EQ(card.at("signatures").as_array().size(), 1u);  // the runtime's signature is gone
  // Re-serialising the served card (any member order) verifies the same.
  auto round = json::parse(json::serialize(card)).as_object();
  EXPECT_EQ(verify_card_signature(round, jwks), std::nullopt);
  // Adding an empty member (not covered: canonical form drops it) still verifies.
  round["iconUrl"] = "";
  EXPECT_EQ(verify_card_signature(round, jwks), std::nullopt);
}

TEST_F(Signed, ChangedCardIsRefused) {
  auto c = card;
  c["name"] = "Helper2";
  EXPECT_NE(verify_card_signature(c, jwks), std::nullopt);
  c = card;
  c["supportedInterfaces"].as_array()[0].as_object()["url"] = "https://evil.example/a2a/helper";
  EXPECT_NE(verify_card_signature(c, jwks), std::nullopt);
  c = card;
  c["skills"].as_array().emplace_back(json::object{{"id", "added"}});
  EXPECT_NE(verify_card_signature(c, jwks), std::nullopt);
  c = card;
  c["capabilities"].as_object()["streaming"] = false;
  EXPECT_NE(verify_card_signature(c, jwks), std::nullopt);
  c = card;
  c["extra"] = 1;
  EXPECT_NE(verify_card_signature(c, jwks), std::nullopt);
}

TEST_F(Signed, TamperedHeaderIsRefused) {
  auto base = card;
  auto h = header();
  h["jku"] = "https://evil.example/jwks.json";  // the header is signed too
  set_header(h);
  EXPECT_NE(verify_card_signature(card, jwks), std::nullopt);
  for (const char* alg : {"none", "HS256", "ES384", "RS256", "es256"}) {
    card = base;
    auto g = header();
    g["alg"] = alg;
    set_header(g);
    EXPECT_NE(verify_card_signature(card, jwks), std::nullopt) << alg;
  }
  card = base;
  auto k = header();
  k["kid"] = "unknown";
  set_header(k);
  EXPECT_EQ(verify_card_signature(card, jwks), "a signature names a key the JWKS does not hold");
  card = base;
  auto t = header();
  t.erase("typ");
  set_header(t);
  EXPECT_NE(verify_card_signature(card, jwks), std::nullopt);
  card = base;
  auto cr = header();
  cr["crit"] = json::array{"b64"};
  cr["b64"] = false;
  set_header(cr);
  EXPECT_NE(verify_card_signature(card, jwks), std::nullopt);
  card = base;
  card["signatures"].as_array()[0].as_object()["protected"] = "not base64!";
  EXPECT_NE(verify_card_signature(card, jwks), std::nullopt);
  card = base;
  card["signatures"].as_array()[0].as_object()["protected"] = core::base64url_encode("[1]");
  EXPECT_NE(verify_card_signature(card, jwks), std::nullopt);
  card = base;
  card["signatures"].as_array()[0].as_object()["protected"] = core::base64url_encode(R"({"alg":"ES256","alg":"none"})");
  EXPECT_NE(verify_card_signature(card, jwks), std::nullopt);
}

TEST_F(Signed, TamperedSignatureIsRefused) {
  const std::string good = sig();
  auto raw = *core::base64url_decode(good);
  ASSERT_EQ(raw.size(), 64u);
  auto flip = raw;
  flip[10] ^= 1;
  set_sig(core::base64url_encode(flip));
  EXPECT_NE(verify_card_signature(card, jwks), std::nullopt);
  set_sig(core::base64url_encode(raw.substr(0, 63)));  // truncated
  EXPECT_NE(verify_card_signature(card, jwks), std::nullopt);
  set_sig(core::base64url_encode(raw + '\0'));  // one byte too many
  EXPECT_NE(verify_card_signature(card, jwks), std::nullopt);
  set_sig(core::base64url_encode(std::string(64, '\0')));  // r = s = 0
  EXPECT_NE(verify_card_signature(card, jwks), std::nullopt);
  set_sig("");
  EXPECT_NE(verify_card_signature(card, jwks), std::nullopt);
  set_sig(good + "=");  // padded base64url is not canonical
  EXPECT_NE(verify_card_signature(card, jwks), std::nullopt);
  // The untouched signature still verifies after the probes.
  set_sig(good);
  EXPECT_EQ(verify_card_signature(card, jwks), std::nullopt);
}

TEST_F(Signed, AnotherKeyWithTheSameKidIsRefused) {
  sign_card(card, other, "https://gw.example/.well-known/jwks.json");
  EXPECT_NE(verify_card_signature(card, jwks), std::nullopt);
  card.erase("signatures");
  EXPECT_EQ(verify_card_signature(card, jwks), "the card has no signatures");
  card["signatures"] = json::array{};
  EXPECT_EQ(verify_card_signature(card, jwks), "the card has no signatures");
}

TEST_F(Signed, V03CardSignsTheSameWay) {
  auto c = rewrite_card(parsed(kRuntimeV03), gateway(), CardShape::v0_3, nullptr);
  sign_card(c, key, "https://gw.example/.well-known/jwks.json");
  EXPECT_EQ(verify_card_signature(c, jwks), std::nullopt);
  c["url"] = "https://evil.example/";
  EXPECT_NE(verify_card_signature(c, jwks), std::nullopt);
}

}  // namespace
}  // namespace pc::a2a
