// Admin REST API, first part (SPEC §5): tenants and their machine clients. Platform.Admin
// writes, Platform.Operator reads; a tenant's SelfService.Admin may rotate its own clients'
// secrets, where "its own" is the tenant in the token, never the one in the path.
#pragma once

#include "api/guard.h"
#include "net/router.h"
#include "tenancy/tenant_service.h"

namespace pc::core {
class WorkPool;
}

namespace pc::api {

struct TenantRoutesDeps {
  const Guard* guard = nullptr;
  tenancy::TenantService* tenants = nullptr;
  core::WorkPool* pool = nullptr;
};

void add_tenant_routes(net::Router& router, TenantRoutesDeps deps);

}  // namespace pc::api
