// The built-in issuer's HTTP surface (SPEC §4): metadata, the public keys, and the token
// endpoint. The endpoint speaks OAuth 2.0 (RFC 6749 §5), so its errors use the OAuth error shape
// {"error":"invalid_client","error_description":"…"} rather than the gateway's own: OAuth clients
// parse that shape, and the standard wins over SPEC §5 where they differ.
#pragma once

#include <functional>
#include <string>

#include "auth/signing_keys.h"
#include "auth/token_service.h"
#include "net/router.h"

namespace pc::core {
class WorkPool;
}
namespace pc::audit {
class AuditLog;
}

namespace pc::api {

struct TokenRoutesDeps {
  auth::TokenService* service = nullptr;
  const auth::SigningKeys* keys = nullptr;
  core::WorkPool* pool = nullptr;  // the token endpoint blocks (store): it runs there
  std::function<std::string()> issuer;
  // Every outcome of the token endpoint is audited (SPEC §6): issuance and exchange as
  // `token.issue` / `token.exchange`, a failed client authentication as
  // `security.authentication_failed`, other refusals as `token.refused`. Refusals are not waited
  // on and are dropped when the queue is full (flood material); an issuance that cannot be queued
  // is answered 503. nullptr: auditing off (unit tests).
  audit::AuditLog* audit = nullptr;
};

// GET /.well-known/openid-configuration, GET /.well-known/oauth-authorization-server,
// GET /.well-known/jwks.json, POST /oauth2/token.
void add_token_routes(net::Router& router, TokenRoutesDeps deps);

}  // namespace pc::api
