#include "store/migrations.h"

#include <algorithm>
#include <string>

#include "core/clock.h"
#include "store/db.h"

namespace pc::store {
namespace {

// Migration 1: the platform tables needed for first start. Later migrations add tenants, audit,
// agents, ... Timestamps are RFC 3339 UTC text; JSON arrays are stored as text.
constexpr std::string_view kV1Platform = R"sql(
CREATE TABLE clients (
  client_id    TEXT PRIMARY KEY,
  tenant_id    TEXT NOT NULL,
  name         TEXT NOT NULL,
  secret_hash  TEXT NOT NULL,
  roles        TEXT NOT NULL,
  grant_types  TEXT NOT NULL,
  status       TEXT NOT NULL DEFAULT 'active',
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  is_bootstrap INTEGER NOT NULL DEFAULT 0 CHECK (is_bootstrap IN (0, 1))
);
CREATE INDEX clients_by_tenant ON clients(tenant_id);
-- At most one bootstrap admin, even if two nodes start on an empty database at once.
CREATE UNIQUE INDEX clients_one_bootstrap ON clients(is_bootstrap) WHERE is_bootstrap = 1;

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql";

// Migration 2: what token verification and the built-in issuer read. Tenants carry a
// `revision` (the highest one + 1 on every change) so that gateways sharing the store can pick
// up changes by asking for rows newer than the last revision they saw, instead of re-reading all.
// Signing keys keep their private half only sealed under the master key (AES-256-GCM, the kid as
// associated data); `not_after` (unix seconds) is when a retiring key may leave the JWKS.
constexpr std::string_view kV2Identity = R"sql(
CREATE TABLE tenants (
  tenant_id    TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  tier         TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'deleted')),
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  revision     INTEGER NOT NULL
);
CREATE UNIQUE INDEX tenants_by_revision ON tenants(revision);

CREATE TABLE signing_keys (
  kid            TEXT PRIMARY KEY,
  alg            TEXT NOT NULL,
  public_jwk     TEXT NOT NULL,
  private_sealed BLOB NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('active', 'retiring', 'retired')),
  created_at     TEXT NOT NULL,
  not_after      INTEGER NOT NULL DEFAULT 0
);
-- One active key at a time: the one new tokens are signed with.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys(status) WHERE status = 'active';

ALTER TABLE clients ADD COLUMN scopes TEXT NOT NULL DEFAULT '[]';
)sql";

// Migration 3: tenancy and data (issue 4). Every tenant-owned table carries tenant_id first in
// its key, so a tenant's rows are found (and purged) by prefix. Sealed columns hold
// crypto::seal output: the row's identity is the associated data, so a ciphertext copied to
// another row does not decrypt. audit_log is append-only (no UPDATE path exists); seq has no
// gaps and each row's hash covers its predecessor's.
constexpr std::string_view kV3TenancyData = R"sql(
ALTER TABLE tenants ADD COLUMN purge_after INTEGER NOT NULL DEFAULT 0;
ALTER TABLE signing_keys ADD COLUMN master_key_id TEXT NOT NULL DEFAULT '';

CREATE TABLE data_keys (
  tenant_id     TEXT NOT NULL,
  data_class    TEXT NOT NULL,
  version       INTEGER NOT NULL,
  wrapped       BLOB NOT NULL,
  master_key_id TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  PRIMARY KEY (tenant_id, data_class, version)
);

CREATE TABLE secrets (
  tenant_id  TEXT NOT NULL,
  name       TEXT NOT NULL,
  version    INTEGER NOT NULL,
  sealed     BLOB NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  PRIMARY KEY (tenant_id, name, version)
);

CREATE TABLE audit_log (
  seq        INTEGER PRIMARY KEY,
  time       TEXT NOT NULL,
  tenant_id  TEXT NOT NULL,
  actor      TEXT NOT NULL,
  action     TEXT NOT NULL,
  resource   TEXT NOT NULL,
  outcome    TEXT NOT NULL,
  request_id TEXT NOT NULL,
  details    TEXT NOT NULL,
  prev_hash  TEXT NOT NULL,
  hash       TEXT NOT NULL
);
CREATE INDEX audit_by_tenant ON audit_log(tenant_id, seq);
CREATE INDEX audit_by_time ON audit_log(time);

