// The tenant a /v1/tenants/{id}/… path names, looked up the same way on every such route, so an
// unknown tenant is 404 not_found everywhere (never 200 with an empty list on one route and 404
// on its sibling). Blocking: call them inside run_blocking; they throw the tenancy not_found
// error run_blocking answers as 404.
#pragma once

#include <string>

#include "api/admin_deps.h"
#include "store/records.h"

namespace pc::api {

// The tenant's record (deleted tenants included: their data is still there).
store::TenantRecord path_tenant(const AdminDeps& d, const std::string& id);

// For routes where the reserved tenant "platform" (which has no record) holds data too: its
// clients, secrets and audit events. Any other id must name a tenant.
void check_path_tenant(const AdminDeps& d, const std::string& id);

}  // namespace pc::api
