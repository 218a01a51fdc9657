#include "app/budget_suspension.h"

#include <boost/json.hpp>

#include "audit/change_audit.h"
#include "core/log.h"
#include "core/metrics.h"

namespace pc::app {

BudgetOutcome suspend_over_budget(store::Store& store, tenancy::TenantService& tenants, const tenancy::OverBudget& o,
                                  const std::function<void(const std::string&, const std::string&)>& changed) {
  static core::Counter& suspensions =
      core::metrics()
          .counter("portcullis_tenant_budget_suspensions_total",
                   "Tenants suspended automatically for passing their plan's suspend_after")
          .labels({});
  auto t = tenants.get(o.tenant);
  // Suspended already (another node was first, or an admin), or deleted: nothing to do.
  if (!t || t->status != "active") return BudgetOutcome::not_active;
  // Changed by an admin during this quota day (after its creation): most likely a resume of this
  // very suspension. It holds until the counts reset at the next quota day.
  if (t->updated_at >= o.day && t->updated_at != t->created_at) {
    log::info("tenant past its suspension budget not suspended again: an admin changed it this quota day",
              {{"tenant", o.tenant}, {"used", std::to_string(o.used)}, {"suspend_after", std::to_string(o.budget)},
               {"updated_at", t->updated_at}});
    return BudgetOutcome::resumed_today;
  }
  const std::string details = boost::json::serialize(boost::json::object{
      {"reason", "daily_budget"}, {"suspendAfter", o.budget}, {"used", o.used}, {"quotaDay", o.day}});
  auto audited = audit::change_audit(store, "system", "platform", "usage-budget", details);
  // TenantService::update names the change tenant.update; this one is told apart.
  store::AuditedChange as_suspend = [audited](const std::string& tenant, const std::string&, const std::string& resource,
                                              const std::function<void()>& change) {
    audited(tenant, "tenant.suspend", resource, change);
  };
  store::TenantPatch patch;
  patch.status = "suspended";
  tenants.update(o.tenant, patch, as_suspend);
  suspensions.inc();
  log::warn("tenant suspended: its calls this quota day passed its plan's suspend_after",
            {{"tenant", o.tenant}, {"used", std::to_string(o.used)}, {"suspend_after", std::to_string(o.budget)},
             {"quota_day", o.day}});
  if (changed) changed("tenant.suspend", o.tenant);
  return BudgetOutcome::suspended;
}

}  // namespace pc::app
