// Authenticator::authenticate on one thread: what a request's bearer token costs the gateway.
//
// The request path asks the Authenticator once per request. A token seen before on this thread is
// answered from the verified-token cache (SHA-256 of the token, a hash lookup, the tenant check);
// a new one walks the whole JOSE chain. bench/verify.sh prints the cache-hit rate against the goal
// (>= 2,000,000 per second per core) and the parts it is made of, measured here one by one:
//   BM_Authenticate_CacheHit/{ES256,RS256}   the hot path, one token used over and over
//   BM_Authenticate_CacheHit_1000Tokens      the same over 1000 cached tokens, round robin
//   BM_TokenDigest/{ES256,RS256}             TokenCache::digest alone (SHA-256 of the token)
//   BM_TokenCacheFind                        TokenCache::find alone, digest precomputed
//   BM_TenantDirectoryFind                   TenantDirectory::find alone (the per-request tenant check)
//   BM_Authenticate_Uncached/{ES256,RS256}   every call a miss (cache size 0): full verification
//
// The issuers are set up as the gateway sets them up: the built-in issuer (ES256, key ring
// published into a PublishedKeys) and an external issuer with a static JWKS (RS256). The tokens
// are shaped like the real ones: the ES256 one has exactly the claims TokenService::mint writes
// (~660 bytes), the RS256 one those bench/make-token.mjs writes for the HAProxy comparison
// (~870 bytes).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "auth/authenticator.h"
#include "auth/key_source.h"
#include "auth/token_cache.h"
#include "core/base64url.h"
#include "jose/jwk.h"
#include "jose/jwks.h"
#include "jose/sign.h"
#include "store/store.h"
#include "tenancy/tenant_directory.h"

namespace {

namespace json = boost::json;
using namespace pc;

const std::int64_t kNow =
    std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
constexpr const char* kBuiltinIssuer = "http://127.0.0.1:40091";
constexpr const char* kExternalIssuer = "https://bench.example";

[[noreturn]] void die(const std::string& why) {
  std::cerr << "bench_auth: " << why << "\n";
  std::exit(2);
}

// The payload TokenService::mint writes for a demo client (client_credentials).
json::object builtin_claims(int n) {
  const std::string client = "demo-ec9a3172bdcc9165";
  char jti[40];
  std::snprintf(jti, sizeof jti, "b1425f23-a43d-4569-abce-%012d", n);
  return {{"iss", kBuiltinIssuer},
          {"sub", client},
          {"aud", kBuiltinIssuer},
          {"iat", kNow - 10},
          {"nbf", kNow - 10},
          {"exp", kNow + 900},
          {"jti", jti},
          {"client_id", client},
          {"tenantid", "demo"},
          {"appid", client},
          {"roles", json::array{"Machine.Invoke", "Agent.Invoke", "SelfService.Admin"}},
          {"scope", "agents:invoke mcp:tools"}};
}

// The payload bench/make-token.mjs signs for the external issuer.
json::object external_claims() {
  return {{"tenantid", "demo"},
          {"appid", "bench-orchestrator"},
          {"client_id", "0f9e8d7c-6b5a-4f3e-2d1c-0b9a8f7e6d5c"},
          {"roles", json::array{"Agent.Invoke"}},
          {"scope", "agents:invoke mcp:tools"},
          {"iss", kExternalIssuer},
          {"aud", "bench"},
          {"sub", "b4d2e6f0-1a3c-4e5f-8a9b-0c1d2e3f4a5b"},
          {"jti", "9298f1a2-2dfb-46d3-ad64-5385b1bcb755"},
          {"iat", kNow - 60},
          {"nbf", kNow - 60},
          {"exp", kNow + 86400}};
}

std::string b64_bn(EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) die("cannot read RSA parameter");
  std::string bytes(std::size_t(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
  BN_free(bn);
  return core::base64url_encode(bytes);
}

std::string rsa_sign(EVP_PKEY* pkey, const std::string& input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t len = 0;
  std::string sig;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (!ctx || EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pkey) != 1 ||
      EVP_DigestSign(ctx, nullptr, &len, in, input.size()) != 1)
    die("RSA signing setup failed");
  sig.resize(len);
  if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size()) != 1)
    die("RSA signing failed");
  EVP_MD_CTX_free(ctx);
  sig.resize(len);
  return sig;
}

