#include "auth/remote_keys.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "jose/sign.h"

namespace pc::auth {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = RemoteKeys::Clock;

const std::string kIss = "https://idp.test";
const std::string kDiscovery = "https://idp.test/.well-known/openid-configuration";
const std::string kJwksUri = "https://idp.test/keys";

std::string jwks_text(std::initializer_list<const jose::PrivateKey*> keys) {
  json::array a;
  for (const auto* k : keys) a.push_back(k->public_jwk());
  return json::serialize(json::object{{"keys", a}});
}

const jose::PrivateKey& key1() {
  static const jose::PrivateKey k = jose::PrivateKey::generate(jose::Alg::ES256, "k1");
  return k;
}
const jose::PrivateKey& key2() {
  static const jose::PrivateKey k = jose::PrivateKey::generate(jose::Alg::EdDSA, "k2");
  return k;
}

// Canned documents by URL; anything else is a 404. Records every URL asked for.
struct FakeIdp {
  std::map<std::string, FetchedDocument> docs;
  std::vector<std::string> asked;
  bool throw_transport_error = false;

  FetchFn fn() {
    return [this](const std::string& url) {
      asked.push_back(url);
      if (throw_transport_error) throw std::runtime_error("connect: connection refused");
      auto it = docs.find(url);
      if (it == docs.end()) return FetchedDocument{404, "", "not found"};
      return it->second;
    };
  }
  void discovery(std::string issuer, std::string jwks_uri = kJwksUri) {
    docs[kDiscovery] = {200, "", json::serialize(json::object{{"issuer", issuer}, {"jwks_uri", jwks_uri}})};
  }
  void jwks(std::string body, std::string cache_control = "max-age=600", int status = 200) {
    docs[kJwksUri] = {status, std::move(cache_control), std::move(body)};
  }
};

core::IssuerConfig config() {
  core::IssuerConfig c;
  c.name = "corp";
  c.issuer = kIss;
  c.discovery = true;
  c.audiences = {"api://portcullis"};
  return c;  // jwks_cache: min 60, max 86400, refetch interval 30
}

class RemoteKeysTest : public ::testing::Test {
 protected:
  std::unique_ptr<RemoteKeys> keys(core::IssuerConfig c = config()) {
    return std::make_unique<RemoteKeys>(std::move(c), idp.fn(), [this] { ++changes; });
  }
  FakeIdp idp;
  int changes = 0;
  const Clock::time_point t0 = Clock::time_point{} + 1000h;
};

TEST_F(RemoteKeysTest, NothingBeforeTheFirstRefresh) {
  auto k = keys();
  EXPECT_FALSE(k->has_keys());
  EXPECT_EQ(k->current(), nullptr);
  EXPECT_TRUE(idp.asked.empty()) << "construction does no I/O";
}

TEST_F(RemoteKeysTest, DiscoveryThenJwksPublishesTheKeys) {
  idp.discovery(kIss);
  idp.jwks(jwks_text({&key1(), &key2()}));
  auto k = keys();
  EXPECT_EQ(k->refresh(t0), "");
  ASSERT_TRUE(k->has_keys());
  ASSERT_NE(k->current(), nullptr);
  EXPECT_EQ(k->current()->size(), 2u);
  EXPECT_EQ(k->current()->find("k1").size(), 1u);
  EXPECT_EQ(changes, 1);
  EXPECT_EQ(idp.asked, (std::vector<std::string>{kDiscovery, kJwksUri}));
  EXPECT_EQ(k->next_refresh(), t0 + 600s);
}

TEST_F(RemoteKeysTest, DiscoveryUrlIgnoresATrailingSlashButTheIssuerMustMatchExactly) {
  auto c = config();
  c.issuer = kIss + "/";
  idp.discovery(kIss + "/");
  idp.jwks(jwks_text({&key1()}));
  auto k = keys(c);
  EXPECT_EQ(k->refresh(t0), "");
  EXPECT_EQ(idp.asked.front(), kDiscovery);
  EXPECT_TRUE(k->has_keys());
}

TEST_F(RemoteKeysTest, DiscoveryNamingAnotherIssuerIsRefused) {
  idp.jwks(jwks_text({&key1()}));
  for (const std::string& other : std::vector<std::string>{"https://evil.test", kIss + "/", "https://IDP.test", ""}) {
    idp.asked.clear();
    idp.discovery(other);
    auto k = keys();
    const std::string why = k->refresh(t0);
    EXPECT_NE(why, "") << other;
    EXPECT_NE(why.find("issuer"), std::string::npos) << why;
    EXPECT_FALSE(k->has_keys()) << other;
    EXPECT_EQ(idp.asked, (std::vector<std::string>{kDiscovery})) << "the jwks_uri of a mismatched document was fetched";
  }
  // Issuer missing or not a string.
  idp.docs[kDiscovery] = {200, "", R"({"jwks_uri":"https://idp.test/keys"})"};
  EXPECT_NE(keys()->refresh(t0), "");
  idp.docs[kDiscovery] = {200, "", R"({"issuer":["https://idp.test"],"jwks_uri":"https://idp.test/keys"})"};
  EXPECT_NE(keys()->refresh(t0), "");
  EXPECT_EQ(changes, 0);
}

TEST_F(RemoteKeysTest, DiscoveryWithoutJwksUriIsRefused) {
  idp.jwks(jwks_text({&key1()}));
  for (const char* body : {R"({"issuer":"https://idp.test"})", R"({"issuer":"https://idp.test","jwks_uri":""})",
                           R"({"issuer":"https://idp.test","jwks_uri":42})"}) {
    idp.docs[kDiscovery] = {200, "", body};
    auto k = keys();
    const std::string why = k->refresh(t0);
    EXPECT_NE(why.find("jwks_uri"), std::string::npos) << body << " -> " << why;
    EXPECT_FALSE(k->has_keys());
  }
}

TEST_F(RemoteKeysTest, BrokenDiscoveryDocumentsAreRefused) {
  idp.jwks(jwks_text({&key1()}));
  for (const FetchedDocument& d :
       {FetchedDocument{500, "", R"({"issuer":"https://idp.test","jwks_uri":"https://idp.test/keys"})"},
        FetchedDocument{200, "", "not json"}, FetchedDocument{200, "", R"(["https://idp.test"])"},
        FetchedDocument{200, "", ""}, FetchedDocument{200, "", std::string(100, '[') + std::string(100, ']')}}) {
    idp.docs[kDiscovery] = d;
    auto k = keys();
    EXPECT_NE(k->refresh(t0), "") << d.status << " " << d.body;
    EXPECT_FALSE(k->has_keys());
  }
  EXPECT_EQ(changes, 0);
}

TEST_F(RemoteKeysTest, ConfiguredJwksUriSkipsDiscovery) {
  auto c = config();
  c.discovery = false;
  c.jwks_uri = kJwksUri;
  idp.jwks(jwks_text({&key1()}));
  auto k = keys(c);
  EXPECT_EQ(k->refresh(t0), "");
  EXPECT_EQ(idp.asked, (std::vector<std::string>{kJwksUri}));
  EXPECT_TRUE(k->has_keys());
}

TEST_F(RemoteKeysTest, JwksErrorStatusIsAFailure) {
  idp.discovery(kIss);
  for (int status : {201, 204, 301, 404, 500, 503}) {
    idp.jwks(jwks_text({&key1()}), "max-age=600", status);
    auto k = keys();
    const std::string why = k->refresh(t0);
    EXPECT_NE(why.find(std::to_string(status)), std::string::npos) << why;
    EXPECT_FALSE(k->has_keys());
  }
  EXPECT_EQ(changes, 0);
}

TEST_F(RemoteKeysTest, TransportErrorIsAFailure) {
  idp.throw_transport_error = true;
  auto k = keys();
  EXPECT_NE(k->refresh(t0).find("connection refused"), std::string::npos);
  EXPECT_FALSE(k->has_keys());
  EXPECT_LE(k->next_refresh(), t0 + 10s);
}

TEST_F(RemoteKeysTest, EmptyOrUnusableSetIsAFailureThatKeepsTheOldKeys) {
  idp.discovery(kIss);
  idp.jwks(jwks_text({&key1()}));
  auto k = keys();
  ASSERT_EQ(k->refresh(t0), "");
  ASSERT_EQ(changes, 1);
  const jose::JwkSet* before = k->current();
  ASSERT_NE(before, nullptr);

  const std::string unusable[] = {
      R"({"keys":[]})",
      R"({"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"hmac"}]})",          // symmetric: never
      R"({"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}]})",  // not a point
      R"({"keys":[{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"}]})",
      R"({"nokeys":true})",
      "garbage",
  };
  for (const auto& body : unusable) {
    idp.jwks(body);
    EXPECT_NE(k->refresh(t0 + 700s), "") << body;
    ASSERT_TRUE(k->has_keys()) << body;
    EXPECT_EQ(k->current()->size(), 1u) << body;
    EXPECT_EQ(k->current()->find("k1").size(), 1u) << body;
  }
  EXPECT_EQ(changes, 1) << "a failed refresh must not signal a key change";
}

