// The gateway's handle to its store. Store is the backend-neutral interface: SQLite (embedded,
// one node) and PostgreSQL (many nodes) implement it and pass one shared test suite. Services
// depend on it, never on SQL; tenant data is reached through a TenantStore (store/tenant_store.h)
// bound to one tenant.
//
// Every call blocks (disk, network, locks): make them from a core::WorkPool, never from an I/O
// thread. Calls are thread-safe. Errors throw StoreError (store/store_error.h), whose kind()
// tells a duplicate key or a busy database apart from other failures.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/records.h"
#include "store/store_error.h"

namespace pc::core {
struct StorageConfig;
}

namespace pc::store {

// How a service has a change audited in the change's own transaction, without knowing the
// audit layer: it calls `audited(tenant_id, action, resource, change)` around its store calls,
// and the function (audit::change_audit, made per request with the actor and request id) runs
// Store::audited. Empty: no event (tests, offline tools that audit otherwise).
using AuditedChange = std::function<void(const std::string& tenant_id, const std::string& action,
                                         const std::string& resource, const std::function<void()>& change)>;

class Store {
 public:
  virtual ~Store() = default;

  // Opens (creating if needed) the SQLite database at `path` and migrates it to the newest
  // schema. A missing parent directory is created with mode 0700; a new database file is
  // created with mode 0600 (SQLite gives its -wal and -shm files the same mode).
  static std::unique_ptr<Store> open_sqlite(const std::string& path);
  // Connects to the PostgreSQL database at `url` (a libpq URL, postgresql://user@host/db),
  // migrates it to the newest schema and keeps a pool of up to `pool_size` connections, opened
  // as concurrent calls need them. Many gateways may share the database.
  static std::unique_ptr<Store> open_postgres(const std::string& url, std::size_t pool_size = 8);
  // The backend `config` names: open_postgres(config.postgres_url) for "postgres",
  // open_sqlite(sqlite_path) for "sqlite" (the caller resolves the default path against the
  // data dir).
  static std::unique_ptr<Store> open(const core::StorageConfig& config, const std::string& sqlite_path);

  virtual bool ping() = 0;  // the store answers a trivial query (readiness probe)
  virtual int schema_version() = 0;

  // ---- clients
  // Throws StoreError with kind duplicate when the client_id exists, or when `c` is a bootstrap
  // client and one exists already (there is at most one).
  virtual void insert_client(const ClientRecord& c) = 0;
  virtual std::optional<ClientRecord> find_client(std::string_view client_id) = 0;
  virtual std::optional<ClientRecord> find_bootstrap_client() = 0;
  virtual std::vector<ClientRecord> list_clients(std::string_view tenant_id) = 0;
  // Replaces the secret hash; false when no such client exists.
  virtual bool update_client_secret(std::string_view client_id, std::string_view secret_hash) = 0;
  // Sets a client's status: active, disabled or deleted (kept as a tombstone so its tokens stay
  // refused; the tenant's purge removes the row). False when no such client exists or it is
  // deleted already (a deleted client never comes back).
  virtual bool set_client_status(std::string_view client_id, std::string_view status) = 0;
  // Ids of every client that is not active (disabled or deleted): tokens they hold are refused.
  virtual std::vector<std::string> blocked_clients() = 0;

  // ---- tenants
  // Throws StoreError kind duplicate when the id exists (whatever its status).
  virtual TenantRecord insert_tenant(const TenantRecord& t) = 0;
  virtual std::optional<TenantRecord> find_tenant(std::string_view tenant_id) = 0;
  // Ordered by id, ids greater than `after` (for cursors), at most `limit`.
  virtual std::vector<TenantRecord> list_tenants(std::string_view after, std::size_t limit) = 0;
  // Applies the fields that are set, in one statement conditional on the tenant not being
  // deleted: a deleted tenant comes back unchanged (status deleted), so a PATCH racing a DELETE
  // cannot revive the tombstone. nullopt when the tenant does not exist.
  virtual std::optional<TenantRecord> update_tenant(std::string_view tenant_id, const TenantPatch& patch) = 0;
  // Rows changed after `revision`, oldest change first (for incremental caches).
  virtual std::vector<TenantRecord> tenants_changed_since(std::int64_t revision) = 0;
  // Status becomes deleted with `purge_after` (unix seconds); a tenant deleted already comes
  // back unchanged (its purge is not moved); nullopt when no such tenant.
  virtual std::optional<TenantRecord> mark_tenant_deleted(std::string_view tenant_id, std::int64_t purge_after) = 0;
  // Deleted tenants whose purge_after is at or before `now`.
  virtual std::vector<std::string> tenants_due_for_purge(std::int64_t now) = 0;
  // In one transaction removes every row the tenant owns (clients, data keys, secrets,
  // invocations, sessions). Audit entries stay: the chain must not break. The tenant row stays
  // as a tombstone (status deleted, purge_after = kPurged), so the id is never reused.
  virtual void purge_tenant(std::string_view tenant_id) = 0;

