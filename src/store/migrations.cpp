#include "store/migrations.h"

#include <string>

#include "store/sqlite_db.h"

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

constexpr Migration kMigrations[] = {
    {1, "platform clients and meta", kV1Platform},
    {2, "tenants, signing keys, client scopes", kV2Identity},
    {3, "tenancy and data: data keys, secrets, audit, capabilities, agents, invocations, sessions", kV3TenancyData},
};

constexpr std::string_view kCreateTable = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at TEXT NOT NULL
)
)sql";

void check_order(std::span<const Migration> migrations) {
  for (std::size_t i = 0; i < migrations.size(); ++i)
    if (migrations[i].version != static_cast<int>(i) + 1)
      throw StoreError("migrations: version " + std::to_string(migrations[i].version) +
                       " is out of order; versions must be 1, 2, 3, ... without gaps");
}

}  // namespace

std::span<const Migration> sqlite_migrations() { return kMigrations; }

int schema_version(SqliteDb& db) {
  db.exec(kCreateTable);
  Statement q = db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  q.step();
  return static_cast<int>(q.column_int64(0));
}

int migrate(SqliteDb& db) { return migrate(db, sqlite_migrations()); }

int migrate(SqliteDb& db, std::span<const Migration> migrations) {
  check_order(migrations);
  const int known = static_cast<int>(migrations.size());
  db.exec(kCreateTable);
  for (;;) {
    Transaction tx(db, Transaction::Mode::immediate);
    // Read inside the write transaction: another process may have migrated meanwhile.
    int current = schema_version(db);
    if (current > known)
      throw StoreError("database " + db.path() + " has schema version " + std::to_string(current) +
                       ", newer than the newest this binary knows (" + std::to_string(known) +
                       "); run a newer portcullis or restore a matching backup");
    if (current == known) return current;

    const Migration& m = migrations[static_cast<std::size_t>(current)];
    try {
      db.exec(m.sql);
    } catch (const StoreError& e) {
      throw StoreError("migration " + std::to_string(m.version) + " (" + std::string(m.name) +
                           ") failed: " + e.what(),
                       e.kind());
    }
    db.prepare(
          "INSERT INTO schema_migrations(version, name, applied_at) "
          "VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))")
        .bind_int64(1, m.version)
        .bind_text(2, m.name)
        .run();
    tx.commit();
  }
}

}  // namespace pc::store