TEST_F(RemoteKeysTest, OnChangeRunsOnlyWhenTheSetChanged) {
  idp.discovery(kIss);
  idp.jwks(jwks_text({&key1()}));
  auto k = keys();
  ASSERT_EQ(k->refresh(t0), "");
  EXPECT_EQ(changes, 1);
  ASSERT_EQ(k->refresh(t0 + 601s), "");
  EXPECT_EQ(changes, 1) << "the same document is not a change";
  EXPECT_EQ(k->current()->size(), 1u);

  idp.jwks(jwks_text({&key1(), &key2()}));
  ASSERT_EQ(k->refresh(t0 + 1202s), "");
  EXPECT_EQ(changes, 2);
  EXPECT_EQ(k->current()->size(), 2u);

  idp.jwks(jwks_text({&key2()}));  // k1 rotated out
  ASSERT_EQ(k->refresh(t0 + 1803s), "");
  EXPECT_EQ(changes, 3);
  EXPECT_TRUE(k->current()->find("k1").empty());
}

TEST_F(RemoteKeysTest, NextRefreshFollowsCacheControl) {
  idp.discovery(kIss);
  idp.jwks(jwks_text({&key1()}), "public, max-age=3600");
  auto k = keys();
  ASSERT_EQ(k->refresh(t0), "");
  EXPECT_EQ(k->next_refresh(), t0 + 3600s);
  idp.jwks(jwks_text({&key1()}), "no-store");
  ASSERT_EQ(k->refresh(t0 + 1h), "");
  EXPECT_EQ(k->next_refresh(), t0 + 1h + 60s);
  idp.jwks(jwks_text({&key1()}), "");
  ASSERT_EQ(k->refresh(t0 + 2h), "");
  EXPECT_EQ(k->next_refresh(), t0 + 2h + 300s);
}

