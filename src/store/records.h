// The rows the store keeps, backend-neutral. Timestamps are RFC 3339 UTC text with milliseconds
// ("2026-11-23T13:05:00.123Z", so they sort as text); JSON arrays are vectors here. A record's
// `tenant_id` says who owns it: a tenant id, or "platform" for platform rows.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pc::store {

// An OAuth client of the built-in issuer. Platform rows use tenant_id "platform".
struct ClientRecord {
  std::string client_id;
  std::string tenant_id;
  std::string name;
  std::string secret_hash;  // crypto::hash_secret output; the secret itself is never stored
  std::vector<std::string> roles;
  std::vector<std::string> grant_types;
  std::vector<std::string> scopes;  // the scopes this client may be granted (empty: none)
  std::string status = "active";
  std::string created_at;  // RFC 3339 UTC; left empty on insert, the store stamps the time
  bool is_bootstrap = false;
};

// A tenant (SPEC §6). `revision` increases on every change to any tenant row.
struct TenantRecord {
  std::string tenant_id;
  std::string display_name;
  std::string tier;
  std::string status = "active";  // active | suspended | deleted
  std::string created_at;         // RFC 3339 UTC, stamped by the store
  std::string updated_at;
  std::int64_t revision = 0;
  std::int64_t purge_after = 0;  // deleted tenants: unix time after which their data is purged
};

// TenantRecord::purge_after of a tenant whose data was purged (9999-12-31): never due again.
inline constexpr std::int64_t kPurged = 253402300799;

struct TenantPatch {
  std::optional<std::string> display_name;
  std::optional<std::string> tier;
  std::optional<std::string> status;
};

// A token-signing key of the built-in issuer. The private key is stored only sealed.
struct SigningKeyRecord {
  std::string kid;
  std::string alg;             // "ES256"
  std::string public_jwk;      // JSON text, as published
  std::string private_sealed;  // crypto::seal(master key, PKCS#8 DER, aad = "signing-key:" + kid)
  std::string status;          // active | retiring | retired
  std::string created_at;
  std::int64_t not_after = 0;  // retiring keys: unix time after which no token it signed is valid
  std::string master_key_id;   // which master key sealed private_sealed ("" = the first one)
};

// A data key of one tenant and data class ("invocation", "secret"), wrapped by a master key.
// Versions start at 1; the newest encrypts, every version decrypts.
struct DataKeyRecord {
  std::string tenant_id;
  std::string data_class;
  int version = 1;
  std::string wrapped;        // crypto::seal(master key, 32 key bytes, aad = data-key identity)
  std::string master_key_id;  // which master key wrapped it
  std::string created_at;
  std::int64_t seal_count = 0;  // seals reserved under this key so far (reserve_data_key_seals)
};

// One version of a named secret. `sealed` is encrypted under the tenant's "secret" data key.
struct SecretRecord {
  std::string tenant_id;
  std::string name;
  int version = 1;
  std::string sealed;  // empty in listings
  std::string created_at;
  std::string created_by;
};

// One audit event, a link in the hash chain: hash = H(prev_hash, the event's fields).
struct AuditRecord {
  std::int64_t seq = 0;  // assigned by the store, 1, 2, 3, ... without gaps
  std::string time;      // RFC 3339 UTC, set by the writer
  std::string tenant_id;
  std::string actor;
  std::string action;  // "tenant.create", "security.tenant_access_violation", "http.GET /v1/agents", ...
  std::string resource;
  std::string outcome;  // "success", "denied", "failure", or an HTTP status
  std::string request_id;
  std::string details;  // JSON object text, "{}" when none
  std::string prev_hash;
  std::string hash;
};

struct AuditQuery {
  std::string tenant_id;      // "" = every tenant
  std::string action_prefix;  // "" = any; "security." for security events
  std::string actor;          // "" = any
  std::string since;          // time >= since ("" = no bound)
  std::string until;          // time < until ("" = no bound)
  std::int64_t after_seq = 0;
  std::size_t limit = 100;
};

// The last purged link: verification starts from it once old entries were removed by retention.
struct AuditAnchor {
  std::int64_t seq = 0;
  std::string hash;
};

