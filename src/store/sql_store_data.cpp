// SqlStore: data keys and secrets. Both hold only sealed bytes (crypto::seal output) in BLOB
// columns; nothing here decrypts.
#include "core/clock.h"
#include "store/sql_store.h"

namespace pc::store {
namespace {

constexpr std::string_view kSelectDataKey =
    "SELECT tenant_id, data_class, version, wrapped, master_key_id, created_at, seal_count FROM data_keys";

std::vector<DataKeyRecord> read_data_keys(Statement& q) {
  std::vector<DataKeyRecord> out;
  while (q.step()) {
    DataKeyRecord k;
    k.tenant_id = q.column_text(0);
    k.data_class = q.column_text(1);
    k.version = static_cast<int>(q.column_int64(2));
    k.wrapped = q.column_blob(3);
    k.master_key_id = q.column_text(4);
    k.created_at = q.column_text(5);
    k.seal_count = q.column_int64(6);
    out.push_back(std::move(k));
  }
  return out;
}

std::string data_key_id(std::string_view tenant_id, std::string_view data_class, int version) {
  return std::string(tenant_id) + "/" + std::string(data_class) + " v" + std::to_string(version);
}

std::string secret_id(std::string_view tenant_id, std::string_view name, int version) {
  return std::string(tenant_id) + "/" + std::string(name) + " v" + std::to_string(version);
}

}  // namespace

std::vector<DataKeyRecord> SqlStore::data_keys(std::string_view tenant_id, std::string_view data_class) {
  auto c = conn();
  Statement q = c->prepare(std::string(kSelectDataKey) +
                           " WHERE tenant_id = ?1 AND data_class = ?2 ORDER BY version DESC");
  q.bind_text(1, tenant_id).bind_text(2, data_class);
  return read_data_keys(q);
}

bool SqlStore::insert_data_key(const DataKeyRecord& key) {
  auto c = conn();
  Statement q = c->prepare(
      "INSERT INTO data_keys(tenant_id, data_class, version, wrapped, master_key_id, created_at) "
      "SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE " +
      tenant_is_live(*c, 1));
  q.bind_text(1, key.tenant_id)
      .bind_text(2, key.data_class)
      .bind_int64(3, key.version)
      .bind_blob(4, key.wrapped)
      .bind_text(5, key.master_key_id)
      .bind_text(6, key.created_at.empty() ? core::rfc3339_now() : key.created_at);
  try {
    q.run();
  } catch (const StoreError& e) {
    // Two nodes creating a tenant's first key at once: the loser reads the winner's key.
    if (e.kind() == StoreError::Kind::duplicate) return false;
    throw StoreError("insert data key " + data_key_id(key.tenant_id, key.data_class, key.version) + ": " +
                         e.what(),
                     e.kind());
  }
  require_live_tenant(*c, "insert data key " + data_key_id(key.tenant_id, key.data_class, key.version));
  return true;
}

std::vector<DataKeyRecord> SqlStore::all_data_keys() {
  auto c = conn();
  Statement q = c->prepare(std::string(kSelectDataKey) + " ORDER BY tenant_id, data_class, version DESC");
  return read_data_keys(q);
}

void SqlStore::rewrap(const std::vector<DataKeyRecord>& data_keys, const std::vector<SigningKeyRecord>& signing_keys) {
  auto c = conn();
  Transaction tx(*c);
  // Only the wrapping changes: a row that disappeared meanwhile (its tenant was purged) has
  // nothing left to re-wrap, so it is skipped rather than failing the whole rotation.
  Statement dk = c->prepare(
      "UPDATE data_keys SET wrapped = ?4, master_key_id = ?5 "
      "WHERE tenant_id = ?1 AND data_class = ?2 AND version = ?3");
  for (const DataKeyRecord& k : data_keys) {
    dk.reset();
    dk.bind_text(1, k.tenant_id)
        .bind_text(2, k.data_class)
        .bind_int64(3, k.version)
        .bind_blob(4, k.wrapped)
        .bind_text(5, k.master_key_id);
    try {
      dk.run();
    } catch (const StoreError& e) {
      throw e.prefixed("rewrap data key " + data_key_id(k.tenant_id, k.data_class, k.version) + ": ");
    }
  }
  Statement sk = c->prepare("UPDATE signing_keys SET private_sealed = ?2, master_key_id = ?3 WHERE kid = ?1");
  for (const SigningKeyRecord& k : signing_keys) {
    sk.reset();
    sk.bind_text(1, k.kid).bind_blob(2, k.private_sealed).bind_text(3, k.master_key_id);
    try {
      sk.run();
    } catch (const StoreError& e) {
      throw e.prefixed("rewrap signing key " + k.kid + ": ");
    }
  }
  tx.commit();
}

void SqlStore::insert_secret(const SecretRecord& s) {
  auto c = conn();
  Statement q = c->prepare(
      "INSERT INTO secrets(tenant_id, name, version, sealed, created_at, created_by) SELECT ?1, ?2, ?3, ?4, ?5, ?6 "
      "WHERE " +
      tenant_is_live(*c, 1));
  q.bind_text(1, s.tenant_id)
      .bind_text(2, s.name)
      .bind_int64(3, s.version)
      .bind_blob(4, s.sealed)
      .bind_text(5, s.created_at.empty() ? core::rfc3339_now() : s.created_at)
      .bind_text(6, s.created_by);
  try {
    q.run();
  } catch (const StoreError& e) {
    throw e.prefixed("insert secret " + secret_id(s.tenant_id, s.name, s.version) + ": ");
  }
  require_live_tenant(*c, "insert secret " + secret_id(s.tenant_id, s.name, s.version));
}

std::optional<SecretRecord> SqlStore::find_secret(std::string_view tenant_id, std::string_view name, int version) {
  auto c = conn();
  std::string sql =
      "SELECT tenant_id, name, version, sealed, created_at, created_by FROM secrets WHERE tenant_id = ?1 AND name = ?2";
  sql += version == 0 ? " ORDER BY version DESC LIMIT 1" : " AND version = ?3";
  Statement q = c->prepare(sql);
  q.bind_text(1, tenant_id).bind_text(2, name);
  if (version != 0) q.bind_int64(3, version);
  if (!q.step()) return std::nullopt;
  SecretRecord s;
  s.tenant_id = q.column_text(0);
  s.name = q.column_text(1);
  s.version = static_cast<int>(q.column_int64(2));
  s.sealed = q.column_blob(3);
  s.created_at = q.column_text(4);
  s.created_by = q.column_text(5);
  return s;
}

std::vector<SecretRecord> SqlStore::list_secrets(std::string_view tenant_id) {
  auto c = conn();
  // `sealed` is not selected at all: listings must not carry ciphertext around.
  Statement q = c->prepare(
      "SELECT s.tenant_id, s.name, s.version, s.created_at, s.created_by FROM secrets s "
      "WHERE s.tenant_id = ?1 AND s.version = "
      "(SELECT MAX(m.version) FROM secrets m WHERE m.tenant_id = s.tenant_id AND m.name = s.name) "
      "ORDER BY s.name");
  q.bind_text(1, tenant_id);
  std::vector<SecretRecord> out;
  while (q.step()) {
    SecretRecord s;
    s.tenant_id = q.column_text(0);
    s.name = q.column_text(1);
    s.version = static_cast<int>(q.column_int64(2));
    s.created_at = q.column_text(3);
    s.created_by = q.column_text(4);
    out.push_back(std::move(s));
  }
  return out;
}

bool SqlStore::delete_secret(std::string_view tenant_id, std::string_view name) {
  auto c = conn();
  c->prepare("DELETE FROM secrets WHERE tenant_id = ?1 AND name = ?2").bind_text(1, tenant_id).bind_text(2, name).run();
  return c->changes() > 0;
}

}  // namespace pc::store
