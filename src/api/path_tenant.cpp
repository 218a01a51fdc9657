#include "api/path_tenant.h"

#include "tenancy/tenant_service.h"

namespace pc::api {

store::TenantRecord path_tenant(const AdminDeps& d, const std::string& id) {
  auto t = d.tenants->get(id);
  if (!t) throw tenancy::TenancyError(tenancy::TenancyError::Kind::not_found, "no tenant '" + id + "'");
  return *t;
}

void check_path_tenant(const AdminDeps& d, const std::string& id) {
  if (id != auth::kPlatformTenant) path_tenant(d, id);
}

}  // namespace pc::api
