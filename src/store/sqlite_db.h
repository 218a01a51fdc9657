// A thin RAII layer over the SQLite C API: a connection, prepared statements with typed binds
// and column reads, and transactions that roll back unless committed. Every failure throws
// StoreError carrying SQLite's own message. sqlite3.h stays out of this header so that including
// the store does not drag the C API into every translation unit.
//
// A SqliteDb is not thread-safe (it is opened with SQLITE_OPEN_NOMUTEX): the owner serialises
// access (Store holds a mutex). Every call blocks on disk: use it from a WorkPool, never from an
// I/O thread.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace pc::store {

// The error type of the whole store layer, whatever the backend. `kind` is backend-neutral so
// that services can map it (duplicate -> 409, busy -> 503) without knowing SQLite's codes.
class StoreError : public std::runtime_error {
 public:
  enum class Kind { other, duplicate, busy };
  explicit StoreError(const std::string& message, Kind kind = Kind::other)
      : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

class SqliteDb;

class Statement {
 public:
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQL (`?1`, `?2`, ...). Text and blobs are copied by SQLite,
  // so the arguments need not outlive the call. Each returns *this for chaining.
  Statement& bind_text(int index, std::string_view value);
  Statement& bind_int64(int index, std::int64_t value);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_null(int index);
  Statement& bind_optional(int index, const std::optional<std::string>& value) {
    return value ? bind_text(index, *value) : bind_null(index);
  }

  // Runs one step: true when a row is available, false when the statement is done.
  bool step();
  // Steps a statement that returns no rows (INSERT, UPDATE, DDL) to completion.
  void run();
  // Makes the statement runnable again with fresh binds.
  void reset();

  // Columns are 0-based, as in the SQLite API. A NULL reads as "" or 0.
  int column_count() const;
  bool column_is_null(int index) const;
  std::string column_text(int index) const;
  std::int64_t column_int64(int index) const;
  std::string column_blob(int index) const;

 private:
  friend class SqliteDb;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  void check_bind(int rc, int index);

  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class SqliteDb {
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
  ~SqliteDb();
  SqliteDb(SqliteDb&& other) noexcept;
  SqliteDb& operator=(SqliteDb&& other) noexcept;
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements that return nothing (DDL, PRAGMA, BEGIN/COMMIT).
  void exec(std::string_view sql);
  // Compiles one statement; trailing SQL after the first statement is an error.
  Statement prepare(std::string_view sql);

  std::int64_t last_insert_rowid() const;
  int changes() const;  // rows changed by the last INSERT/UPDATE/DELETE
  bool in_transaction() const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

// Rolls back on destruction unless commit() was called, so an exception anywhere in a unit of
// work leaves the database unchanged.
class Transaction {
 public:
  enum class Mode {
    deferred,   // takes the write lock on the first write (read-only work)
    immediate,  // takes the write lock at BEGIN: no lock-upgrade deadlock, for read-modify-write
  };
  explicit Transaction(SqliteDb& db, Mode mode = Mode::immediate);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit();

 private:
  SqliteDb& db_;
  bool done_ = false;
};

}  // namespace pc::store
