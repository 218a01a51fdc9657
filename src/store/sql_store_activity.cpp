// SqlStore: invocations and sessions. Invocation metadata stays for the audit retention period;
// its sealed content is loaded only by find_invocation and cleared after the content retention.
#include "core/clock.h"
#include "store/sql_store.h"

namespace pc::store {
namespace {

// Every metadata column; content_sealed is appended only where content is wanted.
constexpr std::string_view kInvocationColumns =
    "invocation_id, tenant_id, agent, agent_version, session_id, principal, status, http_status, latency_ms, "
    "input_tokens, output_tokens, created_at, mode, error";
constexpr std::string_view kSelectSession =
    "SELECT session_id, tenant_id, principal, agent, status, created_at, last_seen_at FROM sessions";

InvocationRecord read_invocation(Statement& q) {
  InvocationRecord r;
  r.invocation_id = q.column_text(0);
  r.tenant_id = q.column_text(1);
  r.agent = q.column_text(2);
  r.agent_version = q.column_text(3);
  r.session_id = q.column_text(4);
  r.principal = q.column_text(5);
  r.status = q.column_text(6);
  r.http_status = static_cast<int>(q.column_int64(7));
  r.latency_ms = q.column_int64(8);
  if (!q.column_is_null(9)) r.input_tokens = q.column_int64(9);
  if (!q.column_is_null(10)) r.output_tokens = q.column_int64(10);
  r.created_at = q.column_text(11);
  r.mode = q.column_text(12);
  r.error = q.column_text(13);
  return r;
}

}  // namespace

void SqlStore::insert_invocation(const InvocationRecord& r) { insert_invocations({r}); }

void SqlStore::insert_invocations(const std::vector<InvocationRecord>& rows) {
  if (rows.empty()) return;
  auto c = conn();
  // One transaction for the batch: the invocation log writes many records per commit. A row of a
  // deleted tenant is skipped (the condition below): it would outlive the tenant's purge.
  Transaction tx(*c);
  Statement q = c->prepare("INSERT INTO invocations(" + std::string(kInvocationColumns) +
                           ", content_sealed) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?14, ?15, ?13 WHERE " +
                           tenant_is_live(*c, 2));
  for (const auto& r : rows) {
    q.reset();
    q.bind_text(1, r.invocation_id)
        .bind_text(2, r.tenant_id)
        .bind_text(3, r.agent)
        .bind_text(4, r.agent_version)
        .bind_text(5, r.session_id)
        .bind_text(6, r.principal)
        .bind_text(7, r.status)
        .bind_int64(8, r.http_status)
        .bind_int64(9, r.latency_ms)
        .bind_text(12, r.created_at.empty() ? core::rfc3339_now() : r.created_at)
        .bind_text(14, r.mode.empty() ? "sync" : r.mode)
        .bind_text(15, r.error);
    // Unknown counts stay NULL: a 0 would claim the runtime reported zero tokens.
    if (r.input_tokens)
      q.bind_int64(10, *r.input_tokens);
    else
      q.bind_null(10);
    if (r.output_tokens)
      q.bind_int64(11, *r.output_tokens);
    else
      q.bind_null(11);
    if (r.content_sealed)
      q.bind_blob(13, *r.content_sealed);
    else
      q.bind_null(13);
    try {
      q.run();
    } catch (const StoreError& e) {
      throw e.prefixed("insert invocation " + r.tenant_id + "/" + r.invocation_id + ": ");
    }
  }
  tx.commit();
}

std::optional<InvocationRecord> SqlStore::find_invocation(std::string_view invocation_id) {
  auto c = conn();
  Statement q = c->prepare("SELECT " + std::string(kInvocationColumns) +
                           ", content_sealed FROM invocations WHERE invocation_id = ?1");
  q.bind_text(1, invocation_id);
  if (!q.step()) return std::nullopt;
  InvocationRecord r = read_invocation(q);
  if (!q.column_is_null(14)) r.content_sealed = q.column_blob(14);
  return r;
}

std::vector<InvocationRecord> SqlStore::list_invocations(const InvocationQuery& q) {
  // Only the conditions that apply, so that each filter can use its index.
  std::string sql = "SELECT " + std::string(kInvocationColumns) + " FROM invocations WHERE 1 = 1";
  int n = 0;
  auto param = [&]() { return "?" + std::to_string(++n); };
  if (!q.tenant_id.empty()) sql += " AND tenant_id = " + param();
  if (!q.agent.empty()) sql += " AND agent = " + param();
  if (!q.since.empty()) sql += " AND created_at >= " + param();
  if (!q.after_id.empty()) sql += " AND invocation_id > " + param();
  sql += " ORDER BY invocation_id LIMIT " + param();

  auto c = conn();
  Statement st = c->prepare(sql);
  int i = 0;
  if (!q.tenant_id.empty()) st.bind_text(++i, q.tenant_id);
  if (!q.agent.empty()) st.bind_text(++i, q.agent);
  if (!q.since.empty()) st.bind_text(++i, q.since);
  if (!q.after_id.empty()) st.bind_text(++i, q.after_id);
  st.bind_int64(++i, static_cast<std::int64_t>(q.limit));
  std::vector<InvocationRecord> out;
  while (st.step()) out.push_back(read_invocation(st));
  return out;
}

std::int64_t SqlStore::purge_invocation_content_before(std::string_view before) {
  auto c = conn();
  c->prepare("UPDATE invocations SET content_sealed = NULL WHERE created_at < ?1 AND content_sealed IS NOT NULL")
      .bind_text(1, before)
      .run();
  std::int64_t n = c->changes();
  // MCP tool call content follows the invocation content retention
  c->prepare("UPDATE mcp_tool_calls SET content_sealed = NULL WHERE created_at < ?1 AND content_sealed IS NOT NULL")
      .bind_text(1, before)
      .run();
  return n + c->changes();
}

std::vector<TenantUsage> SqlStore::usage_since(std::string_view since, std::string_view tenant_id, std::size_t limit) {
  std::string sql =
      "SELECT tenant_id, COUNT(*) AS invocations, "
      "SUM(CASE WHEN status = 'failed' OR http_status >= 500 THEN 1 ELSE 0 END) AS errors, "
      // SUM ignores NULLs (unknown counts) and is NULL when every count in the group is unknown.
      "SUM(input_tokens), SUM(output_tokens) "
      "FROM invocations WHERE created_at >= ?1";
  if (!tenant_id.empty()) sql += " AND tenant_id = ?3";
  sql += " GROUP BY tenant_id ORDER BY invocations DESC, tenant_id LIMIT ?2";

  auto c = conn();
  Statement q = c->prepare(sql);
  q.bind_text(1, since).bind_int64(2, static_cast<std::int64_t>(limit));
  if (!tenant_id.empty()) q.bind_text(3, tenant_id);
  std::vector<TenantUsage> out;
  while (q.step()) {
    TenantUsage u;
    u.tenant_id = q.column_text(0);
    u.invocations = q.column_int64(1);
    u.errors = q.column_int64(2);
    if (!q.column_is_null(3)) u.input_tokens = q.column_int64(3);
    if (!q.column_is_null(4)) u.output_tokens = q.column_int64(4);
    out.push_back(std::move(u));
  }
  return out;
}

void SqlStore::insert_session(const SessionRecord& s) {
  auto c = conn();
  const std::string created = s.created_at.empty() ? core::rfc3339_now() : s.created_at;
  Statement q = c->prepare(
      "INSERT INTO sessions(session_id, tenant_id, principal, agent, status, created_at, last_seen_at) "
      "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE " +
      tenant_is_live(*c, 2));
  q.bind_text(1, s.session_id)
      .bind_text(2, s.tenant_id)
      .bind_text(3, s.principal)
      .bind_text(4, s.agent)
      .bind_text(5, s.status)
      .bind_text(6, created)
      .bind_text(7, s.last_seen_at.empty() ? created : s.last_seen_at);
  try {
    q.run();
  } catch (const StoreError& e) {
    throw e.prefixed("insert session " + s.tenant_id + "/" + s.session_id + ": ");
  }
  require_live_tenant(*c, "insert session " + s.tenant_id + "/" + s.session_id);
}

std::optional<SessionRecord> SqlStore::find_session(std::string_view session_id) {
  auto c = conn();
  Statement q = c->prepare(std::string(kSelectSession) + " WHERE session_id = ?1");
  q.bind_text(1, session_id);
  if (!q.step()) return std::nullopt;
  SessionRecord s;
  s.session_id = q.column_text(0);
  s.tenant_id = q.column_text(1);
  s.principal = q.column_text(2);
  s.agent = q.column_text(3);
  s.status = q.column_text(4);
  s.created_at = q.column_text(5);
  s.last_seen_at = q.column_text(6);
  return s;
}

bool SqlStore::end_session(std::string_view session_id) {
  auto c = conn();
  // Ending an ended session succeeds again: DELETE /v1/sessions/{id} is idempotent.
  c->prepare("UPDATE sessions SET status = 'ended' WHERE session_id = ?1").bind_text(1, session_id).run();
  return c->changes() == 1;
}

std::int64_t SqlStore::purge_sessions_before(std::string_view before) {
  auto c = conn();
  c->prepare("DELETE FROM sessions WHERE last_seen_at < ?1").bind_text(1, before).run();
  return c->changes();
}

}  // namespace pc::store
