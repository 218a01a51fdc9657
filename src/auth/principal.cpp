#include "auth/principal.h"

#include <algorithm>

namespace pc::auth {

bool Principal::has_role(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool Principal::has_scope(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

bool is_known_role(std::string_view role) {
  using namespace roles;
  for (auto r : {kPlatformAdmin, kPlatformOperator, kAgentDeveloper, kAgentInvoke, kSelfServiceAdmin,
                 kMachineInvoke})
    if (r == role) return true;
  return false;
}

bool is_platform_role(std::string_view role) { return role.starts_with("Platform."); }

}  // namespace pc::auth
