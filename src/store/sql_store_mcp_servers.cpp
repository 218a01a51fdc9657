// SqlStore: upstream MCP servers (issue 10, area "servers"). The name rule across scopes (a
// global name is taken everywhere; a tenant's name may not become a global one) cannot be an
// index, so insert checks it and inserts under lock_for_write: on PostgreSQL an EXCLUSIVE table
// lock serialises inserters across nodes, on SQLite the IMMEDIATE transaction already does.
#include "core/clock.h"
#include "store/sql_store.h"

namespace pc::store {
namespace {

constexpr std::string_view kColumns =
    "server_id, tenant_id, name, url, auth_mode, auth_secret, auth_header, tier_minimum, enabled, disabled_tools, "
    "timeout_ms, created_at, updated_at, status, checked_at, last_error, last_tools";
// The snapshot leaves the tools out: they can be large and only GET …/{name} shows them.
constexpr std::string_view kSnapshotColumns =
    "server_id, tenant_id, name, url, auth_mode, auth_secret, auth_header, tier_minimum, enabled, disabled_tools, "
    "timeout_ms, created_at, updated_at, status, checked_at, last_error, ''";

McpServerRecord read_server(Statement& q) {
  McpServerRecord s;
  s.server_id = q.column_text(0);
  s.tenant_id = q.column_text(1);
  s.name = q.column_text(2);
  s.url = q.column_text(3);
  s.auth_mode = q.column_text(4);
  s.auth_secret = q.column_text(5);
  s.auth_header = q.column_text(6);
  s.tier_minimum = q.column_text(7);
  s.enabled = q.column_int64(8) != 0;
  s.disabled_tools = from_json_array(q.column_text(9), "disabled_tools", s.server_id);
  s.timeout_ms = q.column_int64(10);
  s.created_at = q.column_text(11);
  s.updated_at = q.column_text(12);
  s.status = q.column_text(13);
  s.checked_at = q.column_text(14);
  s.last_error = q.column_text(15);
  s.last_tools = q.column_text(16);
  return s;
}

}  // namespace

void purge_tenant_mcp_servers(Db& db, std::string_view tenant_id) {
  db.prepare("DELETE FROM mcp_servers WHERE tenant_id = ?1").bind_text(1, tenant_id).run();
}

void SqlStore::insert_mcp_server(const McpServerRecord& s) {
  const std::string what = "insert mcp server " + s.server_id;
  auto c = conn();
  Transaction tx(*c);
  c->lock_for_write("mcp_servers");
  // Whoever holds the name already: the same scope (duplicate) or the other one (conflict). A
  // global competes with every tenant; a tenant's server only with the globals and its own.
  Statement taken = c->prepare(s.tenant_id.empty()
                                   ? "SELECT tenant_id FROM mcp_servers WHERE name = ?1 ORDER BY tenant_id LIMIT 1"
                                   : "SELECT tenant_id FROM mcp_servers WHERE name = ?1 AND (tenant_id = '' OR "
                                     "tenant_id = ?2) ORDER BY tenant_id LIMIT 1");
  taken.bind_text(1, s.name);
  if (!s.tenant_id.empty()) taken.bind_text(2, s.tenant_id);
  if (taken.step()) {
    const bool same_scope = taken.column_text(0) == s.tenant_id;
    throw StoreError(what + ": the name '" + s.name + "' is taken" +
                         (same_scope ? "" : s.tenant_id.empty() ? " by a tenant's server" : " by a global server"),
                     same_scope ? StoreError::Kind::duplicate : StoreError::Kind::conflict);
  }
  const std::string now = core::rfc3339_now();
  Statement q = c->prepare("INSERT INTO mcp_servers(" + std::string(kColumns) +
                           ") SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'unknown', '', '', '' WHERE " +
                           tenant_is_live(*c, 2));
  q.bind_text(1, s.server_id)
      .bind_text(2, s.tenant_id)
      .bind_text(3, s.name)
      .bind_text(4, s.url)
      .bind_text(5, s.auth_mode)
      .bind_text(6, s.auth_secret)
      .bind_text(7, s.auth_header)
      .bind_text(8, s.tier_minimum)
      .bind_int64(9, s.enabled ? 1 : 0)
      .bind_text(10, to_json_array(s.disabled_tools))
      .bind_int64(11, s.timeout_ms)
      .bind_text(12, s.created_at.empty() ? now : s.created_at)
      .bind_text(13, s.updated_at.empty() ? now : s.updated_at);
  try {
    q.run();
  } catch (const StoreError& e) {
    throw e.prefixed(what + ": ");
  }
  require_live_tenant(*c, what);
  tx.commit();
}

std::optional<McpServerRecord> SqlStore::find_mcp_server(std::string_view server_id) {
  auto c = conn();
  Statement q = c->prepare("SELECT " + std::string(kColumns) + " FROM mcp_servers WHERE server_id = ?1");
  q.bind_text(1, server_id);
  if (!q.step()) return std::nullopt;
  return read_server(q);
}

std::optional<McpServerRecord> SqlStore::find_mcp_server_named(std::string_view tenant_id, std::string_view name) {
  auto c = conn();
  Statement q = c->prepare("SELECT " + std::string(kColumns) + " FROM mcp_servers WHERE tenant_id = ?1 AND name = ?2");
  q.bind_text(1, tenant_id).bind_text(2, name);
  if (!q.step()) return std::nullopt;
  return read_server(q);
}

std::vector<McpServerRecord> SqlStore::list_mcp_servers(std::string_view tenant_id, std::string_view after,
                                                        std::size_t limit) {
  auto c = conn();
  Statement q = c->prepare("SELECT " + std::string(kColumns) +
                           " FROM mcp_servers WHERE tenant_id = ?1 AND name > ?2 ORDER BY name LIMIT ?3");
  q.bind_text(1, tenant_id).bind_text(2, after).bind_int64(3, static_cast<std::int64_t>(limit));
  std::vector<McpServerRecord> out;
  while (q.step()) out.push_back(read_server(q));
  return out;
}

std::vector<McpServerRecord> SqlStore::all_mcp_servers() {
  auto c = conn();
  // A deleted tenant's servers leave the snapshot at once, before its purge removes the rows.
  Statement q = c->prepare("SELECT " + std::string(kSnapshotColumns) +
                           " FROM mcp_servers WHERE tenant_id = '' OR tenant_id NOT IN "
                           "(SELECT tenant_id FROM tenants WHERE status = 'deleted') ORDER BY tenant_id, name");
  std::vector<McpServerRecord> out;
  while (q.step()) out.push_back(read_server(q));
  return out;
}

bool SqlStore::update_mcp_server(const McpServerRecord& s) {
  auto c = conn();
  // Matched on the owner too: a row never changes scope, whatever the caller passes.
  Statement q = c->prepare(
      "UPDATE mcp_servers SET url = ?3, auth_mode = ?4, auth_secret = ?5, auth_header = ?6, tier_minimum = ?7, "
      "enabled = ?8, disabled_tools = ?9, timeout_ms = ?10, updated_at = ?11 WHERE server_id = ?1 AND tenant_id = ?2");
  q.bind_text(1, s.server_id)
      .bind_text(2, s.tenant_id)
      .bind_text(3, s.url)
      .bind_text(4, s.auth_mode)
      .bind_text(5, s.auth_secret)
      .bind_text(6, s.auth_header)
      .bind_text(7, s.tier_minimum)
      .bind_int64(8, s.enabled ? 1 : 0)
      .bind_text(9, to_json_array(s.disabled_tools))
      .bind_int64(10, s.timeout_ms)
      .bind_text(11, s.updated_at.empty() ? core::rfc3339_now() : s.updated_at);
  q.run();
  return c->changes() > 0;
}

bool SqlStore::delete_mcp_server(std::string_view server_id) {
  auto c = conn();
  c->prepare("DELETE FROM mcp_servers WHERE server_id = ?1").bind_text(1, server_id).run();
  return c->changes() > 0;
}

void SqlStore::record_mcp_server_health(const std::vector<McpServerHealth>& reports) {
  if (reports.empty()) return;
  auto c = conn();
  Transaction tx(*c);
  Statement with_tools = c->prepare(
      "UPDATE mcp_servers SET status = ?3, checked_at = ?4, last_error = ?5, last_tools = ?6 "
      "WHERE tenant_id = ?1 AND name = ?2");
  Statement without = c->prepare(
      "UPDATE mcp_servers SET status = ?3, checked_at = ?4, last_error = ?5 WHERE tenant_id = ?1 AND name = ?2");
  for (const auto& r : reports) {
    Statement& q = r.tools ? with_tools : without;
    q.reset();
    q.bind_text(1, r.tenant_id).bind_text(2, r.name).bind_text(3, r.status).bind_text(4, r.checked_at).bind_text(5, r.last_error);
    if (r.tools) q.bind_text(6, *r.tools);
    q.run();
  }
  tx.commit();
}

}  // namespace pc::store