std::shared_ptr<auth::PublishedKeys> key_set(const json::array& keys) {
  auto published = std::make_shared<auth::PublishedKeys>();
  published->publish(std::make_shared<jose::JwkSet>(jose::JwkSet::parse(json::serialize(json::object{{"keys", keys}}))));
  return published;
}

// Everything the benchmarks share, built once: the tenant directory, the two issuers and tokens.
struct World {
  tenancy::TenantDirectory tenants;
  std::vector<auth::TrustedIssuer> issuers;
  std::string es256;                      // built-in issuer, like POST /oauth2/token hands out
  std::vector<std::string> es256_many;    // 1000 distinct built-in tokens (distinct jti)
  std::string rs256;                      // external issuer, like bench/make-token.mjs

  World() {
    store::TenantRecord demo;
    demo.tenant_id = "demo";
    demo.display_name = "Demo Inc.";
    demo.tier = "standard";
    demo.status = "active";
    demo.revision = 1;
    tenants.apply(demo);

    auto ec = jose::PrivateKey::generate(jose::Alg::ES256, "pc-6bd805d809671d89");
    es256 = jose::make_jws(ec, {{"typ", "at+jwt"}}, builtin_claims(0));
    for (int i = 1; i <= 1000; ++i) es256_many.push_back(jose::make_jws(ec, {{"typ", "at+jwt"}}, builtin_claims(i)));

    jose::EvpPkeyPtr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}));
    if (!rsa) die("RSA key generation failed");
    const json::object rsa_jwk = {{"kty", "RSA"}, {"kid", "bench-rs256"}, {"alg", "RS256"}, {"use", "sig"},
                                  {"n", b64_bn(rsa.get(), OSSL_PKEY_PARAM_RSA_N)},
                                  {"e", b64_bn(rsa.get(), OSSL_PKEY_PARAM_RSA_E)}};
    const std::string input =
        core::base64url_encode(json::serialize(json::object{{"alg", "RS256"}, {"typ", "at+jwt"}, {"kid", "bench-rs256"}})) +
        "." + core::base64url_encode(json::serialize(external_claims()));
    rs256 = input + "." + core::base64url_encode(rsa_sign(rsa.get(), input));

    auth::TrustedIssuer builtin;  // as Gateway::Parts::configure_locked builds it
    builtin.name = "builtin";
    builtin.issuer = kBuiltinIssuer;
    builtin.audiences = {kBuiltinIssuer};
    builtin.algorithms = {jose::Alg::ES256};
    builtin.leeway_seconds = 30;
    builtin.max_lifetime_seconds = 3600;
    builtin.keys = key_set(json::array{ec.public_jwk()});
    issuers.push_back(std::move(builtin));

    core::IssuerConfig ic;  // as configured in bench/run.sh
    ic.name = "bench";
    ic.issuer = kExternalIssuer;
    ic.discovery = false;
    ic.audiences = {"bench"};
    ic.algorithms = {"RS256"};
    auth::TrustedIssuer external = auth::trusted_issuer(ic);
    external.keys = key_set(json::array{rsa_jwk});
    issuers.push_back(std::move(external));
  }

  std::unique_ptr<auth::Authenticator> authenticator(std::size_t cache_entries) const {
    auto a = std::make_unique<auth::Authenticator>(tenants, cache_entries);
    a->set_issuers(issuers);
    return a;
  }
};

const World& world() {
  static const World w;
  return w;
}

// The cached authenticator is shared by the cache-hit benchmarks (the thread's cache belongs to
// whichever Authenticator used it last; each benchmark warms it before timing).
const auth::Authenticator& cached() {
  static const auto a = world().authenticator(16384);
  return *a;
}
const auth::Authenticator& uncached() {
  static const auto a = world().authenticator(0);
  return *a;
}

void expect_ok(const auth::AuthResult& r, bool cached) {
  if (r.status != auth::AuthResult::Status::ok) die("authenticate failed: " + r.reason + ": " + r.detail);
  if (r.cached != cached) die(cached ? "expected a cache hit" : "expected a cache miss");
  if (r.principal->tenant != "demo" || r.tier != "standard") die("unexpected principal");
}

