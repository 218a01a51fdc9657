#include "agents/catalog.h"

#include <algorithm>

#include "tenancy/tiers.h"

namespace pc::agents {

AgentCatalog::AgentCatalog() { agents_.publish(std::make_shared<std::vector<AgentEntry>>()); }

void AgentCatalog::publish(std::vector<AgentEntry> agents) {
  std::sort(agents.begin(), agents.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  agents_.publish(std::make_shared<std::vector<AgentEntry>>(std::move(agents)));
}

std::vector<AgentEntry> AgentCatalog::visible_to(std::string_view tier) const {
  std::vector<AgentEntry> out;
  for (const auto& a : *agents_.read())
    if (tenancy::tier_meets(tier, a.tier_minimum)) out.push_back(a);
  return out;
}

std::optional<AgentEntry> AgentCatalog::find_for(std::string_view name, std::string_view tier) const {
  for (const auto& a : *agents_.read())
    if (a.name == name) {
      if (!tenancy::tier_meets(tier, a.tier_minimum)) return std::nullopt;
      return a;
    }
  return std::nullopt;
}

}  // namespace pc::agents