// A capability switch (SPEC §6). Missing or failing evaluates to deny; `killed` is the global
// kill list and overrides everything else.
struct CapabilityRecord {
  std::string name;
  bool enabled = false;
  int rollout_percentage = 100;  // 0..100, by a stable hash of the tenant id
  std::vector<std::string> tier_allow_list;    // empty: every tier
  std::vector<std::string> tenant_allow_list;  // empty: every tenant
  bool killed = false;
  std::string description;
  std::string updated_at;
};

// A registered agent (platform row) and its versions (SPEC §8).
struct AgentRecord {
  std::string name;
  std::string description;
  std::string tier_minimum = "basic";
  std::string protocol = "http";  // http | a2a
  std::string created_at;
  std::string updated_at;
};

struct AgentVersionRecord {
  std::string agent;
  std::string version;
  std::string endpoint;  // runtime base URL
  std::string status = "built";  // built | promoted | superseded | rolled_back | failed
  std::string created_at;
  std::string updated_at;
};

// One agent invocation: metadata kept for the retention period of audit, content (input and
// output, sealed under the tenant's "invocation" data key) purged after invocation_content_days.
struct InvocationRecord {
  std::string invocation_id;
  std::string tenant_id;
  std::string agent;
  std::string agent_version;
  std::string session_id;
  std::string principal;  // subject of the caller
  std::string mode = "sync";  // sync | stream | async
  std::string status;         // succeeded | failed | cancelled
  std::string error;          // the error code when not succeeded ("" otherwise)
  int http_status = 0;
  std::int64_t latency_ms = 0;
  // As the runtime reported them; nullopt (NULL in the store, null in JSON) when it did not.
  std::optional<std::int64_t> input_tokens;
  std::optional<std::int64_t> output_tokens;
  std::string created_at;
  std::optional<std::string> content_sealed;  // never loaded by listings
};

struct InvocationQuery {
  std::string tenant_id;  // "" = every tenant (platform reads)
  std::string agent;      // "" = any
  std::string since;      // created_at >= since
  std::string after_id;   // cursor: invocation ids greater than this
  std::size_t limit = 100;
};

// Invocation counts of one tenant in a window (top tenants, error rate, quotas).
struct TenantUsage {
  std::string tenant_id;
  std::int64_t invocations = 0;
  std::int64_t errors = 0;
  // Sums of the counts runtimes reported; nullopt when no invocation in the window reported one.
  std::optional<std::int64_t> input_tokens;
  std::optional<std::int64_t> output_tokens;
};

// A conversation session with an agent, bound to tenant, principal and agent (SPEC §8).
struct SessionRecord {
  std::string session_id;
  std::string tenant_id;
  std::string principal;
  std::string agent;
  std::string status = "active";  // active | ended
  std::string created_at;
  std::string last_seen_at;
};

// An Idempotency-Key of one tenant and principal: pending while its request runs (claimed by
// `owner` until locked_until), done once the answer is stored. Gone after expires_at.
struct IdempotencyRecord {
  std::string tenant_id;
  std::string principal;
  std::string key;
  std::string request_hash;  // hex SHA-256 of what the request asked (method, path, body)
  std::string state = "pending";  // pending | done
  std::string owner;              // random id of the claim; only it completes or releases
  int http_status = 0;
  std::string content_type;
  std::optional<std::string> response_sealed;  // the answer's body, sealed (done only)
  std::string created_at;
  std::string expires_at;
  std::string locked_until;
};

// What claim_idempotency_key found: claimed (the caller runs the request), or the row that holds
// the key (done: replay it, or pending: in flight elsewhere).
struct IdempotencyClaim {
  bool claimed = false;
  std::optional<IdempotencyRecord> existing;
};

// A tenant's webhook target (SPEC §5). The signing secret is stored only sealed under the
// tenant's "webhook" data key; it is shown once, when created.
struct WebhookRecord {
  std::string webhook_id;
  std::string tenant_id;
  std::string url;
  std::string description;
  std::string secret_sealed;  // empty in listings
  std::string created_at;
  std::string created_by;
};

