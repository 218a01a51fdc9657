// JWS compact serialization (RFC 7515 §7.1) parsing, header policy, and the one-call JWT
// verification chain (parse -> header rules -> key/alg match -> signature -> claims). Pure, no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "jose/claims.h"
#include "jose/jwk.h"
#include "jose/verify.h"

namespace pc::jose {

// Whole-token cap, checked before any decoding.
inline constexpr std::size_t kMaxJwsSize = 16 * 1024;
// Nesting limit for the header and payload JSON.
inline constexpr std::size_t kMaxJsonDepth = 32;
inline constexpr std::size_t kMaxKidLength = 256;

struct JwsOptions {
  // RFC 7519 §5.1 makes "typ" OPTIONAL, so an absent typ is accepted by default; a present typ
  // must be JWT or at+jwt (SPEC §4). Set to reject tokens without typ.
  bool require_typ = false;
  // JWTs carry a JSON object payload. Only raw-JWS callers (test vectors) turn this off; then
  // `payload` stays empty and `payload_bytes` holds the decoded bytes.
  bool require_json_payload = true;
};

struct ParsedJws {
  boost::json::object header;
  boost::json::object payload;
  std::string payload_bytes;   // decoded payload
  std::string signing_input;   // "b64header.b64payload", exactly as received
  std::string signature;       // raw signature bytes
  Alg alg = Alg::ES256;
  std::optional<std::string> kid;
  std::optional<std::string> typ;
};

// Parses a JSON text that must be an object: depth <= kMaxJsonDepth, no duplicate member names
// at any level (compared after unescaping). Throws JoseError("json: ...").
boost::json::object parse_json_object_strict(std::string_view text);

// Parses a compact JWS and applies the header rules. Throws JoseError("jws: <reason>") on:
// size > kMaxJwsSize, not exactly three parts, non-canonical base64url (padding, whitespace, ...),
// header/payload not a JSON object, duplicate members, alg missing/non-string/none/HS*/unknown,
// jwk/jku/x5u/x5c present, crit present (any form), typ not JWT/at+jwt, cty JWT (nested token),
// kid not a string of 1..256 chars, empty signature.
ParsedJws parse_jws(std::string_view token, const JwsOptions& options = {});

struct VerifyOptions {
  JwsOptions jws;
  ClaimsPolicy claims;
};

struct VerifyResult {
  bool ok = false;
  std::string reason;             // empty when ok; safe to log
  boost::json::object header;     // set when ok
  boost::json::object payload;    // set when ok
};

// parse_jws -> alg must fit the key's type (and equal the JWK's own "alg" when it has one; a JWK
// whose "use" is present must be "sig"; when both the token and the JWK carry a kid they must be
// equal) -> signature -> check_claims. Never throws on bad input. Choosing the key (JWKS lookup by
// kid) is the caller's job.
VerifyResult verify_jws(std::string_view token, const PublicKey& key, const VerifyOptions& options);

// The two halves of verify_jws, for verify_jws_with_set (parse once, then try each candidate key).
// Not for other callers: use parse_jws / verify_jws.
namespace detail {

// parse_jws's checks without its copies: `parsed.signing_input` stays empty (`signing_input`
// views the token, which must outlive it) and `parsed.payload_bytes` is only filled when
// options.require_json_payload is off.
struct JwsView {
  ParsedJws parsed;
  std::string_view signing_input;
};
JwsView parse_jws_view(std::string_view token, const JwsOptions& options);

// verify_jws after its parse: key checks, signature, claims. On success the header and payload
// are moved into the result; on failure `jws` is left intact for the next key. Never throws.
VerifyResult verify_parsed(JwsView& jws, const PublicKey& key, const VerifyOptions& options);

}  // namespace detail

}  // namespace pc::jose
