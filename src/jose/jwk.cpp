#include "jose/jwk.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include "core/base64url.h"

namespace pc::jose {
namespace {

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using BldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using CtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;

[[noreturn]] void fail(const std::string& why) {
  ERR_clear_error();  // don't leave OpenSSL's thread-local queue dirty for the next caller
  throw JoseError("jwk: " + why);
}

// An optional string member: absent -> "", present but not a string -> error.
std::string opt_string(const boost::json::object& o, const char* name) {
  const auto* v = o.if_contains(name);
  if (!v) return {};
  if (!v->is_string()) fail(std::string("member '") + name + "' is not a string");
  return std::string(v->get_string());
}

std::string required_b64(const boost::json::object& o, const char* name) {
  const auto* v = o.if_contains(name);
  if (!v) fail(std::string("missing member '") + name + "'");
  if (!v->is_string()) fail(std::string("member '") + name + "' is not a string");
  auto bytes = core::base64url_decode(v->get_string());
  if (!bytes) fail(std::string("member '") + name + "' is not canonical base64url");
  if (bytes->empty()) fail(std::string("member '") + name + "' is empty");
  return *bytes;
}

BnPtr to_bn(const std::string& bytes) {
  BnPtr bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), int(bytes.size()),
                     nullptr));
  if (!bn) fail("out of memory");
  return bn;
}

// Builds an EVP_PKEY of `type` ("RSA", "EC", "ED25519") from params, public part only.
// `rejected` is the reason given when OpenSSL refuses the material.
EvpPkeyPtr from_params(const char* type, OSSL_PARAM_BLD* bld, const std::string& rejected) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  if (!params) fail("cannot build key parameters");
  CtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) fail(std::string("no OpenSSL support for ") + type);
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0 || !raw)
    fail(rejected);
  return EvpPkeyPtr(raw);
}

EvpPkeyPtr rsa_key(const boost::json::object& o) {
  auto n = to_bn(required_b64(o, "n"));
  auto e = to_bn(required_b64(o, "e"));
  if (BN_num_bits(n.get()) < kMinRsaBits)
    fail("RSA modulus has " + std::to_string(BN_num_bits(n.get())) + " bits, need >= 2048");
  // e must be odd and > 1; OpenSSL 3.0 fromdata does not check it.
  if (!BN_is_odd(e.get()) || BN_is_one(e.get())) fail("RSA exponent is invalid");
  BldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()))
    fail("cannot build RSA parameters");
  return from_params("RSA", bld.get(), "OpenSSL rejected the RSA key");
}

EvpPkeyPtr ec_key(const boost::json::object& o, Curve& crv_out) {
  const std::string crv = opt_string(o, "crv");
  const char* group = nullptr;
  std::size_t len = 0;
  if (crv == "P-256") { group = "prime256v1"; len = 32; crv_out = Curve::P256; }
  else if (crv == "P-384") { group = "secp384r1"; len = 48; crv_out = Curve::P384; }
  else if (crv == "P-521") { group = "secp521r1"; len = 66; crv_out = Curve::P521; }
  else fail("unsupported EC crv '" + crv + "'");
  const std::string x = required_b64(o, "x"), y = required_b64(o, "y");
  // RFC 7518 §6.2.1.2: coordinates are exactly the field length, so one key has one encoding.
  if (x.size() != len || y.size() != len) fail("EC coordinate length does not match " + crv);
  const std::string point = std::string(1, '\x04') + x + y;  // SEC1 uncompressed point
  BldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size()))
    fail("cannot build EC parameters");
  // OpenSSL 3.0's fromdata may already refuse an off-curve point while decoding it, but that is
  // not documented, so check explicitly too (invalid-curve attacks leak the private key).
  auto key = from_params("EC", bld.get(), "EC point is not on " + crv);
  CtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) fail("EC point is not on " + crv);
  return key;
}

EvpPkeyPtr okp_key(const boost::json::object& o, Curve& crv_out) {
  const std::string crv = opt_string(o, "crv");
  if (crv != "Ed25519") fail("unsupported OKP crv '" + crv + "'");
  crv_out = Curve::Ed25519;
  const std::string x = required_b64(o, "x");
  if (x.size() != 32) fail("Ed25519 key is not 32 bytes");
  BldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, x.data(), x.size()))
    fail("cannot build Ed25519 parameters");
  return from_params("ED25519", bld.get(), "OpenSSL rejected the Ed25519 key");
}

}  // namespace

PublicKey parse_jwk(const boost::json::object& jwk) {
  for (const char* priv : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
    if (jwk.contains(priv)) fail(std::string("private member '") + priv + "' present");
  const std::string kty = opt_string(jwk, "kty");
  std::string kid = opt_string(jwk, "kid"), alg = opt_string(jwk, "alg"),
              use = opt_string(jwk, "use");
  Curve crv = Curve::None;
  if (kty == "RSA") return PublicKey(KeyType::RSA, crv, rsa_key(jwk), kid, alg, use);
  if (kty == "EC") {
    auto key = ec_key(jwk, crv);
    return PublicKey(KeyType::EC, crv, std::move(key), kid, alg, use);
  }
  if (kty == "OKP") {
    auto key = okp_key(jwk, crv);
    return PublicKey(KeyType::OKP, crv, std::move(key), kid, alg, use);
  }
  fail(kty.empty() ? "missing kty" : "unsupported kty '" + kty + "'");
}

}  // namespace pc::jose
