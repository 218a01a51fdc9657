// The `mcp.policies` rules (SPEC §7, core::McpPolicyRule): which tenant and roles may use which
// tool of which server. The federation asks the same function when it lists tools and when it
// gates a call, so a tool that is not listed cannot be called.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"

namespace pc::mcp {

// Rules in order, the first match decides (effect allow or deny). No rules: everything is allowed
// (the other checks of the rule set still apply). Rules exist and none matches: denied.
// A rule matches when: tenant is "", "*" or equal; server is "", "*" or equal; tool is "", "*",
// equal, or "<prefix>*" and the tool starts with <prefix>; roles is empty or holds one of the
// caller's roles. Comparisons are exact (case-sensitive): names are identifiers, not text.
// An effect other than "allow" denies (the configuration admits only allow and deny).
bool policy_allows(const std::vector<core::McpPolicyRule>& rules, std::string_view tenant,
                   const std::vector<std::string>& roles, std::string_view server, std::string_view tool);

}  // namespace pc::mcp