// One event to deliver to a webhook, and the durable state of its delivery: pending (due at
// next_attempt_ms), delivering (claimed by a node until lease_until_ms), delivered, or dead (a
// dead letter: every attempt failed; redelivery makes it pending again).
struct WebhookDeliveryRecord {
  std::string delivery_id;
  std::string tenant_id;
  std::string webhook_id;
  std::string event_type;
  std::string payload_sealed;  // the event's JSON, sealed; empty in listings
  std::string status = "pending";
  int attempts = 0;
  std::int64_t next_attempt_ms = 0;  // unix milliseconds
  std::string claimed_by;
  std::int64_t lease_until_ms = 0;
  int last_status = 0;  // the receiver's last HTTP status (0: none, e.g. a connection failure)
  std::string last_error;
  std::string created_at;
  std::string updated_at;
};

// A durable async job (docs/jobs.md): what to send to which runtime on whose behalf, where it
// stands, and its sealed request and result. Times the scheduler compares (next_run_at,
// lease_until) are unix milliseconds; the others RFC 3339 like every record.
struct JobRecord {
  std::string job_id;
  std::string tenant_id;
  std::string agent;
  std::string agent_version;
  std::string session_id;
  std::string principal;                 // subject of the caller
  std::string client_id;                 // of the caller's token ("" when none)
  std::vector<std::string> actor_chain;  // act.sub, act.act.sub, ... of the caller's token
  std::vector<std::string> scopes;       // of the caller's token (the identity token repeats them)
  std::string tier;
  std::string scheme = "http";           // the runtime: scheme://host:port/invocations
  std::string host;
  int port = 0;
  std::string idempotency_key;           // sent on every attempt
  std::string webhook_id;                // "" = none
  std::string request_id;
  std::string invocation_id;             // the runtime body names it; the result and the record repeat it
  std::int64_t timeout_ms = 0;           // one attempt
  std::string request_sealed;            // the body sent to the runtime, sealed (tenant "invocation" key)
  std::string status = "accepted";       // accepted | running | succeeded | failed | cancelled
  int attempts = 0;                      // attempts started (claims)
  int max_attempts = 1;
  std::int64_t next_run_at = 0;          // unix ms: not claimed before
  std::string claimed_by;                // node holding the lease ("" = none)
  std::int64_t lease_until = 0;          // unix ms: after this another node may take the job over
  std::optional<std::string> result_sealed;  // succeeded: the SPEC §5 sync answer, sealed
  std::string error;                     // code of the last failure ("" = none)
  std::string error_message;
  int http_status = 0;                   // the runtime's last status (0 = none)
  std::string created_at;
  std::string updated_at;
};

// An upstream MCP server (SPEC §7, table mcp_servers): a platform (global) server when tenant_id
// is "", else that tenant's own. The configuration columns come from the Admin API; the health
// columns from what the federation reported (mcp::ServerHealthSink).
struct McpServerRecord {
  std::string server_id;                    // "mcps_<hex>": the row's identity
  std::string tenant_id;                    // "" = global
  std::string name;                         // the tenant-id rule
  std::string url;                          // http(s)://host[:port]/path
  std::string auth_mode = "none";           // none | act_on_behalf | vault_secret
  std::string auth_secret;                  // vault_secret: the secret's NAME (never a value)
  std::string auth_header;                  // vault_secret: the header it goes in
  std::string tier_minimum = "basic";
  bool enabled = true;
  std::vector<std::string> disabled_tools;  // JSON array text in the row
  std::int64_t timeout_ms = 0;              // 0 = the configured default
  std::string created_at;
  std::string updated_at;
  std::string status = "unknown";           // ok | error | unknown (never reported)
  std::string checked_at;                   // "" = never
  std::string last_error;
  std::string last_tools;                   // JSON array of {name, description}; "" = none yet
};

