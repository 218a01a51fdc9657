// The one rule set of SPEC §7 that decides both what tools/list shows and what tools/call may
// reach, so that a tool that would not be listed cannot be called whatever name the client sends.
// Listing and calling both ask allows_tool(); resources and prompts ask allows_server().
//
// A server may be used when: it belongs to the caller's tenant or is a global one (defence in
// depth: the directory already filters), it is enabled, the tenant's tier meets its tierMinimum,
// the capability `tools.<server>` allows the tenant, and the caller is a tenant principal with
// one of the MCP roles (Agent.Invoke, Machine.Invoke, Agent.Developer). A tool additionally: it
// is not in the server's disabled_tools, and the configured policy rules allow it.
//
// Deny by default: a missing capability table or policy port denies.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace pc::tenancy {
class Capabilities;
}

namespace pc::mcp {

struct ServerEntry;

// Who asks, as the rules need it (from the verified principal and the tenant record).
struct RuleSubject {
  std::string tenant;
  std::string tier;
  std::vector<std::string> roles;
};

// Policy rules (area "intercept", src/mcp/policy.h: allows(tenant, roles, server, tool)): true
// when the configured rules let this caller use the tool. The gateway wires it; with no rules
// configured it allows.
using PolicyPort = std::function<bool(std::string_view tenant, const std::vector<std::string>& roles,
                                      std::string_view server, std::string_view tool)>;

// The roles that may use /mcp at all.
bool has_mcp_role(const std::vector<std::string>& roles);

class ToolRules {
 public:
  // `capabilities` must outlive this object; null denies everything.
  ToolRules(const tenancy::Capabilities* capabilities, PolicyPort policy);

  bool allows_server(const RuleSubject& who, const ServerEntry& server) const;
  bool allows_tool(const RuleSubject& who, const ServerEntry& server, std::string_view tool) const;

 private:
  const tenancy::Capabilities* capabilities_;
  PolicyPort policy_;
};

}  // namespace pc::mcp
