// The built-in issuer's token endpoint logic (SPEC §4, RFC 6749 §4.4, RFC 8693, RFC 9068), with no
// HTTP in it: the handler parses the form and the Authorization header into a TokenRequest and
// renders the outcome. Blocking (store lookups, a possible JWKS refetch for a subject token):
// call it from a WorkPool.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "auth/authenticator.h"
#include "auth/signing_keys.h"
#include "store/store.h"
#include "tenancy/tenant_directory.h"

namespace pc::auth {

inline constexpr std::string_view kGrantClientCredentials = "client_credentials";
inline constexpr std::string_view kGrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange";
inline constexpr std::string_view kTokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token";
inline constexpr std::string_view kTokenTypeJwt = "urn:ietf:params:oauth:token-type:jwt";

struct TokenRequest {
  std::string grant_type;
  std::string client_id;
  std::string client_secret;
  bool client_auth_basic = false;  // the credentials came in an Authorization: Basic header
  std::optional<std::string> scope;
  std::vector<std::string> audiences;  // "audience" and "resource" parameters
  // token exchange
  std::string subject_token;
  std::string subject_token_type;
  std::string actor_token;
  std::string requested_token_type;
};

struct IssuedToken {
  std::string access_token;
  std::int64_t expires_in = 0;
  std::string scope;              // granted scopes, space-separated ("" = none)
  std::string issued_token_type;  // token exchange only
  // For the audit trail: whom the token speaks for, in which tenant, and its id.
  std::string tenant;
  std::string subject;
  std::string token_id;  // jti
  // Who asked, for the audit trail when no client authenticated: "agent:<name>" for an agent's
  // identity exchange (issue 9). "" = the authenticated client.
  std::string actor;
};

// RFC 6749 §5.2 error: `error` is the registered code, `description` safe to show.
struct OAuthError {
  int status = 400;
  std::string error;
  std::string description;
  std::string tenant;  // the authenticated client's tenant; "" when the client is not known (yet)
};

struct TokenSettings {
  std::string issuer;
  std::vector<std::string> audiences;  // the first is the default audience
  std::int64_t ttl_seconds = 900;
};

// Everything a minted access token says. Claims left empty are omitted.
struct AccessTokenClaims {
  std::string subject;
  std::vector<std::string> audiences;
  std::string client_id;
  std::string tenant;
  std::string app;
  std::vector<std::string> roles;
  std::vector<std::string> scopes;
  std::string email;
  std::string name;
  std::string actor;        // act.sub
  std::vector<std::string> prior_actors;  // act.act.sub, …: the subject token's actors, nearest first
  std::int64_t expires_at = 0;
};

class TokenService {
 public:
  // `verify_subject` verifies a subject token the way requests are verified (including a JWKS
  // refetch if needed); it blocks.
  using VerifySubject = std::function<AuthResult(const std::string& token, std::int64_t now)>;

  TokenService(store::Store& store, const SigningKeys& keys, const tenancy::TenantDirectory& tenants,
               VerifySubject verify_subject, TokenSettings settings);

  void set_settings(TokenSettings settings);
  // A token exchange without client credentials whose subject_token_type is jwt is an agent's
  // identity exchange (docs/agent-identity.md): the subject token must be an identity token this
  // gateway issued (aud agent:<name>) and still valid; the result speaks for the same user, in the
  // same tenant, with role Machine.Invoke only and act = {sub: "agent:<name>", act: <its act>}.
  std::variant<IssuedToken, OAuthError> handle(const TokenRequest& req, std::int64_t now) const;

  // Signs an RFC 9068 access token (typ at+jwt, ES256) with the active key; `now` is iat.
  std::string mint(const AccessTokenClaims& claims, std::int64_t now) const;
  // The same, also returning the jti it chose.
  std::string mint(const AccessTokenClaims& claims, std::int64_t now, std::string& token_id) const;

 private:
  std::variant<store::ClientRecord, OAuthError> authenticate_client(const TokenRequest& req) const;
  std::variant<IssuedToken, OAuthError> client_credentials(const store::ClientRecord& c, const TokenRequest& req,
                                                           std::int64_t now) const;
  std::variant<IssuedToken, OAuthError> token_exchange(const store::ClientRecord& c, const TokenRequest& req,
                                                       std::int64_t now) const;
  std::variant<std::vector<std::string>, OAuthError> audiences_for(const TokenRequest& req) const;
  // issue 9: identity — an agent exchanges the identity token it was called with (no client
  // authentication: the token is the proof) for an access token to call other agents.
  std::variant<IssuedToken, OAuthError> agent_exchange(const TokenRequest& req, std::int64_t now) const;

  store::Store& store_;
  const SigningKeys& keys_;
  const tenancy::TenantDirectory& tenants_;
  VerifySubject verify_subject_;
  core::Published<TokenSettings> settings_;
};

}  // namespace pc::auth
