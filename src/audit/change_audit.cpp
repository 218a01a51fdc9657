#include "audit/change_audit.h"

#include "audit/canonical.h"
#include "audit/chain.h"
#include "core/clock.h"
#include "core/json_text.h"

namespace pc::audit {

store::AuditedChange change_audit(store::Store& store, std::string actor, std::string actor_tenant,
                                  std::string request_id, std::string details) {
  if (details.empty()) details = "{}";
  return [&store, actor = std::move(actor), actor_tenant = std::move(actor_tenant), request_id = std::move(request_id),
          details = std::move(details)](
             const std::string& tenant_id, const std::string& action, const std::string& resource,
             const std::function<void()>& change) {
    store::AuditRecord r;
    r.time = core::rfc3339_now();
    r.tenant_id = tenant_id;
    r.actor = actor;
    r.action = action;
    r.resource = resource;
    r.outcome = "success";
    r.request_id = request_id;
    r.details = details;
    if (!actor_tenant.empty() && actor_tenant != tenant_id) {
      // `details` is an object: actorTenant goes in as its first member.
      std::string first = "{\"actorTenant\":";
      core::append_json_string(first, actor_tenant);
      r.details = first + (details == "{}" ? "}" : "," + details.substr(1));
    }
    canonicalize(r);  // as AuditLog::record does: what is hashed is what is stored
    store.audited(r, link, change);
  };
}

}  // namespace pc::audit
