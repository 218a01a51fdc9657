// SqlStore: MCP tool call records (issue 10, area federation). Like invocations: metadata kept
// for the audit retention, the sealed content loaded only by find_mcp_tool_call and cleared by
// purge_invocation_content_before.
#include "core/clock.h"
#include "store/sql_store.h"

namespace pc::store {
namespace {

constexpr std::string_view kColumns =
    "call_id, tenant_id, session_id, principal, client_id, request_id, server, server_tenant, tool, exposed_name, "
    "outcome, error_code, latency_ms, redactions, guardrail_hit, created_at";

McpToolCallRecord read_call(Statement& q) {
  McpToolCallRecord r;
  r.call_id = q.column_text(0);
  r.tenant_id = q.column_text(1);
  r.session_id = q.column_text(2);
  r.principal = q.column_text(3);
  r.client_id = q.column_text(4);
  r.request_id = q.column_text(5);
  r.server = q.column_text(6);
  r.server_tenant = q.column_text(7);
  r.tool = q.column_text(8);
  r.exposed_name = q.column_text(9);
  r.outcome = q.column_text(10);
  r.error_code = static_cast<int>(q.column_int64(11));
  r.latency_ms = q.column_int64(12);
  r.redactions = q.column_text(13);
  r.guardrail_hit = q.column_int64(14) != 0;
  r.created_at = q.column_text(15);
  return r;
}

}  // namespace

void SqlStore::insert_mcp_tool_calls(const std::vector<McpToolCallRecord>& rows) {
  if (rows.empty()) return;
  auto c = conn();
  Transaction tx(*c);
  // A row of a deleted tenant is skipped: it would outlive the tenant's purge.
  Statement q = c->prepare("INSERT INTO mcp_tool_calls(" + std::string(kColumns) +
                           ", content_sealed) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
                           "?16, ?17 WHERE " +
                           tenant_is_live(*c, 2));
  for (const auto& r : rows) {
    q.reset();
    q.bind_text(1, r.call_id)
        .bind_text(2, r.tenant_id)
        .bind_text(3, r.session_id)
        .bind_text(4, r.principal)
        .bind_text(5, r.client_id)
        .bind_text(6, r.request_id)
        .bind_text(7, r.server)
        .bind_text(8, r.server_tenant)
        .bind_text(9, r.tool)
        .bind_text(10, r.exposed_name)
        .bind_text(11, r.outcome)
        .bind_int64(12, r.error_code)
        .bind_int64(13, r.latency_ms)
        .bind_text(14, r.redactions.empty() ? "{}" : r.redactions)
        .bind_int64(15, r.guardrail_hit ? 1 : 0)
        .bind_text(16, r.created_at.empty() ? core::rfc3339_now() : r.created_at);
    if (r.content_sealed)
      q.bind_blob(17, *r.content_sealed);
    else
      q.bind_null(17);
    try {
      q.run();
    } catch (const StoreError& e) {
      throw e.prefixed("insert mcp tool call " + r.tenant_id + "/" + r.call_id + ": ");
    }
  }
  tx.commit();
}

std::optional<McpToolCallRecord> SqlStore::find_mcp_tool_call(std::string_view call_id) {
  auto c = conn();
  Statement q =
      c->prepare("SELECT " + std::string(kColumns) + ", content_sealed FROM mcp_tool_calls WHERE call_id = ?1");
  q.bind_text(1, call_id);
  if (!q.step()) return std::nullopt;
  auto r = read_call(q);
  if (!q.column_is_null(16)) r.content_sealed = q.column_blob(16);
  return r;
}

std::vector<McpToolCallRecord> SqlStore::list_mcp_tool_calls(std::string_view tenant_id, std::string_view after,
                                                             std::size_t limit) {
  auto c = conn();
  Statement q = c->prepare("SELECT " + std::string(kColumns) +
                           " FROM mcp_tool_calls WHERE tenant_id = ?1 AND call_id > ?2 ORDER BY call_id LIMIT ?3");
  q.bind_text(1, tenant_id).bind_text(2, after).bind_int64(3, static_cast<std::int64_t>(limit));
  std::vector<McpToolCallRecord> out;
  while (q.step()) out.push_back(read_call(q));
  return out;
}

}  // namespace pc::store
