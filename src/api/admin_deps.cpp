#include "api/admin_deps.h"

#include "api/blocking.h"
#include "audit/change_audit.h"
#include "core/log.h"
#include "store/tenant_store.h"

namespace pc::api {
namespace {

// A plain refusal (not a violation), audited as a security event; the chain logs and counts it.
net::Response denied(const net::Request& req, const Caller&, std::string_view message) {
  auto r = net::error_response(403, "forbidden", message, req.request_id);
  r.audit_action = "security.access_denied";
  return r;
}

}  // namespace

AuditedChange change_audit(const AdminDeps& d, const net::Request& req, const Caller& caller) {
  if (!d.store) return {};
  auto audited = audit::change_audit(*d.store, caller->subject, caller->tenant, req.request_id);
  if (!d.changed) return audited;
  // once the change and its event committed, the other nodes hear of it.
  return [audited = std::move(audited), changed = d.changed](const std::string& tenant_id, const std::string& action,
                                                             const std::string& resource,
                                                             const std::function<void()>& change) {
    audited(tenant_id, action, resource, change);  // throws when nothing committed: no signal
    changed(action, tenant_id);
  };
}

std::optional<net::Response> tenant_gate(const net::Request& req, const Caller& caller, std::string_view path_tenant,
                                         bool platform_admin_only, bool self_service) {
  using namespace auth::roles;
  if (caller->is_platform()) {
    if (caller->has_role(kPlatformAdmin) || (!platform_admin_only && caller->has_role(kPlatformOperator)))
      return std::nullopt;
    return denied(req, caller, "this route requires the role Platform.Admin");
  }
  // A tenant principal: only self-service routes, only its own tenant (from the token).
  if (caller->tenant != path_tenant) {
    store::count_tenant_access_violation();
    return violation_response(req, "the path names another tenant than the caller's");
  }
  if (self_service && caller->has_role(kSelfServiceAdmin)) return std::nullopt;
  return denied(req, caller,
                self_service ? "this route requires SelfService.Admin of this tenant or a platform role"
                             : "this route is for platform principals");
}

}  // namespace pc::api
