// The agents the gateway can route to, as an immutable snapshot read on every request.
// The agent registry (agents/registry.h) publishes every agent's promoted version into it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/published.h"

namespace pc::tenancy {
class Capabilities;
}

namespace pc::agents {

struct AgentEntry {
  std::string name;
  std::string description;
  std::string tier_minimum = "basic";
  std::string protocol = "http";  // invocation contract (POST /invocations)
  std::string version = "1";
  std::string scheme = "http";  // runtime endpoint: "http" or "https" (certificate verified)
  std::string host;             // a name, an IPv4 or an IPv6 literal (without brackets)
  std::uint16_t port = 0;
  bool operator==(const AgentEntry&) const = default;
};

// Whether a tenant may use an agent (SPEC §6): its tier meets the agent's minimum and the
// capabilities `agents.invoke` (the tenant's switch for all agents) and `agents.<name>` allow
// it. The one rule for agents, used by listing and by invoking alike, so an agent that is not
// listed cannot be invoked either.
bool may_use_agent(const AgentEntry& agent, const tenancy::Capabilities& capabilities, std::string_view tenant,
                   std::string_view tier);

class AgentCatalog {
 public:
  AgentCatalog();
  void publish(std::vector<AgentEntry> agents);
  // The agents a tenant of `tier` may invoke, by name.
  std::vector<AgentEntry> visible_to(std::string_view tier) const;
  // records (issue 9): every published agent, whatever the tier (the health checker pings them all).
  std::vector<AgentEntry> all() const;
  // One published agent by name, whatever the tier; nullptr if none. Not a tenant-facing lookup
  // (those are usable() and all_usable() below): the health checker's status by name.
  std::shared_ptr<const AgentEntry> find(std::string_view name) const;
  // The agent if it exists and `tier` meets its minimum; otherwise nullptr (the caller cannot
  // tell an agent above its tier from one that does not exist). Shared, not copied: this runs
  // on every invocation.
  std::shared_ptr<const AgentEntry> find_for(std::string_view name, std::string_view tier) const;

  // What the tenant may use (may_use_agent): one agent by name, or all of them by name.
  // Tenant-facing routes ask these, never the tier-only lookups above.
  std::shared_ptr<const AgentEntry> usable(std::string_view name, const tenancy::Capabilities& capabilities,
                                           std::string_view tenant, std::string_view tier) const;
  std::vector<std::shared_ptr<const AgentEntry>> all_usable(const tenancy::Capabilities& capabilities,
                                                            std::string_view tenant, std::string_view tier) const;

 private:
  core::Published<std::vector<std::shared_ptr<const AgentEntry>>> agents_;
};

}  // namespace pc::agents