CREATE TABLE capabilities (
  name               TEXT PRIMARY KEY,
  enabled            INTEGER NOT NULL DEFAULT 0,
  rollout_percentage INTEGER NOT NULL DEFAULT 100,
  tier_allow_list    TEXT NOT NULL DEFAULT '[]',
  tenant_allow_list  TEXT NOT NULL DEFAULT '[]',
  killed             INTEGER NOT NULL DEFAULT 0,
  description        TEXT NOT NULL DEFAULT '',
  updated_at         TEXT NOT NULL
);

CREATE TABLE agents (
  name         TEXT PRIMARY KEY,
  description  TEXT NOT NULL,
  tier_minimum TEXT NOT NULL,
  protocol     TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL
);

CREATE TABLE agent_versions (
  agent      TEXT NOT NULL REFERENCES agents(name) ON DELETE CASCADE,
  version    TEXT NOT NULL,
  endpoint   TEXT NOT NULL,
  status     TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (agent, version)
);
-- One promoted version per agent.
CREATE UNIQUE INDEX agent_versions_one_promoted ON agent_versions(agent) WHERE status = 'promoted';

CREATE TABLE invocations (
  invocation_id  TEXT PRIMARY KEY,
  tenant_id      TEXT NOT NULL,
  agent          TEXT NOT NULL,
  agent_version  TEXT NOT NULL,
  session_id     TEXT NOT NULL,
  principal      TEXT NOT NULL,
  status         TEXT NOT NULL,
  http_status    INTEGER NOT NULL,
  latency_ms     INTEGER NOT NULL,
  input_tokens   INTEGER NOT NULL,
  output_tokens  INTEGER NOT NULL,
  created_at     TEXT NOT NULL,
  content_sealed BLOB
);
CREATE INDEX invocations_by_tenant ON invocations(tenant_id, invocation_id);
CREATE INDEX invocations_by_time ON invocations(created_at);

CREATE TABLE sessions (
  session_id   TEXT PRIMARY KEY,
  tenant_id    TEXT NOT NULL,
  principal    TEXT NOT NULL,
  agent        TEXT NOT NULL,
  status       TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  last_seen_at TEXT NOT NULL
);
CREATE INDEX sessions_by_tenant ON sessions(tenant_id);
CREATE INDEX sessions_by_last_seen ON sessions(last_seen_at);
)sql";

// Migration 4: records (issue 9). Invocations gain the invoke contract's fields: mode, an explicit
// status (succeeded | failed | cancelled) and error code, and token counts that may be unknown —
// NULL, never a made-up 0. SQLite cannot drop a NOT NULL, so the table is rebuilt (the same SQL
// runs on PostgreSQL). Counts stored before this were a hard-coded 0, not a count: they become
// NULL. Data keys count their seals (reserved in blocks by each node, so that several nodes
// sharing the store never seal more than the limit under one key). Idempotency keys remember a
// request's answer for 24 h, scoped to tenant and principal; `owner` is the claim of the node
// running the request, so only it completes or releases the key.
constexpr std::string_view kV4Records = R"sql(
CREATE TABLE invocations_v4 (
  invocation_id  TEXT PRIMARY KEY,
  tenant_id      TEXT NOT NULL,
  agent          TEXT NOT NULL,
  agent_version  TEXT NOT NULL,
  session_id     TEXT NOT NULL,
  principal      TEXT NOT NULL,
  mode           TEXT NOT NULL DEFAULT 'sync',
  status         TEXT NOT NULL,
  error          TEXT NOT NULL DEFAULT '',
  http_status    INTEGER NOT NULL,
  latency_ms     INTEGER NOT NULL,
  input_tokens   INTEGER,
  output_tokens  INTEGER,
  created_at     TEXT NOT NULL,
  content_sealed BLOB
);
INSERT INTO invocations_v4(invocation_id, tenant_id, agent, agent_version, session_id, principal, mode, status,
                           error, http_status, latency_ms, input_tokens, output_tokens, created_at, content_sealed)
  SELECT invocation_id, tenant_id, agent, agent_version, session_id, principal, 'sync',
         CASE WHEN status = 'completed' THEN 'succeeded' WHEN http_status = 499 THEN 'cancelled' ELSE 'failed' END,
         '', http_status, latency_ms, NULL, NULL, created_at, content_sealed
  FROM invocations;
