// JWT verification throughput, single-threaded: the full verify_jws chain (parse, header rules,
// signature, claims) for realistic RS256 and ES256 access tokens, and the signature step alone.
// bench/verify.sh compares the numbers with `openssl speed rsa2048 ecdsap256`, whose verify
// loops are the ceiling: they reuse one prepared context and verify a fixed 32-byte digest.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "core/base64url.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "jose/sign.h"
#include "jose/verify.h"

namespace {

namespace json = boost::json;
using namespace pc::jose;

constexpr std::int64_t kNow = 1'700'000'000;

[[noreturn]] void die(const std::string& why) {
  std::cerr << "bench_verify: " << why << "\n";
  std::exit(2);
}

// Claims shaped like an Entra ID / Okta access token for an agent-calling app.
json::object claims() {
  return {{"iss", "https://login.example.com/6f1c2a9e-4b1d-4c8e-9a55-3d2f0b7e8c11/v2.0"},
          {"sub", "b4d2e6f0-1a3c-4e5f-8a9b-0c1d2e3f4a5b"},
          {"aud", "api://portcullis-gateway"},
          {"exp", kNow + 3600},
          {"iat", kNow - 60},
          {"nbf", kNow - 60},
          {"jti", "8c3e1f0a-2b4d-4f6e-9a1c-3e5f7a9b1d2f"},
          {"client_id", "0f9e8d7c-6b5a-4f3e-2d1c-0b9a8f7e6d5c"},
          {"tenantid", "6f1c2a9e-4b1d-4c8e-9a55-3d2f0b7e8c11"},
          {"appid", "agent-orchestrator-prod"},
          {"roles", json::array{"Agents.Invoke", "Tools.Call", "Memory.ReadWrite"}},
          {"scope", "openid profile agents.invoke tools.call memory.read memory.write"}};
}

VerifyOptions options() {
  VerifyOptions o;
  o.jws.require_typ = true;
  o.claims.issuer = "https://login.example.com/6f1c2a9e-4b1d-4c8e-9a55-3d2f0b7e8c11/v2.0";
  o.claims.audiences = {"api://portcullis-gateway"};
  o.claims.leeway_seconds = 60;
  o.claims.now = kNow;
  return o;
}

std::string b64_bn(EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) die("cannot read RSA parameter");
  std::string bytes(std::size_t(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
  BN_free(bn);
  return pc::core::base64url_encode(bytes);
}

// PrivateKey signs only ES256/EdDSA (we never sign with RSA), so the RS256 token is made here.
struct Rs256Token {
  std::string token;
  std::unique_ptr<PublicKey> key;
  json::object jwk;
};

Rs256Token make_rs256() {
  EvpPkeyPtr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}));
  if (!pkey) die("RSA key generation failed");
  const json::object jwk = {{"kty", "RSA"}, {"kid", "rsa-1"}, {"alg", "RS256"}, {"use", "sig"},
                            {"n", b64_bn(pkey.get(), OSSL_PKEY_PARAM_RSA_N)},
                            {"e", b64_bn(pkey.get(), OSSL_PKEY_PARAM_RSA_E)}};
  const json::object header = {{"alg", "RS256"}, {"typ", "at+jwt"}, {"kid", "rsa-1"}};
  const std::string input = pc::core::base64url_encode(json::serialize(header)) + "." +
                            pc::core::base64url_encode(json::serialize(claims()));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t len = 0;
  std::string sig;
  if (!ctx || EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pkey.get()) != 1 ||
      EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1)
    die("RSA signing setup failed");
  sig.resize(len);
  if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    die("RSA signing failed");
  EVP_MD_CTX_free(ctx);
  sig.resize(len);
  return {input + "." + pc::core::base64url_encode(sig),
          std::make_unique<PublicKey>(parse_jwk(jwk)), jwk};
}

struct Es256Token {
  std::string token;
  std::unique_ptr<PublicKey> key;
};

Es256Token make_es256() {
  auto priv = PrivateKey::generate(Alg::ES256, "ec-1");
  return {make_jws(priv, {{"typ", "at+jwt"}}, claims()),
          std::make_unique<PublicKey>(parse_jwk(priv.public_jwk()))};
}

// Built once, before any benchmark runs; checked so a broken chain cannot look fast.
const Rs256Token& rs256() {
  static const Rs256Token t = [] {
    auto t = make_rs256();
    if (auto r = verify_jws(t.token, *t.key, options()); !r.ok) die("RS256 token: " + r.reason);
    return t;
  }();
  return t;
}

const Es256Token& es256() {
  static const Es256Token t = [] {
    auto t = make_es256();
    if (auto r = verify_jws(t.token, *t.key, options()); !r.ok) die("ES256 token: " + r.reason);
    return t;
  }();
  return t;
}

void run_verify_jws(benchmark::State& state, const std::string& token, const PublicKey& key) {
  const VerifyOptions opts = options();
  for (auto _ : state) {
    VerifyResult r = verify_jws(token, key, opts);
    if (!r.ok) state.SkipWithError(r.reason.c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["token_bytes"] = double(token.size());
}

void run_verify(benchmark::State& state, const std::string& token, const PublicKey& key) {
  const ParsedJws jws = parse_jws(token);
  for (auto _ : state) {
    const bool ok = verify(key, jws.alg, jws.signing_input, jws.signature);
    if (!ok) state.SkipWithError("signature did not verify");
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}

// The worst case for the per-thread context cache: more live keys than it holds, used round
// robin, so every verify builds its context afresh (a gateway with very many active issuers).
// 512 PublicKeys parsed from the same JWK: distinct keys to the cache, one signature for all.
void BM_Verify_RS256_ColdCache(benchmark::State& state) {
  const ParsedJws jws = parse_jws(rs256().token);
  std::vector<PublicKey> keys;
  for (int i = 0; i < 512; ++i) keys.push_back(parse_jwk(rs256().jwk));
  std::size_t i = 0;
  for (auto _ : state) {
    const bool ok = verify(keys[i++ % keys.size()], jws.alg, jws.signing_input, jws.signature);
    if (!ok) state.SkipWithError("signature did not verify");
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}

// parse_jws alone: the non-signature part of the chain (base64url, strict JSON, header rules).
void run_parse(benchmark::State& state, const std::string& token) {
  for (auto _ : state) {
    ParsedJws jws = parse_jws(token);
    benchmark::DoNotOptimize(jws);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_VerifyJws_RS256(benchmark::State& s) { run_verify_jws(s, rs256().token, *rs256().key); }
void BM_VerifyJws_ES256(benchmark::State& s) { run_verify_jws(s, es256().token, *es256().key); }
void BM_Verify_RS256(benchmark::State& s) { run_verify(s, rs256().token, *rs256().key); }
void BM_Verify_ES256(benchmark::State& s) { run_verify(s, es256().token, *es256().key); }
void BM_ParseJws_RS256(benchmark::State& s) { run_parse(s, rs256().token); }

BENCHMARK(BM_VerifyJws_RS256);
BENCHMARK(BM_VerifyJws_ES256);
BENCHMARK(BM_Verify_RS256);
BENCHMARK(BM_Verify_ES256);
BENCHMARK(BM_Verify_RS256_ColdCache);
BENCHMARK(BM_ParseJws_RS256);

}  // namespace

BENCHMARK_MAIN();
