// The Admin API of usage plans (docs/usage-plans.md, docs/admin-api.md):
//   GET    /v1/tenants/{id}/limits  (Platform.Admin, Platform.Operator) the tier's limits, the
//          tenant's override and the effective plan
//   PUT    /v1/tenants/{id}/limits  (Platform.Admin) replaces the override: the fields given
//          (rps, burst, principalRps, principalBurst, maxConcurrent, dailyQuota, dailyToolCalls;
//          null or absent = the tier's); audited as tenant.limits.set
//   DELETE /v1/tenants/{id}/limits  (Platform.Admin) back to the tier's; audited; 404 when none
//   GET    /v1/tenants/{id}/quotas  (Platform.Admin, Platform.Operator) the plan and the quota
//          day's usage as counted by the limit stage
#pragma once

#include "api/admin_deps.h"
#include "net/router.h"

namespace pc::tenancy {
class UsageLimits;
}

namespace pc::api {

void add_limit_routes(net::Router& router, const AdminDeps& d, tenancy::UsageLimits& limits);

}  // namespace pc::api
