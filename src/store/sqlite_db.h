// SQLite behind the store's Db interface (store/db.h): a thin RAII layer over the C API. Every
// failure throws StoreError carrying SQLite's own message. sqlite3.h stays out of this header so
// that including the store does not drag the C API into every translation unit.
//
// A SqliteDb is not thread-safe (it is opened with SQLITE_OPEN_NOMUTEX): the owner serialises
// access (SqlStore holds a mutex). Every call blocks on disk: use it from a WorkPool, never from
// an I/O thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "store/db.h"
#include "store/store_error.h"

struct sqlite3;

namespace pc::store {

class SqliteDb final : public Db {
 public:
  struct Options {
    int busy_timeout_ms = 5000;  // how long a writer waits for another process's write lock
  };

  // Opens (creating if needed) and sets WAL, synchronous=NORMAL, foreign_keys=ON and the busy
  // timeout. WAL lets readers proceed during a write; NORMAL is durable across application
  // crashes and loses at most the last commits on power loss, the usual trade-off with WAL.
  // ":memory:" opens a private in-memory database (no WAL there).
  explicit SqliteDb(const std::string& path);
  SqliteDb(const std::string& path, Options options);
  ~SqliteDb() override;
  SqliteDb(SqliteDb&& other) noexcept;
  SqliteDb& operator=(SqliteDb&& other) noexcept;

  Dialect dialect() const override { return Dialect::sqlite; }
  // Runs one or more statements that return nothing (DDL, PRAGMA, ...).
  void exec(std::string_view sql) override;
  // Compiles one statement; trailing SQL after the first statement is an error. Compiled
  // statements are cached per connection: preparing the same SQL text again after the first
  // Statement was destroyed reuses it (reset, binds cleared) instead of compiling it again.
  // Destroying a Statement touches the connection's cache, so it must happen while the
  // connection is still the caller's: declare the store's lease (`auto c = conn();`) before the
  // statements, never `conn()->prepare(...)` into a Statement that outlives the expression.
  Statement prepare(std::string_view sql) override;

  std::int64_t last_insert_rowid() const;
  int changes() const override;
  bool in_transaction() const override;
  const std::string& path() const override { return path_; }

 protected:
  void lock_table(std::string_view) override {}  // BEGIN IMMEDIATE took the database's write lock
  void begin(Transaction::Mode mode) override;
  void commit() override;
  void rollback() override;

 public:
  struct StatementCache;  // sqlite_db.cpp

 private:
  void run_cached(std::string_view sql);

  std::string path_;
  sqlite3* db_ = nullptr;
  std::shared_ptr<StatementCache> cache_;  // shared with the statements out on loan
};

}  // namespace pc::store
