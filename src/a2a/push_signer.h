// How a push notification the gateway delivers proves it comes from the gateway (docs/a2a-push.md),
// after A2A's push-notification security guidance: the sender signs a JWT, the receiver checks it
// with the sender's JWKS. Each attempt carries
//
//   X-Portcullis-Push-Signature: <JWT>            always
//   Authorization: Bearer <JWT>                   unless the client's config named its own credentials
//
// The JWT is ES256 with the built-in issuer's active key (header kid; verifiable with
// `<issuer>/.well-known/jwks.json`), claims: iss (the gateway), aud (the client's push URL), iat,
// exp (iat + 300 s), jti (the delivery id, the same on every attempt: what a receiver dedupes on),
// request_body_sha256 (lowercase hex SHA-256 of the exact body bytes), portcullis_push_config
// (the relay id). A receiver checks the signature, aud = its own URL, exp, and the body hash.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pc::auth {
class SigningKeys;
}

namespace pc::a2a {

inline constexpr std::string_view kPushSignatureHeader = "X-Portcullis-Push-Signature";
inline constexpr int kPushJwtLifetimeSeconds = 300;

using PushSigner = std::function<std::vector<std::pair<std::string, std::string>>(
    const std::string& relay_id, const std::string& delivery_id, std::string_view url, std::string_view body)>;

// `keys` must outlive the signer; `issuer` is read at each signature (the gateway's may change
// on a reload). A signer with no active key yet throws (the attempt is retried).
PushSigner make_push_signer(const auth::SigningKeys& keys, std::function<std::string()> issuer);

// Lowercase hex SHA-256, as in request_body_sha256.
std::string sha256_hex(std::string_view bytes);

}  // namespace pc::a2a