  // ---- signing keys
  // Every key that is not retired, newest first.
  virtual std::vector<SigningKeyRecord> published_signing_keys() = 0;
  // Inserts `key` as the active key unless one exists; false when one does (another gateway on
  // the same store created it first). Atomic: the one-active-key index decides.
  virtual bool insert_first_signing_key(const SigningKeyRecord& key) = 0;
  // In one transaction: the active key (if any) becomes retiring with not_after =
  // `old_not_after`, retiring keys whose not_after is before `now` become retired, and `key` is
  // inserted as the active key.
  virtual void rotate_signing_key(const SigningKeyRecord& key, std::int64_t old_not_after, std::int64_t now) = 0;

  // ---- data keys (envelope encryption)
  // Every version of one tenant's key for `data_class`, newest first.
  virtual std::vector<DataKeyRecord> data_keys(std::string_view tenant_id, std::string_view data_class) = 0;
  // False when that (tenant, class, version) exists already (another node created it first).
  virtual bool insert_data_key(const DataKeyRecord& key) = 0;
  // Master-key rotation: every data key and every signing key, to re-wrap.
  virtual std::vector<DataKeyRecord> all_data_keys() = 0;
  virtual std::vector<SigningKeyRecord> all_signing_keys() = 0;
  // In one transaction replaces `wrapped`/`private_sealed` and `master_key_id` of the given rows
  // (matched by their identity).
  virtual void rewrap(const std::vector<DataKeyRecord>& data_keys, const std::vector<SigningKeyRecord>& signing_keys) = 0;

  // Writes of tenant-owned rows (clients, data keys, secrets, sessions) into a deleted or purged
  // tenant throw StoreError kind gone, atomically with the deletion (no row can outlive the
  // purge); insert_invocations skips such rows.

  // ---- secrets
  // Throws StoreError kind duplicate when (tenant, name, version) exists.
  virtual void insert_secret(const SecretRecord& s) = 0;
  // `version` 0 = the newest.
  virtual std::optional<SecretRecord> find_secret(std::string_view tenant_id, std::string_view name, int version) = 0;
  // The newest version of each secret of the tenant, by name, without `sealed`.
  virtual std::vector<SecretRecord> list_secrets(std::string_view tenant_id) = 0;
  // Removes every version; false when there was none.
  virtual bool delete_secret(std::string_view tenant_id, std::string_view name) = 0;

  // ---- audit log
  // Appends `batch` in order, in one durable transaction, serialised against every other writer
  // (other processes included): assigns each record's seq, then calls `link(record, prev_hash)`
  // which must set record.prev_hash and record.hash. prev_hash of the very first record is "".
  using AuditLinker = std::function<void(AuditRecord& record, const std::string& prev_hash)>;
  virtual void append_audit(std::vector<AuditRecord>& batch, const AuditLinker& link) = 0;
  // A change and its audit event in one transaction: runs `change`, then appends `event`
  // (linked by `link`, as append_audit does, after every record committed before it), then
  // commits. Both are durable or neither is — a crash, a full disk or a failed append leaves no
  // unaudited change, and a failed change no event. Store calls `change` makes on this thread
  // through this Store join the transaction (do not call audited() from inside it); keep
  // anything else out of `change`, it is not undone on rollback. Throws what failed.
  virtual void audited(AuditRecord& event, const AuditLinker& link, const std::function<void()>& change) = 0;
  // Matching records in seq order.
  virtual std::vector<AuditRecord> query_audit(const AuditQuery& q) = 0;
  // Removes records with time < `before`; the newest removed one becomes the anchor. Returns the
  // number removed.
  virtual std::int64_t purge_audit_before(std::string_view before) = 0;
  virtual std::optional<AuditAnchor> audit_anchor() = 0;

