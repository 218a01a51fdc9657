// Daily quotas (the usage plan's daily_quota and daily_tool_calls), counted in memory on the hot
// path and written to the store periodically (tenancy/usage_sync.h), so `ops quotas` shows real
// usage and a restart loses at most the last interval's counts (docs/usage-plans.md).
//
// A quota day starts at server.usage_plans.day_start_utc (00:00 UTC by default) and lasts 86,400
// seconds; at its start every tenant's counters are zero again. Several nodes sharing a store
// each write what they counted that day in all to a row of their own, then read the sums back, so
// a node's view of a tenant's usage is the cluster's total as of the last flush plus what it
// counted since.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tenancy/shared_quota.h"  // Meter lives there

namespace pc::tenancy {

struct QuotaDecision {
  bool allowed = true;
  std::uint64_t used = 0;      // after this call (refused: as it stands)
  std::uint64_t limit = 0;     // 0 = unlimited
  std::int64_t reset_seconds = 0;  // until the next quota day starts
  std::uint64_t total = 0;     // both meters after this call (the suspension budget counts both)
  bool held = false;           // refused though calls may be left: this node is asking for more (shared quota)
};

// A tenant whose calls today passed the suspension budget its last call was admitted under.
struct OverBudget {
  std::string tenant;
  std::string day;  // the quota day's start, RFC 3339
  std::uint64_t used = 0;
  std::uint64_t budget = 0;
};

struct UsageCounts {
  std::uint64_t invocations = 0;
  std::uint64_t tool_calls = 0;
};

// Counts of one tenant on one quota day (the day's start as RFC 3339, "2026-12-06T00:00:00.000Z").
struct DayUsage {
  std::string tenant;
  std::string day;
  UsageCounts counts;
};

class QuotaMeter {
 public:
  // `day_start_seconds`: seconds after 00:00 UTC at which quota days start.
  explicit QuotaMeter(std::int64_t day_start_seconds = 0);
  ~QuotaMeter();
  QuotaMeter(const QuotaMeter&) = delete;
  QuotaMeter& operator=(const QuotaMeter&) = delete;

  void set_day_start(std::int64_t day_start_seconds);
  std::int64_t day_of(std::int64_t unix_seconds) const;
  std::string day_label(std::int64_t day) const;  // the day's start, RFC 3339
  std::int64_t seconds_to_reset(std::int64_t unix_seconds) const;

  // Counts `n` calls of `meter` for `tenant` unless that would pass `limit` (0 = unlimited:
  // counted, never refused). Thread-safe, one short lock of the tenant's counters.
  // `budget`: the plan's suspend_after (0 = none), remembered for over_budget().
  QuotaDecision consume(std::string_view tenant, Meter meter, std::uint64_t limit, std::uint32_t n,
                        std::int64_t unix_seconds, std::uint64_t budget = 0);
  // Tenants whose invocations + tool calls today (the cluster's totals as last read included)
  // are past the budget remembered from their last call. Not for the hot path: walks every entry.
  std::vector<OverBudget> over_budget(std::int64_t unix_seconds) const;
  UsageCounts usage(std::string_view tenant, std::int64_t unix_seconds) const;

  // counted with every node (docs/usage-plans.md "Many nodes"). Set once,
  // before the first consume; null (the default): this node's view and the store's totals only.
  void set_shared(std::shared_ptr<SharedQuota> shared) { shared_ = std::move(shared); }
  // The cluster's count of `meter` for `tenant` on `day` as a SharedQuota learnt it: the view
  // becomes at least that (a view never goes down within a day). Any thread.
  void raise_view(std::string_view tenant, std::int64_t day, Meter meter, std::uint64_t count);

  // ---- persistence (tenancy/usage_sync.h)
  // What this node counted in all, per tenant and day, where that changed since it was last
  // written (absolute counts, so a write repeated after an ambiguous commit counts once). Then
  // wrote(those rows) once the write committed, or unwritten(those rows) if it failed.
  std::vector<DayUsage> take_pending();
  void wrote(const std::vector<DayUsage>& rows);
  void unwritten(const std::vector<DayUsage>& rows);  // they go out with the next flush
  // The store's totals for `day` (every node's written counts, this node's included): each
  // tenant's usage becomes its total plus what this node counted since its last write.
  void apply_totals(std::int64_t day, const std::vector<DayUsage>& totals);

 private:
  struct Entry;
  Entry& entry(std::string_view tenant);
  const Entry* find(std::string_view tenant) const;
  void roll(Entry& e, std::string_view tenant, std::int64_t day);  // e locked

  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::atomic<std::int64_t> day_start_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<Entry>, Hash, std::equal_to<>> entries_;
  std::mutex carry_mu_;
  std::vector<DayUsage> carry_;  // counts of a day that ended before they were written
  std::shared_ptr<SharedQuota> shared_;
};

}  // namespace pc::tenancy
