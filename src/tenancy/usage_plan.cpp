#include "tenancy/usage_plan.h"

#include <boost/json.hpp>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>

#include "core/json_text.h"

namespace pc::tenancy {
namespace {

// Field names of the JSON form, in the order they are written.
constexpr std::string_view kRps = "rps", kBurst = "burst", kPrincipalRps = "principalRps",
                           kPrincipalBurst = "principalBurst", kMaxConcurrent = "maxConcurrent",
                           kDailyQuota = "dailyQuota", kDailyToolCalls = "dailyToolCalls", kSuspendAfter = "suspendAfter";

// An rps up to a million per second and counts up to 2^53 (exact in a JSON number).
constexpr double kMaxRps = 1e6;
constexpr std::uint64_t kMaxCount = std::uint64_t{1} << 53;

std::optional<double> rate_field(const boost::json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  const auto& v = it->value();
  if (!v.is_number()) throw std::invalid_argument(std::string(key) + " must be a number");
  const double x = v.to_number<double>();
  if (!std::isfinite(x) || x <= 0 || x > kMaxRps)
    throw std::invalid_argument(std::string(key) + " must be a number greater than 0 and at most 1000000");
  return x;
}

std::optional<std::uint64_t> count_field(const boost::json::object& o, std::string_view key, std::uint64_t min) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  const auto& v = it->value();
  std::uint64_t n = 0;
  if (v.is_int64() && v.get_int64() >= 0) n = static_cast<std::uint64_t>(v.get_int64());
  else if (v.is_uint64()) n = v.get_uint64();
  else if (v.is_double() && v.get_double() >= 0 && std::floor(v.get_double()) == v.get_double() && v.get_double() <= 9e15)
    n = static_cast<std::uint64_t>(v.get_double());
  else throw std::invalid_argument(std::string(key) + " must be a non-negative integer");
  if (n < min || n > kMaxCount)
    throw std::invalid_argument(std::string(key) + " must be an integer from " + std::to_string(min) + " to 2^53");
  return n;
}

}  // namespace

bool PlanOverride::empty() const {
  return !rps && !burst && !principal_rps && !principal_burst && !max_concurrent && !daily_quota && !daily_tool_calls &&
         !suspend_after;
}

Plan plan_of_tier(const core::TierConfig& t) {
  Plan p;
  p.rps = t.rps;
  p.burst = t.burst;
  p.principal_rps = t.principal_rps;
  p.principal_burst = t.principal_burst;
  p.max_concurrent = t.max_concurrent;
  p.daily_quota = t.daily_quota;
  p.daily_tool_calls = t.daily_tool_calls;
  p.suspend_after = t.suspend_after;
  return apply_override(p, {});  // normalises principal_burst
}

Plan apply_override(Plan p, const PlanOverride& o) {
  if (o.rps) p.rps = *o.rps;
  if (o.burst) p.burst = *o.burst;
  if (o.principal_rps) p.principal_rps = *o.principal_rps;
  if (o.principal_burst) p.principal_burst = *o.principal_burst;
  if (o.max_concurrent) p.max_concurrent = *o.max_concurrent;
  if (o.daily_quota) p.daily_quota = *o.daily_quota;
  if (o.daily_tool_calls) p.daily_tool_calls = *o.daily_tool_calls;
  if (o.suspend_after) p.suspend_after = *o.suspend_after;
  // A rate needs a burst of at least one call; a principal's burst defaults to the tenant's.
  if (p.rps > 0 && p.burst == 0) p.burst = 1;
  if (p.principal_rps > 0 && p.principal_burst == 0)
    p.principal_burst = p.burst > 0 ? p.burst : 1;
  return p;
}

