// The stages that decide who is calling and whether it may (docs/life-of-a-request.md §4),
// each one job of a route's chain (api/chain.h):
// - authenticate: the bearer token (verified-token cache, JOSE verification, a JWKS refetch off
//   the I/O thread when the token names a new key) → 401 with `WWW-Authenticate: Bearer …`
//   (RFC 6750 §3), never echoing the token;
// - bind tenant: the caller gets its tenant's tier (the authenticator has already refused a
//   tenant that is unknown or not active, on every request, cached or not);
// - roles: platform-only or tenant-only principals, any of the route's roles (SPEC §5) → 403;
// - tenant in path: who may act on the tenant a path names (tenant_gate) → 403, a violation
//   when a tenant principal names another tenant;
// - capability: a named capability must allow the caller's tenant (SPEC §6) → 403.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/chain.h"
#include "api/stage.h"

namespace pc::tenancy {
class Capabilities;
}

namespace pc::api {

std::unique_ptr<const Stage> authenticate_stage(const auth::Authenticator& authenticator, auth::KeyRefresher& refresher);
std::unique_ptr<const Stage> bind_tenant_stage();
// nullptr when the policy admits every authenticated principal.
std::unique_ptr<const Stage> roles_stage(const Policy& policy);
std::unique_ptr<const Stage> tenant_in_path_stage(PathTenant rule);
std::unique_ptr<const Stage> capability_stage(const tenancy::Capabilities& capabilities, std::string name);

}  // namespace pc::api