DROP TABLE invocations;
ALTER TABLE invocations_v4 RENAME TO invocations;
CREATE INDEX invocations_by_tenant ON invocations(tenant_id, invocation_id);
CREATE INDEX invocations_by_time ON invocations(created_at);

ALTER TABLE data_keys ADD COLUMN seal_count INTEGER NOT NULL DEFAULT 0;

CREATE TABLE idempotency_keys (
  tenant_id       TEXT NOT NULL,
  principal       TEXT NOT NULL,
  idem_key        TEXT NOT NULL,
  request_hash    TEXT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('pending', 'done')),
  owner           TEXT NOT NULL,
  http_status     INTEGER NOT NULL DEFAULT 0,
  content_type    TEXT NOT NULL DEFAULT '',
  response_sealed BLOB,
  created_at      TEXT NOT NULL,
  expires_at      TEXT NOT NULL,
  locked_until    TEXT NOT NULL,
  PRIMARY KEY (tenant_id, principal, idem_key)
);
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys(expires_at);
)sql";

// Migration 6: webhook targets and their durable delivery queue. A delivery row is the queue
// entry, its retry state and, once every attempt failed, the dead letter (status 'dead').
// Payloads and secrets are sealed (crypto::seal under the tenant's "webhook" data key); times
// the worker compares (next attempt, lease) are unix milliseconds, the rest RFC 3339 text.
constexpr std::string_view kV6Webhooks = R"sql(
CREATE TABLE webhooks (
  webhook_id    TEXT PRIMARY KEY,
  tenant_id     TEXT NOT NULL,
  url           TEXT NOT NULL,
  description   TEXT NOT NULL,
  secret_sealed BLOB NOT NULL,
  created_at    TEXT NOT NULL,
  created_by    TEXT NOT NULL
);
CREATE INDEX webhooks_by_tenant ON webhooks(tenant_id, webhook_id);

CREATE TABLE webhook_deliveries (
  delivery_id     TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL,
  webhook_id      TEXT NOT NULL,
  event_type      TEXT NOT NULL,
  payload_sealed  BLOB NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('pending', 'delivering', 'delivered', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  claimed_by      TEXT NOT NULL DEFAULT '',
  lease_until_ms  INTEGER NOT NULL DEFAULT 0,
  last_status     INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT NOT NULL DEFAULT '',
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_ms);
CREATE INDEX webhook_deliveries_lease ON webhook_deliveries(status, lease_until_ms);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries(webhook_id, status, delivery_id);
CREATE INDEX webhook_deliveries_by_tenant ON webhook_deliveries(tenant_id);
)sql";

