// Admin REST API, what happened across the platform (docs/admin-api.md): invocation metadata
// (never content), audit search, security events, top tenants and the error rate. Reads for
// Platform.Operator and Platform.Admin.
#pragma once

#include "api/admin_deps.h"
#include "net/router.h"

namespace pc::api {

void add_activity_routes(net::Router& router, const AdminDeps& deps);

}  // namespace pc::api