// One health report for the row (tenant_id, name); `tools` unset leaves last_tools as it is.
struct McpServerHealth {
  std::string tenant_id;
  std::string name;
  std::string status;  // ok | error
  std::string checked_at;
  std::string last_error;
  std::optional<std::string> tools;
};
// An MCP session (Mcp-Session-Id), bound to the tenant, subject and client that initialized it.
// Capabilities and client info are the client's initialize params as JSON text; `upstream` is the
// federation's per-server state (one row each in mcp_session_upstreams), keyed by server.
struct McpSessionRecord {
  std::string session_id;
  std::string tenant_id;
  std::string subject;
  std::string client_id;
  std::string protocol_version;
  std::string client_capabilities = "{}";
  std::string client_info = "{}";
  std::map<std::string, std::string> upstream;
  std::string created_at;
  std::int64_t created_ms = 0;  // the same instant in unix milliseconds (mcp::McpSession::created_at)
  std::string last_seen_at;
};
// One change of a session's upstream map: `value` empty removes the key.
struct McpUpstreamWrite {
  std::string session_id;
  std::string key;
  std::string value;
};

// One tools/call through the MCP gateway (mcp/tool_calls.h): metadata in the clear, arguments
// and result sealed together under the tenant's invocation data key.
struct McpToolCallRecord {
  std::string call_id;
  std::string tenant_id;
  std::string session_id;
  std::string principal;
  std::string client_id;
  std::string request_id;
  std::string server;
  std::string server_tenant;  // "" for a global server
  std::string tool;
  std::string exposed_name;
  std::string outcome;  // succeeded | tool_error | denied | failed | replayed
  int error_code = 0;
  std::int64_t latency_ms = 0;
  std::string redactions = "{}";  // JSON object: kind → count
  bool guardrail_hit = false;
  std::string created_at;
  std::optional<std::string> content_sealed;  // never loaded by listings
};

// A client's A2A push config held by the gateway (a2a/push_relay.h): the runtime was given the
// relay URL `<public base>/a2a-push/{relay_id}` and a random token instead of the client's URL.
struct A2aPushConfigRecord {
  std::string relay_id;          // "a2ap_<hex>": names the relay URL; the webhook_id of its deliveries
  std::string tenant_id;
  std::string principal;
  std::string agent;
  std::string task_id;
  std::string config_id;         // the id the client and the runtime know the config by
  std::string version;           // "0.3" | "1.0": the shape the client set it in
  std::string url;               // the client's URL (checked like a webhook target)
  std::string relay_token_hash;  // crypto::hash_secret of the token given to the runtime
  std::string client_sealed;     // the client's token and authentication (JSON), sealed; empty in listings
  std::string created_at;
};
// Who owns an A2A task id a runtime revealed (a2a/task_bindings.h): (agent, task_id) is bound once,
// to the tenant and principal whose request revealed it. Metadata only: never message content.
struct A2aTaskRecord {
  std::string agent;
  std::string task_id;
  std::string tenant_id;
  std::string principal;
  std::string context_id;
  std::string session_id;
  std::string state;  // last state seen ("" unknown)
  std::string created_at;
  std::string updated_at;
};
// Who owns an A2A context id (chosen by the runtime or, first come, by a client).
struct A2aContextRecord {
  std::string agent;
  std::string context_id;
  std::string tenant_id;
  std::string principal;
  std::string session_id;  // the gateway session of the context
  std::string created_at;
};
// One tenant's tasks, newest first (created_at, agent, task_id descending); the cursor is the key
// of the last row of the previous page.
struct A2aTaskQuery {
  std::string tenant_id;
  std::string agent;  // "" = any
  struct Key {
    std::string created_at, agent, task_id;
  };
  std::optional<Key> before;  // rows strictly after this key in the order
  std::size_t limit = 100;
};

// usage plans (tenancy/usage_plan.h, sql_store_limits.cpp)
// A tenant's override of its tier's limits: `limits` is the JSON object of the fields set
// (tenancy::parse_override reads it; the store keeps it as text).
struct TenantLimitsRecord {
  std::string tenant_id;
  std::string limits;  // JSON object
  std::string updated_at;
  std::string updated_by;
};
// Calls counted on one quota day for one tenant (day = the day's start, RFC 3339). As a write:
// what one node (process) counted that day in all; as a read: the sum of every node's counts.
struct DailyUsageRecord {
  std::string tenant_id;
  std::string day;
  std::int64_t invocations = 0;
  std::int64_t tool_calls = 0;
};

}  // namespace pc::store