TEST_F(RemoteKeysTest, FailureKeepsStaleKeysAndRetriesSoon) {
  idp.discovery(kIss);
  idp.jwks(jwks_text({&key1()}), "max-age=86400");
  auto k = keys();
  ASSERT_EQ(k->refresh(t0), "");
  ASSERT_EQ(k->next_refresh(), t0 + 86400s);

  idp.jwks("", "", 503);
  const auto t1 = t0 + 86400s;
  EXPECT_NE(k->refresh(t1), "");
  EXPECT_TRUE(k->has_keys()) << "an IdP outage must not drop the keys we have";
  EXPECT_GT(k->next_refresh(), t1);
  EXPECT_LE(k->next_refresh(), t1 + 10s);

  // A short min_seconds shortens the retry too.
  auto c = config();
  c.jwks_cache.min_seconds = 3;
  auto fast = keys(c);
  EXPECT_NE(fast->refresh(t0), "");
  EXPECT_EQ(fast->next_refresh(), t0 + 3s);

  // A failed discovery also keeps the keys.
  idp.docs.erase(kDiscovery);
  EXPECT_NE(k->refresh(t1 + 10s), "");
  EXPECT_TRUE(k->has_keys());
  EXPECT_LE(k->next_refresh(), t1 + 20s);
}

