// CardCache: fetch order (1.0 path with A2A-Version 1.0, then the 0.3 path), the registered
// origin only, refresh behind a served card, bounded staleness, backoff after failures, skills
// per tenant through capabilities, and rendering (signed, cached per variant).
#include "a2a/card_cache.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <deque>

#include "a2a/card.h"
#include "agents/catalog.h"
#include "jose/jwks.h"
#include "jose/sign.h"
#include "tenancy/capabilities.h"

namespace pc::a2a {
namespace {
namespace json = boost::json;
using Clock = std::chrono::system_clock;

const char* kCard = R"({"name":"H","supportedInterfaces":[{"url":"http://elsewhere.example:1/rpc","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
  "capabilities":{"streaming":true},"skills":[{"id":"echo","name":"Echo"},{"id":"secret","name":"Secret"}]})";

struct Call {
  net::UpstreamCall call;
  std::function<void(net::UpstreamReply&&)> done;
};

struct CardCacheTest : ::testing::Test {
  std::deque<Call> calls;  // fetches waiting for an answer
  Clock::time_point now = Clock::time_point(std::chrono::seconds(1'000'000));
  std::shared_ptr<const jose::PrivateKey> key =
      std::make_shared<const jose::PrivateKey>(jose::PrivateKey::generate(jose::Alg::ES256, "k1"));
  tenancy::Capabilities caps;
  std::unique_ptr<CardCache> cache;
  agents::AgentEntry agent{"helper", "", "basic", "a2a", "1", "http", "127.0.0.1", 4000};

  void SetUp() override {
    CardCacheOptions o;
    o.refresh_seconds = 60;
    o.max_stale_seconds = 600;
    o.retry_after = std::chrono::milliseconds(1000);
    o.base_url = [] { return std::string("https://gw.example"); };
    o.issuer = [] { return std::string("https://gw.example"); };
    o.signing_key = [this] { return key; };
    o.capabilities = &caps;
    o.fetch = [this](net::UpstreamCall c, std::function<void(net::UpstreamReply&&)> d) {
      calls.push_back({std::move(c), std::move(d)});
    };
    o.now = [this] { return now; };
    cache = make_card_cache(std::move(o));
  }

  void answer(int status, std::string body, std::string error = "") {
    ASSERT_FALSE(calls.empty());
    auto c = std::move(calls.front());
    calls.pop_front();
    net::UpstreamReply r;
    r.status = status;
    r.body = std::move(body);
    r.error = std::move(error);
    c.done(std::move(r));
  }

  struct Got {
    bool called = false;
    std::shared_ptr<const CardEntry> entry;
    std::string error;
  };
  std::shared_ptr<Got> get() {
    auto g = std::make_shared<Got>();
    cache->get(agent, [g](std::shared_ptr<const CardEntry> e, std::string err) {
      EXPECT_FALSE(g->called) << "done ran twice";
      g->called = true;
      g->entry = std::move(e);
      g->error = std::move(err);
    });
    return g;
  }
};

TEST_F(CardCacheTest, FetchesFromTheRegisteredOriginOnly) {
  auto g = get();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_FALSE(g->called);
  const auto& c = calls.front().call;
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.port, 4000);
  EXPECT_EQ(c.method, "GET");
  EXPECT_EQ(c.target, "/.well-known/agent-card.json");
  bool v1 = false;
  for (const auto& h : c.headers) v1 = v1 || (h.name == "A2A-Version" && h.value == "1.0");
  EXPECT_TRUE(v1);
  answer(200, kCard);
  ASSERT_TRUE(g->called);
  ASSERT_TRUE(g->entry);
  EXPECT_EQ(g->error, "");
  EXPECT_EQ(g->entry->interfaces.jsonrpc_path, "/rpc");  // the card's origin is ignored
  EXPECT_TRUE(g->entry->interfaces.streaming);
  EXPECT_TRUE(calls.empty());
}

TEST_F(CardCacheTest, FallsBackToTheLegacyPath) {
  auto g = get();
  answer(404, "not found");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls.front().call.target, "/.well-known/agent.json");
  for (const auto& h : calls.front().call.headers) EXPECT_NE(h.name, "A2A-Version");
  answer(200, R"({"name":"old","url":"http://x/rpc","preferredTransport":"JSONRPC","protocolVersion":"0.3.0"})");
  ASSERT_TRUE(g->entry);
  EXPECT_EQ(g->entry->interfaces.jsonrpc_path, "/rpc");
  EXPECT_EQ(g->entry->interfaces.protocol_version, "0.3.0");
}

