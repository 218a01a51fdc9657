#include "jose/sign.h"

#include <memory>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

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

struct P8Free {
  void operator()(PKCS8_PRIV_KEY_INFO* p) const { PKCS8_PRIV_KEY_INFO_free(p); }  // wipes the key
};
using P8Ptr = std::unique_ptr<PKCS8_PRIV_KEY_INFO, P8Free>;
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct EncoderCtxFree {
  void operator()(OSSL_ENCODER_CTX* p) const { OSSL_ENCODER_CTX_free(p); }
};

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Whether `pkey` is the kind of key `alg` signs with. EC keys must name P-256: a key with
// explicit curve parameters is refused even when they equal P-256's, since we never write one
// and accepting arbitrary parameters is how curve-substitution attacks start.
bool fits(EVP_PKEY* pkey, Alg alg) {
  if (alg == Alg::EdDSA) return EVP_PKEY_is_a(pkey, "ED25519") == 1;
  if (alg != Alg::ES256 || EVP_PKEY_is_a(pkey, "EC") != 1) return false;
  char encoding[32] = {};
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_ENCODING, encoding,
                                     sizeof encoding, nullptr) == 1 &&
      std::string_view(encoding) != OSSL_PKEY_EC_ENCODING_GROUP)
    return false;
  char group[64] = {};
  return EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                        nullptr) == 1 &&
         std::string_view(group) == SN_X9_62_prime256v1;
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

PublicKey PrivateKey::public_key() const { return parse_jwk(public_jwk()); }

std::string PrivateKey::to_pkcs8_der() const {
  // The encoder directly, not EVP_PKEY2PKCS8: in OpenSSL 3.0 that encodes to a buffer it frees
  // without wiping. OSSL_ENCODER_to_data's memory BIO wipes on growth and hands us the buffer.
  std::unique_ptr<OSSL_ENCODER_CTX, EncoderCtxFree> ctx(OSSL_ENCODER_CTX_new_for_pkey(
      pkey_.get(), EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo", nullptr));
  unsigned char* der = nullptr;
  std::size_t len = 0;
  if (!ctx || OSSL_ENCODER_to_data(ctx.get(), &der, &len) != 1 || !der || len == 0) {
    OPENSSL_clear_free(der, len);
    fail("cannot encode the private key as PKCS#8");
  }
  // Built at its final size, so no reallocation leaves a stray copy of the key in freed memory.
  std::string out(reinterpret_cast<const char*>(der), len);
  OPENSSL_clear_free(der, len);
  return out;
}

PrivateKey PrivateKey::from_pkcs8_der(std::string_view der, Alg alg, std::string kid) {
  if (alg != Alg::ES256 && alg != Alg::EdDSA) fail("only ES256 and EdDSA keys are supported");
  if (der.empty() || der.size() > 16 * 1024) fail("PKCS#8 key has an implausible size");
  const unsigned char* p = bytes(der);
  P8Ptr p8(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, long(der.size())));
  if (!p8) fail("malformed PKCS#8 private key");
  if (p != bytes(der) + der.size()) fail("trailing bytes after the PKCS#8 private key");
  EvpPkeyPtr pkey(EVP_PKCS82PKEY(p8.get()));
  if (!pkey) fail("unsupported or malformed private key in PKCS#8");
  if (!fits(pkey.get(), alg))
    fail(std::string("the stored key does not fit ") + std::string(alg_name(alg)));
  // A stored key whose public half does not match its private half (corrupted, or an EC key with
  // a substituted public point) would sign tokens that its published JWK fails to verify.
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(
      EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_pairwise_check(check.get()) != 1)
    fail("the stored key's private and public halves do not match");
  return PrivateKey(alg, std::move(pkey), std::move(kid));
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
