#include "store/sqlite_db.h"

#include <sqlite3.h>

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace pc::store {
namespace {

StoreError::Kind kind_of(int extended_rc) {
  switch (extended_rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE: return StoreError::Kind::duplicate;
    default: break;
  }
  switch (extended_rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return StoreError::Kind::busy;
    case SQLITE_FULL: return StoreError::Kind::full;
    default: return StoreError::Kind::other;
  }
}

// Errors name the operation and the statement (SQL text only: values are bound, so no secret can
// appear in it) and carry SQLite's message.
[[noreturn]] void throw_error(sqlite3* db, int rc, std::string_view what) {
  int extended = db ? sqlite3_extended_errcode(db) : rc;
  std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  throw StoreError("sqlite: " + std::string(what) + ": " + msg, kind_of(extended));
}

std::string describe(sqlite3_stmt* stmt) {
  const char* sql = stmt ? sqlite3_sql(stmt) : nullptr;
  std::string s = sql ? sql : "";
  if (s.size() > 100) s = s.substr(0, 100) + "...";
  return "statement \"" + s + "\"";
}

bool is_blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n;") == std::string_view::npos;
}

}  // namespace

// ---- StatementCache ------------------------------------------------------------------------

// Compiled statements of one connection, kept for the next prepare() of the same SQL text. The
// store prepares the same few statements over and over (each audit batch, each invocation
// batch, BEGIN and COMMIT, every read); compiling them showed in profiles as much as running
// them. A statement goes back here (reset, binds cleared) when its Statement is destroyed, and
// is handed out again from here. Bounded: beyond kMaxIdle idle statements the returned one is
// finalized instead. Used by the connection's thread only, like the connection itself.
struct SqliteDb::StatementCache {
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  static constexpr std::size_t kMaxIdle = 256;

  bool open = true;  // false once the connection closed: statements finalize themselves
  std::size_t idle_count = 0;
  std::unordered_map<std::string, std::vector<sqlite3_stmt*>, Hash, std::equal_to<>> idle;

  sqlite3_stmt* take(std::string_view sql) {
    auto it = idle.find(sql);
    if (it == idle.end() || it->second.empty()) return nullptr;
    sqlite3_stmt* s = it->second.back();
    it->second.pop_back();
    --idle_count;
    return s;
  }
  // Keeps `stmt` for the SQL it was compiled from, or finalizes it.
  void give_back(sqlite3_stmt* stmt, std::string_view sql) {
    // reset() returns the last step's error, which step() has already thrown; it also releases
    // the read transaction a half-read SELECT holds.
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (!open || idle_count >= kMaxIdle) {
      sqlite3_finalize(stmt);
      return;
    }
    auto it = idle.find(sql);
    if (it == idle.end()) it = idle.emplace(std::string(sql), std::vector<sqlite3_stmt*>{}).first;
    it->second.push_back(stmt);
    ++idle_count;
  }
  void close() {
    for (auto& [sql, stmts] : idle)
      for (sqlite3_stmt* s : stmts) sqlite3_finalize(s);
    idle.clear();
    idle_count = 0;
    open = false;
  }
};

namespace {

// ---- SqliteStatement ---------------------------------------------------------------------

class SqliteStatement final : public StatementImpl {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt, std::shared_ptr<SqliteDb::StatementCache> cache,
                  std::string_view sql)
      : db_(db), stmt_(stmt), cache_(std::move(cache)), sql_(sql) {}
  ~SqliteStatement() override {
    if (cache_)
      cache_->give_back(stmt_, sql_);
    else
      sqlite3_finalize(stmt_);
  }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  void bind_text(int index, std::string_view value) override {
    check_bind(sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
               index);
  }
  void bind_text_kept(int index, std::string_view value) override {
    // SQLITE_STATIC: not copied. The binds are cleared when this statement goes back to the
    // cache or is finalized, before the caller's values go away.
    check_bind(sqlite3_bind_text64(stmt_, index, value.data() ? value.data() : "", value.size(), SQLITE_STATIC,
                                   SQLITE_UTF8),
               index);
  }
  void bind_int64(int index, std::int64_t value) override {
    check_bind(sqlite3_bind_int64(stmt_, index, value), index);
  }
  void bind_blob(int index, std::string_view bytes) override {
    check_bind(sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT), index);
  }
  void bind_null(int index) override { check_bind(sqlite3_bind_null(stmt_, index), index); }

  bool step() override {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw_error(db_, rc, describe(stmt_));
  }

  void reset() override {
    sqlite3_reset(stmt_);  // returns the last step's error, which step() has already thrown
    sqlite3_clear_bindings(stmt_);
  }

  int column_count() const override { return sqlite3_column_count(stmt_); }
  bool column_is_null(int index) const override { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }
  std::string column_text(int index) const override {
    const unsigned char* p = sqlite3_column_text(stmt_, index);
    if (!p) return {};
    return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index))};
  }
  std::int64_t column_int64(int index) const override { return sqlite3_column_int64(stmt_, index); }
  std::string column_blob(int index) const override {
    const void* p = sqlite3_column_blob(stmt_, index);
    if (!p) return {};
    return {static_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index))};
  }

 private:
  void check_bind(int rc, int index) {
    if (rc != SQLITE_OK)
      throw_error(db_, rc, "bind parameter " + std::to_string(index) + " of " + describe(stmt_));
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::shared_ptr<SqliteDb::StatementCache> cache_;  // null: finalized when done
  std::string sql_;                                  // the cache's key
};

}  // namespace