PlanOverride parse_override(std::string_view json) {
  boost::json::value v;
  try {
    boost::json::parse_options opt;
    opt.max_depth = 4;
    v = boost::json::parse(json, {}, opt);
  } catch (const std::exception&) {
    throw std::invalid_argument("the body must be a JSON object");
  }
  if (!v.is_object()) throw std::invalid_argument("the body must be a JSON object");
  const auto& o = v.get_object();
  for (const auto& kv : o) {
    const std::string_view k = kv.key();
    if (k != kRps && k != kBurst && k != kPrincipalRps && k != kPrincipalBurst && k != kMaxConcurrent &&
        k != kDailyQuota && k != kDailyToolCalls && k != kSuspendAfter)
      throw std::invalid_argument("unknown field '" + std::string(k.substr(0, 64)) +
                                  "' (known: rps, burst, principalRps, principalBurst, maxConcurrent, dailyQuota, "
                                  "dailyToolCalls, suspendAfter)");
  }
  PlanOverride p;
  p.rps = rate_field(o, kRps);
  p.burst = count_field(o, kBurst, 1);
  p.principal_rps = rate_field(o, kPrincipalRps);
  p.principal_burst = count_field(o, kPrincipalBurst, 1);
  p.max_concurrent = count_field(o, kMaxConcurrent, 0);
  p.daily_quota = count_field(o, kDailyQuota, 0);
  p.daily_tool_calls = count_field(o, kDailyToolCalls, 0);
  p.suspend_after = count_field(o, kSuspendAfter, 0);
  return p;
}

std::string override_json(const PlanOverride& o) {
  boost::json::object j;
  if (o.rps) j[kRps] = *o.rps;
  if (o.burst) j[kBurst] = *o.burst;
  if (o.principal_rps) j[kPrincipalRps] = *o.principal_rps;
  if (o.principal_burst) j[kPrincipalBurst] = *o.principal_burst;
  if (o.max_concurrent) j[kMaxConcurrent] = *o.max_concurrent;
  if (o.daily_quota) j[kDailyQuota] = *o.daily_quota;
  if (o.daily_tool_calls) j[kDailyToolCalls] = *o.daily_tool_calls;
  if (o.suspend_after) j[kSuspendAfter] = *o.suspend_after;
  return core::json_text(j);
}

std::string plan_json(const Plan& p) {
  boost::json::object j;
  j[kRps] = p.rps;
  j[kBurst] = p.burst;
  j[kPrincipalRps] = p.principal_rps;
  j[kPrincipalBurst] = p.principal_burst;
  j[kMaxConcurrent] = p.max_concurrent;
  j[kDailyQuota] = p.daily_quota;
  j[kDailyToolCalls] = p.daily_tool_calls;
  j[kSuspendAfter] = p.suspend_after;
  return core::json_text(j);
}

UsagePlans::UsagePlans()
    : tiers_(std::make_shared<const TierTable>()), overrides_(std::make_shared<const Overrides>()) {}

void UsagePlans::publish_tiers(const std::map<std::string, core::TierConfig>& tiers) {
  auto t = std::make_shared<TierTable>();
  std::int64_t lowest = std::numeric_limits<std::int64_t>::max();
  for (const auto& [name, cfg] : tiers) {
    t->plans.emplace(name, plan_of_tier(cfg));
    if (cfg.rank < lowest) (lowest = cfg.rank, t->fallback = plan_of_tier(cfg));
  }
  tiers_.publish(std::move(t));
}

void UsagePlans::publish_overrides(Overrides overrides) {
  overrides_.publish(std::make_shared<const Overrides>(std::move(overrides)));
}

Plan UsagePlans::tier_plan(std::string_view tier) const {
  const TierTable* t = tiers_.read();
  auto it = t->plans.find(tier);
  return it == t->plans.end() ? t->fallback : it->second;
}

Plan UsagePlans::resolve(std::string_view tenant, std::string_view tier) const {
  Plan p = tier_plan(tier);
  const Overrides* o = overrides_.read();
  if (o->empty()) return p;
  auto it = o->find(tenant);
  return it == o->end() ? p : apply_override(p, it->second);
}

std::optional<PlanOverride> UsagePlans::override_of(std::string_view tenant) const {
  auto o = overrides_.load();
  auto it = o->find(tenant);
  if (it == o->end()) return std::nullopt;
  return it->second;
}

}  // namespace pc::tenancy
