// PostgreSQL behind the store's Db interface (store/db.h), over libpq. The SQL the store writes
// once for both backends runs here unchanged: `?N` placeholders become `$N`, values travel as
// text parameters (blobs as binary ones), bytea columns read back as raw bytes, and server errors
// map to StoreError kinds (23505 -> duplicate; serialisation failure, deadlock, lock timeout,
// cancelled statement, lost connection -> busy). libpq-fe.h stays out of this header.
//
// Parameters carry types the way SQLite's loose typing needs least: text and NULL go untyped
// (the server infers them from where they stand), integers as bigint (so `?1 + 1` stays 64-bit;
// a function that wants a 32-bit int needs CAST(?N AS INTEGER)), blobs as bytea.
//
// A PgDb is one server connection, used by one thread at a time (SqlStore pools them). Every
// call blocks on the network: use it from a WorkPool, never from an I/O thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/db.h"

struct pg_conn;
struct pg_result;

namespace pc::store {

class PgDb final : public Db {
 public:
  struct Options {
    // How long a statement waits for a lock (another transaction's lock_for_write, a row being
    // written) before failing with kind busy: the counterpart of SQLite's busy timeout.
    int lock_timeout_ms = 5000;
    int connect_timeout_s = 10;  // unless the URL sets connect_timeout
  };

  // `url` is a libpq connection URL (postgresql://user:password@host:port/dbname?...) or a
  // key=value connection string. Throws StoreError kind busy when the server cannot be reached;
  // the message never contains the password.
  explicit PgDb(const std::string& url);
  PgDb(const std::string& url, Options options);
  ~PgDb() override;
  PgDb(PgDb&&) = delete;
  PgDb& operator=(PgDb&&) = delete;

  Dialect dialect() const override { return Dialect::postgres; }
  // Runs one or more statements (simple query protocol); their results are discarded.
  void exec(std::string_view sql) override;
  Statement prepare(std::string_view sql) override;
  int changes() const override { return changes_; }
  bool in_transaction() const override;
  const std::string& path() const override { return name_; }

  // False once the connection to the server is lost: a pool drops it rather than reuse it.
  // Reads, without waiting, what the server sent while the connection sat idle, so a connection
  // the server closed meanwhile (restart, pg_terminate_backend, idle timeout) shows as lost
  // before a statement fails on it.
  bool usable();
  // The server process serving this connection (for tests that cut it off).
  int backend_pid() const;

 protected:
  void lock_table(std::string_view table) override;
  void begin(Transaction::Mode mode) override;
  void commit() override;
  void rollback() override;

 private:
  friend class PgStatement;
  // Checks a result of a statement described by `what` (throws StoreError on failure, freeing
  // it) and records changes() for INSERT/UPDATE/DELETE.
  void check(pg_result* result, std::string_view what);

  std::string name_;
  pg_conn* conn_ = nullptr;
  int changes_ = 0;
  bool server_closing_ = false;  // the server said FATAL: it is about to close the connection
};

// `sql` with every `?N` placeholder outside string literals, quoted identifiers and comments
// written as `$N`. `used[n - 1]` tells whether `?n` appears; `used.size()` is the highest N.
// Bare `?`s are numbered in order (as SQLite does); mixing them with `?N` throws. Does not know
// E'...' or dollar-quoted strings, which the store's shared SQL never uses.
struct PgSql {
  std::string text;
  std::vector<bool> used;
};
PgSql pg_placeholders(std::string_view sql);

// `url` without its password or query parameters (which may carry one), for messages.
std::string redact_pg_url(std::string_view url);

}  // namespace pc::store