  // ---- capabilities
  virtual void upsert_capability(const CapabilityRecord& c) = 0;
  virtual bool delete_capability(std::string_view name) = 0;
  virtual std::vector<CapabilityRecord> list_capabilities() = 0;  // by name

  // ---- agents and versions
  virtual void insert_agent(const AgentRecord& a) = 0;  // duplicate when the name exists
  virtual std::optional<AgentRecord> find_agent(std::string_view name) = 0;
  virtual std::vector<AgentRecord> list_agents() = 0;  // by name
  virtual bool update_agent(const AgentRecord& a) = 0;  // description, tier_minimum, protocol
  virtual bool delete_agent(std::string_view name) = 0;  // and its versions
  virtual void insert_agent_version(const AgentVersionRecord& v) = 0;  // duplicate when it exists
  virtual std::vector<AgentVersionRecord> agent_versions(std::string_view agent) = 0;  // newest first
  // In one transaction: `version` becomes promoted and the previously promoted one (if any)
  // becomes `previous_status` (superseded on promotion, rolled_back on a rollback). False when
  // the version does not exist. A non-empty `expected_live` makes it conditional: when the
  // promoted version is no longer that one (a concurrent promotion or rollback won), nothing
  // changes and StoreError kind conflict is thrown, so that read-decide-promote (rollback) runs
  // once per live version however many callers race.
  virtual bool promote_agent_version(std::string_view agent, std::string_view version,
                                     std::string_view previous_status, std::string_view expected_live = {}) = 0;
  // Every agent with its promoted version (agents without one are left out).
  virtual std::vector<std::pair<AgentRecord, AgentVersionRecord>> promoted_agents() = 0;

  // ---- invocations (metadata; content sealed) and sessions
  virtual void insert_invocation(const InvocationRecord& r) = 0;
  // All or nothing, in one transaction (the invocation log's batches).
  virtual void insert_invocations(const std::vector<InvocationRecord>& rows) = 0;
  virtual std::optional<InvocationRecord> find_invocation(std::string_view invocation_id) = 0;  // with content
  virtual std::vector<InvocationRecord> list_invocations(const InvocationQuery& q) = 0;  // by id, no content
  // Clears content_sealed of invocations created before `before`; returns how many.
  virtual std::int64_t purge_invocation_content_before(std::string_view before) = 0;
  // Per-tenant counts since `since`, most invocations first, at most `limit` tenants; an empty
  // `tenant_id` means all tenants.
  virtual std::vector<TenantUsage> usage_since(std::string_view since, std::string_view tenant_id,
                                               std::size_t limit) = 0;

  virtual void insert_session(const SessionRecord& s) = 0;
  virtual std::optional<SessionRecord> find_session(std::string_view session_id) = 0;
  virtual bool end_session(std::string_view session_id) = 0;
  // Removes sessions whose last_seen_at is before `before`; returns how many.
  virtual std::int64_t purge_sessions_before(std::string_view before) = 0;

  // Sessions the invoke route creates, written behind in batches (agents/sessions.h): all rows in
  // one transaction; a row of a deleted tenant, or whose id is already stored, is skipped.
  virtual void insert_sessions(const std::vector<SessionRecord>& rows) = 0;
  // For each (session id, time): last_seen_at becomes that time when it is later than the stored
  // one (touches from several nodes may arrive out of order). One transaction.
  virtual void touch_sessions(const std::vector<std::pair<std::string, std::string>>& seen) = 0;

