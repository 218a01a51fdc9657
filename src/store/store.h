// The gateway's handle to its store. Store is the backend-neutral interface (SQLite now,
// PostgreSQL later, both to pass one shared test suite); services depend on it, never on SQL.
//
// Every call blocks (disk, locks): make them from a core::WorkPool, never from an I/O thread.
// Calls are thread-safe. Errors throw StoreError (store/sqlite_db.h), whose kind() tells a
// duplicate key or a busy database apart from other failures.
#pragma once

#include <memory>
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
  std::string status = "active";
  std::string created_at;  // RFC 3339 UTC; left empty on insert, the store stamps the time
  bool is_bootstrap = false;
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
};

}  // namespace pc::store