void run_cache_hit(benchmark::State& state, const std::string& token) {
  const auth::Authenticator& a = cached();
  a.authenticate(token, kNow);                     // miss: verifies and caches
  expect_ok(a.authenticate(token, kNow), true);  // from now on, hits
  for (auto _ : state) {
    auth::AuthResult r = a.authenticate(token, kNow);
    benchmark::DoNotOptimize(r);
  }
  expect_ok(a.authenticate(token, kNow), true);
  state.SetItemsProcessed(state.iterations());
  state.counters["token_bytes"] = double(token.size());
}

void BM_Authenticate_CacheHit_ES256(benchmark::State& s) { run_cache_hit(s, world().es256); }
void BM_Authenticate_CacheHit_RS256(benchmark::State& s) { run_cache_hit(s, world().rs256); }

// 1000 distinct tokens in the cache, presented round robin: the lookup leaves L1 as it would in
// a gateway serving many clients.
void BM_Authenticate_CacheHit_1000Tokens(benchmark::State& state) {
  const auth::Authenticator& a = cached();
  const auto& tokens = world().es256_many;
  for (const auto& t : tokens) a.authenticate(t, kNow);
  for (const auto& t : tokens) expect_ok(a.authenticate(t, kNow), true);
  std::size_t i = 0;
  for (auto _ : state) {
    auth::AuthResult r = a.authenticate(tokens[i], kNow);
    benchmark::DoNotOptimize(r);
    if (++i == tokens.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

void run_digest(benchmark::State& state, const std::string& token) {
  for (auto _ : state) {
    auto d = auth::TokenCache::digest(token);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * std::int64_t(token.size()));
}

void BM_TokenDigest_ES256(benchmark::State& s) { run_digest(s, world().es256); }
void BM_TokenDigest_RS256(benchmark::State& s) { run_digest(s, world().rs256); }

// The lookup alone, in a cache holding 1000 entries, always the same key.
void BM_TokenCacheFind(benchmark::State& state) {
  auth::TokenCache cache(16384);
  auto principal = std::make_shared<const auth::Principal>();
  for (const auto& t : world().es256_many) cache.insert(auth::TokenCache::digest(t), principal, kNow + 900, 1, kNow);
  const auto key = auth::TokenCache::digest(world().es256_many[500]);
  for (auto _ : state) {
    const auto* hit = cache.find(key, kNow, 1);
    if (!hit) die("TokenCache::find missed");
    benchmark::DoNotOptimize(hit);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_TenantDirectoryFind(benchmark::State& state) {
  const auto& tenants = world().tenants;
  for (auto _ : state) {
    const auto* t = tenants.find("demo");
    if (!t || !t->active()) die("tenant demo not found");
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(state.iterations());
}

void run_uncached(benchmark::State& state, const std::string& token) {
  const auth::Authenticator& a = uncached();
  expect_ok(a.authenticate(token, kNow), false);
  for (auto _ : state) {
    auth::AuthResult r = a.authenticate(token, kNow);
    benchmark::DoNotOptimize(r);
  }
  expect_ok(a.authenticate(token, kNow), false);
  state.SetItemsProcessed(state.iterations());
  state.counters["token_bytes"] = double(token.size());
}

void BM_Authenticate_Uncached_ES256(benchmark::State& s) { run_uncached(s, world().es256); }
void BM_Authenticate_Uncached_RS256(benchmark::State& s) { run_uncached(s, world().rs256); }

BENCHMARK(BM_Authenticate_CacheHit_ES256);
BENCHMARK(BM_Authenticate_CacheHit_RS256);
BENCHMARK(BM_Authenticate_CacheHit_1000Tokens);
BENCHMARK(BM_TokenDigest_ES256);
BENCHMARK(BM_TokenDigest_RS256);
BENCHMARK(BM_TokenCacheFind);
BENCHMARK(BM_TenantDirectoryFind);
BENCHMARK(BM_Authenticate_Uncached_ES256);
BENCHMARK(BM_Authenticate_Uncached_RS256);

}  // namespace

BENCHMARK_MAIN();
