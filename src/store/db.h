// A database connection as the SQL store sees it, whatever the backend (SqliteDb in
// store/sqlite_db.h, PgDb in store/pg_db.h): statements run with `?N` placeholders and typed
// binds, column reads, and transactions that roll back unless committed. Every failure throws
// StoreError with a backend-neutral kind.
//
// A Db is not thread-safe: one thread uses it at a time (SqlStore leases connections). Every call
// blocks on disk or network: use it from a WorkPool, never from an I/O thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "store/store_error.h"

namespace pc::store {

// What a backend implements behind a Statement.
class StatementImpl {
 public:
  virtual ~StatementImpl() = default;
  virtual void bind_text(int index, std::string_view value) = 0;
  // The value outlives the statement (Statement::bind_text_kept): a backend may skip its copy.
  virtual void bind_text_kept(int index, std::string_view value) { bind_text(index, value); }
  virtual void bind_int64(int index, std::int64_t value) = 0;
  virtual void bind_blob(int index, std::string_view bytes) = 0;
  virtual void bind_null(int index) = 0;
  virtual bool step() = 0;
  virtual void reset() = 0;
  virtual int column_count() const = 0;
  virtual bool column_is_null(int index) const = 0;
  virtual std::string column_text(int index) const = 0;
  virtual std::int64_t column_int64(int index) const = 0;
  virtual std::string column_blob(int index) const = 0;
};

class Statement {
 public:
  explicit Statement(std::unique_ptr<StatementImpl> impl);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQL (`?1`, `?2`, ...); an unbound one is NULL. Values are
  // copied, so the arguments need not outlive the call. Each returns *this for chaining. Text
  // must not contain NUL bytes (PostgreSQL refuses them): bytes go in as blobs.
  Statement& bind_text(int index, std::string_view value);
  Statement& bind_int64(int index, std::int64_t value);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_null(int index);
  // bind_text without the copy, for bulk writes whose values stay alive and unchanged until this
  // Statement is destroyed (its binds are cleared then). SQLite reads them in place; copying every
  // field of every row was a sixth of the audit writer's time.
  Statement& bind_text_kept(int index, std::string_view value);
  Statement& bind_optional(int index, const std::optional<std::string>& value) {
    return value ? bind_text(index, *value) : bind_null(index);
  }

  // Runs one step: true when a row is available, false when the statement is done. Stepping a
  // finished statement runs it again with the same binds.
  bool step();
  // Steps a statement that returns no rows (INSERT, UPDATE, DDL) to completion.
  void run();
  // Makes the statement runnable again with fresh binds (all NULL).
  void reset();

  // Columns are 0-based. A NULL reads as "" or 0.
  int column_count() const;
  bool column_is_null(int index) const;
  std::string column_text(int index) const;
  std::int64_t column_int64(int index) const;
  std::string column_blob(int index) const;

 private:
  std::unique_ptr<StatementImpl> impl_;
};

class Db;

// Rolls back on destruction unless commit() was called, so an exception anywhere in a unit of
// work leaves the database unchanged. On PostgreSQL a failed statement aborts the whole
// transaction (later statements and commit() fail), unlike SQLite: SQL meant for both backends
// must not catch an error and carry on inside a transaction (use ON CONFLICT instead).
//
// Begun on a connection already in a transaction (a store call made inside Store::audited's
// change), it is nested: it neither begins, commits nor rolls back; the outer one decides.
class Transaction {
 public:
  enum class Mode {
    deferred,   // SQLite: takes the write lock on the first write (read-only work)
    immediate,  // SQLite: takes the write lock at BEGIN: no lock-upgrade deadlock, for read-modify-write
  };  // PostgreSQL ignores the mode: it locks rows as they are written (see Db::lock_for_write)
  explicit Transaction(Db& db, Mode mode = Mode::immediate);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit();

 private:
  Db& db_;
  bool nested_;
  bool done_ = false;
};

class Db {
 public:
  enum class Dialect { sqlite, postgres };

  virtual ~Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  virtual Dialect dialect() const = 0;
  // Runs one or more statements that return nothing (DDL, SET, ...).
  virtual void exec(std::string_view sql) = 0;
  // Compiles one statement with `?N` placeholders (or only bare `?`s, numbered in order).
  virtual Statement prepare(std::string_view sql) = 0;
  // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  virtual int changes() const = 0;
  virtual bool in_transaction() const = 0;
  // What error messages call this database: the file, or the URL without its password.
  virtual const std::string& path() const = 0;

  // Call first thing inside a Transaction that reads a maximum and inserts the next value (tenant
  // revision, audit seq, secret version), so that such transactions run one at a time across
  // every process on the database. SQLite: nothing to do, an IMMEDIATE transaction holds the
  // database's write lock already. PostgreSQL: LOCK TABLE ... IN EXCLUSIVE MODE, which lets
  // plain reads through and is held until commit or rollback; taking it after writing to the
  // table could deadlock. Throws StoreError outside a transaction (on both backends, so the
  // mistake shows on SQLite too) or when `table` is not a plain lower-case identifier.
  void lock_for_write(std::string_view table);

 protected:
  Db() = default;
  Db(Db&&) = default;
  Db& operator=(Db&&) = default;

  virtual void lock_table(std::string_view table) = 0;
  virtual void begin(Transaction::Mode mode) = 0;
  virtual void commit() = 0;
  virtual void rollback() = 0;

 private:
  friend class Transaction;
};

}  // namespace pc::store
