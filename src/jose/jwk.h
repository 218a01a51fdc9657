// A JSON Web Key (RFC 7517/7518/8037) parsed into an OpenSSL public key. Pure, no I/O.
// Only public keys are accepted: a JWK carrying private members is an error, since a JWKS
// that leaks private keys must not be silently used.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include <boost/json.hpp>
#include <openssl/evp.h>

namespace pc::jose {

// Every JOSE parsing failure; what() names the reason (safe to log, never contains key bytes).
class JoseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class KeyType { RSA, EC, OKP };
enum class Curve { None, P256, P384, P521, Ed25519 };

struct EvpPkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

// Immutable once built, so one key may be shared read-only by every thread (a JWKS snapshot).
class PublicKey {
 public:
  PublicKey(KeyType kty, Curve crv, EvpPkeyPtr pkey, std::string kid, std::string alg,
            std::string use)
      : kty_(kty), crv_(crv), pkey_(std::move(pkey)), kid_(std::move(kid)),
        alg_(std::move(alg)), use_(std::move(use)), id_(next_id()) {}

  KeyType kty() const { return kty_; }
  Curve curve() const { return crv_; }  // None for RSA
  EVP_PKEY* pkey() const { return pkey_.get(); }
  const std::string& kid() const { return kid_; }  // empty when absent
  const std::string& alg() const { return alg_; }  // empty when absent
  const std::string& use() const { return use_; }  // empty when absent

  // Unique per constructed key for the life of the process (never reused; kept across moves).
  // Per-thread caches of prepared verification contexts are keyed by it rather than by address,
  // so a key freed by a JWKS refresh can never be confused with a new key at the same address.
  std::uint64_t id() const { return id_; }

 private:
  static std::uint64_t next_id();

  KeyType kty_;
  Curve crv_;
  EvpPkeyPtr pkey_;
  std::string kid_, alg_, use_;
  std::uint64_t id_;
};

// Minimum RSA modulus accepted (RFC 7518 §3.3 requires 2048 bits for RS*/PS*).
inline constexpr int kMinRsaBits = 2048;

// Throws JoseError on: unknown kty/crv, missing or non-string members, bad base64url,
// private members (d, p, q, dp, dq, qi, oth, k), RSA modulus < 2048 bits, EC coordinates not of
// the exact field length, EC points not on the curve, Ed25519 keys not 32 bytes.
PublicKey parse_jwk(const boost::json::object& jwk);

}  // namespace pc::jose
