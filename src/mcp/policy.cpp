#include "mcp/policy.h"

#include <algorithm>

namespace pc::mcp {

namespace {

bool any(std::string_view pattern) { return pattern.empty() || pattern == "*"; }

bool tool_matches(std::string_view pattern, std::string_view tool) {
  if (any(pattern)) return true;
  if (pattern.ends_with('*')) return tool.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == tool;
}

bool roles_match(const std::vector<std::string>& wanted, const std::vector<std::string>& held) {
  if (wanted.empty()) return true;
  return std::any_of(wanted.begin(), wanted.end(), [&](const std::string& w) {
    return std::find(held.begin(), held.end(), w) != held.end();
  });
}

}  // namespace

bool policy_allows(const std::vector<core::McpPolicyRule>& rules, std::string_view tenant,
                   const std::vector<std::string>& roles, std::string_view server, std::string_view tool) {
  if (rules.empty()) return true;
  for (const auto& r : rules) {
    if (!any(r.tenant) && r.tenant != tenant) continue;
    if (!any(r.server) && r.server != server) continue;
    if (!tool_matches(r.tool, tool)) continue;
    if (!roles_match(r.roles, roles)) continue;
    return r.effect == "allow";
  }
  return false;
}

}  // namespace pc::mcp
