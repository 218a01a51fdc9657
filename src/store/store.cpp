#include "store/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "crypto/master_key.h"  // ensure_private_dir
#include "store/migrations.h"

namespace pc::store {
namespace {

constexpr std::string_view kNow = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

std::string to_json_array(const std::vector<std::string>& items) {
  boost::json::array a;
  for (const auto& s : items) a.emplace_back(s);
  return boost::json::serialize(a);
}

std::vector<std::string> from_json_array(const std::string& text, std::string_view column,
                                         std::string_view row_id) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  std::vector<std::string> out;
  if (!ec && v.is_array()) {
    for (const auto& item : v.get_array()) {
      if (!item.is_string()) break;
      out.emplace_back(item.get_string());
    }
    if (out.size() == v.get_array().size()) return out;
  }
  throw StoreError("row " + std::string(row_id) + ": column " + std::string(column) +
                   " is not a JSON array of strings");
}

// Creating the file ourselves, owner-only, before SQLite does: SQLite would use 0644 and give
// the same mode to the -wal and -shm files it creates later.
void create_private_db_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return;
  }
  if (errno != EEXIST)
    throw StoreError("cannot create database file " + path + ": " + std::strerror(errno));
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(SqliteDb db) : db_(std::move(db)) {}

  bool ping() override {
    std::lock_guard lock(mu_);
    Statement q = db_.prepare("SELECT 1");
    return q.step() && q.column_int64(0) == 1;
  }

  int schema_version() override {
    std::lock_guard lock(mu_);
    return store::schema_version(db_);
  }

  void insert_client(const ClientRecord& c) override {
    std::lock_guard lock(mu_);
    // created_at and updated_at come from one expression so they are equal on insert.
    Statement q = db_.prepare(
        "INSERT INTO clients(client_id, tenant_id, name, secret_hash, roles, grant_types, status, "
        "created_at, updated_at, is_bootstrap, scopes) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, COALESCE(?8, " +
        std::string(kNow) + "), COALESCE(?8, " + std::string(kNow) + "), ?9, ?10)");
    q.bind_text(1, c.client_id)
        .bind_text(2, c.tenant_id)
        .bind_text(3, c.name)
        .bind_text(4, c.secret_hash)
        .bind_text(5, to_json_array(c.roles))
        .bind_text(6, to_json_array(c.grant_types))
        .bind_text(7, c.status)
        .bind_int64(9, c.is_bootstrap ? 1 : 0)
        .bind_text(10, to_json_array(c.scopes));
    if (c.created_at.empty()) q.bind_null(8);
    else q.bind_text(8, c.created_at);
    try {
      q.run();
    } catch (const StoreError& e) {
      throw StoreError("insert client " + c.client_id + ": " + e.what(), e.kind());
    }
  }

  std::optional<ClientRecord> find_client(std::string_view client_id) override {
    std::lock_guard lock(mu_);
    Statement q = db_.prepare(std::string(kSelectClient) + " WHERE client_id = ?1");
    q.bind_text(1, client_id);
    return read_client(q);
  }

  std::optional<ClientRecord> find_bootstrap_client() override {
    std::lock_guard lock(mu_);
    Statement q = db_.prepare(std::string(kSelectClient) + " WHERE is_bootstrap = 1");
    return read_client(q);
  }

  std::vector<ClientRecord> list_clients(std::string_view tenant_id) override {
    std::lock_guard lock(mu_);
    Statement q = db_.prepare(std::string(kSelectClient) + " WHERE tenant_id = ?1 ORDER BY client_id");
    q.bind_text(1, tenant_id);
    std::vector<ClientRecord> out;
    while (auto c = read_client(q)) out.push_back(std::move(*c));
    return out;
  }

  bool update_client_secret(std::string_view client_id, std::string_view secret_hash) override {
    std::lock_guard lock(mu_);
    db_.prepare("UPDATE clients SET secret_hash = ?2, updated_at = " + std::string(kNow) +
                " WHERE client_id = ?1")
        .bind_text(1, client_id)
        .bind_text(2, secret_hash)
        .run();
    return db_.changes() == 1;
  }

  TenantRecord insert_tenant(const TenantRecord& t) override {
    std::lock_guard lock(mu_);
    Transaction tx(db_);
    Statement q = db_.prepare(
        "INSERT INTO tenants(tenant_id, display_name, tier, status, created_at, updated_at, revision) "
        "VALUES (?1, ?2, ?3, ?4, " + std::string(kNow) + ", " + std::string(kNow) + ", "
        "(SELECT COALESCE(MAX(revision), 0) + 1 FROM tenants))");
    q.bind_text(1, t.tenant_id).bind_text(2, t.display_name).bind_text(3, t.tier).bind_text(4, t.status);
    try {
      q.run();
    } catch (const StoreError& e) {
      throw StoreError("insert tenant " + t.tenant_id + ": " + e.what(), e.kind());
    }
    auto row = find_tenant_locked(t.tenant_id);
    tx.commit();
    return *row;
  }

  std::optional<TenantRecord> find_tenant(std::string_view tenant_id) override {
    std::lock_guard lock(mu_);
    return find_tenant_locked(tenant_id);
  }

  std::vector<TenantRecord> list_tenants(std::string_view after, std::size_t limit) override {
    std::lock_guard lock(mu_);
    Statement q = db_.prepare(std::string(kSelectTenant) + " WHERE tenant_id > ?1 ORDER BY tenant_id LIMIT ?2");
    q.bind_text(1, after).bind_int64(2, static_cast<std::int64_t>(limit));
    return read_tenants(q);
  }

  std::optional<TenantRecord> update_tenant(std::string_view tenant_id, const TenantPatch& p) override {
    std::lock_guard lock(mu_);
    Transaction tx(db_);
    db_.prepare("UPDATE tenants SET display_name = COALESCE(?2, display_name), tier = COALESCE(?3, tier), "
                "status = COALESCE(?4, status), updated_at = " + std::string(kNow) + ", "
                "revision = (SELECT MAX(revision) + 1 FROM tenants) WHERE tenant_id = ?1")
        .bind_text(1, tenant_id)
        .bind_optional(2, p.display_name)
        .bind_optional(3, p.tier)
        .bind_optional(4, p.status)
        .run();
    if (db_.changes() != 1) return std::nullopt;
    auto row = find_tenant_locked(tenant_id);
    tx.commit();
    return row;
  }

  std::vector<TenantRecord> tenants_changed_since(std::int64_t revision) override {
    std::lock_guard lock(mu_);
    Statement q = db_.prepare(std::string(kSelectTenant) + " WHERE revision > ?1 ORDER BY revision");
    q.bind_int64(1, revision);
    return read_tenants(q);
  }

  std::vector<SigningKeyRecord> published_signing_keys() override {
    std::lock_guard lock(mu_);
    Statement q = db_.prepare(
        "SELECT kid, alg, public_jwk, private_sealed, status, created_at, not_after FROM signing_keys "
        "WHERE status != 'retired' ORDER BY created_at DESC, kid");
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
      out.push_back(std::move(k));
    }
    return out;
  }

  bool insert_first_signing_key(const SigningKeyRecord& key) override {
    std::lock_guard lock(mu_);
    try {
      insert_active_key(key);
    } catch (const StoreError& e) {
      if (e.kind() == StoreError::Kind::duplicate) return false;
      throw;
    }
    return true;
  }

  void rotate_signing_key(const SigningKeyRecord& key, std::int64_t old_not_after, std::int64_t now) override {
    std::lock_guard lock(mu_);
    Transaction tx(db_);
    db_.prepare("UPDATE signing_keys SET status = 'retired' WHERE status = 'retiring' AND not_after < ?1")
        .bind_int64(1, now)
        .run();
    db_.prepare("UPDATE signing_keys SET status = 'retiring', not_after = ?1 WHERE status = 'active'")
        .bind_int64(1, old_not_after)
        .run();
    insert_active_key(key);
    tx.commit();
  }

 private:
  static constexpr std::string_view kSelectClient =
      "SELECT client_id, tenant_id, name, secret_hash, roles, grant_types, status, created_at, "
      "is_bootstrap, scopes FROM clients";
  static constexpr std::string_view kSelectTenant =
      "SELECT tenant_id, display_name, tier, status, created_at, updated_at, revision FROM tenants";

  void insert_active_key(const SigningKeyRecord& key) {
    Statement q = db_.prepare(
        "INSERT INTO signing_keys(kid, alg, public_jwk, private_sealed, status, created_at, not_after) "
        "VALUES (?1, ?2, ?3, ?4, 'active', " + std::string(kNow) + ", 0)");
    q.bind_text(1, key.kid).bind_text(2, key.alg).bind_text(3, key.public_jwk).bind_blob(4, key.private_sealed);
    try {
      q.run();
    } catch (const StoreError& e) {
      throw StoreError("insert signing key " + key.kid + ": " + e.what(), e.kind());
    }
  }

  std::optional<TenantRecord> find_tenant_locked(std::string_view tenant_id) {
    Statement q = db_.prepare(std::string(kSelectTenant) + " WHERE tenant_id = ?1");
    q.bind_text(1, tenant_id);
    auto rows = read_tenants(q);
    if (rows.empty()) return std::nullopt;
    return std::move(rows.front());
  }

  static std::vector<TenantRecord> read_tenants(Statement& q) {
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
      out.push_back(std::move(t));
    }
    return out;
  }

  static std::optional<ClientRecord> read_client(Statement& q) {
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

  std::mutex mu_;  // one connection; SQLite serialises writers anyway
  SqliteDb db_;
};

}  // namespace

std::unique_ptr<Store> Store::open_sqlite(const std::string& path) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  if (!parent.empty()) crypto::ensure_private_dir(parent);
  create_private_db_file(path);
  SqliteDb db(path);
  migrate(db);
  return std::make_unique<SqliteStore>(std::move(db));
}

}  // namespace pc::store
