// Automatic suspension of a tenant past its usage plan's daily budget (`suspend_after`,
// docs/usage-plans.md "Suspension budget"): what the usage plans' sync thread calls when a tenant's
// invocations + tool calls of the quota day pass the budget (tenancy::UsageLimits::Options::
// on_over_budget).
//
// The suspension goes through the tenant service like an admin's PATCH (the directory of this
// node at once, other nodes through the change signal or their poll), audited in the same
// transaction as `tenant.suspend` by actor `system` with the reason, logged and counted. An admin
// resumes the tenant (`PATCH /v1/tenants/{id}` status active); a tenant an admin changed during
// the current quota day is not suspended again that day, so a resume holds until the counts reset.
#pragma once

#include <functional>
#include <string>

#include "store/store.h"
#include "tenancy/quota_meter.h"
#include "tenancy/tenant_service.h"

namespace pc::app {

enum class BudgetOutcome { suspended, not_active, resumed_today };

// Blocking (store). `changed(kind, tenant)` signals other nodes after the commit. Throws what the
// store throws (the caller tries again later).
BudgetOutcome suspend_over_budget(store::Store& store, tenancy::TenantService& tenants, const tenancy::OverBudget& o,
                                  const std::function<void(const std::string&, const std::string&)>& changed);

}  // namespace pc::app
