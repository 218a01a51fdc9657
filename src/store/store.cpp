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
                                         std::string_view client_id) {
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
  throw StoreError("clients row " + std::string(client_id) + ": column " + std::string(column) +
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
        "created_at, updated_at, is_bootstrap) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, COALESCE(?8, " +
        std::string(kNow) + "), COALESCE(?8, " + std::string(kNow) + "), ?9)");
    q.bind_text(1, c.client_id)
        .bind_text(2, c.tenant_id)
        .bind_text(3, c.name)
        .bind_text(4, c.secret_hash)
        .bind_text(5, to_json_array(c.roles))
        .bind_text(6, to_json_array(c.grant_types))
        .bind_text(7, c.status)
        .bind_int64(9, c.is_bootstrap ? 1 : 0);
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

 private:
  static constexpr std::string_view kSelectClient =
      "SELECT client_id, tenant_id, name, secret_hash, roles, grant_types, status, created_at, "
      "is_bootstrap FROM clients";

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