TEST(RemoteKeysTtl, ClampsMaxAgeAndHandlesDirectives) {
  core::JwksCacheConfig c;  // min 60, max 86400
  const std::pair<const char*, std::uint32_t> cases[] = {
      {"max-age=600", 600},
      {"public, max-age=3600", 3600},
      {"max-age=3600, must-revalidate", 3600},
      {"MAX-AGE=120", 120},
      {"max-age=5", 60},
      {"max-age=0", 60},
      {"max-age=86400", 86400},
      {"max-age=999999999", 86400},
      {"max-age=99999999999999999999999999", 86400},  // overflows: clamped, not wrapped
      {"max-age=4294967296", 86400},                  // 2^32: must not wrap to 0
      {"no-store", 60},
      {"no-cache", 60},
      {"No-Cache, max-age=600", 60},
      {"private, no-store, max-age=3600", 60},
      {"", 300},
      {"public", 300},
      {"s-maxage=10", 300},
      {"max-age=", 300},
      {"max-age=abc", 300},
      {"max-age=-5", 300},
  };
  for (const auto& [cc, want] : cases) EXPECT_EQ(RemoteKeys::ttl_seconds(cc, c), want) << cc;
}

TEST(RemoteKeysTtl, DefaultIsClampedToo) {
  core::JwksCacheConfig c;
  c.min_seconds = 600;
  c.max_seconds = 900;
  EXPECT_EQ(RemoteKeys::ttl_seconds("", c), 600u);
  EXPECT_EQ(RemoteKeys::ttl_seconds("max-age=100000", c), 900u);
  EXPECT_EQ(RemoteKeys::ttl_seconds("no-cache", c), 600u);
  c.min_seconds = 10;
  c.max_seconds = 100;
  EXPECT_EQ(RemoteKeys::ttl_seconds("", c), 100u);
}

TEST_F(RemoteKeysTest, RefetchIsRateLimited) {
  auto k = keys();  // refetch interval 30 s
  EXPECT_TRUE(k->allow_refetch(t0));
  EXPECT_FALSE(k->allow_refetch(t0));
  EXPECT_FALSE(k->allow_refetch(t0 + 29s));
  EXPECT_TRUE(k->allow_refetch(t0 + 30s));
  EXPECT_FALSE(k->allow_refetch(t0 + 31s)) << "the interval counts from the last allowed refetch";
  EXPECT_FALSE(k->allow_refetch(t0 + 59s));
  EXPECT_TRUE(k->allow_refetch(t0 + 60s));
  EXPECT_TRUE(idp.asked.empty()) << "the rate limit does no I/O";

  auto c = config();
  c.jwks_cache.refetch_interval_seconds = 1;
  auto quick = keys(c);
  EXPECT_TRUE(quick->allow_refetch(t0));
  EXPECT_FALSE(quick->allow_refetch(t0 + 999ms));
  EXPECT_TRUE(quick->allow_refetch(t0 + 1s));
}


// Two refreshes overlap (start-up's refresh_all_now and the refresher thread): the one that
// started first fetches the old set but finishes last. The newer set stays published.
TEST_F(RemoteKeysTest, AnOlderFetchFinishingLastDoesNotReplaceANewerOne) {
  auto c = config();
  c.discovery = false;
  c.jwks_uri = kJwksUri;
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  bool newer_published = false;
  FetchFn fetch = [&](const std::string&) {
    std::unique_lock lock(mu);
    const int call = ++calls;
    cv.notify_all();
    if (call == 1) {  // the old document, handed over only after the newer refresh is done
      cv.wait_for(lock, 5s, [&] { return newer_published; });
      return FetchedDocument{200, "max-age=600", jwks_text({&key1()})};
    }
    return FetchedDocument{200, "max-age=600", jwks_text({&key1(), &key2()})};
  };
  RemoteKeys k(c, fetch);
  std::thread older([&] { k.refresh(t0); });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return calls == 1; }));
  }
  k.refresh(t0);
  {
    std::lock_guard lock(mu);
    newer_published = true;
    cv.notify_all();
  }
  older.join();
  ASSERT_NE(k.current(), nullptr);
  EXPECT_EQ(k.current()->size(), 2u) << "the older fetch's key set was published over the newer one";
  EXPECT_EQ(k.current()->find("k2").size(), 1u);
}

}  // namespace
}  // namespace pc::auth
