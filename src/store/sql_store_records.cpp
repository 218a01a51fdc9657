// SqlStore: records (issue 9) — data-key seal reservations, idempotency keys, and the demo's
// version endpoint. Every compare-and-set here is one conditional statement, so it holds across
// nodes sharing a PostgreSQL database without a table lock.
#include "core/clock.h"
#include "store/sql_store.h"

namespace pc::store {
namespace {

constexpr std::string_view kSelectIdempotency =
    "SELECT tenant_id, principal, idem_key, request_hash, state, owner, http_status, content_type, response_sealed, "
    "created_at, expires_at, locked_until FROM idempotency_keys "
    "WHERE tenant_id = ?1 AND principal = ?2 AND idem_key = ?3";

IdempotencyRecord read_idempotency(Statement& q) {
  IdempotencyRecord r;
  r.tenant_id = q.column_text(0);
  r.principal = q.column_text(1);
  r.key = q.column_text(2);
  r.request_hash = q.column_text(3);
  r.state = q.column_text(4);
  r.owner = q.column_text(5);
  r.http_status = static_cast<int>(q.column_int64(6));
  r.content_type = q.column_text(7);
  if (!q.column_is_null(8)) r.response_sealed = q.column_blob(8);
  r.created_at = q.column_text(9);
  r.expires_at = q.column_text(10);
  r.locked_until = q.column_text(11);
  return r;
}

}  // namespace

bool SqlStore::reserve_data_key_seals(std::string_view tenant_id, std::string_view data_class, int version,
                                      std::int64_t count, std::int64_t limit) {
  if (count <= 0) return true;
  auto c = conn();
  // One statement: the check and the increment are atomic on both backends, so nodes reserving
  // from the same row at once never pass the limit together.
  c->prepare(
       "UPDATE data_keys SET seal_count = seal_count + ?4 "
       "WHERE tenant_id = ?1 AND data_class = ?2 AND version = ?3 AND seal_count + ?4 <= ?5")
      .bind_text(1, tenant_id)
      .bind_text(2, data_class)
      .bind_int64(3, version)
      .bind_int64(4, count)
      .bind_int64(5, limit)
      .run();
  return c->changes() == 1;
}

IdempotencyClaim SqlStore::claim_idempotency_key(const IdempotencyRecord& p, std::string_view now) {
  const std::string what = "claim idempotency key " + p.tenant_id + "/" + p.principal;
  auto c = conn();
  const std::string created = p.created_at.empty() ? core::rfc3339_now() : p.created_at;
  // 1. A new key: insert it (nothing when the key is there, whatever its state).
  Statement ins = c->prepare(
      "INSERT INTO idempotency_keys(tenant_id, principal, idem_key, request_hash, state, owner, http_status, "
      "content_type, response_sealed, created_at, expires_at, locked_until) "
      "SELECT ?1, ?2, ?3, ?4, 'pending', ?5, 0, '', NULL, ?6, ?7, ?8 WHERE " +
      tenant_is_live(*c, 1) + " ON CONFLICT (tenant_id, principal, idem_key) DO NOTHING");
  ins.bind_text(1, p.tenant_id)
      .bind_text(2, p.principal)
      .bind_text(3, p.key)
      .bind_text(4, p.request_hash)
      .bind_text(5, p.owner)
      .bind_text(6, created)
      .bind_text(7, p.expires_at)
      .bind_text(8, p.locked_until);
  try {
    ins.run();
  } catch (const StoreError& e) {
    throw e.prefixed(what + ": ");
  }
  if (c->changes() == 1) return {true, std::nullopt};

  // 2. Taken: take it over when it expired, or its claim lapsed (the node running it died or
  // gave up). Conditional, so that of two nodes taking over at once only one wins.
  Statement take = c->prepare(
      "UPDATE idempotency_keys SET request_hash = ?4, state = 'pending', owner = ?5, http_status = 0, "
      "content_type = '', response_sealed = NULL, created_at = ?6, expires_at = ?7, locked_until = ?8 "
      "WHERE tenant_id = ?1 AND principal = ?2 AND idem_key = ?3 "
      "AND (expires_at <= ?9 OR (state = 'pending' AND locked_until <= ?9))");
  take.bind_text(1, p.tenant_id)
      .bind_text(2, p.principal)
      .bind_text(3, p.key)
      .bind_text(4, p.request_hash)
      .bind_text(5, p.owner)
      .bind_text(6, created)
      .bind_text(7, p.expires_at)
      .bind_text(8, p.locked_until)
      .bind_text(9, now);
  take.run();
  if (c->changes() == 1) return {true, std::nullopt};

  Statement q = c->prepare(kSelectIdempotency);
  q.bind_text(1, p.tenant_id).bind_text(2, p.principal).bind_text(3, p.key);
  if (q.step()) return {false, read_idempotency(q)};
  // No row and no insert: the tenant is deleted (the insert's condition), or the row was purged
  // between our statements (then the caller may simply try again).
  require_live_tenant(*c, what);
  throw StoreError(what + ": the key vanished while it was claimed; try again", StoreError::Kind::conflict);
}

bool SqlStore::complete_idempotency_key(const IdempotencyRecord& d) {
  auto c = conn();
  Statement q = c->prepare(
      "UPDATE idempotency_keys SET state = 'done', http_status = ?5, content_type = ?6, response_sealed = ?7 "
      "WHERE tenant_id = ?1 AND principal = ?2 AND idem_key = ?3 AND owner = ?4 AND state = 'pending'");
  q.bind_text(1, d.tenant_id)
      .bind_text(2, d.principal)
      .bind_text(3, d.key)
      .bind_text(4, d.owner)
      .bind_int64(5, d.http_status)
      .bind_text(6, d.content_type);
  if (d.response_sealed)
    q.bind_blob(7, *d.response_sealed);
  else
    q.bind_null(7);
  q.run();
  return c->changes() == 1;
}

bool SqlStore::release_idempotency_key(std::string_view tenant_id, std::string_view principal, std::string_view key,
                                       std::string_view owner) {
  auto c = conn();
  c->prepare(
       "DELETE FROM idempotency_keys WHERE tenant_id = ?1 AND principal = ?2 AND idem_key = ?3 AND owner = ?4 "
       "AND state = 'pending'")
      .bind_text(1, tenant_id)
      .bind_text(2, principal)
      .bind_text(3, key)
      .bind_text(4, owner)
      .run();
  return c->changes() == 1;
}

std::int64_t SqlStore::purge_idempotency_keys_before(std::string_view now) {
  auto c = conn();
  c->prepare("DELETE FROM idempotency_keys WHERE expires_at < ?1").bind_text(1, now).run();
  return c->changes();
}

bool SqlStore::set_agent_version_endpoint(std::string_view agent, std::string_view version, std::string_view endpoint) {
  auto c = conn();
  c->prepare("UPDATE agent_versions SET endpoint = ?3, updated_at = ?4 WHERE agent = ?1 AND version = ?2")
      .bind_text(1, agent)
      .bind_text(2, version)
      .bind_text(3, endpoint)
      .bind_text(4, core::rfc3339_now())
      .run();
  return c->changes() == 1;
}

}  // namespace pc::store
