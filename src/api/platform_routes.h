// Admin REST API, platform-wide configuration (docs/admin-api.md): tiers (read from the
// configuration), capabilities and the kill list, the agent registry with versions and
// promotion, and the built-in issuer's signing keys. Platform.Admin writes, Platform.Operator
// reads.
#pragma once

#include "api/admin_deps.h"
#include "net/router.h"

namespace pc::api {

void add_platform_routes(net::Router& router, const AdminDeps& deps);
void add_agent_admin_routes(net::Router& router, const AdminDeps& deps);

}  // namespace pc::api
