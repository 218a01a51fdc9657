#include "mcp/tool_rules.h"

#include <algorithm>

#include "mcp/server.h"
#include "tenancy/capabilities.h"
#include "tenancy/tenant_id.h"
#include "tenancy/tiers.h"

namespace pc::mcp {

bool has_mcp_role(const std::vector<std::string>& roles) {
  for (const auto& r : roles)
    if (r == "Agent.Invoke" || r == "Machine.Invoke" || r == "Agent.Developer") return true;
  return false;
}

ToolRules::ToolRules(const tenancy::Capabilities* capabilities, PolicyPort policy)
    : capabilities_(capabilities), policy_(std::move(policy)) {}

bool ToolRules::allows_server(const RuleSubject& who, const ServerEntry& server) const {
  if (who.tenant.empty() || who.tenant == tenancy::kPlatformTenant) return false;  // tenant principals only
  if (!server.is_global() && server.tenant != who.tenant) return false;
  if (!server.enabled) return false;
  if (!has_mcp_role(who.roles)) return false;
  if (!tenancy::tier_meets(who.tier, server.tier_minimum)) return false;
  if (!capabilities_) return false;
  return capabilities_->allows("tools." + server.name, who.tenant, who.tier);
}

bool ToolRules::allows_tool(const RuleSubject& who, const ServerEntry& server, std::string_view tool) const {
  if (tool.empty() || !allows_server(who, server)) return false;
  if (std::find(server.disabled_tools.begin(), server.disabled_tools.end(), tool) != server.disabled_tools.end())
    return false;
  if (!policy_) return false;
  try {
    return policy_(who.tenant, who.roles, server.name, tool);
  } catch (...) {
    return false;  // a rule that cannot be evaluated denies
  }
}

}  // namespace pc::mcp
