// Admin REST API, tenants and their machine clients (SPEC §5, docs/admin-api.md). Platform.Admin
// writes, Platform.Operator reads; a tenant's SelfService.Admin may rotate its own clients'
// secrets, where "its own" is the tenant in the token, never the one in the path.
#pragma once

#include "api/admin_deps.h"
#include "net/router.h"

namespace pc::api {

void add_tenant_routes(net::Router& router, const AdminDeps& deps);

}  // namespace pc::api
