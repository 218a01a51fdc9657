// A store handle bound to one tenant: the only way services reach tenant-owned rows (SPEC §6).
// Its methods take no tenant argument, so a handler cannot name another tenant by mistake; rows
// are looked up by their own id and their owner is checked before anything is returned or
// changed. A row of another tenant raises TenantAccessViolation (the API answers 403 and audits
// it) and counts in portcullis_tenant_access_violations_total — isolation holds even when a
// handler passes the wrong id.
//
// Blocking, like Store: use it from a WorkPool.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace pc::store {

class TenantAccessViolation : public std::runtime_error {
 public:
  TenantAccessViolation(std::string bound_tenant, std::string resource)
      : std::runtime_error("tenant " + bound_tenant + " may not access " + resource),
        bound_tenant_(std::move(bound_tenant)),
        resource_(std::move(resource)) {}
  const std::string& bound_tenant() const { return bound_tenant_; }
  const std::string& resource() const { return resource_; }  // e.g. "client c-123"; never the other tenant's id

 private:
  std::string bound_tenant_;
  std::string resource_;
};

// Counts a violation (the metric); the handle calls it, and so does the API when a path names
// another tenant than the caller's.
void count_tenant_access_violation();

class TenantStore {
 public:
  // `tenant_id` must be non-empty (std::invalid_argument otherwise).
  TenantStore(Store& store, std::string tenant_id);

  const std::string& tenant_id() const { return tenant_; }

  // ---- clients
  std::vector<ClientRecord> clients();
  // nullopt when no such client exists; violation when it belongs to another tenant.
  std::optional<ClientRecord> find_client(std::string_view client_id);
  // c.tenant_id must be empty (filled in) or this tenant.
  void insert_client(ClientRecord c);
  bool update_client_secret(std::string_view client_id, std::string_view secret_hash);
  bool set_client_status(std::string_view client_id, std::string_view status);

  // ---- data keys and secrets
  std::vector<DataKeyRecord> data_keys(std::string_view data_class);
  bool insert_data_key(DataKeyRecord key);
  void insert_secret(SecretRecord s);
  std::optional<SecretRecord> find_secret(std::string_view name, int version);
  std::vector<SecretRecord> list_secrets();
  bool delete_secret(std::string_view name);

  // ---- invocations and sessions
  void insert_invocation(InvocationRecord r);
  std::optional<InvocationRecord> find_invocation(std::string_view invocation_id);
  // q.tenant_id must be empty (filled in) or this tenant.
  std::vector<InvocationRecord> list_invocations(InvocationQuery q);
  std::optional<TenantUsage> usage_since(std::string_view since);
  void insert_session(SessionRecord s);
  std::optional<SessionRecord> find_session(std::string_view session_id);
  bool end_session(std::string_view session_id);

  // ---- audit (reads; appends go through the audit log, which records the tenant per event)
  // q.tenant_id must be empty (filled in) or this tenant.
  std::vector<AuditRecord> query_audit(AuditQuery q);

  // nullopt when no such job exists; violation when it belongs to another tenant.
  std::optional<JobRecord> find_job(std::string_view job_id);

  // the tenant's own MCP servers (globals are platform rows: a tenant
  // handle does not reach them, and finds none of them by id).
  std::vector<McpServerRecord> mcp_servers(std::string_view after, std::size_t limit);
  // nullopt when no such server of this tenant; violation when it belongs to another tenant.
  std::optional<McpServerRecord> find_mcp_server(std::string_view server_id);
  std::optional<McpServerRecord> find_mcp_server_named(std::string_view name);
  // s.tenant_id must be empty (filled in) or this tenant.
  void insert_mcp_server(McpServerRecord s);
  // The row s.server_id must be this tenant's (violation otherwise); false when there is none.
  bool update_mcp_server(const McpServerRecord& s);
  bool delete_mcp_server(std::string_view server_id);
  // MCP sessions
  // s.tenant_id must be empty (filled in) or this tenant.
  void insert_mcp_session(McpSessionRecord s);
  // nullopt when no such session exists; violation when it belongs to another tenant.
  std::optional<McpSessionRecord> find_mcp_session(std::string_view session_id);

 private:
  // Throws TenantAccessViolation unless `owner` is this tenant.
  void check(std::string_view owner, std::string_view resource) const;
  // Fills an empty tenant field, or checks a set one.
  void claim(std::string& field, std::string_view resource) const;

  Store& store_;
  std::string tenant_;
};

}  // namespace pc::store
