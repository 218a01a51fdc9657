// Versioned schema migrations. Each migration has a version (1, 2, 3, ... in order), a name and
// the SQL that takes the schema from the previous version to this one. Applied versions are
// recorded in `schema_migrations`; each pending migration runs in its own transaction, so a
// failed migration leaves the schema at the last good version.
//
// Migrations are append-only: once released, a migration's SQL never changes (databases in the
// field have already run it); fix mistakes with a new migration.
#pragma once

#include <span>
#include <string_view>

namespace pc::store {

class SqliteDb;

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// The migrations this binary knows, in order.
std::span<const Migration> sqlite_migrations();

// Applies every pending migration of `migrations` (default: sqlite_migrations()) and returns the
// resulting schema version. Throws StoreError, without touching the schema, when the database is
// at a version newer than the newest one known here (an older binary must not run on a schema it
// does not understand). Safe to run concurrently from several processes: the version check and
// the migration share one IMMEDIATE transaction.
int migrate(SqliteDb& db);
int migrate(SqliteDb& db, std::span<const Migration> migrations);

// The highest applied version; 0 for a fresh database.
int schema_version(SqliteDb& db);

}  // namespace pc::store
