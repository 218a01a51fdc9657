// SqlStore: A2A task and context owners (a2a/task_bindings.h). A binding is written once, insert
// if absent, and the row that stands is read back in the same transaction: the database's primary
// key decides between two nodes binding one id at once, and both learn the same owner.
#include "store/sql_store.h"

namespace pc::store {
namespace {

constexpr std::string_view kTaskColumns =
    "agent, task_id, tenant_id, principal, context_id, session_id, state, created_at, updated_at";

A2aTaskRecord task_row(const Statement& q) {
  A2aTaskRecord t;
  t.agent = q.column_text(0);
  t.task_id = q.column_text(1);
  t.tenant_id = q.column_text(2);
  t.principal = q.column_text(3);
  t.context_id = q.column_text(4);
  t.session_id = q.column_text(5);
  t.state = q.column_text(6);
  t.created_at = q.column_text(7);
  t.updated_at = q.column_text(8);
  return t;
}

std::optional<A2aTaskRecord> read_task(Db& db, std::string_view agent, std::string_view task_id) {
  Statement q = db.prepare("SELECT " + std::string(kTaskColumns) + " FROM a2a_tasks WHERE agent = ?1 AND task_id = ?2");
  q.bind_text(1, agent).bind_text(2, task_id);
  if (!q.step()) return std::nullopt;
  return task_row(q);
}

std::optional<A2aContextRecord> read_context(Db& db, std::string_view agent, std::string_view context_id) {
  Statement q = db.prepare(
      "SELECT agent, context_id, tenant_id, principal, session_id, created_at FROM a2a_contexts "
      "WHERE agent = ?1 AND context_id = ?2");
  q.bind_text(1, agent).bind_text(2, context_id);
  if (!q.step()) return std::nullopt;
  A2aContextRecord c;
  c.agent = q.column_text(0);
  c.context_id = q.column_text(1);
  c.tenant_id = q.column_text(2);
  c.principal = q.column_text(3);
  c.session_id = q.column_text(4);
  c.created_at = q.column_text(5);
  return c;
}

// After an INSERT … ON CONFLICT DO NOTHING that inserted nothing: either the id was bound already
// (that row stands) or the tenant is deleted (nothing may be written into it).
[[noreturn]] void tenant_gone(std::string_view what) {
  throw StoreError(std::string(what) + ": the tenant is deleted; nothing is written into it", StoreError::Kind::gone);
}

}  // namespace

void purge_tenant_a2a_bindings(Db& db, std::string_view tenant_id) {
  db.prepare("DELETE FROM a2a_tasks WHERE tenant_id = ?1").bind_text(1, tenant_id).run();
  db.prepare("DELETE FROM a2a_contexts WHERE tenant_id = ?1").bind_text(1, tenant_id).run();
}

A2aTaskRecord SqlStore::bind_a2a_task(const A2aTaskRecord& t) {
  auto c = conn();
  Transaction tx(*c);
  // PostgreSQL (read committed): a concurrent insert of the same key makes this one wait for it
  // and then do nothing; the SELECT below, a new statement, sees the winner's committed row.
  c->prepare("INSERT INTO a2a_tasks(" + std::string(kTaskColumns) +
             ") SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE " + tenant_is_live(*c, 3) +
             " ON CONFLICT (agent, task_id) DO NOTHING")
      .bind_text(1, t.agent)
      .bind_text(2, t.task_id)
      .bind_text(3, t.tenant_id)
      .bind_text(4, t.principal)
      .bind_text(5, t.context_id)
      .bind_text(6, t.session_id)
      .bind_text(7, t.state)
      .bind_text(8, t.created_at)
      .bind_text(9, t.updated_at.empty() ? t.created_at : t.updated_at)
      .run();
  auto stands = read_task(*c, t.agent, t.task_id);
  if (!stands) tenant_gone("a2a task binding");
  tx.commit();
  return std::move(*stands);
}

std::optional<A2aTaskRecord> SqlStore::find_a2a_task(std::string_view agent, std::string_view task_id) {
  auto c = conn();
  return read_task(*c, agent, task_id);
}

A2aContextRecord SqlStore::bind_a2a_context(const A2aContextRecord& r) {
  auto c = conn();
  Transaction tx(*c);
  c->prepare("INSERT INTO a2a_contexts(agent, context_id, tenant_id, principal, session_id, created_at) "
             "SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE " +
             tenant_is_live(*c, 3) + " ON CONFLICT (agent, context_id) DO NOTHING")
      .bind_text(1, r.agent)
      .bind_text(2, r.context_id)
      .bind_text(3, r.tenant_id)
      .bind_text(4, r.principal)
      .bind_text(5, r.session_id)
      .bind_text(6, r.created_at)
      .run();
  auto stands = read_context(*c, r.agent, r.context_id);
  if (!stands) tenant_gone("a2a context binding");
  tx.commit();
  return std::move(*stands);
}

std::optional<A2aContextRecord> SqlStore::find_a2a_context(std::string_view agent, std::string_view context_id) {
  auto c = conn();
  return read_context(*c, agent, context_id);
}

bool SqlStore::set_a2a_task_state(std::string_view agent, std::string_view task_id, std::string_view tenant_id,
                                  std::string_view principal, std::string_view state, std::string_view updated_at) {
  auto c = conn();
  // The owner is part of the condition: a caller can only ever move its own task's state.
  c->prepare("UPDATE a2a_tasks SET state = ?5, updated_at = ?6 "
             "WHERE agent = ?1 AND task_id = ?2 AND tenant_id = ?3 AND principal = ?4")
      .bind_text(1, agent)
      .bind_text(2, task_id)
      .bind_text(3, tenant_id)
      .bind_text(4, principal)
      .bind_text(5, state)
      .bind_text(6, updated_at)
      .run();
  return c->changes() == 1;
}

std::vector<A2aTaskRecord> SqlStore::list_a2a_tasks(const A2aTaskQuery& q) {
  // Only the conditions that apply, numbered densely (PostgreSQL wants every parameter used).
  std::string sql = "SELECT " + std::string(kTaskColumns) + " FROM a2a_tasks WHERE tenant_id = ?1";
  int n = 1;
  auto param = [&]() { return "?" + std::to_string(++n); };
  if (!q.agent.empty()) sql += " AND agent = " + param();
  // Newest first; the cursor is the (created_at, agent, task_id) of the previous page's last row.
  if (q.before) {
    const std::string at = param(), agent = param(), id = param();
    sql += " AND (created_at < " + at + " OR (created_at = " + at + " AND (agent < " + agent + " OR (agent = " + agent +
           " AND task_id < " + id + "))))";
  }
  sql += " ORDER BY created_at DESC, agent DESC, task_id DESC LIMIT " + param();

  auto c = conn();
  Statement s = c->prepare(sql);
  int i = 0;
  s.bind_text(++i, q.tenant_id);
  if (!q.agent.empty()) s.bind_text(++i, q.agent);
  if (q.before) {
    s.bind_text(++i, q.before->created_at);
    s.bind_text(++i, q.before->agent);
    s.bind_text(++i, q.before->task_id);
  }
  s.bind_int64(++i, static_cast<std::int64_t>(q.limit));
  std::vector<A2aTaskRecord> out;
  while (s.step()) out.push_back(task_row(s));
  return out;
}

}  // namespace pc::store
