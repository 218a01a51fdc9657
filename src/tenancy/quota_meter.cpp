#include "tenancy/quota_meter.h"

#include <algorithm>

#include "core/clock.h"

namespace pc::tenancy {
namespace {
constexpr std::int64_t kDay = 86400;

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
}  // namespace

struct QuotaMeter::Entry {
  std::mutex mu;
  std::int64_t day = -1;
  std::array<std::uint64_t, 2> used{};     // this day, the cluster's total as last read + ours since
  std::array<std::uint64_t, 2> mine{};     // this day, counted here in all
  std::array<std::uint64_t, 2> written{};  // this day, `mine` as last written to the store
  std::uint64_t budget = 0;                // suspend_after of the plan of the last call
};

QuotaMeter::QuotaMeter(std::int64_t day_start_seconds) : day_start_(day_start_seconds) {}
QuotaMeter::~QuotaMeter() = default;

void QuotaMeter::set_day_start(std::int64_t s) { day_start_.store(s, std::memory_order_relaxed); }

std::int64_t QuotaMeter::day_of(std::int64_t t) const {
  return floor_div(t - day_start_.load(std::memory_order_relaxed), kDay);
}

std::string QuotaMeter::day_label(std::int64_t day) const {
  return core::rfc3339_from_unix(day * kDay + day_start_.load(std::memory_order_relaxed));
}

std::int64_t QuotaMeter::seconds_to_reset(std::int64_t t) const {
  return (day_of(t) + 1) * kDay + day_start_.load(std::memory_order_relaxed) - t;
}

QuotaMeter::Entry& QuotaMeter::entry(std::string_view tenant) {
  {
    std::shared_lock lock(mu_);
    if (auto it = entries_.find(tenant); it != entries_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto [it, inserted] = entries_.try_emplace(std::string(tenant), nullptr);
  if (inserted) it->second = std::make_unique<Entry>();
  return *it->second;
}

const QuotaMeter::Entry* QuotaMeter::find(std::string_view tenant) const {
  std::shared_lock lock(mu_);
  auto it = entries_.find(tenant);
  return it == entries_.end() ? nullptr : it->second.get();
}

void QuotaMeter::roll(Entry& e, std::string_view tenant, std::int64_t day) {
  if (e.day == day) return;
  if (e.day >= 0 && e.mine != e.written) {
    // The day ended with counts not yet written: they still belong to that day's row.
    std::lock_guard lock(carry_mu_);
    carry_.push_back({std::string(tenant), day_label(e.day), {e.mine[0], e.mine[1]}});
  }
  e.day = day;
  e.used = {};
  e.mine = {};
  e.written = {};
}

QuotaDecision QuotaMeter::consume(std::string_view tenant, Meter meter, std::uint64_t limit, std::uint32_t n,
                                  std::int64_t now, std::uint64_t budget) {
  const std::int64_t day = day_of(now);
  const auto m = static_cast<std::size_t>(meter);
  Entry& e = entry(tenant);
  QuotaDecision d;
  d.limit = limit;
  d.reset_seconds = seconds_to_reset(now);
  std::lock_guard lock(e.mu);
  if (e.day > day) {
    // A reload moved the day's start back; counting into the newer day is the safe side.
  } else {
    roll(e, tenant, day);
  }
  e.budget = budget;
  // with a shared counter, a refusal asks for the cluster's total (the
  // view may be stale) and an admission may still be refused beyond the node's share.
  const bool over = limit > 0 && e.used[m] + n > limit;
  if (over && shared_) shared_->refresh(tenant, e.day, meter, e.used[m], limit);
  const bool held = !over && shared_ && !shared_->take(tenant, e.day, meter, e.used[m], limit, n);
  if (held) {
    d.held = true;
    d.reset_seconds = 1;  // not spent: this node's part of what is left is on its way
  }
  if (over || held) {
    d.allowed = false;
    d.used = e.used[m];
    d.total = e.used[0] + e.used[1];
    return d;
  }
  e.used[m] += n;
  e.mine[m] += n;
  d.used = e.used[m];
  d.total = e.used[0] + e.used[1];
  return d;
}

UsageCounts QuotaMeter::usage(std::string_view tenant, std::int64_t now) const {
  const Entry* e = find(tenant);
  if (!e) return {};
  auto& entry = const_cast<Entry&>(*e);
  std::lock_guard lock(entry.mu);
  if (entry.day != day_of(now)) return {};
  return {entry.used[0], entry.used[1]};
}

void QuotaMeter::raise_view(std::string_view tenant, std::int64_t day, Meter meter, std::uint64_t count) {
  const Entry* found = find(tenant);
  if (!found) return;
  auto& e = const_cast<Entry&>(*found);
  std::lock_guard lock(e.mu);
  auto& used = e.used[static_cast<std::size_t>(meter)];
  if (e.day == day) used = std::max(used, count);
}

std::vector<OverBudget> QuotaMeter::over_budget(std::int64_t now) const {
  const std::int64_t day = day_of(now);
  std::vector<OverBudget> out;
  std::shared_lock lock(mu_);
  for (const auto& [tenant, e] : entries_) {
    std::lock_guard el(e->mu);
    const std::uint64_t used = e->used[0] + e->used[1];
    if (e->day == day && e->budget > 0 && used > e->budget) out.push_back({tenant, day_label(day), used, e->budget});
  }
  return out;
}

std::vector<DayUsage> QuotaMeter::take_pending() {
  std::vector<DayUsage> out;
  {
    std::lock_guard lock(carry_mu_);
    out.swap(carry_);
  }
  std::shared_lock lock(mu_);
  for (auto& [tenant, e] : entries_) {
    std::lock_guard el(e->mu);
    if (e->day < 0 || e->mine == e->written) continue;
    out.push_back({tenant, day_label(e->day), {e->mine[0], e->mine[1]}});
  }
  return out;
}

void QuotaMeter::wrote(const std::vector<DayUsage>& rows) {
  for (const auto& u : rows) {
    Entry& e = entry(u.tenant);
    std::lock_guard el(e.mu);
    if (e.day < 0 || day_label(e.day) != u.day) continue;  // an ended day's: done with it
    e.written[0] = std::max(e.written[0], u.counts.invocations);
    e.written[1] = std::max(e.written[1], u.counts.tool_calls);
  }
}

void QuotaMeter::unwritten(const std::vector<DayUsage>& rows) {
  for (const auto& u : rows) {
    {
      Entry& e = entry(u.tenant);
      std::lock_guard el(e.mu);
      if (e.day >= 0 && day_label(e.day) == u.day) continue;  // still the entry's day: still unwritten there
    }
    // An ended day's counts: kept for the next flush (a newer count of that day cannot exist).
    std::lock_guard lock(carry_mu_);
    carry_.push_back(u);
  }
}

void QuotaMeter::apply_totals(std::int64_t day, const std::vector<DayUsage>& totals) {
  for (const auto& t : totals) {
    Entry& e = entry(t.tenant);
    std::lock_guard el(e.mu);
    if (e.day > day) continue;  // a newer day began meanwhile
    roll(e, t.tenant, day);
    e.used[0] = std::max(e.used[0], t.counts.invocations + (e.mine[0] - e.written[0]));
    e.used[1] = std::max(e.used[1], t.counts.tool_calls + (e.mine[1] - e.written[1]));
  }
}

}  // namespace pc::tenancy
