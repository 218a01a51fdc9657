#include "jose/verify.h"

#include <memory>
#include <string>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

namespace pc::jose {
namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct SigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

const EVP_MD* digest_for(Alg alg) {
  switch (alg) {
    case Alg::RS256: case Alg::PS256: case Alg::ES256: return EVP_sha256();
    case Alg::RS384: case Alg::PS384: case Alg::ES384: return EVP_sha384();
    case Alg::RS512: case Alg::PS512: case Alg::ES512: return EVP_sha512();
    case Alg::EdDSA: return nullptr;  // Ed25519 hashes internally (PureEdDSA)
  }
  return nullptr;
}

bool is_pss(Alg alg) { return alg == Alg::PS256 || alg == Alg::PS384 || alg == Alg::PS512; }

// JWS ECDSA signatures are raw r||s (RFC 7518 §3.4); OpenSSL wants DER. Returns "" if malformed.
std::string p1363_to_der(std::string_view sig, std::size_t field_len) {
  if (sig.size() != 2 * field_len) return {};
  BnPtr r(BN_bin2bn(bytes(sig), int(field_len), nullptr));
  BnPtr s(BN_bin2bn(bytes(sig) + field_len, int(field_len), nullptr));
  // r or s of zero is never valid ("psychic signatures", CVE-2022-21449); OpenSSL rejects
  // them and values >= n too, but checking zero here does not rely on that.
  if (!r || !s || BN_is_zero(r.get()) || BN_is_zero(s.get())) return {};
  std::unique_ptr<ECDSA_SIG, SigFree> es(ECDSA_SIG_new());
  if (!es || ECDSA_SIG_set0(es.get(), r.get(), s.get()) != 1) return {};
  r.release();  // now owned by es
  s.release();
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(es.get(), &der);
  if (len <= 0) return {};
  std::string out(reinterpret_cast<char*>(der), std::size_t(len));
  OPENSSL_free(der);
  return out;
}

std::size_t field_len(Curve crv) {
  switch (crv) {
    case Curve::P256: return 32;
    case Curve::P384: return 48;
    case Curve::P521: return 66;
    default: return 0;
  }
}

bool verify_impl(const PublicKey& key, Alg alg, std::string_view input, std::string_view sig) {
  if (!key_fits(key, alg)) return false;
  // A JWK that declares its alg may only be used with that alg (RFC 7517 §4.4).
  if (!key.alg().empty() && key.alg() != alg_name(alg)) return false;

  std::string der;
  if (key.kty() == KeyType::EC) {
    der = p1363_to_der(sig, field_len(key.curve()));
    if (der.empty()) return false;
    sig = der;
  } else if (key.kty() == KeyType::RSA) {
    // RSA signatures are exactly the modulus length (RFC 8017 §8.2.2 step 1).
    if (sig.size() != std::size_t(EVP_PKEY_get_size(key.pkey()))) return false;
  } else if (sig.size() != 64) {
    return false;  // Ed25519
  }

  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, digest_for(alg), nullptr, key.pkey()) != 1)
    return false;
  if (is_pss(alg)) {
    // JWS PS*: MGF1 with the same hash, salt length = hash length (RFC 7518 §3.5).
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, digest_for(alg)) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)
      return false;
  } else if (key.kty() == KeyType::RSA) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return false;
  }
  // One-shot call: required for Ed25519, equivalent for the others.
  return EVP_DigestVerify(ctx.get(), bytes(sig), sig.size(), bytes(input), input.size()) == 1;
}

}  // namespace

std::optional<Alg> parse_alg(std::string_view name) {
  static constexpr std::pair<std::string_view, Alg> kNames[] = {
      {"RS256", Alg::RS256}, {"RS384", Alg::RS384}, {"RS512", Alg::RS512},
      {"PS256", Alg::PS256}, {"PS384", Alg::PS384}, {"PS512", Alg::PS512},
      {"ES256", Alg::ES256}, {"ES384", Alg::ES384}, {"ES512", Alg::ES512},
      {"EdDSA", Alg::EdDSA}};
  for (const auto& [n, a] : kNames)
    if (n == name) return a;
  return std::nullopt;  // includes "none"/"NONE"/"None" and HS256/384/512
}

std::string_view alg_name(Alg alg) {
  switch (alg) {
    case Alg::RS256: return "RS256";
    case Alg::RS384: return "RS384";
    case Alg::RS512: return "RS512";
    case Alg::PS256: return "PS256";
    case Alg::PS384: return "PS384";
    case Alg::PS512: return "PS512";
    case Alg::ES256: return "ES256";
    case Alg::ES384: return "ES384";
    case Alg::ES512: return "ES512";
    case Alg::EdDSA: return "EdDSA";
  }
  return "";
}

bool key_fits(const PublicKey& key, Alg alg) {
  switch (alg) {
    case Alg::RS256: case Alg::RS384: case Alg::RS512:
    case Alg::PS256: case Alg::PS384: case Alg::PS512: return key.kty() == KeyType::RSA;
    case Alg::ES256: return key.curve() == Curve::P256;
    case Alg::ES384: return key.curve() == Curve::P384;
    case Alg::ES512: return key.curve() == Curve::P521;
    case Alg::EdDSA: return key.curve() == Curve::Ed25519;
  }
  return false;
}

bool verify(const PublicKey& key, Alg alg, std::string_view signing_input,
            std::string_view signature) {
  const bool ok = verify_impl(key, alg, signing_input, signature);
  ERR_clear_error();  // failed verifies queue errors; keep the thread-local queue clean
  return ok;
}

}  // namespace pc::jose