// ---- SqliteDb ------------------------------------------------------------------------------

SqliteDb::SqliteDb(const std::string& path) : SqliteDb(path, Options{}) {}

SqliteDb::SqliteDb(const std::string& path, Options options)
    : path_(path), cache_(std::make_shared<StatementCache>()) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw StoreError("sqlite: cannot open " + path + ": " + msg);
  }
  try {
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, options.busy_timeout_ms);
    if (path != ":memory:" && !path.empty()) {
      Statement wal = prepare("PRAGMA journal_mode=WAL");
      std::string mode = wal.step() ? wal.column_text(0) : "";
      if (mode != "wal")
        throw StoreError("sqlite: " + path + ": cannot switch to WAL mode (journal_mode is \"" +
                         mode + "\"); is it on a network file system?");
    }
    exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
  } catch (...) {
    cache_->close();
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

SqliteDb::~SqliteDb() {
  if (cache_) cache_->close();
  // close_v2 defers the close until outstanding statements are finalized instead of failing.
  sqlite3_close_v2(db_);
}

SqliteDb::SqliteDb(SqliteDb&& other) noexcept
    : Db(std::move(other)),
      path_(std::move(other.path_)),
      db_(std::exchange(other.db_, nullptr)),
      cache_(std::move(other.cache_)) {}

SqliteDb& SqliteDb::operator=(SqliteDb&& other) noexcept {
  if (this != &other) {
    if (cache_) cache_->close();
    sqlite3_close_v2(db_);
    path_ = std::move(other.path_);
    db_ = std::exchange(other.db_, nullptr);
    cache_ = std::move(other.cache_);
  }
  return *this;
}

void SqliteDb::exec(std::string_view sql) {
  std::string text(sql);  // sqlite3_exec needs a NUL-terminated string
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    std::string head = text.size() > 100 ? text.substr(0, 100) + "..." : text;
    throw StoreError("sqlite: exec \"" + head + "\": " + msg, kind_of(sqlite3_extended_errcode(db_)));
  }
}

Statement SqliteDb::prepare(std::string_view sql) {
  if (sqlite3_stmt* cached = cache_->take(sql))
    return Statement(std::make_unique<SqliteStatement>(db_, cached, cache_, sql));
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  // PERSISTENT: the statement is meant to be kept (it goes back to the cache).
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
  if (rc != SQLITE_OK) throw_error(db_, rc, "prepare \"" + std::string(sql.substr(0, 100)) + "\"");
  if (!stmt) throw StoreError("sqlite: prepare: empty statement");
  std::size_t used = static_cast<std::size_t>(tail - sql.data());
  if (!is_blank(sql.substr(used))) {
    sqlite3_finalize(stmt);
    throw StoreError("sqlite: prepare: more than one statement in \"" +
                     std::string(sql.substr(0, 100)) + "\"; use exec() for scripts");
  }
  return Statement(std::make_unique<SqliteStatement>(db_, stmt, cache_, sql));
}

void SqliteDb::run_cached(std::string_view sql) {
  Statement s = prepare(sql);
  s.run();
}

std::int64_t SqliteDb::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

int SqliteDb::changes() const { return sqlite3_changes(db_); }

bool SqliteDb::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

// Through the statement cache: sqlite3_exec would compile them on every transaction.
void SqliteDb::begin(Transaction::Mode mode) {
  run_cached(mode == Transaction::Mode::immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
}

void SqliteDb::commit() { run_cached("COMMIT"); }

void SqliteDb::rollback() { run_cached("ROLLBACK"); }

}  // namespace pc::store
