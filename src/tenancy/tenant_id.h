// Tenant identifiers (SPEC §6): ^[a-z](?:[a-z0-9-]{1,30}[a-z0-9])$, and a few reserved names that
// no customer may take ("platform" is the tenant platform principals act as).
#pragma once

#include <string_view>

namespace pc::tenancy {

// The reserved tenant that platform principals (Platform.* roles) act as.
inline constexpr std::string_view kPlatformTenant = "platform";

bool is_valid_tenant_id(std::string_view id);
bool is_reserved_tenant_id(std::string_view id);

}  // namespace pc::tenancy
