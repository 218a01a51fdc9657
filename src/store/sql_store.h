// The one Store implementation over SQL, shared by the backends: each domain's methods live in
// their own file (sql_store_*.cpp) and reach the database through conn(), a lease on one
// connection (store/db.h) held for the duration of a call: SQLite's one connection, or one of a
// PostgreSQL pool (store/connection_source.h). Private to the store layer.
//
// SQL here is written once for both backends: `?N` placeholders, portable types, timestamps
// bound from C++ (core::rfc3339_now) rather than computed by the database. A transaction that
// reads a maximum and inserts the next value starts with lock_for_write (see store/db.h).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/connection_source.h"
#include "store/db.h"
#include "store/store.h"

namespace pc::store {

// JSON arrays of strings, as stored in text columns.
std::string to_json_array(const std::vector<std::string>& items);
// Throws StoreError naming the row and column when `text` is not a JSON array of strings.
std::vector<std::string> from_json_array(const std::string& text, std::string_view column, std::string_view row_id);

// A WHERE condition true unless the tenant named by parameter `param` is deleted or purged, for
// writes of tenant-owned rows: `INSERT INTO t(...) SELECT ?1, ... WHERE <this>`. A tenant with
// no row (the platform) passes. On PostgreSQL the tenant row is locked FOR SHARE until commit,
// so a concurrent deletion waits for the write (and its purge then removes the row) or the write
// sees the deletion; SQLite runs one writer at a time anyway.
std::string tenant_is_live(const Db& db, int param);
// Throws StoreError kind gone for `what` when the conditional insert above inserted nothing.
void require_live_tenant(Db& db, std::string_view what);

// Inserts a webhook delivery (d.webhook_id = the owner's key) unless its tenant is deleted or the
// owner row (owner_table.owner_key of the same tenant) is gone: then StoreError kind gone.
void insert_delivery_under(Db& c, const WebhookDeliveryRecord& d, std::string_view owner_table,
                           std::string_view owner_key, std::string_view what);
// issue 9: webhooks — removes one tenant's webhooks and deliveries inside purge_tenant's transaction.
void purge_tenant_webhooks(Db& db, std::string_view tenant_id);
// removes one tenant's MCP servers inside purge_tenant's transaction.
void purge_tenant_mcp_servers(Db& db, std::string_view tenant_id);
// removes one tenant's MCP sessions inside purge_tenant's transaction.
void purge_tenant_mcp_sessions(Db& db, std::string_view tenant_id);
// Removes one tenant's A2A push configs inside purge_tenant's transaction.
void purge_tenant_a2a_push_configs(Db& db, std::string_view tenant_id);
// Removes one tenant's A2A task and context bindings inside purge_tenant's transaction.
void purge_tenant_a2a_bindings(Db& db, std::string_view tenant_id);
// removes one tenant's limit override and usage rows inside purge_tenant's transaction.
void purge_tenant_limits(Db& db, std::string_view tenant_id);

class SqlStore final : public Store {
 public:
  explicit SqlStore(std::unique_ptr<ConnectionSource> source) : source_(std::move(source)) {}

  // Exclusive use of one connection for the duration of a call. Declare a Transaction after the
  // lease, so that it ends (rolling back if need be) before the connection goes back. Inside
  // audited()'s change, on its thread, every call shares the change's connection (a borrowed
  // lease, released by audited()).
  class Lease {
   public:
    explicit Lease(ConnectionSource& source) : source_(&source), db_(&source.acquire()) {}
    explicit Lease(Db& borrowed) : source_(nullptr), db_(&borrowed) {}
    ~Lease() {
      if (db_ && source_) source_->release(*db_);
    }
    Lease(Lease&& other) noexcept : source_(other.source_), db_(std::exchange(other.db_, nullptr)) {}
    Lease& operator=(Lease&&) = delete;
    Db* operator->() const { return db_; }
    Db& operator*() const { return *db_; }

   private:
    ConnectionSource* source_;
    Db* db_;
  };
  Lease conn();

  bool ping() override;
  int schema_version() override;

  void insert_client(const ClientRecord& c) override;
  std::optional<ClientRecord> find_client(std::string_view client_id) override;
  std::optional<ClientRecord> find_bootstrap_client() override;
  std::vector<ClientRecord> list_clients(std::string_view tenant_id) override;
  bool update_client_secret(std::string_view client_id, std::string_view secret_hash) override;
  bool set_client_status(std::string_view client_id, std::string_view status) override;
  std::vector<std::string> blocked_clients() override;

