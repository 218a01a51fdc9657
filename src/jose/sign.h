// JWS signing keys (ES256 on P-256, EdDSA on Ed25519) and compact JWS creation. Pure, no I/O.
#pragma once

#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "jose/jwk.h"
#include "jose/verify.h"

namespace pc::jose {

class PrivateKey {
 public:
  // Generates a fresh key for `alg` (ES256 or EdDSA; anything else throws JoseError).
  static PrivateKey generate(Alg alg, std::string kid);

  Alg alg() const { return alg_; }
  const std::string& kid() const { return kid_; }
  EVP_PKEY* pkey() const { return pkey_.get(); }

  // The public half as a JWK: kty, crv, x (and y for EC), kid, alg, use=sig. Never private parts.
  boost::json::object public_jwk() const;

  // The public half as a verification key (parsed from public_jwk(), so it carries kid, alg and
  // use=sig), for checking our own tokens with the same verify_jws path as anyone else's.
  PublicKey public_key() const;

  // JWS signature bytes over `signing_input` (ES256: raw r||s, 32 bytes each, zero-padded;
  // EdDSA: 64 bytes). Throws JoseError when `alg` is not this key's alg or OpenSSL fails.
  std::string sign(Alg alg, std::string_view signing_input) const;

  // Unencrypted PKCS#8 PrivateKeyInfo DER (RFC 5958), for storage. It is secret: the caller seals
  // it (under the master key) and wipes it (OPENSSL_cleanse) when done. Intermediate copies made
  // here are wiped. Throws JoseError when OpenSSL fails.
  std::string to_pkcs8_der() const;

  // The inverse of to_pkcs8_der. Throws JoseError when `der` is not exactly one PKCS#8
  // PrivateKeyInfo (trailing bytes included), when the key does not fit `alg` (ES256: EC on the
  // named curve P-256; EdDSA: Ed25519; any other alg is refused), or when its private and public
  // halves do not match. `kid` is not stored in the DER; it comes from the caller's record.
  static PrivateKey from_pkcs8_der(std::string_view der, Alg alg, std::string kid);

 private:
  PrivateKey(Alg alg, EvpPkeyPtr pkey, std::string kid)
      : alg_(alg), pkey_(std::move(pkey)), kid_(std::move(kid)) {}
  Alg alg_;
  EvpPkeyPtr pkey_;
  std::string kid_;
};

// A compact JWS over `payload`. The header is `header_extra` with "alg" and "kid" (when the key
// has one) set from the key, and "typ" set to "JWT" unless `header_extra` already has a typ.
std::string make_jws(const PrivateKey& key, const boost::json::object& header_extra,
                     const boost::json::object& payload);

}  // namespace pc::jose
