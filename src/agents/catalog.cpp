#include "agents/catalog.h"

#include <algorithm>

#include "tenancy/capabilities.h"
#include "tenancy/tiers.h"

namespace pc::agents {

bool may_use_agent(const AgentEntry& a, const tenancy::Capabilities& caps, std::string_view tenant, std::string_view tier) {
  if (!tenancy::tier_meets(tier, a.tier_minimum)) return false;
  if (!caps.allows("agents.invoke", tenant, tier)) return false;
  std::string own;
  own.reserve(7 + a.name.size());
  own.append("agents.").append(a.name);
  return caps.allows(own, tenant, tier);
}

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

std::vector<AgentEntry> AgentCatalog::all() const {
  std::vector<AgentEntry> out;
  for (const auto& a : *agents_.read()) out.push_back(*a);
  return out;
}

std::shared_ptr<const AgentEntry> AgentCatalog::find(std::string_view name) const {
  for (const auto& a : *agents_.read())
    if (a->name == name) return a;
  return nullptr;
}

std::shared_ptr<const AgentEntry> AgentCatalog::find_for(std::string_view name, std::string_view tier) const {
  auto a = find(name);
  return a && tenancy::tier_meets(tier, a->tier_minimum) ? a : nullptr;
}

std::shared_ptr<const AgentEntry> AgentCatalog::usable(std::string_view name, const tenancy::Capabilities& caps,
                                                       std::string_view tenant, std::string_view tier) const {
  for (const auto& a : *agents_.read())
    if (a->name == name) return may_use_agent(*a, caps, tenant, tier) ? a : nullptr;
  return nullptr;
}

std::vector<std::shared_ptr<const AgentEntry>> AgentCatalog::all_usable(const tenancy::Capabilities& caps,
                                                                        std::string_view tenant, std::string_view tier) const {
  std::vector<std::shared_ptr<const AgentEntry>> out;
  for (const auto& a : *agents_.read())
    if (may_use_agent(*a, caps, tenant, tier)) out.push_back(a);
  return out;
}

}  // namespace pc::agents
