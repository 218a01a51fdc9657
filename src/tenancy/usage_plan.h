// Usage plans (docs/usage-plans.md): what a tenant may consume, from its tier's configuration
// (`tiers:`) with the tenant's own override (Admin API `/v1/tenants/{id}/limits`, stored in
// tenant_limits) laid over it field by field.
//
// The limit stage resolves a plan on every request, on the I/O thread, so both tables are
// immutable snapshots published whole (core::Published): a read is one atomic load and two map
// lookups, never a store round trip. The override table is reloaded from the store at start, at
// once after a change made through this node, and on the periodic refresh (other nodes' changes).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/published.h"

namespace pc::tenancy {

// One tenant's effective limits. 0 = no limit of that kind (rps 0: no rate limit).
struct Plan {
  double rps = 0;
  std::uint64_t burst = 0;
  double principal_rps = 0;
  std::uint64_t principal_burst = 0;  // never 0 when principal_rps is set (defaults to burst)
  std::uint64_t max_concurrent = 0;
  std::uint64_t daily_quota = 0;       // invocations (invoke, A2A messages) per quota day
  std::uint64_t daily_tool_calls = 0;  // MCP tools/call per quota day
  // Calls (invocations + tool calls) in a quota day past which the tenant is suspended (audited).
  std::uint64_t suspend_after = 0;
  bool operator==(const Plan&) const = default;
};

// A tenant's override: each field set replaces the tier's value, the others stay the tier's.
struct PlanOverride {
  std::optional<double> rps;
  std::optional<std::uint64_t> burst;
  std::optional<double> principal_rps;
  std::optional<std::uint64_t> principal_burst;
  std::optional<std::uint64_t> max_concurrent;
  std::optional<std::uint64_t> daily_quota;
  std::optional<std::uint64_t> daily_tool_calls;
  std::optional<std::uint64_t> suspend_after;
  std::string updated_at;
  std::string updated_by;
  bool empty() const;
  bool operator==(const PlanOverride&) const = default;
};

Plan plan_of_tier(const core::TierConfig& t);
Plan apply_override(Plan p, const PlanOverride& o);

// The JSON object the Admin API and the store use (camelCase keys; absent or null = the tier's):
// {"rps":…,"burst":…,"principalRps":…,"principalBurst":…,"maxConcurrent":…,"dailyQuota":…,
//  "dailyToolCalls":…,"suspendAfter":…}. parse_override throws std::invalid_argument naming the field at fault
// (unknown fields, wrong types, out of range).
PlanOverride parse_override(std::string_view json);
std::string override_json(const PlanOverride& o);  // only the fields set
std::string plan_json(const Plan& p);

class UsagePlans {
 public:
  using Tiers = std::map<std::string, Plan, std::less<>>;
  using Overrides = std::map<std::string, PlanOverride, std::less<>>;

  UsagePlans();

  // On start and on every configuration reload.
  void publish_tiers(const std::map<std::string, core::TierConfig>& tiers);
  // The whole override table (store rows), on start, after a change and on the refresh.
  void publish_overrides(Overrides overrides);

  // The plan in force for `tenant` of `tier`. A tier the configuration no longer names (a reload
  // removed it) gets the lowest-ranked tier's plan: limits never vanish because of a typo.
  Plan resolve(std::string_view tenant, std::string_view tier) const;
  Plan tier_plan(std::string_view tier) const;
  std::optional<PlanOverride> override_of(std::string_view tenant) const;

 private:
  struct TierTable {
    Tiers plans;
    Plan fallback;
  };
  core::Published<TierTable> tiers_;
  core::Published<Overrides> overrides_;
};

}  // namespace pc::tenancy
