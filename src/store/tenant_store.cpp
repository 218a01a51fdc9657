#include "store/tenant_store.h"

#include "core/log.h"
#include "core/metrics.h"

namespace pc::store {

void count_tenant_access_violation() {
  static core::Counter& c =
      core::metrics()
          .counter("portcullis_tenant_access_violations_total",
                   "Attempts to read or change another tenant's data (each one refused with 403 and audited)", {})
          .labels({});
  c.inc();
}

TenantStore::TenantStore(Store& store, std::string tenant_id) : store_(store), tenant_(std::move(tenant_id)) {
  if (tenant_.empty()) throw std::invalid_argument("a tenant store handle needs a tenant id");
}

void TenantStore::check(std::string_view owner, std::string_view resource) const {
  if (owner == tenant_) return;
  count_tenant_access_violation();
  // The log names the owner for the operator; the exception (which reaches the caller's
  // answer) does not, so the caller learns nothing about the other tenant.
  log::warn("tenant access violation", {{"tenant", tenant_}, {"resource", resource}, {"owner", owner}});
  throw TenantAccessViolation(tenant_, std::string(resource));
}

void TenantStore::claim(std::string& field, std::string_view resource) const {
  if (field.empty()) field = tenant_;
  else check(field, resource);
}

std::vector<ClientRecord> TenantStore::clients() { return store_.list_clients(tenant_); }

std::optional<ClientRecord> TenantStore::find_client(std::string_view client_id) {
  auto c = store_.find_client(client_id);
  if (c) check(c->tenant_id, "client " + std::string(client_id));
  return c;
}

void TenantStore::insert_client(ClientRecord c) {
  claim(c.tenant_id, "client " + c.client_id);
  store_.insert_client(c);
}

bool TenantStore::update_client_secret(std::string_view client_id, std::string_view secret_hash) {
  if (!find_client(client_id)) return false;
  return store_.update_client_secret(client_id, secret_hash);
}

bool TenantStore::set_client_status(std::string_view client_id, std::string_view status) {
  if (!find_client(client_id)) return false;
  return store_.set_client_status(client_id, status);
}

std::vector<DataKeyRecord> TenantStore::data_keys(std::string_view data_class) {
  return store_.data_keys(tenant_, data_class);
}

bool TenantStore::insert_data_key(DataKeyRecord key) {
  claim(key.tenant_id, "data key " + key.data_class);
  return store_.insert_data_key(key);
}

void TenantStore::insert_secret(SecretRecord s) {
  claim(s.tenant_id, "secret " + s.name);
  store_.insert_secret(s);
}

std::optional<SecretRecord> TenantStore::find_secret(std::string_view name, int version) {
  return store_.find_secret(tenant_, name, version);
}

std::vector<SecretRecord> TenantStore::list_secrets() { return store_.list_secrets(tenant_); }

bool TenantStore::delete_secret(std::string_view name) { return store_.delete_secret(tenant_, name); }

void TenantStore::insert_invocation(InvocationRecord r) {
  claim(r.tenant_id, "invocation " + r.invocation_id);
  store_.insert_invocation(r);
}

std::optional<InvocationRecord> TenantStore::find_invocation(std::string_view invocation_id) {
  auto r = store_.find_invocation(invocation_id);
  if (r) check(r->tenant_id, "invocation " + std::string(invocation_id));
  return r;
}

std::vector<InvocationRecord> TenantStore::list_invocations(InvocationQuery q) {
  claim(q.tenant_id, "invocations");
  return store_.list_invocations(q);
}

std::optional<TenantUsage> TenantStore::usage_since(std::string_view since) {
  auto rows = store_.usage_since(since, tenant_, 1);
  if (rows.empty()) return TenantUsage{tenant_, 0, 0};
  check(rows.front().tenant_id, "usage");
  return rows.front();
}

void TenantStore::insert_session(SessionRecord s) {
  claim(s.tenant_id, "session " + s.session_id);
  store_.insert_session(s);
}

std::optional<SessionRecord> TenantStore::find_session(std::string_view session_id) {
  auto s = store_.find_session(session_id);
  if (s) check(s->tenant_id, "session " + std::string(session_id));
  return s;
}

bool TenantStore::end_session(std::string_view session_id) {
  if (!find_session(session_id)) return false;
  return store_.end_session(session_id);
}

std::vector<AuditRecord> TenantStore::query_audit(AuditQuery q) {
  claim(q.tenant_id, "audit log");
  auto rows = store_.query_audit(q);
  for (const auto& r : rows) check(r.tenant_id, "audit event " + std::to_string(r.seq));
  return rows;
}

std::optional<JobRecord> TenantStore::find_job(std::string_view job_id) {
  auto j = store_.find_job(job_id);
  if (j) check(j->tenant_id, "job " + std::string(job_id));
  return j;
}

std::vector<McpServerRecord> TenantStore::mcp_servers(std::string_view after, std::size_t limit) {
  return store_.list_mcp_servers(tenant_, after, limit);
}

std::optional<McpServerRecord> TenantStore::find_mcp_server(std::string_view server_id) {
  auto s = store_.find_mcp_server(server_id);
  if (!s || s->tenant_id.empty()) return std::nullopt;  // a global is no tenant's row
  check(s->tenant_id, "mcp server " + std::string(server_id));
  return s;
}

std::optional<McpServerRecord> TenantStore::find_mcp_server_named(std::string_view name) {
  return store_.find_mcp_server_named(tenant_, name);
}

void TenantStore::insert_mcp_server(McpServerRecord s) {
  claim(s.tenant_id, "mcp server " + s.server_id);
  store_.insert_mcp_server(s);
}

bool TenantStore::update_mcp_server(const McpServerRecord& s) {
  if (!find_mcp_server(s.server_id)) return false;
  McpServerRecord owned = s;
  owned.tenant_id = tenant_;
  return store_.update_mcp_server(owned);
}

bool TenantStore::delete_mcp_server(std::string_view server_id) {
  if (!find_mcp_server(server_id)) return false;
  return store_.delete_mcp_server(server_id);
}
void TenantStore::insert_mcp_session(McpSessionRecord s) {
  claim(s.tenant_id, "mcp session");
  store_.insert_mcp_session(s);
}

std::optional<McpSessionRecord> TenantStore::find_mcp_session(std::string_view session_id) {
  auto s = store_.find_mcp_session(session_id);
  // The resource never names the id: a session id is a bearer secret of its owner.
  if (s) check(s->tenant_id, "mcp session");
  return s;
}

}  // namespace pc::store
