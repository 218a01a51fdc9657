// Admin REST API, one tenant's data (docs/admin-api.md): evaluated capabilities, secrets
// (write-only: values go in, never come out), invocation metadata (never content), quotas and
// usage, and the tenant's audit export (NDJSON). Each handler reaches the data through a store
// handle bound to the path's tenant, after tenant_gate decided the caller may name it.
#pragma once

#include "api/admin_deps.h"
#include "net/router.h"

namespace pc::api {

void add_tenant_data_routes(net::Router& router, const AdminDeps& deps);

}  // namespace pc::api
