// The gateway's handle to its store. Store is the backend-neutral interface (SQLite now,
// PostgreSQL later, both to pass one shared test suite); services depend on it, never on SQL.
//
// Every call blocks (disk, locks): make them from a core::WorkPool, never from an I/O thread.
// Calls are thread-safe. Errors throw StoreError (store/sqlite_db.h), whose kind() tells a
// duplicate key or a busy database apart from other failures.
#pragma once

#include <memory>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite_db.h"  // StoreError

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
};

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
};

class Store {
 public:
  virtual ~Store() = default;

  // Opens (creating if needed) the SQLite database at `path` and migrates it to the newest
  // schema. A missing parent directory is created with mode 0700; a new database file is
  // created with mode 0600 (SQLite gives its -wal and -shm files the same mode).
  static std::unique_ptr<Store> open_sqlite(const std::string& path);

  virtual bool ping() = 0;  // the store answers a trivial query (readiness probe)
  virtual int schema_version() = 0;

  // Throws StoreError with kind duplicate when the client_id exists, or when `c` is a bootstrap
  // client and one exists already (there is at most one).
  virtual void insert_client(const ClientRecord& c) = 0;
  virtual std::optional<ClientRecord> find_client(std::string_view client_id) = 0;
  virtual std::optional<ClientRecord> find_bootstrap_client() = 0;
  virtual std::vector<ClientRecord> list_clients(std::string_view tenant_id) = 0;
  // Replaces the secret hash; false when no such client exists.
  virtual bool update_client_secret(std::string_view client_id, std::string_view secret_hash) = 0;

  // ---- tenants
  // Throws StoreError kind duplicate when the id exists (whatever its status).
  virtual TenantRecord insert_tenant(const TenantRecord& t) = 0;
  virtual std::optional<TenantRecord> find_tenant(std::string_view tenant_id) = 0;
  // Ordered by id, ids greater than `after` (for cursors), at most `limit`.
  virtual std::vector<TenantRecord> list_tenants(std::string_view after, std::size_t limit) = 0;
  // Applies the fields that are set; nullopt when the tenant does not exist.
  virtual std::optional<TenantRecord> update_tenant(std::string_view tenant_id, const TenantPatch& patch) = 0;
  // Rows changed after `revision`, oldest change first (for incremental caches).
  virtual std::vector<TenantRecord> tenants_changed_since(std::int64_t revision) = 0;

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
};

}  // namespace pc::store
