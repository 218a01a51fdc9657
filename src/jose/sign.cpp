#include "jose/sign.h"

#include <memory>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>

#include "core/base64url.h"

namespace pc::jose {
namespace {

[[noreturn]] void fail(const std::string& why) {
  ERR_clear_error();
  throw JoseError("sign: " + why);
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct SigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

PrivateKey PrivateKey::generate(Alg alg, std::string kid) {
  EVP_PKEY* raw = nullptr;
  if (alg == Alg::ES256) {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  } else if (alg == Alg::EdDSA) {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  } else {
    fail("only ES256 and EdDSA keys can be generated");
  }
  if (!raw) fail("key generation failed");
  return PrivateKey(alg, EvpPkeyPtr(raw), std::move(kid));
}

boost::json::object PrivateKey::public_jwk() const {
  boost::json::object jwk;
  if (alg_ == Alg::ES256) {
    unsigned char* pub = nullptr;
    const std::size_t len = EVP_PKEY_get1_encoded_public_key(pkey_.get(), &pub);
    std::string point(reinterpret_cast<char*>(pub), len);
    OPENSSL_free(pub);
    if (len != 65 || point[0] != 0x04) fail("unexpected EC public key encoding");
    jwk["kty"] = "EC";
    jwk["crv"] = "P-256";
    jwk["x"] = core::base64url_encode(std::string_view(point).substr(1, 32));
    jwk["y"] = core::base64url_encode(std::string_view(point).substr(33, 32));
  } else {
    unsigned char pub[32];
    std::size_t len = sizeof pub;
    if (EVP_PKEY_get_raw_public_key(pkey_.get(), pub, &len) != 1 || len != 32)
      fail("cannot export the Ed25519 public key");
    jwk["kty"] = "OKP";
    jwk["crv"] = "Ed25519";
    jwk["x"] = core::base64url_encode(std::string_view(reinterpret_cast<char*>(pub), len));
  }
  if (!kid_.empty()) jwk["kid"] = kid_;
  jwk["alg"] = alg_name(alg_);
  jwk["use"] = "sig";
  return jwk;
}

std::string PrivateKey::sign(Alg alg, std::string_view input) const {
  if (alg != alg_) fail("alg does not match the key");
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  const EVP_MD* md = alg_ == Alg::ES256 ? EVP_sha256() : nullptr;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, pkey_.get()) != 1)
    fail("cannot initialise signing");
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, bytes(input), input.size()) != 1)
    fail("cannot size the signature");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, bytes(input),
                     input.size()) != 1)
    fail("signing failed");
  sig.resize(len);
  if (alg_ == Alg::EdDSA) return sig;

  // ES256: OpenSSL emits DER; JWS wants raw r||s, each left-padded to 32 bytes (RFC 7518 §3.4).
  const unsigned char* p = bytes(sig);
  std::unique_ptr<ECDSA_SIG, SigFree> es(d2i_ECDSA_SIG(nullptr, &p, long(sig.size())));
  if (!es) fail("cannot decode the ECDSA signature");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(es.get(), &r, &s);
  std::string out(64, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(r, o, 32) != 32 || BN_bn2binpad(s, o + 32, 32) != 32)
    fail("ECDSA signature component too large");
  return out;
}

std::string make_jws(const PrivateKey& key, const boost::json::object& header_extra,
                     const boost::json::object& payload) {
  boost::json::object header = header_extra;
  header["alg"] = alg_name(key.alg());
  if (!key.kid().empty()) header["kid"] = key.kid();
  if (!header.contains("typ")) header["typ"] = "JWT";
  std::string input = core::base64url_encode(boost::json::serialize(header)) + "." +
                      core::base64url_encode(boost::json::serialize(payload));
  const std::string sig = key.sign(key.alg(), input);
  return input + "." + core::base64url_encode(sig);
}

}  // namespace pc::jose
