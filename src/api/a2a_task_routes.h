// Admin REST API: one tenant's A2A tasks (docs/admin-api.md, docs/a2a.md "Task bindings"):
// GET /v1/tenants/{id}/a2a-tasks — platform readers (Platform.Admin, Platform.Operator) and that
// tenant's own SelfService.Admin (PathTenant::self_service: a tenant's admin may see its own tasks,
// unlike /invocations, which is platform-only); another tenant's principal is a tenant-access
// violation. Metadata only: ids, agent, principal, state, times — never message content.
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