  // Reserves `count` seals under data key (tenant, class, version): adds them to its seal_count
  // when the sum stays at or below `limit`, atomically (several nodes reserve from one row).
  // False when it would pass the limit (or no such key): rotate to a new version.
  virtual bool reserve_data_key_seals(std::string_view tenant_id, std::string_view data_class, int version,
                                      std::int64_t count, std::int64_t limit) = 0;
  // Claims `pending` (state pending, owner, request_hash, expires_at, locked_until set) for its
  // (tenant, principal, key): inserted when the key is new, or taken over when the row there has
  // expired (expires_at <= now) or is pending with locked_until <= now (its node gave up or died).
  // Otherwise nothing changes and `existing` is that row (with response_sealed). A deleted
  // tenant throws StoreError kind gone.
  virtual IdempotencyClaim claim_idempotency_key(const IdempotencyRecord& pending, std::string_view now) = 0;
  // The claim's answer: pending → done with status, content type and sealed body, when `owner`
  // still holds it. False otherwise (it expired and was taken over).
  virtual bool complete_idempotency_key(const IdempotencyRecord& done) = 0;
  // Drops a pending claim of `owner` (the request produced nothing worth replaying); false when
  // it does not hold it.
  virtual bool release_idempotency_key(std::string_view tenant_id, std::string_view principal, std::string_view key,
                                       std::string_view owner) = 0;
  // Removes keys whose expires_at is before `now`; returns how many.
  virtual std::int64_t purge_idempotency_keys_before(std::string_view now) = 0;
  // Sets the endpoint of an existing version (the demo's echo agent, whose port changes on every
  // start); false when there is no such version.
  virtual bool set_agent_version_endpoint(std::string_view agent, std::string_view version,
                                          std::string_view endpoint) = 0;
  // Duplicate when the id exists; gone when the tenant is deleted.
  virtual void insert_webhook(const WebhookRecord& w) = 0;
  virtual std::optional<WebhookRecord> find_webhook(std::string_view webhook_id) = 0;  // with the sealed secret
  // One tenant's webhooks by id, ids greater than `after`, at most `limit`; no secrets.
  virtual std::vector<WebhookRecord> list_webhooks(std::string_view tenant_id, std::string_view after,
                                                   std::size_t limit) = 0;
  // Removes the webhook and every delivery of it, in one transaction; false when none.
  virtual bool delete_webhook(std::string_view webhook_id) = 0;
  // Durable once it returns. Gone when the webhook (of d.tenant_id) or the tenant no longer exists.
  virtual void insert_webhook_delivery(const WebhookDeliveryRecord& d) = 0;
  virtual std::optional<WebhookDeliveryRecord> find_webhook_delivery(std::string_view delivery_id) = 0;  // with payload
  // Claims up to `limit` deliveries that are due (pending with next_attempt_ms <= now_ms, or
  // delivering with an expired lease: the node that claimed it stopped), oldest due first: each
  // becomes delivering, claimed by `node` until `lease_until_ms`. Several nodes may claim at once;
  // each delivery goes to one of them. Returned with their payloads.
  virtual std::vector<WebhookDeliveryRecord> claim_webhook_deliveries(std::string_view node, std::int64_t now_ms,
                                                                      std::int64_t lease_until_ms,
                                                                      std::size_t limit) = 0;
  // Records an attempt's outcome (status, attempts, next_attempt_ms, last_status, last_error of
  // `d`), releasing the claim; only while `d.claimed_by` still holds it (false otherwise: the lease
  // expired and another node took the delivery over).
  virtual bool finish_webhook_delivery(const WebhookDeliveryRecord& d) = 0;
  // One webhook's deliveries in `status`, by id, ids greater than `after`, at most `limit`; no payloads.
  virtual std::vector<WebhookDeliveryRecord> list_webhook_deliveries(std::string_view webhook_id,
                                                                     std::string_view status, std::string_view after,
                                                                     std::size_t limit) = 0;
  // A dead delivery becomes pending again, due at `now_ms`, with its attempts reset; false when
  // it is not dead (pending, in flight, delivered) or does not exist.
  virtual bool redeliver_webhook_delivery(std::string_view delivery_id, std::int64_t now_ms) = 0;
  // Removes delivered deliveries last updated before `before` (RFC 3339); returns how many.
  virtual std::int64_t purge_webhook_deliveries_before(std::string_view before) = 0;
  // Durable async jobs (docs/jobs.md). Inserts all or nothing in one transaction (the job
  // service's group commit); a job of a deleted or purged tenant fails the batch with kind gone,
  // a job id that exists with kind duplicate.
  virtual void insert_jobs(const std::vector<JobRecord>& jobs) = 0;
  // With request and result.
  virtual std::optional<JobRecord> find_job(std::string_view job_id) = 0;
  // Takes up to `limit` runnable jobs for `node`, atomically against every other node: accepted
  // ones due (next_run_at <= now_ms) and running ones whose lease expired (lease_until < now_ms,
  // their node died). Each becomes running, claimed_by = node, lease_until = now_ms + lease_ms,
  // attempts + 1. Returned as updated, with the request.
  // fair across tenants (review M3). Due jobs are taken round-robin
  // over tenants (each tenant's oldest first, a tenant with fewer jobs running on `node` first),
  // and `cap(tenant_id, tier)` (unset or 0 = no cap) bounds how many jobs of one tenant `node`
  // runs at once, counting those it already runs: one tenant's backlog of slow jobs cannot take
  // every worker while another tenant's job waits.
  using JobCap = std::function<std::size_t(std::string_view tenant_id, std::string_view tier)>;
  virtual std::vector<JobRecord> claim_jobs(std::string_view node, std::int64_t now_ms, std::int64_t lease_ms,
                                            std::size_t limit, const JobCap& cap = {}) = 0;
  // Extends the lease of a job `node` still holds; false when it no longer does (taken over).
  virtual bool renew_job_lease(std::string_view job_id, std::string_view node, std::int64_t lease_until_ms) = 0;
  // Ends a job `node` still holds: status (succeeded | failed | cancelled), http_status,
  // error, error_message, result_sealed and updated_at from `job`. False (nothing changed) when
  // the node lost the lease: another node runs it now and only that one's result counts.
  virtual bool finish_job(const JobRecord& job, std::string_view node) = 0;
  // Puts a job `node` still holds back to accepted, due at `next_run_at_ms`, keeping the
  // failure (error, error_message, http_status, updated_at from `job`). False when the lease was lost.
  virtual bool retry_job(const JobRecord& job, std::string_view node, std::int64_t next_run_at_ms) = 0;