// Migration 5: durable async jobs (issue 9, docs/jobs.md). A job row is written before its 202
// is sent and drives the runtime call from then on: `status` and the lease (claimed_by,
// lease_until) say who runs it, so a node that dies mid-call loses it to another (or to itself
// after a restart) once the lease ran out. next_run_at and lease_until are unix milliseconds
// (compared, never shown); the request and the result are sealed under the tenant's invocation
// data key with the row's identity as associated data.
constexpr std::string_view kV5Jobs = R"sql(
CREATE TABLE jobs (
  job_id          TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL,
  agent           TEXT NOT NULL,
  agent_version   TEXT NOT NULL,
  session_id      TEXT NOT NULL,
  principal       TEXT NOT NULL,
  client_id       TEXT NOT NULL,
  actor_chain     TEXT NOT NULL,
  scopes          TEXT NOT NULL,
  tier            TEXT NOT NULL,
  scheme          TEXT NOT NULL,
  host            TEXT NOT NULL,
  port            INTEGER NOT NULL,
  idempotency_key TEXT NOT NULL,
  webhook_id      TEXT NOT NULL,
  request_id      TEXT NOT NULL,
  invocation_id   TEXT NOT NULL,
  timeout_ms      INTEGER NOT NULL,
  request_sealed  BLOB NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('accepted', 'running', 'succeeded', 'failed', 'cancelled')),
  attempts        INTEGER NOT NULL,
  max_attempts    INTEGER NOT NULL,
  next_run_at     INTEGER NOT NULL,
  claimed_by      TEXT NOT NULL,
  lease_until     INTEGER NOT NULL,
  result_sealed   BLOB,
  error           TEXT NOT NULL,
  error_message   TEXT NOT NULL,
  http_status     INTEGER NOT NULL,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
);
CREATE INDEX jobs_due ON jobs(status, next_run_at);
CREATE INDEX jobs_leases ON jobs(status, lease_until);
CREATE INDEX jobs_by_tenant ON jobs(tenant_id, job_id);
)sql";

// Migration 7: the upstream MCP servers the gateway federates (SPEC §7). A row is a platform
// (global) server when tenant_id is '', else that tenant's own. (tenant_id, name) is unique; the
// rule across scopes (a tenant's server may not take a global's name, nor a global one a name a
// tenant uses) is checked by the store's insert under a table lock, as an index cannot say it.
// auth_secret is the NAME of a secret in the calling tenant's vault, never a value. The health
// columns are what the federation last reported: status ok|error|unknown, checked_at ('' =
// never), last_error, last_tools (the names and descriptions of its last tools/list, JSON text).
constexpr std::string_view kV7McpServers = R"sql(
CREATE TABLE mcp_servers (
  server_id      TEXT PRIMARY KEY,
  tenant_id      TEXT NOT NULL,
  name           TEXT NOT NULL,
  url            TEXT NOT NULL,
  auth_mode      TEXT NOT NULL CHECK (auth_mode IN ('none', 'act_on_behalf', 'vault_secret')),
  auth_secret    TEXT NOT NULL,
  auth_header    TEXT NOT NULL,
  tier_minimum   TEXT NOT NULL,
  enabled        INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  disabled_tools TEXT NOT NULL,
  timeout_ms     INTEGER NOT NULL,
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL,
  status         TEXT NOT NULL DEFAULT 'unknown' CHECK (status IN ('ok', 'error', 'unknown')),
  checked_at     TEXT NOT NULL DEFAULT '',
  last_error     TEXT NOT NULL DEFAULT '',
  last_tools     TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX mcp_servers_by_scope_name ON mcp_servers(tenant_id, name);
CREATE INDEX mcp_servers_by_name ON mcp_servers(name);
)sql";
// Migration 8: MCP sessions (mcp/sessions.h). A session is bound to tenant, subject and client;
// an ended one is deleted (not kept as a tombstone: nothing refers to it). The federation's
// per-upstream state is one row per (session, server key), so a node setting one key never
// rewrites another node's keys (no read-modify-write of a JSON blob).
constexpr std::string_view kV8McpSessions = R"sql(
CREATE TABLE mcp_sessions (
  session_id          TEXT PRIMARY KEY,
  tenant_id           TEXT NOT NULL,
  subject             TEXT NOT NULL,
  client_id           TEXT NOT NULL,
  protocol_version    TEXT NOT NULL,
  client_capabilities TEXT NOT NULL,
  client_info         TEXT NOT NULL,
  created_at          TEXT NOT NULL,
  created_ms          INTEGER NOT NULL,
  last_seen_at        TEXT NOT NULL
);
CREATE INDEX mcp_sessions_by_tenant ON mcp_sessions(tenant_id);
CREATE INDEX mcp_sessions_by_last_seen ON mcp_sessions(last_seen_at);