  TenantRecord insert_tenant(const TenantRecord& t) override;
  std::optional<TenantRecord> find_tenant(std::string_view tenant_id) override;
  std::vector<TenantRecord> list_tenants(std::string_view after, std::size_t limit) override;
  std::optional<TenantRecord> update_tenant(std::string_view tenant_id, const TenantPatch& patch) override;
  std::vector<TenantRecord> tenants_changed_since(std::int64_t revision) override;
  std::optional<TenantRecord> mark_tenant_deleted(std::string_view tenant_id, std::int64_t purge_after) override;
  std::vector<std::string> tenants_due_for_purge(std::int64_t now) override;
  void purge_tenant(std::string_view tenant_id) override;

  std::vector<SigningKeyRecord> published_signing_keys() override;
  bool insert_first_signing_key(const SigningKeyRecord& key) override;
  void rotate_signing_key(const SigningKeyRecord& key, std::int64_t old_not_after, std::int64_t now) override;

  std::vector<DataKeyRecord> data_keys(std::string_view tenant_id, std::string_view data_class) override;
  bool insert_data_key(const DataKeyRecord& key) override;
  std::vector<DataKeyRecord> all_data_keys() override;
  std::vector<SigningKeyRecord> all_signing_keys() override;
  void rewrap(const std::vector<DataKeyRecord>& data_keys, const std::vector<SigningKeyRecord>& signing_keys) override;

  void insert_secret(const SecretRecord& s) override;
  std::optional<SecretRecord> find_secret(std::string_view tenant_id, std::string_view name, int version) override;
  std::vector<SecretRecord> list_secrets(std::string_view tenant_id) override;
  bool delete_secret(std::string_view tenant_id, std::string_view name) override;

  void append_audit(std::vector<AuditRecord>& batch, const AuditLinker& link) override;
  void audited(AuditRecord& event, const AuditLinker& link, const std::function<void()>& change) override;
  std::vector<AuditRecord> query_audit(const AuditQuery& q) override;
  std::int64_t purge_audit_before(std::string_view before) override;
  std::optional<AuditAnchor> audit_anchor() override;

  void upsert_capability(const CapabilityRecord& c) override;
  bool delete_capability(std::string_view name) override;
  std::vector<CapabilityRecord> list_capabilities() override;

  void insert_agent(const AgentRecord& a) override;
  std::optional<AgentRecord> find_agent(std::string_view name) override;
  std::vector<AgentRecord> list_agents() override;
  bool update_agent(const AgentRecord& a) override;
  bool delete_agent(std::string_view name) override;
  void insert_agent_version(const AgentVersionRecord& v) override;
  std::vector<AgentVersionRecord> agent_versions(std::string_view agent) override;
  bool promote_agent_version(std::string_view agent, std::string_view version, std::string_view previous_status,
                             std::string_view expected_live = {}) override;
  std::vector<std::pair<AgentRecord, AgentVersionRecord>> promoted_agents() override;

  void insert_invocation(const InvocationRecord& r) override;
  void insert_invocations(const std::vector<InvocationRecord>& rows) override;
  std::optional<InvocationRecord> find_invocation(std::string_view invocation_id) override;
  std::vector<InvocationRecord> list_invocations(const InvocationQuery& q) override;
  std::int64_t purge_invocation_content_before(std::string_view before) override;
  std::vector<TenantUsage> usage_since(std::string_view since, std::string_view tenant_id, std::size_t limit) override;

  void insert_session(const SessionRecord& s) override;
  std::optional<SessionRecord> find_session(std::string_view session_id) override;
  bool end_session(std::string_view session_id) override;
  std::int64_t purge_sessions_before(std::string_view before) override;

  // sql_store_invoke.cpp
  void insert_sessions(const std::vector<SessionRecord>& rows) override;
  void touch_sessions(const std::vector<std::pair<std::string, std::string>>& seen) override;

