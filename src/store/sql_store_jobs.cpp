// SqlStore: durable async jobs (issue 9, docs/jobs.md). The lease columns make a claim safe
// across nodes: a claim is one transaction that picks due rows and stamps them with the node and
// a lease deadline (PostgreSQL: rows locked FOR UPDATE SKIP LOCKED, so two nodes claiming at
// once take different jobs; SQLite: the IMMEDIATE transaction holds the write lock). Every later
// write of the job (renew, finish, retry) is conditional on the node still holding it, so a node
// that lost its lease cannot overwrite the result of the node that took the job over.
#include <algorithm>
#include <map>

#include "core/clock.h"
#include "store/sql_store.h"

namespace pc::store {
namespace {

constexpr std::string_view kJobColumns =
    "job_id, tenant_id, agent, agent_version, session_id, principal, client_id, actor_chain, scopes, tier, scheme, "
    "host, port, idempotency_key, webhook_id, request_id, invocation_id, timeout_ms, request_sealed, status, attempts, max_attempts, "
    "next_run_at, claimed_by, lease_until, result_sealed, error, error_message, http_status, created_at, updated_at";

JobRecord read_job(Statement& q) {
  JobRecord j;
  j.job_id = q.column_text(0);
  j.tenant_id = q.column_text(1);
  j.agent = q.column_text(2);
  j.agent_version = q.column_text(3);
  j.session_id = q.column_text(4);
  j.principal = q.column_text(5);
  j.client_id = q.column_text(6);
  j.actor_chain = from_json_array(q.column_text(7), "jobs.actor_chain", j.job_id);
  j.scopes = from_json_array(q.column_text(8), "jobs.scopes", j.job_id);
  j.tier = q.column_text(9);
  j.scheme = q.column_text(10);
  j.host = q.column_text(11);
  j.port = static_cast<int>(q.column_int64(12));
  j.idempotency_key = q.column_text(13);
  j.webhook_id = q.column_text(14);
  j.request_id = q.column_text(15);
  j.invocation_id = q.column_text(16);
  j.timeout_ms = q.column_int64(17);
  j.request_sealed = q.column_blob(18);
  j.status = q.column_text(19);
  j.attempts = static_cast<int>(q.column_int64(20));
  j.max_attempts = static_cast<int>(q.column_int64(21));
  j.next_run_at = q.column_int64(22);
  j.claimed_by = q.column_text(23);
  j.lease_until = q.column_int64(24);
  if (!q.column_is_null(25)) j.result_sealed = q.column_blob(25);
  j.error = q.column_text(26);
  j.error_message = q.column_text(27);
  j.http_status = static_cast<int>(q.column_int64(28));
  j.created_at = q.column_text(29);
  j.updated_at = q.column_text(30);
  return j;
}

}  // namespace

void SqlStore::insert_jobs(const std::vector<JobRecord>& jobs) {
  if (jobs.empty()) return;
  auto c = conn();
  // One transaction for the whole batch: this is the group commit that makes acceptance cheap.
  Transaction tx(*c);
  Statement q = c->prepare("INSERT INTO jobs(" + std::string(kJobColumns) +
                           ") SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?30, ?17, ?18, "
                           "?19, ?20, ?21, ?22, ?23, ?24, NULL, ?25, ?26, ?27, ?28, ?29 WHERE " +
                           tenant_is_live(*c, 2));
  const std::string now = core::rfc3339_now();
  for (const auto& j : jobs) {
    q.reset();
    q.bind_text(1, j.job_id)
        .bind_text(2, j.tenant_id)
        .bind_text(3, j.agent)
        .bind_text(4, j.agent_version)
        .bind_text(5, j.session_id)
        .bind_text(6, j.principal)
        .bind_text(7, j.client_id)
        .bind_text(8, to_json_array(j.actor_chain))
        .bind_text(9, to_json_array(j.scopes))
        .bind_text(10, j.tier)
        .bind_text(11, j.scheme)
        .bind_text(12, j.host)
        .bind_int64(13, j.port)
        .bind_text(14, j.idempotency_key)
        .bind_text(15, j.webhook_id)
        .bind_text(16, j.request_id)
        .bind_int64(17, j.timeout_ms)
        .bind_blob(18, j.request_sealed)
        .bind_text(19, j.status)
        .bind_int64(20, j.attempts)
        .bind_int64(21, j.max_attempts)
        .bind_int64(22, j.next_run_at)
        .bind_text(23, j.claimed_by)
        .bind_int64(24, j.lease_until)
        .bind_text(25, j.error)
        .bind_text(26, j.error_message)
        .bind_int64(27, j.http_status)
        .bind_text(28, j.created_at.empty() ? now : j.created_at)
        .bind_text(29, j.updated_at.empty() ? now : j.updated_at)
        .bind_text(30, j.invocation_id);
    try {
      q.run();
    } catch (const StoreError& e) {
      throw e.prefixed("insert job " + j.tenant_id + "/" + j.job_id + ": ");
    }
    // Unlike invocation records, a job nobody would ever run must not be acknowledged: the batch
    // fails (kind gone) and the job service's writer isolates this one.
    require_live_tenant(*c, "job " + j.job_id);
  }
  tx.commit();
}

std::optional<JobRecord> SqlStore::find_job(std::string_view job_id) {
  auto c = conn();
  Statement q = c->prepare("SELECT " + std::string(kJobColumns) + " FROM jobs WHERE job_id = ?1");
  q.bind_text(1, job_id);
  if (!q.step()) return std::nullopt;
  return read_job(q);
}

std::vector<JobRecord> SqlStore::claim_jobs(std::string_view node, std::int64_t now_ms, std::int64_t lease_ms,
                                            std::size_t limit, const JobCap& cap) {
  std::vector<JobRecord> out;
  if (limit == 0) return out;
  auto c = conn();
  Transaction tx(*c);
  // fair claim (review M3). Each due job is ranked within its tenant
  // (oldest first) and offset by the jobs of that tenant this node already runs (live lease);
  // ordering by that sum takes tenants round-robin, so one tenant's backlog does not fill every
  // free worker before another tenant's job. Twice `limit` candidates are read because `cap` may
  // drop some; the rest stay unclaimed (their row locks end with the transaction). The due test is
  // repeated on `j`: PostgreSQL re-checks only the locked row's own conditions when another node
  // claimed it meanwhile (the subquery saw the older version), so without it both would take it.
  std::string cols;
  for (std::size_t from = 0; from < kJobColumns.size();) {
    const std::size_t comma = std::min(kJobColumns.find(", ", from), kJobColumns.size());
    cols += (cols.empty() ? "j." : ", j.") + std::string(kJobColumns.substr(from, comma - from));
    from = comma + 2;
  }
  std::string sql =
      "SELECT " + cols + ", COALESCE(m.n, 0) FROM jobs j JOIN (SELECT job_id, tenant_id, ROW_NUMBER() OVER "
      "(PARTITION BY tenant_id ORDER BY next_run_at, job_id) AS rn FROM jobs WHERE (status = 'accepted' AND "
      "next_run_at <= ?1) OR (status = 'running' AND lease_until < ?1)) d ON d.job_id = j.job_id LEFT JOIN "
      "(SELECT tenant_id, COUNT(*) AS n FROM jobs WHERE status = 'running' AND claimed_by = ?3 AND lease_until >= ?1 "
      "GROUP BY tenant_id) m ON m.tenant_id = d.tenant_id WHERE (j.status = 'accepted' AND j.next_run_at <= ?1) OR "
      "(j.status = 'running' AND j.lease_until < ?1) ORDER BY d.rn + COALESCE(m.n, 0), j.next_run_at, j.job_id "
      "LIMIT ?2";
  if (c->dialect() == Db::Dialect::postgres) sql += " FOR UPDATE OF j SKIP LOCKED";
  {
    Statement q = c->prepare(sql);
    q.bind_int64(1, now_ms).bind_int64(2, static_cast<std::int64_t>(limit * 2)).bind_text(3, node);
    std::map<std::string, std::size_t, std::less<>> taken;  // per tenant: running here + claimed now
    while (out.size() < limit && q.step()) {
      JobRecord j = read_job(q);
      auto it = taken.try_emplace(j.tenant_id, static_cast<std::size_t>(q.column_int64(31))).first;
      const std::size_t most = cap ? cap(j.tenant_id, j.tier) : 0;
      if (most > 0 && it->second >= most) continue;  // this tenant is at its cap on this node
      ++it->second;
      out.push_back(std::move(j));
    }
  }
  if (out.empty()) return out;
  const std::string now = core::rfc3339_now();
  Statement u = c->prepare(
      "UPDATE jobs SET status = 'running', claimed_by = ?2, lease_until = ?3, attempts = attempts + 1, updated_at = ?4 "
      "WHERE job_id = ?1");
  for (auto& j : out) {
    u.reset();
    u.bind_text(1, j.job_id).bind_text(2, node).bind_int64(3, now_ms + lease_ms).bind_text(4, now).run();
    j.status = "running";
    j.claimed_by = std::string(node);
    j.lease_until = now_ms + lease_ms;
    j.attempts += 1;
    j.updated_at = now;
  }
  tx.commit();
  return out;
}

bool SqlStore::renew_job_lease(std::string_view job_id, std::string_view node, std::int64_t lease_until_ms) {
  auto c = conn();
  c->prepare("UPDATE jobs SET lease_until = ?3 WHERE job_id = ?1 AND claimed_by = ?2 AND status = 'running'")
      .bind_text(1, job_id)
      .bind_text(2, node)
      .bind_int64(3, lease_until_ms)
      .run();
  return c->changes() > 0;
}

bool SqlStore::finish_job(const JobRecord& job, std::string_view node) {
  auto c = conn();
  Statement q = c->prepare(
      "UPDATE jobs SET status = ?3, http_status = ?4, error = ?5, error_message = ?6, result_sealed = ?7, "
      "updated_at = ?8, claimed_by = '', lease_until = 0 WHERE job_id = ?1 AND claimed_by = ?2 AND status = 'running'");
  q.bind_text(1, job.job_id)
      .bind_text(2, node)
      .bind_text(3, job.status)
      .bind_int64(4, job.http_status)
      .bind_text(5, job.error)
      .bind_text(6, job.error_message)
      .bind_text(8, job.updated_at.empty() ? core::rfc3339_now() : job.updated_at);
  if (job.result_sealed)
    q.bind_blob(7, *job.result_sealed);
  else
    q.bind_null(7);
  q.run();
  return c->changes() > 0;
}

bool SqlStore::retry_job(const JobRecord& job, std::string_view node, std::int64_t next_run_at_ms) {
  auto c = conn();
  c->prepare(
       "UPDATE jobs SET status = 'accepted', next_run_at = ?3, http_status = ?4, error = ?5, error_message = ?6, "
       "updated_at = ?7, claimed_by = '', lease_until = 0 WHERE job_id = ?1 AND claimed_by = ?2 AND status = 'running'")
      .bind_text(1, job.job_id)
      .bind_text(2, node)
      .bind_int64(3, next_run_at_ms)
      .bind_int64(4, job.http_status)
      .bind_text(5, job.error)
      .bind_text(6, job.error_message)
      .bind_text(7, job.updated_at.empty() ? core::rfc3339_now() : job.updated_at)
      .run();
  return c->changes() > 0;
}

}  // namespace pc::store
