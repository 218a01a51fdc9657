// Versioned schema migrations. Each migration has a version (1, 2, 3, ... in order), a name and
// the SQL that takes the schema from the previous version to this one. Applied versions are
// recorded in `schema_migrations`; each pending migration runs in its own transaction, so a
// failed migration leaves the schema at the last good version.
//
// Migrations are append-only: once released, a migration's SQL never changes (databases in the
// field have already run it); fix mistakes with a new migration.
//
// One list serves both backends. The SQL is SQLite's; PostgreSQL runs postgres_ddl() of it, so
// migrations keep to DDL both accept once INTEGER means BIGINT (SQLite's integers are 64-bit)
// and BLOB means BYTEA.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace pc::store {

class Db;

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// The migrations this binary knows, in order, in SQLite's dialect.
std::span<const Migration> sqlite_migrations();

// `sql` for PostgreSQL: the words INTEGER and BLOB (any case, outside string literals, quoted
// identifiers and comments) become BIGINT and BYTEA; everything else is kept byte for byte.
std::string postgres_ddl(std::string_view sql);

// Applies every pending migration of `migrations` (default: sqlite_migrations()) and returns the
// resulting schema version. Throws StoreError, without touching the schema, when the database is
// at a version newer than the newest one known here (an older binary must not run on a schema it
// does not understand). Safe to run concurrently from several processes: the version check and
// the migration share one transaction, which on SQLite holds the write lock (IMMEDIATE) and on
// PostgreSQL first takes a transaction-scoped advisory lock that every migrator asks for.
int migrate(Db& db);
int migrate(Db& db, std::span<const Migration> migrations);

// The highest applied version; 0 for a fresh database (which this leaves untouched).
int schema_version(Db& db);

}  // namespace pc::store