  // sql_store_records.cpp
  bool reserve_data_key_seals(std::string_view tenant_id, std::string_view data_class, int version,
                              std::int64_t count, std::int64_t limit) override;
  IdempotencyClaim claim_idempotency_key(const IdempotencyRecord& pending, std::string_view now) override;
  bool complete_idempotency_key(const IdempotencyRecord& done) override;
  bool release_idempotency_key(std::string_view tenant_id, std::string_view principal, std::string_view key,
                               std::string_view owner) override;
  std::int64_t purge_idempotency_keys_before(std::string_view now) override;
  bool set_agent_version_endpoint(std::string_view agent, std::string_view version, std::string_view endpoint) override;
  // sql_store_webhooks.cpp
  void insert_webhook(const WebhookRecord& w) override;
  std::optional<WebhookRecord> find_webhook(std::string_view webhook_id) override;
  std::vector<WebhookRecord> list_webhooks(std::string_view tenant_id, std::string_view after,
                                           std::size_t limit) override;
  bool delete_webhook(std::string_view webhook_id) override;
  void insert_webhook_delivery(const WebhookDeliveryRecord& d) override;
  std::optional<WebhookDeliveryRecord> find_webhook_delivery(std::string_view delivery_id) override;
  std::vector<WebhookDeliveryRecord> claim_webhook_deliveries(std::string_view node, std::int64_t now_ms,
                                                              std::int64_t lease_until_ms, std::size_t limit) override;
  bool finish_webhook_delivery(const WebhookDeliveryRecord& d) override;
  std::vector<WebhookDeliveryRecord> list_webhook_deliveries(std::string_view webhook_id, std::string_view status,
                                                             std::string_view after, std::size_t limit) override;
  bool redeliver_webhook_delivery(std::string_view delivery_id, std::int64_t now_ms) override;
  std::int64_t purge_webhook_deliveries_before(std::string_view before) override;
  // sql_store_jobs.cpp
  void insert_jobs(const std::vector<JobRecord>& jobs) override;
  std::optional<JobRecord> find_job(std::string_view job_id) override;
  std::vector<JobRecord> claim_jobs(std::string_view node, std::int64_t now_ms, std::int64_t lease_ms,
                                    std::size_t limit, const JobCap& cap = {}) override;
  bool renew_job_lease(std::string_view job_id, std::string_view node, std::int64_t lease_until_ms) override;
  bool finish_job(const JobRecord& job, std::string_view node) override;
  bool retry_job(const JobRecord& job, std::string_view node, std::int64_t next_run_at_ms) override;
  // sql_store_mcp_servers.cpp
  void insert_mcp_server(const McpServerRecord& s) override;
  std::optional<McpServerRecord> find_mcp_server(std::string_view server_id) override;
  std::optional<McpServerRecord> find_mcp_server_named(std::string_view tenant_id, std::string_view name) override;
  std::vector<McpServerRecord> list_mcp_servers(std::string_view tenant_id, std::string_view after,
                                                std::size_t limit) override;
  std::vector<McpServerRecord> all_mcp_servers() override;
  bool update_mcp_server(const McpServerRecord& s) override;
  bool delete_mcp_server(std::string_view server_id) override;
  void record_mcp_server_health(const std::vector<McpServerHealth>& reports) override;
  // sql_store_a2a_push.cpp
  bool put_a2a_push_config(const A2aPushConfigRecord& c, std::size_t max_per_task) override;
  std::optional<A2aPushConfigRecord> find_a2a_push_config(std::string_view relay_id) override;
  bool delete_a2a_push_config(std::string_view tenant_id, std::string_view agent, std::string_view task_id,
                              std::string_view config_id) override;
  void insert_a2a_push_delivery(const WebhookDeliveryRecord& d) override;
  // sql_store_mcp_tool_calls.cpp
  void insert_mcp_tool_calls(const std::vector<McpToolCallRecord>& rows) override;
  std::optional<McpToolCallRecord> find_mcp_tool_call(std::string_view call_id) override;
  std::vector<McpToolCallRecord> list_mcp_tool_calls(std::string_view tenant_id, std::string_view after,
                                                     std::size_t limit) override;

  // sql_store_mcp_sessions.cpp
  void insert_mcp_session(const McpSessionRecord& s) override;
  std::optional<McpSessionRecord> find_mcp_session(std::string_view session_id) override;
  void touch_mcp_sessions(const std::vector<std::pair<std::string, std::string>>& seen) override;
  void set_mcp_session_upstreams(const std::vector<McpUpstreamWrite>& writes) override;
  bool delete_mcp_session(std::string_view session_id) override;
  std::int64_t purge_mcp_sessions_before(std::string_view before) override;

  // sql_store_a2a.cpp
  A2aTaskRecord bind_a2a_task(const A2aTaskRecord& t) override;
  std::optional<A2aTaskRecord> find_a2a_task(std::string_view agent, std::string_view task_id) override;
  A2aContextRecord bind_a2a_context(const A2aContextRecord& c) override;
  std::optional<A2aContextRecord> find_a2a_context(std::string_view agent, std::string_view context_id) override;
  bool set_a2a_task_state(std::string_view agent, std::string_view task_id, std::string_view tenant_id,
                          std::string_view principal, std::string_view state, std::string_view updated_at) override;
  std::vector<A2aTaskRecord> list_a2a_tasks(const A2aTaskQuery& q) override;

  // sql_store_limits.cpp
  void put_tenant_limits(const TenantLimitsRecord& r) override;
  std::optional<TenantLimitsRecord> find_tenant_limits(std::string_view tenant_id) override;
  std::vector<TenantLimitsRecord> list_tenant_limits() override;
  bool delete_tenant_limits(std::string_view tenant_id) override;
  void put_daily_usage(std::string_view node_id, const std::vector<DailyUsageRecord>& counts) override;
  std::vector<DailyUsageRecord> daily_usage(std::string_view day) override;
  std::int64_t purge_daily_usage_before(std::string_view day, std::int64_t limit) override;

 private:
  std::unique_ptr<ConnectionSource> source_;
};

}  // namespace pc::store
