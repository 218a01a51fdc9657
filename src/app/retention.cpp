#include "app/retention.h"

#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/log.h"
#include "store/store.h"

namespace pc::app {
namespace {

audit::Event system_event(std::string action, std::string resource, std::string outcome, boost::json::object details) {
  audit::Event e;
  e.tenant_id = "platform";
  e.actor = "system";
  e.action = std::move(action);
  e.resource = std::move(resource);
  e.outcome = std::move(outcome);
  e.request_id = "retention";
  e.details = boost::json::serialize(details);
  return e;
}

}  // namespace

RetentionRun run_retention(store::Store& store, audit::AuditLog& audit, const core::RetentionConfig& cfg,
                           std::int64_t now) {
  constexpr std::int64_t kDay = 86400;
  RetentionRun run;
  try {
    run.invocation_contents =
        store.purge_invocation_content_before(core::rfc3339_from_unix(now - cfg.invocation_content_days * kDay));
    run.sessions = store.purge_sessions_before(core::rfc3339_from_unix(now - std::int64_t{cfg.sessions_hours} * 3600));
    // 365.25 days a year: a leap day never shortens the promised retention.
    run.audit_events = store.purge_audit_before(core::rfc3339_from_unix(now - cfg.audit_years * (kDay * 1461 / 4)));
    for (const auto& tenant : store.tenants_due_for_purge(now)) {
      store.purge_tenant(tenant);
      run.tenants_purged.push_back(tenant);
      audit.record_sync(system_event("tenant.purge", "/v1/tenants/" + tenant, "success", {{"tenantId", tenant}}));
      log::info("tenant purged", {{"tenant", tenant}});
    }
  } catch (const std::exception& e) {
    audit.record_sync(system_event("retention.run", "retention", "failure", {{"error", e.what()}}));
    throw;
  }
  boost::json::array purged(run.tenants_purged.begin(), run.tenants_purged.end());
  audit.record_sync(system_event("retention.run", "retention", "success",
                                 {{"invocationContents", run.invocation_contents},
                                  {"sessions", run.sessions},
                                  {"auditEvents", run.audit_events},
                                  {"tenantsPurged", std::move(purged)}}));
  log::info("retention run", {{"invocation_contents", run.invocation_contents}, {"sessions", run.sessions},
                              {"audit_events", run.audit_events},
                              {"tenants_purged", static_cast<std::int64_t>(run.tenants_purged.size())}});
  return run;
}

}  // namespace pc::app
