// The stages every protected request walks before its handler (docs/life-of-a-request.md §4):
// take the bearer token, authenticate it (verified-token cache, JOSE verification, a JWKS
// refetch off the I/O thread when the token names a new key), bind the tenant and its tier from
// the tenant record, and check the route's role requirement (SPEC §5). A handler behind the
// guard receives a Caller and never sees an unauthenticated or unauthorised request.
//
// 401 answers carry `WWW-Authenticate: Bearer …` (RFC 6750 §3); 403 means authenticated but not
// allowed. Each refusal is counted in portcullis_auth_failures_total{reason} and logged with the
// request id and the reason, never the token.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/audit_trail.h"
#include "auth/authenticator.h"
#include "auth/key_refresher.h"
#include "net/http.h"

namespace pc::api {

struct Caller {
  std::shared_ptr<const auth::Principal> principal;
  std::string tier;  // the tenant's tier, from the tenant record
  const auth::Principal& operator*() const { return *principal; }
  const auth::Principal* operator->() const { return principal.get(); }
};

using AuthedHandler = std::function<void(std::shared_ptr<net::Request>, Caller, net::Responder)>;

// Who may call a route.
struct Access {
  std::vector<std::string> any_of_roles;  // empty: any authenticated principal
  bool tenant_principals_only = false;    // refuse platform principals (tenant-facing routes)
  bool platform_only = false;             // only principals of the platform tenant

  static Access authenticated() { return {}; }
  static Access tenant(std::initializer_list<std::string_view> roles = {});
  static Access platform(std::initializer_list<std::string_view> roles);
};

class Guard {
 public:
  // With a trail, every call that passes is recorded (and state changes acknowledged only once
  // durable), and every refusal is recorded as a security event.
  Guard(const auth::Authenticator& authenticator, auth::KeyRefresher& refresher, const AuditTrail* trail = nullptr);

  net::Handler protect(Access access, AuthedHandler handler) const;

  // The whole check, for callers that are not a route (other protocols). `done` gets a Caller or
  // the error Response to send; it runs on this thread, or on the key-refresh thread when the
  // token needed a JWKS refetch.
  using Outcome = std::variant<Caller, net::Response>;
  void check(std::shared_ptr<net::Request> req, const Access& access, std::function<void(Outcome)> done) const;

 private:
  auth::AuthResult authenticate(const net::Request& req, bool allow_refetch) const;
  Outcome decide(const net::Request& req, const Access& access, const auth::AuthResult& r) const;

  const auth::Authenticator& auth_;
  auth::KeyRefresher& refresher_;
  const AuditTrail* trail_;
};

// The bearer token of an Authorization header, or "" (absent, another scheme, malformed).
std::string_view bearer_token(const net::Request& req);

}  // namespace pc::api
