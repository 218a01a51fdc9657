// SqlStore: MCP sessions (mcp/sessions.h). Created once per initialize (written before the answer,
// so any node knows the id at once); touched and given upstream state in batches written behind.
#include "store/sql_store.h"

namespace pc::store {

void purge_tenant_mcp_sessions(Db& db, std::string_view tenant_id) {
  db.prepare("DELETE FROM mcp_session_upstreams WHERE tenant_id = ?1").bind_text(1, tenant_id).run();
  db.prepare("DELETE FROM mcp_sessions WHERE tenant_id = ?1").bind_text(1, tenant_id).run();
}

void SqlStore::insert_mcp_session(const McpSessionRecord& s) {
  auto c = conn();
  Transaction tx(*c);
  // A session of a deleted tenant would outlive its purge: refused (kind gone).
  c->prepare("INSERT INTO mcp_sessions(session_id, tenant_id, subject, client_id, protocol_version, "
             "client_capabilities, client_info, created_at, created_ms, last_seen_at) "
             "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?10, ?9 WHERE " +
             tenant_is_live(*c, 2))
      .bind_text(1, s.session_id)
      .bind_text(2, s.tenant_id)
      .bind_text(3, s.subject)
      .bind_text(4, s.client_id)
      .bind_text(5, s.protocol_version)
      .bind_text(6, s.client_capabilities)
      .bind_text(7, s.client_info)
      .bind_text(8, s.created_at)
      .bind_text(9, s.last_seen_at.empty() ? s.created_at : s.last_seen_at)
      .bind_int64(10, s.created_ms)
      .run();
  require_live_tenant(*c, "mcp session");
  Statement up = c->prepare("INSERT INTO mcp_session_upstreams(session_id, tenant_id, key, value) VALUES (?1, ?2, ?3, ?4)");
  for (const auto& [key, value] : s.upstream) {
    up.reset();
    up.bind_text(1, s.session_id).bind_text(2, s.tenant_id).bind_text(3, key).bind_text(4, value).run();
  }
  tx.commit();
}

std::optional<McpSessionRecord> SqlStore::find_mcp_session(std::string_view session_id) {
  auto c = conn();
  Transaction tx(*c);  // the session and its map as of one moment
  Statement q = c->prepare(
      "SELECT session_id, tenant_id, subject, client_id, protocol_version, client_capabilities, client_info, "
      "created_at, last_seen_at, created_ms FROM mcp_sessions WHERE session_id = ?1");
  q.bind_text(1, session_id);
  if (!q.step()) return std::nullopt;
  McpSessionRecord s;
  s.session_id = q.column_text(0);
  s.tenant_id = q.column_text(1);
  s.subject = q.column_text(2);
  s.client_id = q.column_text(3);
  s.protocol_version = q.column_text(4);
  s.client_capabilities = q.column_text(5);
  s.client_info = q.column_text(6);
  s.created_at = q.column_text(7);
  s.last_seen_at = q.column_text(8);
  s.created_ms = q.column_int64(9);
  Statement up = c->prepare("SELECT key, value FROM mcp_session_upstreams WHERE session_id = ?1");
  up.bind_text(1, session_id);
  while (up.step()) s.upstream[up.column_text(0)] = up.column_text(1);
  tx.commit();
  return s;
}

void SqlStore::touch_mcp_sessions(const std::vector<std::pair<std::string, std::string>>& seen) {
  if (seen.empty()) return;
  auto c = conn();
  Transaction tx(*c);
  // Fixed-width RFC 3339 text: "later" is a text comparison; touches from several nodes may
  // arrive out of order and never move last_seen_at back.
  Statement q = c->prepare("UPDATE mcp_sessions SET last_seen_at = ?2 WHERE session_id = ?1 AND last_seen_at < ?2");
  for (const auto& [id, at] : seen) {
    q.reset();
    q.bind_text(1, id).bind_text(2, at).run();
  }
  tx.commit();
}

void SqlStore::set_mcp_session_upstreams(const std::vector<McpUpstreamWrite>& writes) {
  if (writes.empty()) return;
  auto c = conn();
  Transaction tx(*c);
  // The tenant comes from the session row, never from the writer; a session deleted meanwhile
  // gets no orphan rows.
  Statement set = c->prepare(
      "INSERT INTO mcp_session_upstreams(session_id, tenant_id, key, value) "
      "SELECT session_id, tenant_id, ?2, ?3 FROM mcp_sessions WHERE session_id = ?1 "
      "ON CONFLICT (session_id, key) DO UPDATE SET value = excluded.value");
  Statement drop = c->prepare("DELETE FROM mcp_session_upstreams WHERE session_id = ?1 AND key = ?2");
  for (const auto& w : writes) {
    if (w.value.empty()) {
      drop.reset();
      drop.bind_text(1, w.session_id).bind_text(2, w.key).run();
    } else {
      set.reset();
      set.bind_text(1, w.session_id).bind_text(2, w.key).bind_text(3, w.value).run();
    }
  }
  tx.commit();
}

bool SqlStore::delete_mcp_session(std::string_view session_id) {
  auto c = conn();
  Transaction tx(*c);
  c->prepare("DELETE FROM mcp_session_upstreams WHERE session_id = ?1").bind_text(1, session_id).run();
  c->prepare("DELETE FROM mcp_sessions WHERE session_id = ?1").bind_text(1, session_id).run();
  const bool deleted = c->changes() == 1;
  tx.commit();
  return deleted;
}

std::int64_t SqlStore::purge_mcp_sessions_before(std::string_view before) {
  auto c = conn();
  Transaction tx(*c);
  c->prepare("DELETE FROM mcp_session_upstreams WHERE session_id IN "
             "(SELECT session_id FROM mcp_sessions WHERE last_seen_at < ?1)")
      .bind_text(1, before)
      .run();
  c->prepare("DELETE FROM mcp_sessions WHERE last_seen_at < ?1").bind_text(1, before).run();
  const std::int64_t n = c->changes();
  tx.commit();
  return n;
}

}  // namespace pc::store