  // Upstream MCP servers (SPEC §7; tenant-owned rows are reached through TenantStore). Names are
  // unique among the globals (tenant_id "") and within each tenant; besides, a tenant's server
  // may not take a global's name, nor a global one a name any tenant uses. insert throws
  // StoreError kind duplicate when (tenant, name) exists, kind conflict when the name clashes
  // across scopes, kind gone when the tenant is deleted. Checked and inserted under a table lock,
  // so two nodes racing for one name cannot both win.
  virtual void insert_mcp_server(const McpServerRecord& s) = 0;
  virtual std::optional<McpServerRecord> find_mcp_server(std::string_view server_id) = 0;
  virtual std::optional<McpServerRecord> find_mcp_server_named(std::string_view tenant_id, std::string_view name) = 0;
  // One scope's servers ("" = the globals) by name, names greater than `after`, at most `limit`.
  virtual std::vector<McpServerRecord> list_mcp_servers(std::string_view tenant_id, std::string_view after,
                                                        std::size_t limit) = 0;
  // The globals and the servers of every tenant that is not deleted, without last_tools (the
  // registry's snapshot, re-read every few seconds).
  virtual std::vector<McpServerRecord> all_mcp_servers() = 0;
  // Replaces the configuration (url, auth, tier_minimum, enabled, disabled_tools, timeout_ms,
  // updated_at) of row s.server_id; false when there is none.
  virtual bool update_mcp_server(const McpServerRecord& s) = 0;
  virtual bool delete_mcp_server(std::string_view server_id) = 0;
  // Health reports in one transaction, in order; a report naming no row is skipped.
  virtual void record_mcp_server_health(const std::vector<McpServerHealth>& reports) = 0;
  // MCP sessions (mcp/sessions.h), sql_store_mcp_sessions.cpp
  // Inserts the session with its upstream map; kind gone when the tenant is deleted, duplicate
  // when the id exists.
  virtual void insert_mcp_session(const McpSessionRecord& s) = 0;
  // With its upstream map; nullopt when unknown (ended sessions are deleted).
  virtual std::optional<McpSessionRecord> find_mcp_session(std::string_view session_id) = 0;
  // For each (session id, time): last_seen_at becomes that time when later than the stored one.
  virtual void touch_mcp_sessions(const std::vector<std::pair<std::string, std::string>>& seen) = 0;
  // Sets (or, with an empty value, removes) upstream keys of existing sessions, in order, in one
  // transaction; a write for a session that no longer exists is skipped.
  virtual void set_mcp_session_upstreams(const std::vector<McpUpstreamWrite>& writes) = 0;
  // Deletes the session and its upstream map; false when there was none.
  virtual bool delete_mcp_session(std::string_view session_id) = 0;
  // Removes sessions whose last_seen_at is before `before` (idle expiry); returns how many.
  virtual std::int64_t purge_mcp_sessions_before(std::string_view before) = 0;
  // MCP tool calls (mcp/tool_calls.h)
  // All or nothing, in one transaction; rows of a deleted tenant are skipped (like invocations).
  virtual void insert_mcp_tool_calls(const std::vector<McpToolCallRecord>& rows) = 0;
  virtual std::optional<McpToolCallRecord> find_mcp_tool_call(std::string_view call_id) = 0;  // with content
  // One tenant's calls by id, ids greater than `after`, at most `limit`; no content.
  virtual std::vector<McpToolCallRecord> list_mcp_tool_calls(std::string_view tenant_id, std::string_view after,
                                                             std::size_t limit) = 0;
  // A2A push configs held by the gateway, sql_store_a2a_push.cpp
  // Stores `c`, replacing the config of the same (agent, task, config id) and its pending
  // deliveries, in one transaction. False (nothing written) when the task already has
  // `max_per_task` other configs. Kind gone when the tenant is deleted.
  virtual bool put_a2a_push_config(const A2aPushConfigRecord& c, std::size_t max_per_task) = 0;
  virtual std::optional<A2aPushConfigRecord> find_a2a_push_config(std::string_view relay_id) = 0;  // with client_sealed
  // The config of (tenant, agent, task, config id) and its deliveries; false when none.
  virtual bool delete_a2a_push_config(std::string_view tenant_id, std::string_view agent, std::string_view task_id,
                                      std::string_view config_id) = 0;
  // A push delivery (webhook_deliveries row whose webhook_id is the relay id). Durable once it
  // returns; kind gone when the config (of d.tenant_id) or the tenant no longer exists.
  virtual void insert_a2a_push_delivery(const WebhookDeliveryRecord& d) = 0;
  // A2A task and context owners (a2a/task_bindings.h), sql_store_a2a.cpp
  // Insert if absent: binds (agent, task_id) to t's tenant and principal unless it is bound
  // already, and returns the row that stands — t's, or the earlier owner's (two nodes binding one
  // id at once agree on the first). kind gone when the tenant is deleted.
  virtual A2aTaskRecord bind_a2a_task(const A2aTaskRecord& t) = 0;
  virtual std::optional<A2aTaskRecord> find_a2a_task(std::string_view agent, std::string_view task_id) = 0;
  // The same for a context id.
  virtual A2aContextRecord bind_a2a_context(const A2aContextRecord& c) = 0;
  virtual std::optional<A2aContextRecord> find_a2a_context(std::string_view agent, std::string_view context_id) = 0;
  // state and updated_at of the task when it is bound to (tenant, principal); false otherwise.
  virtual bool set_a2a_task_state(std::string_view agent, std::string_view task_id, std::string_view tenant_id,
                                  std::string_view principal, std::string_view state, std::string_view updated_at) = 0;
  virtual std::vector<A2aTaskRecord> list_a2a_tasks(const A2aTaskQuery& q) = 0;
  // usage plans, sql_store_limits.cpp
  // Per-tenant overrides: insert or replace; every row (small: one per tenant with an override).
  // put: kind gone when the tenant is deleted.
  virtual void put_tenant_limits(const TenantLimitsRecord& r) = 0;
  virtual std::optional<TenantLimitsRecord> find_tenant_limits(std::string_view tenant_id) = 0;
  virtual std::vector<TenantLimitsRecord> list_tenant_limits() = 0;
  virtual bool delete_tenant_limits(std::string_view tenant_id) = 0;
  // Records what node `node_id` counted in all on each row's (tenant, day), in one transaction;
  // a count never goes down (the greater of the stored and the written); rows of deleted tenants
  // skipped. Absolute, so a write repeated after an ambiguous commit counts once (review M6).
  virtual void put_daily_usage(std::string_view node_id, const std::vector<DailyUsageRecord>& counts) = 0;
  // Every tenant's totals of `day`.
  virtual std::vector<DailyUsageRecord> daily_usage(std::string_view day) = 0;
  // removes at most `limit` rows of days before `day` (oldest first);
  // returns how many. Bounded, so one periodic run never holds the table long.
  virtual std::int64_t purge_daily_usage_before(std::string_view day, std::int64_t limit) = 0;
};

}  // namespace pc::store
