// Act-on-behalf tokens (SPEC §4): what the gateway hands a tool or an agent instead of the caller's
// own token, which is never forwarded. RFC 8693 semantics: `sub` the end user, `act` the client or
// agent acting for them (nested, current actor first), `aud` the ONE receiver, lifetime ≤ 5 min and
// never beyond the caller's token. ES256 with the built-in issuer's active key, so a receiver
// verifies it with the gateway's published JWKS and checks that the audience is itself.
//
// One core mints and caches them for any audience; auth/agent_identity.h uses it with
// "agent:<name>" (X-Portcullis-Identity), the MCP gateway with the upstream server's URL (its RFC
// 8707 resource identifier, which the MCP authorization spec requires servers to check).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "auth/principal.h"
#include "auth/signing_keys.h"
#include "core/published.h"
#include "jose/jwks.h"

namespace pc::auth {

// Lifetime of an act-on-behalf token, and how long before its expiry a cached one is replaced (so
// a receiver that checks it a little later, or forwards it to the token endpoint, still finds it
// valid).
inline constexpr std::int64_t kOnBehalfLifetimeSeconds = 300;
inline constexpr std::int64_t kOnBehalfRenewBeforeSeconds = 30;
// The verifier refuses longer act chains (authenticator.cpp); nothing may mint one.
inline constexpr std::size_t kMaxActChain = 8;

// Who acted for the caller, current actor first (RFC 8693 §4.1 order): the caller's client (its
// app when the token names no client), then the token's own act chain. The client is not repeated
// when it is also the token's current actor (tokens our exchange issues name the exchanging client
// in both places).
std::vector<std::string> actor_chain(const Principal& caller);

// True for an audience the MCP gateway may mint for: an absolute http(s) URL without whitespace.
// Keeps server tokens and agent identities ("agent:<name>") apart by construction, so a tool can
// never hand its token to the token endpoint as an agent identity.
bool is_server_audience(std::string_view audience);

class OnBehalfIssuer {
 public:
  // `keys` must outlive this. Until an issuer is set no token can be made (token_for throws).
  explicit OnBehalfIssuer(const SigningKeys& keys, std::string issuer = {});
  OnBehalfIssuer(const OnBehalfIssuer&) = delete;
  OnBehalfIssuer& operator=(const OnBehalfIssuer&) = delete;

  // The built-in issuer's identifier (start-up once the port is bound, reload). Cached tokens
  // carrying the old one are dropped.
  void set_issuer(std::string issuer);
  std::string issuer() const;

  // The token for a call by `caller` (tenant tier `tier`) to `audience` in session `session_id`
  // ("" when none): typ JWT, iss, aud, sub, tenantid, appid, tier, client_id, scope, session_id,
  // act (actor_chain, nested), jti, iat/nbf, exp ≤ 5 min and never after the caller's own token.
  // Cached per thread by everything the token says (so per session and audience, and per caller),
  // until kOnBehalfRenewBeforeSeconds before its expiry or until the signing key or the issuer
  // changes: a hit costs a few atomic loads and one hash lookup, no signature. Throws
  // std::runtime_error when there is no active key or no issuer yet (the caller answers 503), and
  // std::invalid_argument for an empty audience.
  std::string token_for(const Principal& caller, std::string_view tier, std::string_view audience,
                        std::string_view session_id) const;
  std::string token_for(const Principal& caller, std::string_view tier, std::string_view audience,
                        std::string_view session_id, std::int64_t now) const;

  // MCP (issue 10): the token for upstream server `server_url` (exactly the URL it is registered
  // with, which is what the server compares `aud` with) in MCP session `mcp_session_id` (the
  // gateway's Mcp-Session-Id). Same as token_for, but throws std::invalid_argument unless
  // is_server_audience(server_url).
  std::string server_token_for(const Principal& caller, std::string_view tier, std::string_view server_url,
                               std::string_view mcp_session_id) const;
  std::string server_token_for(const Principal& caller, std::string_view tier, std::string_view server_url,
                               std::string_view mcp_session_id, std::int64_t now) const;

  // Tokens signed so far (cache misses), for tests and metrics.
  std::uint64_t minted() const;

 private:
  std::string mint(const Principal& caller, std::string_view tier, std::string_view audience,
                   std::string_view session_id, std::int64_t now, std::int64_t& expires_at) const;

  const SigningKeys& keys_;
  core::Published<std::string> issuer_;
  const std::uint64_t instance_;
  mutable std::atomic<std::uint64_t> minted_{0};
};

// What a verified act-on-behalf token says.
struct OnBehalfClaims {
  std::string audience;
  std::string subject;
  std::string tenant;
  std::string app;
  std::string client;
  std::string tier;
  std::string session_id;
  std::string token_id;
  std::vector<std::string> scopes;
  std::vector<std::string> actors;  // act chain, current actor first
  std::int64_t expires_at = 0;
};

// What a receiver does: `token` must be an act-on-behalf token this gateway issued FOR `audience`
// and still valid: ES256 with a key of `keys`, typ JWT, iss == issuer, aud a single string equal to
// `audience` (an array, or another receiver's audience, is refused), exp in the future, lifetime
// ≤ kOnBehalfLifetimeSeconds, sub and tenantid present, act well formed. Leeway `leeway_seconds`
// on the time checks. Returns the claims or why not (safe to show: it never quotes the token).
std::variant<OnBehalfClaims, std::string> verify_on_behalf_token(std::string_view token, const jose::JwkSet& keys,
                                                                 std::string_view issuer, std::string_view audience,
                                                                 std::int64_t now, std::int64_t leeway_seconds = 5);

}  // namespace pc::auth
