#include "audit/change_audit.h"

#include "audit/canonical.h"
#include "audit/chain.h"
#include "core/clock.h"

namespace pc::audit {

store::AuditedChange change_audit(store::Store& store, std::string actor, std::string request_id) {
  return [&store, actor = std::move(actor), request_id = std::move(request_id)](
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
    r.details = "{}";
    canonicalize(r);  // as AuditLog::record does: what is hashed is what is stored
    store.audited(r, link, change);
  };
}

}  // namespace pc::audit
