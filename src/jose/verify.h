// JWS signature verification (RFC 7515/7518/8037) on OpenSSL. Pure, no I/O.
#pragma once

#include <optional>
#include <string_view>

#include "jose/jwk.h"

namespace pc::jose {

// Asymmetric algorithms only: "none" and HS* are deliberately absent so that no code path can
// accept an unsigned token or an HMAC keyed with a public key (key confusion).
enum class Alg { RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA };

// Exact, case-sensitive match on the JWS "alg" names (RFC 7518 names are case-sensitive);
// nullopt for "none" (any case), HS*, and anything unknown.
std::optional<Alg> parse_alg(std::string_view name);
std::string_view alg_name(Alg alg);

// True only if `signature` (raw bytes, not base64url) is a valid `alg` signature of
// `signing_input` under `key`. False when alg does not fit the key (RS*/PS* need RSA, ES256 needs
// P-256, ES384 P-384, ES512 P-521, EdDSA Ed25519) or when the JWK names a different "alg".
// Never throws on bad input.
// The algorithm suits the key's type and curve (RS*/PS* need RSA, ES256 needs P-256, …).
bool key_fits(const PublicKey& key, Alg alg);

bool verify(const PublicKey& key, Alg alg, std::string_view signing_input,
            std::string_view signature);

}  // namespace pc::jose
