// SqlStore: usage plans — tenants' limit overrides and the daily usage counters
// (tenancy/usage_plan.h, tenancy/quota_meter.h). Each node (process) writes its own row per tenant
// and day with what it counted in all, and a day's usage is the sum of the rows: nodes flushing at
// once do not overwrite each other, and a write repeated after a commit whose outcome was lost
// (the connection dropped during COMMIT) does not count twice, as an added delta would.
#include "core/clock.h"
#include "store/sql_store.h"

namespace pc::store {

void purge_tenant_limits(Db& db, std::string_view tenant_id) {
  db.prepare("DELETE FROM tenant_limits WHERE tenant_id = ?1").bind_text(1, tenant_id).run();
  db.prepare("DELETE FROM daily_usage WHERE tenant_id = ?1").bind_text(1, tenant_id).run();
}

void SqlStore::put_tenant_limits(const TenantLimitsRecord& r) {
  auto c = conn();
  Transaction tx(*c);
  c->prepare("DELETE FROM tenant_limits WHERE tenant_id = ?1").bind_text(1, r.tenant_id).run();
  c->prepare("INSERT INTO tenant_limits(tenant_id, limits, updated_at, updated_by) SELECT ?1, ?2, ?3, ?4 WHERE " +
             tenant_is_live(*c, 1))
      .bind_text(1, r.tenant_id)
      .bind_text(2, r.limits)
      .bind_text(3, r.updated_at)
      .bind_text(4, r.updated_by)
      .run();
  require_live_tenant(*c, "tenant limits");
  tx.commit();
}

namespace {
TenantLimitsRecord limits_row(const Statement& q) {
  return {q.column_text(0), q.column_text(1), q.column_text(2), q.column_text(3)};
}
}  // namespace

std::optional<TenantLimitsRecord> SqlStore::find_tenant_limits(std::string_view tenant_id) {
  auto c = conn();
  Statement q = c->prepare("SELECT tenant_id, limits, updated_at, updated_by FROM tenant_limits WHERE tenant_id = ?1");
  q.bind_text(1, tenant_id);
  if (!q.step()) return std::nullopt;
  return limits_row(q);
}

std::vector<TenantLimitsRecord> SqlStore::list_tenant_limits() {
  auto c = conn();
  Statement q = c->prepare("SELECT tenant_id, limits, updated_at, updated_by FROM tenant_limits ORDER BY tenant_id");
  std::vector<TenantLimitsRecord> out;
  while (q.step()) out.push_back(limits_row(q));
  return out;
}

bool SqlStore::delete_tenant_limits(std::string_view tenant_id) {
  auto c = conn();
  Transaction tx(*c);
  Statement q = c->prepare("SELECT 1 FROM tenant_limits WHERE tenant_id = ?1");
  q.bind_text(1, tenant_id);
  const bool found = q.step();
  if (found) c->prepare("DELETE FROM tenant_limits WHERE tenant_id = ?1").bind_text(1, tenant_id).run();
  tx.commit();
  return found;
}

void SqlStore::put_daily_usage(std::string_view node_id, const std::vector<DailyUsageRecord>& counts) {
  if (counts.empty()) return;
  auto c = conn();
  Transaction tx(*c);
  const std::string greatest = c->dialect() == Db::Dialect::postgres ? "GREATEST" : "MAX";
  Statement q = c->prepare(
      "INSERT INTO daily_usage(tenant_id, day, node_id, invocations, tool_calls, updated_at) "
      "SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE " +
      tenant_is_live(*c, 1) + " ON CONFLICT (tenant_id, day, node_id) DO UPDATE SET invocations = " + greatest +
      "(daily_usage.invocations, excluded.invocations), tool_calls = " + greatest +
      "(daily_usage.tool_calls, excluded.tool_calls), updated_at = excluded.updated_at");
  const std::string now = core::rfc3339_now();
  for (const auto& d : counts) {
    q.reset();
    q.bind_text(1, d.tenant_id).bind_text(2, d.day).bind_text(3, node_id).bind_int64(4, d.invocations);
    q.bind_int64(5, d.tool_calls).bind_text(6, now);
    q.run();
  }
  tx.commit();
}

std::vector<DailyUsageRecord> SqlStore::daily_usage(std::string_view day) {
  auto c = conn();
  Statement q = c->prepare(
      "SELECT tenant_id, day, SUM(invocations), SUM(tool_calls) FROM daily_usage WHERE day = ?1 GROUP BY tenant_id, day");
  q.bind_text(1, day);
  std::vector<DailyUsageRecord> out;
  while (q.step()) out.push_back({q.column_text(0), q.column_text(1), q.column_int64(2), q.column_int64(3)});
  return out;
}

// old counters go in bounded batches (daily_usage_by_day finds them).
std::int64_t SqlStore::purge_daily_usage_before(std::string_view day, std::int64_t limit) {
  auto c = conn();
  c->prepare(
       "DELETE FROM daily_usage WHERE (tenant_id, day, node_id) IN "
       "(SELECT tenant_id, day, node_id FROM daily_usage WHERE day < ?1 ORDER BY day LIMIT ?2)")
      .bind_text(1, day)
      .bind_int64(2, limit)
      .run();
  return c->changes();
}

}  // namespace pc::store
