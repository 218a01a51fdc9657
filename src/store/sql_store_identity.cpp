// SqlStore: clients, tenants and signing keys (what identity and the admin API's tenant routes
// read and write).
#include "core/clock.h"
#include "store/migrations.h"
#include "store/sql_store.h"

namespace pc::store {
namespace {

constexpr std::string_view kSelectClient =
    "SELECT client_id, tenant_id, name, secret_hash, roles, grant_types, status, created_at, "
    "is_bootstrap, scopes FROM clients";
constexpr std::string_view kSelectTenant =
    "SELECT tenant_id, display_name, tier, status, created_at, updated_at, revision, purge_after FROM tenants";
constexpr std::string_view kSelectSigningKey =
    "SELECT kid, alg, public_jwk, private_sealed, status, created_at, not_after, master_key_id FROM signing_keys";

std::vector<TenantRecord> read_tenants(Statement& q) {
  std::vector<TenantRecord> out;
  while (q.step()) {
    TenantRecord t;
    t.tenant_id = q.column_text(0);
    t.display_name = q.column_text(1);
    t.tier = q.column_text(2);
    t.status = q.column_text(3);
    t.created_at = q.column_text(4);
    t.updated_at = q.column_text(5);
    t.revision = q.column_int64(6);
    t.purge_after = q.column_int64(7);
    out.push_back(std::move(t));
  }
  return out;
}

std::optional<ClientRecord> read_client(Statement& q) {
  if (!q.step()) return std::nullopt;
  ClientRecord c;
  c.client_id = q.column_text(0);
  c.tenant_id = q.column_text(1);
  c.name = q.column_text(2);
  c.secret_hash = q.column_text(3);
  c.roles = from_json_array(q.column_text(4), "roles", c.client_id);
  c.grant_types = from_json_array(q.column_text(5), "grant_types", c.client_id);
  c.status = q.column_text(6);
  c.created_at = q.column_text(7);
  c.is_bootstrap = q.column_int64(8) != 0;
  c.scopes = from_json_array(q.column_text(9), "scopes", c.client_id);
  return c;
}

std::vector<SigningKeyRecord> read_signing_keys(Statement& q) {
  std::vector<SigningKeyRecord> out;
  while (q.step()) {
    SigningKeyRecord k;
    k.kid = q.column_text(0);
    k.alg = q.column_text(1);
    k.public_jwk = q.column_text(2);
    k.private_sealed = q.column_blob(3);
    k.status = q.column_text(4);
    k.created_at = q.column_text(5);
    k.not_after = q.column_int64(6);
    k.master_key_id = q.column_text(7);
    out.push_back(std::move(k));
  }
  return out;
}

std::optional<TenantRecord> find_tenant_in(Db& db, std::string_view tenant_id) {
  Statement q = db.prepare(std::string(kSelectTenant) + " WHERE tenant_id = ?1");
  q.bind_text(1, tenant_id);
  auto rows = read_tenants(q);
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

// The next tenant revision. Called inside a transaction that began with
// lock_for_write("tenants"), which serialises it across processes.
std::int64_t next_tenant_revision(Db& db) {
  Statement q = db.prepare("SELECT COALESCE(MAX(revision), 0) + 1 FROM tenants");
  q.step();
  return q.column_int64(0);
}

void insert_active_key(Db& db, const SigningKeyRecord& key) {
  Statement q = db.prepare(
      "INSERT INTO signing_keys(kid, alg, public_jwk, private_sealed, status, created_at, not_after, master_key_id) "
      "VALUES (?1, ?2, ?3, ?4, 'active', ?5, 0, ?6)");
  q.bind_text(1, key.kid)
      .bind_text(2, key.alg)
      .bind_text(3, key.public_jwk)
      .bind_blob(4, key.private_sealed)
      .bind_text(5, core::rfc3339_now())
      .bind_text(6, key.master_key_id);
  try {
    q.run();
  } catch (const StoreError& e) {
    throw e.prefixed("insert signing key " + key.kid + ": ");
  }
}

}  // namespace

bool SqlStore::ping() {
  auto c = conn();
  Statement q = c->prepare("SELECT 1");
  return q.step() && q.column_int64(0) == 1;
}

int SqlStore::schema_version() {
  auto c = conn();
  return store::schema_version(*c);
}

void SqlStore::insert_client(const ClientRecord& r) {
  auto c = conn();
  const std::string created = r.created_at.empty() ? core::rfc3339_now() : r.created_at;
  Statement q = c->prepare(
      "INSERT INTO clients(client_id, tenant_id, name, secret_hash, roles, grant_types, status, "
      "created_at, updated_at, is_bootstrap, scopes) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10 WHERE " +
      tenant_is_live(*c, 2));
  q.bind_text(1, r.client_id)
      .bind_text(2, r.tenant_id)
      .bind_text(3, r.name)
      .bind_text(4, r.secret_hash)
      .bind_text(5, to_json_array(r.roles))
      .bind_text(6, to_json_array(r.grant_types))
      .bind_text(7, r.status)
      .bind_text(8, created)
      .bind_int64(9, r.is_bootstrap ? 1 : 0)
      .bind_text(10, to_json_array(r.scopes));
  try {
    q.run();
  } catch (const StoreError& e) {
    throw e.prefixed("insert client " + r.client_id + ": ");
  }
  require_live_tenant(*c, "insert client " + r.client_id);
}

std::optional<ClientRecord> SqlStore::find_client(std::string_view client_id) {
  auto c = conn();
  Statement q = c->prepare(std::string(kSelectClient) + " WHERE client_id = ?1");
  q.bind_text(1, client_id);
  return read_client(q);
}

std::optional<ClientRecord> SqlStore::find_bootstrap_client() {
  auto c = conn();
  Statement q = c->prepare(std::string(kSelectClient) + " WHERE is_bootstrap = 1");
  return read_client(q);
}

std::vector<ClientRecord> SqlStore::list_clients(std::string_view tenant_id) {
  auto c = conn();
  Statement q = c->prepare(std::string(kSelectClient) + " WHERE tenant_id = ?1 AND status <> 'deleted' ORDER BY client_id");
  q.bind_text(1, tenant_id);
  std::vector<ClientRecord> out;
  while (auto r = read_client(q)) out.push_back(std::move(*r));
  return out;
}

bool SqlStore::update_client_secret(std::string_view client_id, std::string_view secret_hash) {
  auto c = conn();
  c->prepare("UPDATE clients SET secret_hash = ?2, updated_at = ?3 WHERE client_id = ?1")
      .bind_text(1, client_id)
      .bind_text(2, secret_hash)
      .bind_text(3, core::rfc3339_now())
      .run();
  return c->changes() == 1;
}

bool SqlStore::set_client_status(std::string_view client_id, std::string_view status) {
  auto c = conn();
  c->prepare("UPDATE clients SET status = ?2, updated_at = ?3 WHERE client_id = ?1 AND status <> 'deleted'")
      .bind_text(1, client_id)
      .bind_text(2, status)
      .bind_text(3, core::rfc3339_now())
      .run();
  return c->changes() == 1;
}

std::vector<std::string> SqlStore::blocked_clients() {
  auto c = conn();
  Statement q = c->prepare("SELECT client_id FROM clients WHERE status <> 'active' ORDER BY client_id");
  std::vector<std::string> out;
  while (q.step()) out.push_back(q.column_text(0));
  return out;
}

TenantRecord SqlStore::insert_tenant(const TenantRecord& t) {
  auto c = conn();
  Transaction tx(*c);
  c->lock_for_write("tenants");
  const std::string now = core::rfc3339_now();
  Statement q = c->prepare(
      "INSERT INTO tenants(tenant_id, display_name, tier, status, created_at, updated_at, revision) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)");
  q.bind_text(1, t.tenant_id)
      .bind_text(2, t.display_name)
      .bind_text(3, t.tier)
      .bind_text(4, t.status)
      .bind_text(5, now)
      .bind_int64(6, next_tenant_revision(*c));
  try {
    q.run();
  } catch (const StoreError& e) {
    throw e.prefixed("insert tenant " + t.tenant_id + ": ");
  }
  auto row = find_tenant_in(*c, t.tenant_id);
  tx.commit();
  return *row;
}

std::optional<TenantRecord> SqlStore::find_tenant(std::string_view tenant_id) {
  auto c = conn();
  return find_tenant_in(*c, tenant_id);
}

std::vector<TenantRecord> SqlStore::list_tenants(std::string_view after, std::size_t limit) {
  auto c = conn();
  Statement q = c->prepare(std::string(kSelectTenant) + " WHERE tenant_id > ?1 ORDER BY tenant_id LIMIT ?2");
  q.bind_text(1, after).bind_int64(2, static_cast<std::int64_t>(limit));
  return read_tenants(q);
}

std::optional<TenantRecord> SqlStore::update_tenant(std::string_view tenant_id, const TenantPatch& p) {
  auto c = conn();
  Transaction tx(*c);
  c->lock_for_write("tenants");
  c->prepare("UPDATE tenants SET display_name = COALESCE(?2, display_name), tier = COALESCE(?3, tier), "
             "status = COALESCE(?4, status), updated_at = ?5, revision = ?6 WHERE tenant_id = ?1 AND status <> 'deleted'")
      .bind_text(1, tenant_id)
      .bind_optional(2, p.display_name)
      .bind_optional(3, p.tier)
      .bind_optional(4, p.status)
      .bind_text(5, core::rfc3339_now())
      .bind_int64(6, next_tenant_revision(*c))
      .run();
  // Conditional on the status in the same statement: a PATCH that read the tenant active before
  // a concurrent DELETE committed must not write `active` over the tombstone. A deleted tenant
  // comes back unchanged (the caller sees its status), a missing one as nullopt.
  const bool changed = c->changes() == 1;
  auto row = find_tenant_in(*c, tenant_id);
  if (!changed) return row;
  tx.commit();
  return row;
}

std::vector<TenantRecord> SqlStore::tenants_changed_since(std::int64_t revision) {
  auto c = conn();
  Statement q = c->prepare(std::string(kSelectTenant) + " WHERE revision > ?1 ORDER BY revision");
  q.bind_int64(1, revision);
  return read_tenants(q);
}

std::vector<SigningKeyRecord> SqlStore::published_signing_keys() {
  auto c = conn();
  Statement q = c->prepare(std::string(kSelectSigningKey) + " WHERE status != 'retired' ORDER BY created_at DESC, kid");
  return read_signing_keys(q);
}

std::vector<SigningKeyRecord> SqlStore::all_signing_keys() {
  auto c = conn();
  Statement q = c->prepare(std::string(kSelectSigningKey) + " ORDER BY created_at DESC, kid");
  return read_signing_keys(q);
}

bool SqlStore::insert_first_signing_key(const SigningKeyRecord& key) {
  auto c = conn();
  try {
    insert_active_key(*c, key);
  } catch (const StoreError& e) {
    if (e.kind() == StoreError::Kind::duplicate) return false;
    throw;
  }
  return true;
}

void SqlStore::rotate_signing_key(const SigningKeyRecord& key, std::int64_t old_not_after, std::int64_t now) {
  auto c = conn();
  Transaction tx(*c);
  // Two rotations at once (two gateways, PostgreSQL) would both demote the old key and then
  // collide on the one-active-key index; one at a time, both succeed.
  c->lock_for_write("signing_keys");
  c->prepare("UPDATE signing_keys SET status = 'retired' WHERE status = 'retiring' AND not_after < ?1")
      .bind_int64(1, now)
      .run();
  c->prepare("UPDATE signing_keys SET status = 'retiring', not_after = ?1 WHERE status = 'active'")
      .bind_int64(1, old_not_after)
      .run();
  insert_active_key(*c, key);
  tx.commit();
}

}  // namespace pc::store

namespace pc::store {

std::optional<TenantRecord> SqlStore::mark_tenant_deleted(std::string_view tenant_id, std::int64_t purge_after) {
  auto c = conn();
  Transaction tx(*c);
  c->lock_for_write("tenants");
  // Only a live tenant: deleting again must not move a pending purge, nor make a purged
  // tombstone (purge_after = kPurged) due for purging again.
  c->prepare("UPDATE tenants SET status = 'deleted', purge_after = ?2, updated_at = ?3, revision = ?4 "
             "WHERE tenant_id = ?1 AND status <> 'deleted'")
      .bind_text(1, tenant_id)
      .bind_int64(2, purge_after)
      .bind_text(3, core::rfc3339_now())
      .bind_int64(4, next_tenant_revision(*c))
      .run();
  const bool changed = c->changes() == 1;
  auto row = find_tenant_in(*c, tenant_id);
  if (changed) tx.commit();
  return row;
}

std::vector<std::string> SqlStore::tenants_due_for_purge(std::int64_t now) {
  static_assert(kPurged > 0, "a purged tenant must never be due again");
  auto c = conn();
  Statement q = c->prepare("SELECT tenant_id FROM tenants WHERE status = 'deleted' AND purge_after <= ?1 ORDER BY tenant_id");
  q.bind_int64(1, now);
  std::vector<std::string> out;
  while (q.step()) out.push_back(q.column_text(0));
  return out;
}

void SqlStore::purge_tenant(std::string_view tenant_id) {
  auto c = conn();
  Transaction tx(*c);
  c->lock_for_write("tenants");
  // Every tenant-owned table; audit_log stays (the chain must not break).
  for (std::string_view table : {"clients", "data_keys", "secrets", "invocations", "sessions"})
    c->prepare("DELETE FROM " + std::string(table) + " WHERE tenant_id = ?1").bind_text(1, tenant_id).run();
  // records (issue 9): remembered answers hold the tenant's data.
  c->prepare("DELETE FROM idempotency_keys WHERE tenant_id = ?1").bind_text(1, tenant_id).run();
  purge_tenant_webhooks(*c, tenant_id);  // issue 9: webhooks
  purge_tenant_mcp_servers(*c, tenant_id);
  purge_tenant_mcp_sessions(*c, tenant_id);
  purge_tenant_a2a_push_configs(*c, tenant_id);  // ---- a2a push (issue 11)
  purge_tenant_a2a_bindings(*c, tenant_id);  // ---- a2a bindings (issue 11)
  purge_tenant_limits(*c, tenant_id);
  // issue 9: jobs (their sealed requests and results go with the tenant)
  c->prepare("DELETE FROM jobs WHERE tenant_id = ?1").bind_text(1, tenant_id).run();
  // MCP tool call records
  c->prepare("DELETE FROM mcp_tool_calls WHERE tenant_id = ?1").bind_text(1, tenant_id).run();
  // The tenant row stays as a tombstone (deleted, nothing left to purge): its id is never handed
  // to a new customer (who would inherit the old one's audit entries and still-valid tokens),
  // and tenant revisions, MAX(revision) + 1, never go backwards for the gateways that follow
  // them incrementally.
  c->prepare("UPDATE tenants SET status = 'deleted', display_name = '', purge_after = ?2, updated_at = ?3, revision = ?4 "
             "WHERE tenant_id = ?1")
      .bind_text(1, tenant_id)
      .bind_int64(2, kPurged)
      .bind_text(3, core::rfc3339_now())
      .bind_int64(4, next_tenant_revision(*c))
      .run();
  tx.commit();
}

}  // namespace pc::store