TEST_F(CardCacheTest, NoCardIsUnavailableAndBacksOff) {
  auto g = get();
  answer(0, "", "upstream_unavailable");  // a runtime that does not answer is not asked twice
  ASSERT_TRUE(g->called);
  EXPECT_FALSE(g->entry);
  EXPECT_EQ(g->error, "card_unavailable");
  EXPECT_TRUE(calls.empty());
  // Within retry_after: answered at once, no fetch.
  auto g2 = get();
  EXPECT_TRUE(g2->called);
  EXPECT_EQ(g2->error, "card_unavailable");
  EXPECT_TRUE(calls.empty());
  now += std::chrono::seconds(2);
  auto g3 = get();
  ASSERT_EQ(calls.size(), 1u);
  answer(200, "{not json");
  answer(200, R"({"name":"only grpc","supportedInterfaces":[{"url":"grpc://h:1","protocolBinding":"GRPC"}]})");
  EXPECT_EQ(g3->error, "card_unavailable");
}

TEST_F(CardCacheTest, WaitersShareOneFetch) {
  auto a = get();
  auto b = get();
  EXPECT_EQ(calls.size(), 1u);
  answer(200, kCard);
  ASSERT_TRUE(a->entry && b->entry);
  EXPECT_EQ(a->entry, b->entry);
}

TEST_F(CardCacheTest, RefreshesBehindTheServedCardThenBoundsStaleness) {
  get();
  answer(200, kCard);
  auto first = get();
  ASSERT_TRUE(first->called);
  EXPECT_TRUE(calls.empty());  // fresh: no fetch
  now += std::chrono::seconds(61);
  auto stale = get();
  ASSERT_TRUE(stale->called);  // served at once while the refresh runs
  EXPECT_EQ(stale->entry, first->entry);
  ASSERT_EQ(calls.size(), 1u);
  answer(503, "down");  // 1.0 path
  answer(503, "down");  // 0.3 path
  auto still = get();
  EXPECT_EQ(still->entry, first->entry);  // within max_stale: still served
  now += std::chrono::seconds(600);
  auto too_old = get();
  EXPECT_FALSE(too_old->called);  // waits for the refetch
  ASSERT_EQ(calls.size(), 1u);
  answer(0, "", "upstream_timeout");
  ASSERT_TRUE(too_old->called);
  EXPECT_FALSE(too_old->entry);
  EXPECT_EQ(too_old->error, "card_stale");
  auto again = get();  // backoff: at once
  EXPECT_EQ(again->error, "card_stale");
  now += std::chrono::seconds(2);
  auto back = get();
  answer(200, kCard);
  ASSERT_TRUE(back->entry);
  EXPECT_NE(back->entry, first->entry);
  EXPECT_EQ(back->entry->fetched_at, now);
}

TEST_F(CardCacheTest, ANewOriginDropsTheOldCard) {
  get();
  answer(200, kCard);
  agent.port = 4001;
  auto g = get();
  EXPECT_FALSE(g->called);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls.front().call.port, 4001);
  answer(0, "", "upstream_unavailable");
  EXPECT_EQ(g->error, "card_unavailable");
}

TEST_F(CardCacheTest, RendersSignedCardsWithSkillsPerTenant) {
  auto g = get();
  answer(200, kCard);
  ASSERT_TRUE(g->entry);
  // agents.helper.skills.secret exists and is restricted to tenant t-1.
  store::CapabilityRecord rec;
  rec.name = "agents.helper.skills.secret";
  rec.enabled = true;
  rec.tenant_allow_list = {"t-1"};
  caps.publish({rec});
  auto jwks = jose::JwkSet::parse(json::serialize(json::object{{"keys", json::array{key->public_jwk()}}}));

  const std::string for_t1 = cache->render(agent, *g->entry, {"t-1", "basic"});
  const std::string for_t2 = cache->render(agent, *g->entry, {"t-2", "basic"});
  auto c1 = json::parse(for_t1).as_object();
  auto c2 = json::parse(for_t2).as_object();
  EXPECT_EQ(c1.at("skills").as_array().size(), 2u);
  ASSERT_EQ(c2.at("skills").as_array().size(), 1u);
  EXPECT_EQ(c2.at("skills").at(0).at("id"), "echo");
  EXPECT_EQ(verify_card_signature(c1, jwks), std::nullopt);
  EXPECT_EQ(verify_card_signature(c2, jwks), std::nullopt);
  EXPECT_EQ(c1.at("supportedInterfaces").at(0).at("url"), "https://gw.example/a2a/helper");
  // Same variant: the same text (cached, not re-signed: ECDSA signatures differ every time).
  EXPECT_EQ(cache->render(agent, *g->entry, {"t-1", "basic"}), for_t1);
  // The 0.3 shape.
  auto old = json::parse(cache->render_v03(agent, *g->entry, {"t-2", "basic"})).as_object();
  EXPECT_EQ(old.at("url"), "https://gw.example/a2a/helper");
  EXPECT_EQ(old.at("skills").as_array().size(), 1u);
  EXPECT_EQ(verify_card_signature(old, jwks), std::nullopt);
  // An extended card is rewritten the same way.
  json::object ext = json::parse(kCard).as_object();
  ext["skills"].as_array().emplace_back(json::object{{"id", "extra"}});
  auto x = json::parse(cache->render(agent, *g->entry, {"t-2", "basic"}, &ext)).as_object();
  EXPECT_EQ(x.at("skills").as_array().size(), 2u);  // echo, extra (secret still hidden)
  EXPECT_EQ(verify_card_signature(x, jwks), std::nullopt);
  // A new signing key: a new signature.
  key = std::make_shared<const jose::PrivateKey>(jose::PrivateKey::generate(jose::Alg::ES256, "k2"));
  auto rotated = json::parse(cache->render(agent, *g->entry, {"t-1", "basic"})).as_object();
  EXPECT_NE(verify_card_signature(rotated, jwks), std::nullopt);  // old JWKS lacks k2
  // No key: refuse to serve an unsigned card.
  key = nullptr;
  EXPECT_THROW(cache->render(agent, *g->entry, {"t-3", "basic"}), std::runtime_error);
}

}  // namespace
}  // namespace pc::a2a
