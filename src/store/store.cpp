#include "store/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/config.h"
#include "crypto/master_key.h"  // ensure_private_dir
#include "store/migrations.h"
#include "store/pg_db.h"
#include "store/sql_store.h"
#include "store/sqlite_db.h"

namespace pc::store {
namespace {

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

}  // namespace

std::string to_json_array(const std::vector<std::string>& items) {
  boost::json::array a;
  for (const auto& s : items) a.emplace_back(s);
  return boost::json::serialize(a);
}

std::vector<std::string> from_json_array(const std::string& text, std::string_view column, std::string_view row_id) {
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

std::string tenant_is_live(const Db& db, int param) {
  std::string sql = "COALESCE((SELECT status FROM tenants WHERE tenant_id = ?" + std::to_string(param);
  if (db.dialect() == Db::Dialect::postgres) sql += " FOR SHARE";
  sql += "), '') <> 'deleted'";
  return sql;
}

void require_live_tenant(Db& db, std::string_view what) {
  if (db.changes() == 0)
    throw StoreError(std::string(what) + ": the tenant is deleted; nothing is written into it", StoreError::Kind::gone);
}

std::unique_ptr<Store> Store::open_sqlite(const std::string& path) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  if (!parent.empty()) crypto::ensure_private_dir(parent);
  create_private_db_file(path);
  auto db = std::make_unique<SqliteDb>(path);
  migrate(*db);
  return std::make_unique<SqlStore>(std::make_unique<SqliteConnection>(std::move(db)));
}

std::unique_ptr<Store> Store::open_postgres(const std::string& url, std::size_t pool_size) {
  auto db = std::make_unique<PgDb>(url);
  migrate(*db);
  return std::make_unique<SqlStore>(std::make_unique<PgPool>(url, pool_size, std::move(db)));
}

std::unique_ptr<Store> Store::open(const core::StorageConfig& config, const std::string& sqlite_path) {
  if (config.backend == "postgres") return open_postgres(config.postgres_url);
  if (config.backend == "sqlite") return open_sqlite(sqlite_path);
  throw StoreError("unknown storage backend \"" + config.backend + "\" (expected sqlite or postgres)");
}

}  // namespace pc::store
