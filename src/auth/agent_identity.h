// Identity to agents (issue 9, docs/agent-identity.md): the token the gateway signs for every call
// it forwards to an agent runtime (header X-Portcullis-Identity), the rule that refuses agent calls
// that loop or nest too deep, and the check of such a token when an agent hands it back to the
// token endpoint to call another agent (RFC 8693 exchange, auth/token_service.cpp).
//
// The token is an act-on-behalf token (auth/act_on_behalf.h: one minting and caching core for agents
// and MCP servers), signed ES256 with the built-in issuer's active key, so a runtime verifies it
// against the gateway's published JWKS like any other of its tokens; only its audience,
// "agent:<name>", tells it apart (our access tokens carry the configured audiences, never that;
// MCP server tokens carry an http(s) URL).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "auth/act_on_behalf.h"
#include "auth/principal.h"
#include "auth/signing_keys.h"
#include "jose/jwks.h"

namespace pc::auth {

// The audience of an identity token is this prefix and the agent's name.
inline constexpr std::string_view kAgentAudiencePrefix = "agent:";
// Lifetime of an identity token, and how long before its expiry a cached one is replaced (so a
// runtime that checks it a little later, or forwards it to the token endpoint, still finds it valid).
inline constexpr std::int64_t kIdentityLifetimeSeconds = kOnBehalfLifetimeSeconds;
inline constexpr std::int64_t kIdentityRenewBeforeSeconds = kOnBehalfRenewBeforeSeconds;
// Agents on one call path (user → A → B → C → D), when the configuration does not say otherwise.
inline constexpr std::size_t kDefaultMaxAgentDepth = 4;
// Why `caller` may not call agent `agent` (SPEC: agent → agent calls): "loop" when "agent:<agent>"
// is already on its actor chain, "depth" when the chain already holds max_depth agents (or is as
// long as a token may carry), else nullopt. The invoke route answers 403 agent_call_refused.
std::optional<std::string> agent_call_refusal(const Principal& caller, std::string_view agent,
                                              std::size_t max_depth = kDefaultMaxAgentDepth);

class AgentIdentity {
 public:
  // `keys` must outlive this. Until an issuer is set no token can be made (token_for throws).
  explicit AgentIdentity(const SigningKeys& keys, std::string issuer = {});
  AgentIdentity(const AgentIdentity&) = delete;
  AgentIdentity& operator=(const AgentIdentity&) = delete;

  // The built-in issuer's identifier (start-up once the port is bound, reload). Cached tokens
  // carrying the old one are dropped.
  void set_issuer(std::string issuer) { tokens_.set_issuer(std::move(issuer)); }
  std::string issuer() const { return tokens_.issuer(); }
  // tokens.agent_call_max_depth (start-up, reload), for agent_call_refusal at the invoke route.
  void set_max_agent_depth(std::size_t depth) { max_depth_.store(depth, std::memory_order_relaxed); }
  std::size_t max_agent_depth() const { return max_depth_.load(std::memory_order_relaxed); }

  // The identity token for a call by `caller` (tenant tier `tier`) to agent `agent` in session
  // `session_id` ("" when none): typ JWT, iss, aud "agent:<agent>", sub, tenantid, appid, tier,
  // client_id, scope, session_id, act (actor_chain, nested), jti, iat/nbf, exp ≤ 5 min and never
  // after the caller's own token. Cached per thread by everything the token says, until
  // kIdentityRenewBeforeSeconds before its expiry or until the signing key or the issuer changes:
  // a hit costs a few atomic loads and one hash lookup, no signature. Throws std::runtime_error when
  // there is no active key or no issuer yet (the caller answers 503).
  std::string token_for(const Principal& caller, std::string_view tier, std::string_view agent,
                        std::string_view session_id) const;
  std::string token_for(const Principal& caller, std::string_view tier, std::string_view agent,
                        std::string_view session_id, std::int64_t now) const;

  // Tokens signed so far (cache misses; agent and MCP server tokens alike), for tests and metrics.
  std::uint64_t minted() const { return tokens_.minted(); }

  // The core behind token_for, with the same keys and issuer: what the MCP gateway mints upstream
  // server tokens with (server_token_for), so set_issuer at start-up and reload covers both.
  const OnBehalfIssuer& on_behalf() const { return tokens_; }

 private:
  OnBehalfIssuer tokens_;
  std::atomic<std::size_t> max_depth_{kDefaultMaxAgentDepth};
};

// What a verified identity token says.
struct IdentityClaims {
  std::string agent;  // the audience without its prefix
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

// Checks that `token` is an identity token this gateway issued and that it is still valid: ES256
// with a key of `keys`, typ JWT, iss == issuer, aud a single "agent:<name>", exp in the future,
// lifetime ≤ kIdentityLifetimeSeconds, sub and tenantid present, act well formed. Leeway
// `leeway_seconds` on the time checks (nodes of one cluster). Returns the claims or why not (safe
// to show: it never quotes the token).
std::variant<IdentityClaims, std::string> verify_identity_token(std::string_view token, const jose::JwkSet& keys,
                                                                std::string_view issuer, std::int64_t now,
                                                                std::int64_t leeway_seconds = 5);

}  // namespace pc::auth