CREATE TABLE mcp_session_upstreams (
  session_id TEXT NOT NULL,
  tenant_id  TEXT NOT NULL,
  key        TEXT NOT NULL,
  value      TEXT NOT NULL,
  PRIMARY KEY (session_id, key)
);
CREATE INDEX mcp_session_upstreams_by_tenant ON mcp_session_upstreams(tenant_id);
)sql";
// Migration 9: MCP tool calls, tenant-owned like invocations. Arguments and result are one
// sealed value (the tenant's invocation data key, the row's identity as associated data).
constexpr std::string_view kV9McpToolCalls = R"sql(
CREATE TABLE mcp_tool_calls (
  call_id        TEXT PRIMARY KEY,
  tenant_id      TEXT NOT NULL,
  session_id     TEXT NOT NULL,
  principal      TEXT NOT NULL,
  client_id      TEXT NOT NULL,
  request_id     TEXT NOT NULL,
  server         TEXT NOT NULL,
  server_tenant  TEXT NOT NULL,
  tool           TEXT NOT NULL,
  exposed_name   TEXT NOT NULL,
  outcome        TEXT NOT NULL,
  error_code     INTEGER NOT NULL,
  latency_ms     INTEGER NOT NULL,
  redactions     TEXT NOT NULL,
  guardrail_hit  INTEGER NOT NULL,
  created_at     TEXT NOT NULL,
  content_sealed BLOB
);
CREATE INDEX mcp_tool_calls_by_tenant ON mcp_tool_calls(tenant_id, call_id);
CREATE INDEX mcp_tool_calls_by_time ON mcp_tool_calls(created_at);
)sql";

// Migration 11: the clients' A2A push configs the gateway holds (a2a/push_relay.h). The runtime
// knows only the relay URL (relay_id) and a random token, kept here as a salted hash; the
// client's URL is checked like a webhook target, its token and authentication sealed under the
// tenant's "webhook" data key. Deliveries go to webhook_deliveries (webhook_id = relay_id).
constexpr std::string_view kV11A2aPush = R"sql(
CREATE TABLE a2a_push_configs (
  relay_id         TEXT PRIMARY KEY,
  tenant_id        TEXT NOT NULL,
  principal        TEXT NOT NULL,
  agent            TEXT NOT NULL,
  task_id          TEXT NOT NULL,
  config_id        TEXT NOT NULL,
  version          TEXT NOT NULL CHECK (version IN ('0.3', '1.0')),
  url              TEXT NOT NULL,
  relay_token_hash TEXT NOT NULL,
  client_sealed    BLOB NOT NULL,
  created_at       TEXT NOT NULL
);
CREATE UNIQUE INDEX a2a_push_configs_by_task ON a2a_push_configs(agent, task_id, config_id);
CREATE INDEX a2a_push_configs_by_tenant ON a2a_push_configs(tenant_id);
)sql";
// Migration 10: A2A task and context owners (a2a/task_bindings.h). A runtime serves every tenant
// allowed to use its agent and knows nothing of tenants, so the gateway binds each id it relays
// to the tenant and principal that saw it first. Ids are the runtime's, so the key includes the
// agent. Rows are never updated except a task's state (metadata); the tenant's purge removes them.
constexpr std::string_view kV10A2aBindings = R"sql(
CREATE TABLE a2a_tasks (
  agent      TEXT NOT NULL,
  task_id    TEXT NOT NULL,
  tenant_id  TEXT NOT NULL,
  principal  TEXT NOT NULL,
  context_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  state      TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (agent, task_id)
);
CREATE INDEX a2a_tasks_by_tenant ON a2a_tasks(tenant_id, created_at, agent, task_id);

CREATE TABLE a2a_contexts (
  agent      TEXT NOT NULL,
  context_id TEXT NOT NULL,
  tenant_id  TEXT NOT NULL,
  principal  TEXT NOT NULL,
  session_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (agent, context_id)
);
CREATE INDEX a2a_contexts_by_tenant ON a2a_contexts(tenant_id);
)sql";

