// A JSON Web Key Set (RFC 7517 §5) and key selection for JWS verification. Pure, no I/O.
// Unusable keys are skipped (RFC 7517 §5: "ignore JWKs ... that it does not understand"), never
// failing the whole set; fetching/refreshing the document is the caller's job.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "jose/jwk.h"
#include "jose/jws.h"
#include "jose/verify.h"

namespace pc::jose {

// Whole-document cap, checked before parsing.
inline constexpr std::size_t kMaxJwksSize = 256 * 1024;
// JSON nesting limit for the JWKS document.
inline constexpr std::size_t kMaxJwksDepth = 16;
// Keys kept from one document; the rest are skipped. A token without `kid` is tried against every
// fitting key, so the count bounds the signature checks one token can cost.
inline constexpr std::size_t kMaxJwksKeys = 64;

class JwkSet {
 public:
  // Parses {"keys":[...]}. Throws JoseError("jwks: ...") when the text is larger than
  // kMaxJwksSize, is not valid JSON, nests deeper than kMaxJwksDepth, is not an object, or has no
  // "keys" array. Entries that are not objects, fail parse_jwk, have a "use" other than "sig", or
  // name an "alg" that is not a supported JWS alg fitting the key are skipped; one reason per
  // skipped entry is appended to `skipped_reasons` when given (safe to log, no key bytes).
  static JwkSet parse(std::string_view json_text,
                      std::vector<std::string>* skipped_reasons = nullptr);

  std::size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }
  const std::vector<PublicKey>& keys() const { return keys_; }

  // Every key whose kid equals `kid` (duplicates are kept: a rotation may reuse a kid).
  std::vector<const PublicKey*> find(std::string_view kid) const;

  // With a token kid: the keys with that kid (fit is checked later by verify_jws, so a kid that
  // names a key of another alg is rejected rather than silently skipped). Without a kid: every
  // key that fits the token's alg (key_fits, and the key's own "alg" equal when set).
  std::vector<const PublicKey*> candidates(const ParsedJws& jws) const;

 private:
  std::vector<PublicKey> keys_;
};

struct JwksVerifyResult : VerifyResult {
  // No key in the set could be chosen for the token (unknown kid, or no kid and no key fitting
  // the alg). The caller may refetch the JWKS (rate-limited: tokens are attacker-controlled).
  bool unknown_kid = false;
};

// parse_jws -> the token's alg must be on `allowed_algs` (empty allows nothing) -> candidates
// (none: unknown_kid) -> verify_jws with each candidate until one verifies; otherwise the last
// reason. Never throws on bad input.
JwksVerifyResult verify_jws_with_set(std::string_view token, const JwkSet& set,
                                     const std::vector<Alg>& allowed_algs,
                                     const VerifyOptions& options);

namespace detail {
// verify_jws_with_set after the parse, for a caller that parsed the token itself (to read its
// unverified `iss` and pick the issuer): one parse per token. Consumes `view` on success.
JwksVerifyResult verify_view_with_set(JwsView& view, const JwkSet& set, const std::vector<Alg>& allowed_algs,
                                      const VerifyOptions& options);
}  // namespace detail

}  // namespace pc::jose
