// SqlStore: the invoke route's session writes (issue 9). Sessions are created and touched on the
// data plane's hot path, so agents::SessionService queues them and writes them here in batches,
// one transaction each, rather than one statement per invocation.
#include "store/sql_store.h"

namespace pc::store {

void SqlStore::insert_sessions(const std::vector<SessionRecord>& rows) {
  if (rows.empty()) return;
  auto c = conn();
  Transaction tx(*c);
  // A row of a deleted tenant is skipped (it would outlive the purge); so is an id already
  // stored: a batch retried after a failed commit must not fail on its own first attempt.
  Statement q = c->prepare(
      "INSERT INTO sessions(session_id, tenant_id, principal, agent, status, created_at, last_seen_at) "
      "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE " +
      tenant_is_live(*c, 2) + " AND NOT EXISTS (SELECT 1 FROM sessions WHERE session_id = ?1)");
  for (const auto& s : rows) {
    q.reset();
    q.bind_text(1, s.session_id)
        .bind_text(2, s.tenant_id)
        .bind_text(3, s.principal)
        .bind_text(4, s.agent)
        .bind_text(5, s.status)
        .bind_text(6, s.created_at)
        .bind_text(7, s.last_seen_at.empty() ? s.created_at : s.last_seen_at);
    try {
      q.run();
    } catch (const StoreError& e) {
      throw e.prefixed("insert session " + s.tenant_id + "/" + s.session_id + ": ");
    }
  }
  tx.commit();
}

void SqlStore::touch_sessions(const std::vector<std::pair<std::string, std::string>>& seen) {
  if (seen.empty()) return;
  auto c = conn();
  Transaction tx(*c);
  // Timestamps are fixed-width RFC 3339 text, so "later" is a text comparison on every backend.
  Statement q = c->prepare("UPDATE sessions SET last_seen_at = ?2 WHERE session_id = ?1 AND last_seen_at < ?2");
  for (const auto& [id, at] : seen) {
    q.reset();
    q.bind_text(1, id).bind_text(2, at);
    q.run();
  }
  tx.commit();
}

}  // namespace pc::store