// Migration 12: usage plans (docs/usage-plans.md). tenant_limits holds a tenant's override of its
// tier's limits as a JSON object of the fields it sets. daily_usage holds the calls counted per
// tenant and quota day (`day` = the day's start, RFC 3339); every node adds its counts to the row
// periodically, so the row is the cluster's total as of the last flushes.
constexpr std::string_view kV12UsagePlans = R"sql(
CREATE TABLE tenant_limits (
  tenant_id  TEXT PRIMARY KEY,
  limits     TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL
);
CREATE TABLE daily_usage (
  tenant_id   TEXT NOT NULL,
  day         TEXT NOT NULL,
  invocations INTEGER NOT NULL DEFAULT 0,
  tool_calls  INTEGER NOT NULL DEFAULT 0,
  updated_at  TEXT NOT NULL,
  PRIMARY KEY (tenant_id, day)
);
CREATE INDEX daily_usage_by_day ON daily_usage(day);
)sql";

// Migration 13 (review M6): daily_usage gets a row per node (process) holding what that node
// counted in all, instead of one row per tenant and day that every node added deltas to (a delta
// re-sent after a commit whose outcome was lost counted twice). Existing rows become node ''.
constexpr std::string_view kV13UsagePerNode = R"sql(
ALTER TABLE daily_usage RENAME TO daily_usage_v12;
DROP INDEX daily_usage_by_day;
CREATE TABLE daily_usage (
  tenant_id   TEXT NOT NULL,
  day         TEXT NOT NULL,
  node_id     TEXT NOT NULL,
  invocations INTEGER NOT NULL DEFAULT 0,
  tool_calls  INTEGER NOT NULL DEFAULT 0,
  updated_at  TEXT NOT NULL,
  PRIMARY KEY (tenant_id, day, node_id)
);
INSERT INTO daily_usage(tenant_id, day, node_id, invocations, tool_calls, updated_at)
  SELECT tenant_id, day, '', invocations, tool_calls, updated_at FROM daily_usage_v12;
DROP TABLE daily_usage_v12;
CREATE INDEX daily_usage_by_day ON daily_usage(day);
)sql";

constexpr Migration kMigrations[] = {
    {1, "platform clients and meta", kV1Platform},
    {2, "tenants, signing keys, client scopes", kV2Identity},
    {3, "tenancy and data: data keys, secrets, audit, capabilities, agents, invocations, sessions", kV3TenancyData},
    {4, "records: invocation mode, status, error and nullable usage; data-key seal counts; idempotency keys", kV4Records},
    {5, "jobs: durable async jobs with leases", kV5Jobs},
    {6, "webhooks: targets, deliveries and dead letters", kV6Webhooks},
    {7, "mcp servers: upstream MCP servers, global and per tenant, with health", kV7McpServers},
    {8, "mcp sessions: Mcp-Session-Id bound to tenant, subject and client; upstream state", kV8McpSessions},
    {9, "mcp: tool call records (federation)", kV9McpToolCalls},
    {10, "a2a: task and context bindings to tenant and principal", kV10A2aBindings},
    {11, "a2a push: client push configs held by the gateway", kV11A2aPush},  // ---- a2a push (issue 11)
    {12, "usage plans: tenant limit overrides and daily usage counters", kV12UsagePlans},
    {13, "usage plans: daily usage counted per node", kV13UsagePerNode},
};

constexpr std::string_view kCreateTable = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at TEXT NOT NULL
)
)sql";

// Any fixed number, the same in every process (advisory lock keys are scoped to one database).
constexpr std::string_view kPgMigrationLock = "SELECT pg_advisory_xact_lock(31632277023582567)";

