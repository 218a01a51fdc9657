#include "tenancy/usage_limits.h"

#include <algorithm>

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/thread_priority.h"
#include "crypto/random.h"
#include "store/run_audited.h"
#include "tenancy/tenant_service.h"
#include "store/store.h"

namespace pc::tenancy {
namespace {

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::int64_t ceil_seconds(std::int64_t ns) { return std::max<std::int64_t>(1, (ns + 999'999'999) / 1'000'000'000); }
// A wait that may be none (a full budget resets now).
std::int64_t reset_seconds(std::int64_t ns) { return ns <= 0 ? 0 : (ns + 999'999'999) / 1'000'000'000; }

struct Metrics {
  core::CounterFamily& refusals = core::metrics().counter(
      "portcullis_limit_refusals_total", "Requests the limit stage refused (429), by the limit reached", {"kind"});
  core::Counter& rate = refusals.labels({"rate"});
  core::Counter& principal_rate = refusals.labels({"principal_rate"});
  core::Counter& concurrency = refusals.labels({"concurrency"});
  core::Counter& quota = refusals.labels({"quota"});
  core::Counter& tool_quota = refusals.labels({"tool_quota"});
  core::Counter& budget_trips = core::metrics()
                                    .counter("portcullis_usage_budget_exceeded_total",
                                             "Tenants found past their plan's suspend_after (a suspension attempted)")
                                    .labels({});
  core::Counter& flush_failures = core::metrics()
                                      .counter("portcullis_usage_flush_failures_total",
                                               "Quota counter writes to the store that failed (retried next interval)")
                                      .labels({});
  static Metrics& get() {
    static Metrics m;
    return m;
  }
};

std::int64_t day_start_seconds(const core::UsagePlansConfig& c) { return core::parse_time_of_day(c.day_start_utc).value_or(0); }

}  // namespace

UsageLimits::UsageLimits(Options o)
    : store_(o.store),
      node_id_(crypto::random_hex(8)),
      meter_(day_start_seconds(o.config)),
      on_over_budget_(std::move(o.on_over_budget)) {
  limiter_ = o.limiter ? std::move(o.limiter) : std::make_shared<LocalRateLimiter>();
  configure(o.config, o.tiers);
  Metrics::get();
}

UsageLimits::~UsageLimits() { stop(); }

void UsageLimits::configure(const core::UsagePlansConfig& c, const std::map<std::string, core::TierConfig>& tiers) {
  plans_.publish_tiers(tiers);
  meter_.set_day_start(day_start_seconds(c));
  enabled_.store(c.enabled, std::memory_order_relaxed);
  interval_seconds_.store(c.persist_interval_seconds, std::memory_order_relaxed);
  keep_days_.store(c.keep_days, std::memory_order_relaxed);
}

Admission UsageLimits::admit(std::string_view tenant, std::string_view principal, std::string_view tier, CallKind kind,
                             std::uint32_t calls) {
  Admission a = admit_rate(tenant, principal, tier);
  if (!a || kind == CallKind::request) return a;
  Admission c = admit_call(tenant, tier, kind, calls);
  c.tenant_left = a.tenant_left;
  c.principal_left = a.principal_left;
  return c;
}

Admission UsageLimits::admit_rate(std::string_view tenant, std::string_view principal, std::string_view tier) {
  Admission a;
  a.plan = plans_.resolve(tenant, tier);
  const Plan& p = a.plan;
  auto& m = Metrics::get();
  const std::int64_t now = steady_ns();
  if (p.principal_rps > 0) {
    RateDecision d = limiter_->take(tenant, principal, {p.principal_rps, p.principal_burst}, now);
    if (!d.allowed) {
      m.principal_rate.inc();
      a.refusal = Admission::Refusal::principal_rate;
      a.retry_after_seconds = ceil_seconds(d.retry_after_ns);
      return a;
    }
    a.principal_left = {d.remaining, reset_seconds(d.reset_ns)};
  }
  if (p.rps > 0) {
    // The tenant's own budget sits under an empty key: no principal is named "".
    RateDecision d = limiter_->take(tenant, {}, {p.rps, p.burst}, now);
    if (!d.allowed) {
      m.rate.inc();
      a.refusal = Admission::Refusal::rate;
      a.retry_after_seconds = ceil_seconds(d.retry_after_ns);
      return a;
    }
    a.tenant_left = {d.remaining, reset_seconds(d.reset_ns)};
  }
  return a;
}

Admission UsageLimits::admit_call(std::string_view tenant, std::string_view tier, CallKind kind, std::uint32_t calls) {
  Admission a;
  a.plan = plans_.resolve(tenant, tier);
  const Plan& p = a.plan;
  auto& m = Metrics::get();
  if (kind == CallKind::request) return a;
  a.slot = concurrency_.try_acquire(tenant, p.max_concurrent);
  if (!a.slot) {
    m.concurrency.inc();
    a.refusal = Admission::Refusal::concurrency;
    a.retry_after_seconds = 1;  // a slot frees when a call in flight ends: no better estimate
    return a;
  }
  const bool tools = kind == CallKind::tool_call;
  const std::uint64_t limit = tools ? p.daily_tool_calls : p.daily_quota;
  QuotaDecision q = meter_.consume(tenant, tools ? Meter::tool_calls : Meter::invocations, limit, calls, core::unix_now(),
                                   p.suspend_after);
  // the call that crosses the suspension budget wakes the sync thread (a
  // short lock, once per tenant and day); the call itself is served. Crossings seen only in the
  // cluster's totals are found at the next flush.
  if (q.allowed && p.suspend_after > 0 && q.total > p.suspend_after && q.total - calls <= p.suspend_after) {
    {
      std::lock_guard lock(mu_);
      budget_crossed_ = true;
    }
    cv_.notify_all();
  }
  if (!q.allowed) {
    (tools ? m.tool_quota : m.quota).inc();
    a.refusal = tools ? Admission::Refusal::tool_quota : Admission::Refusal::quota;
    a.retry_after_seconds = std::max<std::int64_t>(1, q.reset_seconds);
    a.remaining = q.limit > q.used ? q.limit - q.used : 0;
    a.quota_held = q.held;
    a.slot.release();
  } else {
    a.quota_left = {q.limit > q.used ? q.limit - q.used : 0, q.reset_seconds};
  }
  return a;
}

void UsageLimits::reload_overrides() {
  if (!store_) return;
  // Read and publish as one step (review L1): the admin pool (after a PUT/DELETE) and the sync
  // thread both reload; unordered, a read from before a change could be published after it and
  // revert the override on this node until the next interval.
  std::lock_guard lock(overrides_mu_);
  UsagePlans::Overrides next;
  for (const auto& row : store_->list_tenant_limits()) {
    try {
      PlanOverride o = parse_override(row.limits);
      o.updated_at = row.updated_at;
      o.updated_by = row.updated_by;
      next.emplace(row.tenant_id, std::move(o));
    } catch (const std::exception& e) {
      // Written by this code, so never expected; the tier's plan applies meanwhile.
      log::error("usage plans: a stored limit override is unreadable; the tier's limits apply",
                 {{"tenant", row.tenant_id}, {"error", e.what()}});
    }
  }
  plans_.publish_overrides(std::move(next));
}

void UsageLimits::load() {
  if (!store_) return;
  reload_overrides();
  const std::int64_t day = meter_.day_of(core::unix_now());
  std::vector<DayUsage> totals;
  for (const auto& r : store_->daily_usage(meter_.day_label(day)))
    totals.push_back({r.tenant_id, r.day,
                      {static_cast<std::uint64_t>(std::max<std::int64_t>(0, r.invocations)),
                       static_cast<std::uint64_t>(std::max<std::int64_t>(0, r.tool_calls))}});
  meter_.apply_totals(day, totals);
}

bool UsageLimits::flush() {
  if (!store_) return true;
  auto pending = meter_.take_pending();
  if (!pending.empty()) {
    std::vector<store::DailyUsageRecord> rows;
    rows.reserve(pending.size());
    for (const auto& u : pending)
      rows.push_back({u.tenant, u.day, static_cast<std::int64_t>(u.counts.invocations),
                      static_cast<std::int64_t>(u.counts.tool_calls)});
    try {
      store_->put_daily_usage(node_id_, rows);
      meter_.wrote(pending);
    } catch (const std::exception& e) {
      meter_.unwritten(pending);
      Metrics::get().flush_failures.inc();
      log::warn("usage plans: quota counters not written; kept for the next interval", {{"error", e.what()}});
      return false;
    }
  }
  try {
    load();  // other nodes' counts and overrides
  } catch (const std::exception& e) {
    log::warn("usage plans: reading quota totals or overrides failed", {{"error", e.what()}});
    return false;
  }
  return true;
}

void UsageLimits::put_override(const std::string& tenant, const PlanOverride& o, const std::string& by,
                               const store::AuditedChange& audited) {
  store::TenantLimitsRecord r{tenant, override_json(o), core::rfc3339_now(), by};
  try {
    store::run_audited(audited, tenant, "tenant.limits.set", "tenant/" + tenant + "/limits",
                       [&] { store_->put_tenant_limits(r); });
  } catch (const store::StoreError& e) {
    if (e.kind() == store::StoreError::Kind::gone) throw TenancyError(TenancyError::Kind::not_found, "the tenant is deleted");
    throw;
  }
  reload_overrides();
}

void UsageLimits::clear_override(const std::string& tenant, const store::AuditedChange& audited) {
  bool found = false;
  store::run_audited(audited, tenant, "tenant.limits.clear", "tenant/" + tenant + "/limits", [&] {
    found = store_->delete_tenant_limits(tenant);
    // Thrown inside the change: nothing cleared, no audit event of a change.
    if (!found) throw TenancyError(TenancyError::Kind::not_found, "tenant '" + tenant + "' has no limit override");
  });
  reload_overrides();
}

void UsageLimits::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || !store_) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void UsageLimits::stop() {
  {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void UsageLimits::enforce_budgets() {
  if (!on_over_budget_) return;
  for (const auto& o : meter_.over_budget(core::unix_now())) {
    {
      std::lock_guard lock(tripped_mu_);
      auto it = tripped_.find(o.tenant);
      if (it != tripped_.end() && it->second == o.day) continue;  // handled this quota day
    }
    Metrics::get().budget_trips.inc();
    try {
      on_over_budget_(o);
    } catch (const std::exception& e) {
      log::warn("usage plans: suspending a tenant past its budget failed; tried again at the next check",
                {{"tenant", o.tenant}, {"error", e.what()}});
      continue;
    }
    std::lock_guard lock(tripped_mu_);
    tripped_[o.tenant] = o.day;
  }
}

std::int64_t UsageLimits::purge_old_usage(std::int64_t batch) {
  if (!store_) return 0;
  const std::int64_t today = meter_.day_of(core::unix_now());
  const std::string before = meter_.day_label(today - keep_days_.load(std::memory_order_relaxed));
  const std::int64_t n = store_->purge_daily_usage_before(before, batch);
  if (n > 0) log::info("usage plans: old daily usage rows purged", {{"rows", std::to_string(n)}, {"before", before}});
  return n;
}

void UsageLimits::run() {
  core::name_this_thread("usage");
  core::lower_this_thread_priority(core::kMaintenanceNice);
  std::unique_lock lock(mu_);
  auto next_flush = std::chrono::steady_clock::now();
  auto next_purge = next_flush + std::chrono::minutes(1);  // not at start-up
  for (;;) {
    next_flush += std::chrono::seconds(interval_seconds_.load(std::memory_order_relaxed));
    // a crossed budget cuts the wait short (checked without a flush).
    while (!stopping_ && cv_.wait_until(lock, next_flush, [this] { return stopping_ || budget_crossed_; })) {
      if (stopping_) break;
      budget_crossed_ = false;
      lock.unlock();
      enforce_budgets();
      lock.lock();
    }
    const bool stop = stopping_;
    lock.unlock();
    flush();  // on stop too: a clean shutdown loses no count
    limiter_->sweep(steady_ns());  // local or shared: both keep per-key state
    if (!stop) enforce_budgets();  // the totals just read may hold other nodes' calls
    // old counters, a bounded batch at a time.
    if (!stop && std::chrono::steady_clock::now() >= next_purge) {
      constexpr std::int64_t kBatch = 1000;
      std::int64_t n = 0;
      try {
        n = purge_old_usage(kBatch);
      } catch (const std::exception& e) {
        log::warn("usage plans: purging old daily usage rows failed", {{"error", e.what()}});
      }
      next_purge = std::chrono::steady_clock::now() + (n == kBatch ? std::chrono::seconds(0) : std::chrono::hours(1));
    }
    lock.lock();
    if (stop) return;
    if (next_flush < std::chrono::steady_clock::now()) next_flush = std::chrono::steady_clock::now();
  }
}

}  // namespace pc::tenancy
