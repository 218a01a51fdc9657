// Usage plans enforced (docs/usage-plans.md): the one decision the limit stage asks for on every
// request of a tenant principal (api/limit_stage.h), and the background work that keeps it fed.
//
// admit() runs on the I/O thread: it resolves the tenant's plan from published snapshots, takes
// from the GCRA budgets of the tenant and of the principal, and for calls (invocations, MCP tool
// calls) a concurrency slot and one unit of the daily quota. No store round trip, no blocking;
// once a tenant and principal have been seen, no allocation.
//
// The store is read and written only by the sync thread: the override table (start, after a
// change, every interval), the quota counters (flushed every server.usage_plans.
// persist_interval_seconds, then read back as the cluster's totals).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "core/config.h"
#include "store/store.h"
#include "tenancy/concurrency.h"
#include "tenancy/quota_meter.h"
#include "tenancy/rate_limiter.h"
#include "tenancy/usage_plan.h"

namespace pc::tenancy {

// What a request is, for the plan: a plain request takes only from the rate budgets; a call also
// from the concurrency cap and its daily quota.
enum class CallKind { request, invocation, tool_call };

struct Admission {
  enum class Refusal { none, rate, principal_rate, concurrency, quota, tool_quota };
  Refusal refusal = Refusal::none;
  Plan plan;
  std::int64_t retry_after_seconds = 0;  // refused: when trying again can succeed (>= 1)
  std::uint64_t remaining = 0;           // refused: of the violated policy (0, or the quota left)
  bool quota_held = false;               // refused by the quota though calls may be left (QuotaDecision::held)
  ConcurrencyLimiter::Slot slot;         // admitted call: held until its answer is complete
  // admitted, what is left of each policy checked (the RateLimit field of a
  // served answer). Rates: calls that could follow at once, seconds until the burst is whole
  // again; the quota (calls only): calls left today, seconds until the quota day resets.
  struct Left {
    std::uint64_t remaining = 0;
    std::int64_t reset_seconds = 0;
  };
  Left tenant_left, principal_left, quota_left;
  explicit operator bool() const { return refusal == Refusal::none; }
};

class UsageLimits {
 public:
  struct Options {
    core::UsagePlansConfig config;
    std::map<std::string, core::TierConfig> tiers;
    // A shared limiter (cluster); nullptr: this node's LocalRateLimiter.
    std::shared_ptr<RateLimiter> limiter;
    store::Store* store = nullptr;  // nullptr: nothing loaded or persisted (unit tests)
    // a tenant passed its plan's suspend_after. Called on the sync thread
    // (never an I/O thread), once per tenant and quota day on this node; throwing means "not
    // done" (tried again at the next check). Unset: budgets are not enforced.
    std::function<void(const OverBudget&)> on_over_budget;
  };
  explicit UsageLimits(Options o);
  ~UsageLimits();

  // On the I/O thread. `calls` units of `kind` (a JSON-RPC batch may hold several tool calls).
  // admit() is admit_rate() then, for a call, admit_call(); the chain runs them as two stages
  // (api/limit_stage.h) so only authorized calls spend the quota and a slot (review H2).
  Admission admit(std::string_view tenant, std::string_view principal, std::string_view tier, CallKind kind,
                  std::uint32_t calls = 1);
  // Every request: the principal's and the tenant's rate budgets.
  Admission admit_rate(std::string_view tenant, std::string_view principal, std::string_view tier);
  // A call (kind != request): a concurrency slot and `calls` units of the day's quota.
  Admission admit_call(std::string_view tenant, std::string_view tier, CallKind kind, std::uint32_t calls = 1);

  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  // A configuration reload: tiers, the day's start, enabled.
  void configure(const core::UsagePlansConfig& c, const std::map<std::string, core::TierConfig>& tiers);

  UsagePlans& plans() { return plans_; }
  const UsagePlans& plans() const { return plans_; }
  QuotaMeter& meter() { return meter_; }
  const ConcurrencyLimiter& concurrency() const { return concurrency_; }

  // ---- the store side (never on an I/O thread; no-ops without a store)
  // Reads the overrides and today's totals; throws what the store throws.
  void load();
  void reload_overrides();
  // Writes the counts since the last flush and reads the day's totals back; on a store error the
  // counts are kept for the next flush (logged, counted). False on an error.
  bool flush();
  // The sync thread: flush + override reload every persist interval, the rate table's sweep.
  void start();
  void stop();  // flushes once more
  // calls on_over_budget for each tenant past its suspension budget not
  // handled yet this quota day. The sync thread runs it after every flush and at once when a
  // call crosses a budget; public for tests.
  void enforce_budgets();
  // removes daily_usage rows older than server.usage_plans.keep_days, at
  // most `batch` rows; the sync thread calls it once an hour, and every interval while a batch
  // came back full. Returns the rows removed.
  std::int64_t purge_old_usage(std::int64_t batch = 1000);

  // Admin API: a tenant's override, written with its audit event (`audited`), in force on this
  // node at once and on others within one persist interval.
  void put_override(const std::string& tenant, const PlanOverride& o, const std::string& by,
                    const store::AuditedChange& audited);
  // TenancyError not_found when the tenant has none (nothing audited).
  void clear_override(const std::string& tenant, const store::AuditedChange& audited);

 private:
  void run();

  store::Store* store_;
  const std::string node_id_;  // this process's rows of daily_usage (random: a restart writes new rows)

  UsagePlans plans_;
  std::shared_ptr<RateLimiter> limiter_;
  ConcurrencyLimiter concurrency_;
  QuotaMeter meter_;
  std::atomic<bool> enabled_{true};
  std::atomic<std::uint32_t> interval_seconds_{5};
  std::atomic<std::uint32_t> keep_days_{90};

  std::mutex overrides_mu_;  // reload_overrides: one read + publish at a time
  std::function<void(const OverBudget&)> on_over_budget_;
  std::mutex tripped_mu_;
  std::map<std::string, std::string, std::less<>> tripped_;  // tenant -> quota day handled

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool budget_crossed_ = false;  // a call crossed a budget: the sync thread checks now
  std::thread thread_;
};

}  // namespace pc::tenancy