void check_order(std::span<const Migration> migrations) {
  for (std::size_t i = 0; i < migrations.size(); ++i)
    if (migrations[i].version != static_cast<int>(i) + 1)
      throw StoreError("migrations: version " + std::to_string(migrations[i].version) +
                       " is out of order; versions must be 1, 2, 3, ... without gaps");
}

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool same_word(std::string_view word, std::string_view upper) {
  if (word.size() != upper.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i)
    if ((word[i] >= 'a' && word[i] <= 'z' ? word[i] - 'a' + 'A' : word[i]) != upper[i]) return false;
  return true;
}

bool has_migrations_table(Db& db) {
  Statement q = db.prepare(db.dialect() == Db::Dialect::postgres
                               ? "SELECT to_regclass('schema_migrations') IS NOT NULL"
                               : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
  return q.step() && q.column_int64(0) != 0;
}

}  // namespace

std::span<const Migration> sqlite_migrations() { return kMigrations; }

std::string postgres_ddl(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  std::size_t i = 0;
  auto skip_to = [&](std::size_t end) {
    end = end == std::string_view::npos ? sql.size() : std::min(end, sql.size());
    out.append(sql.substr(i, end - i));
    i = end;
  };
  while (i < sql.size()) {
    const char c = sql[i];
    const char next = i + 1 < sql.size() ? sql[i + 1] : '\0';
    if (c == '\'' || c == '"') {
      std::size_t close = sql.find(c, i + 1);
      skip_to(close == std::string_view::npos ? close : close + 1);
    } else if (c == '-' && next == '-') {
      skip_to(sql.find('\n', i));
    } else if (c == '/' && next == '*') {
      std::size_t close = sql.find("*/", i + 2);
      skip_to(close == std::string_view::npos ? close : close + 2);
    } else if (is_word_char(c)) {
      std::size_t j = i;
      while (j < sql.size() && is_word_char(sql[j])) ++j;
      std::string_view word = sql.substr(i, j - i);
      if (same_word(word, "INTEGER"))
        out.append("BIGINT");
      else if (same_word(word, "BLOB"))
        out.append("BYTEA");
      else
        out.append(word);
      i = j;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

int schema_version(Db& db) {
  if (!has_migrations_table(db)) return 0;
  Statement q = db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  q.step();
  return static_cast<int>(q.column_int64(0));
}

int migrate(Db& db) { return migrate(db, sqlite_migrations()); }

int migrate(Db& db, std::span<const Migration> migrations) {
  check_order(migrations);
  const bool pg = db.dialect() == Db::Dialect::postgres;
  auto dialect_sql = [pg](std::string_view sql) { return pg ? postgres_ddl(sql) : std::string(sql); };
  const int known = static_cast<int>(migrations.size());
  for (;;) {
    Transaction tx(db, Transaction::Mode::immediate);
    // PostgreSQL: one migrator at a time, even the first CREATE TABLE IF NOT EXISTS (two of
    // those at once can both try to create the table).
    if (pg) db.exec(kPgMigrationLock);
    db.exec(dialect_sql(kCreateTable));
    // Read inside the locked transaction: another process may have migrated meanwhile.
    int current = schema_version(db);
    if (current > known)
      throw StoreError("database " + db.path() + " has schema version " + std::to_string(current) +
                       ", newer than the newest this binary knows (" + std::to_string(known) +
                       "); run a newer portcullis or restore a matching backup");
    if (current == known) {
      tx.commit();  // keeps schema_migrations if this run created it
      return current;
    }

    const Migration& m = migrations[static_cast<std::size_t>(current)];
    try {
      db.exec(dialect_sql(m.sql));
    } catch (const StoreError& e) {
      throw StoreError("migration " + std::to_string(m.version) + " (" + std::string(m.name) +
                           ") failed: " + e.what(),
                       e.kind());
    }
    db.prepare("INSERT INTO schema_migrations(version, name, applied_at) VALUES (?1, ?2, ?3)")
        .bind_int64(1, m.version)
        .bind_text(2, m.name)
        .bind_text(3, core::rfc3339_now())
        .run();
    tx.commit();
  }
}

}  // namespace pc::store
