#include "agents/catalog.h"

#include <algorithm>

#include "tenancy/tiers.h"

namespace pc::agents {

AgentCatalog::AgentCatalog() { publish({}); }

void AgentCatalog::publish(std::vector<AgentEntry> agents) {
  std::sort(agents.begin(), agents.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  auto next = std::make_shared<std::vector<std::shared_ptr<const AgentEntry>>>();
  for (auto& a : agents) next->push_back(std::make_shared<const AgentEntry>(std::move(a)));
  agents_.publish(std::move(next));
}

std::vector<AgentEntry> AgentCatalog::visible_to(std::string_view tier) const {
  std::vector<AgentEntry> out;
  for (const auto& a : *agents_.read())
    if (tenancy::tier_meets(tier, a->tier_minimum)) out.push_back(*a);
  return out;
}

std::shared_ptr<const AgentEntry> AgentCatalog::find_for(std::string_view name, std::string_view tier) const {
  for (const auto& a : *agents_.read())
    if (a->name == name) return tenancy::tier_meets(tier, a->tier_minimum) ? a : nullptr;
  return nullptr;
}

}  // namespace pc::agents
