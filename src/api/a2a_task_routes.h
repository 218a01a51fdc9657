// Admin REST API: one tenant's A2A tasks (docs/admin-api.md, docs/a2a.md "Task bindings"):
// GET /v1/tenants/{id}/a2a-tasks — who may call it as for /v1/tenants/{id}/invocations (platform
// readers, and that tenant's SelfService.Admin; another tenant's principal is a tenant-access
// violation). Metadata only: ids, agent, principal, state, times — never message content.
#pragma once

#include "api/admin_deps.h"
#include "net/router.h"

namespace pc::a2a {
class TaskBindings;
}

namespace pc::api {

// `bindings` must outlive the router.
void add_a2a_task_routes(net::Router& router, const AdminDeps& deps, a2a::TaskBindings& bindings);

}  // namespace pc::api
