// Where SqlStore gets a connection for the duration of one call. SQLite: the one connection
// behind a mutex (SQLite runs one writer at a time anyway, and one connection keeps its page
// cache warm). PostgreSQL: a small pool, so that calls from several WorkPool threads run on the
// server side by side. Private to the store layer.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "store/db.h"

namespace pc::store {

class SqliteDb;
class PgDb;

class ConnectionSource {
 public:
  virtual ~ConnectionSource() = default;
  // Blocks until a connection is free; throws StoreError when none can be opened.
  virtual Db& acquire() = 0;
  // Hands back what acquire() gave; the caller must not use it afterwards.
  virtual void release(Db& db) noexcept = 0;
};

// For a database file it also runs the WAL checkpoints on a connection and thread of their own
// (the main connection's automatic checkpoints are turned off): a checkpoint syncs the disk
// (tens of ms), and done by whichever commit crossed the WAL size limit it would hold the one
// connection — and every read queued behind it — for that long.
class SqliteConnection final : public ConnectionSource {
 public:
  explicit SqliteConnection(std::unique_ptr<SqliteDb> db);
  ~SqliteConnection() override;
  Db& acquire() override;
  void release(Db& db) noexcept override;

 private:
  void checkpoint_loop(std::unique_ptr<SqliteDb> checkpointer);

  std::mutex mu_;
  std::unique_ptr<SqliteDb> db_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread checkpointer_;
};

// Opens connections lazily, up to `max_size`, and keeps the idle ones (newest first). A
// connection that comes back unusable (the server or network dropped it) or still inside a
// transaction is closed rather than reused, and so is an idle one found closed by the server
// when handed out; a fresh one is opened in its place.
class PgPool final : public ConnectionSource {
 public:
  // `first` (already open and migrated) becomes the first idle connection.
  PgPool(std::string url, std::size_t max_size, std::unique_ptr<PgDb> first);
  ~PgPool() override;
  Db& acquire() override;
  void release(Db& db) noexcept override;

  std::size_t open_connections();  // leased and idle

 private:
  const std::string url_;
  const std::size_t max_size_;
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<PgDb>> idle_;
  std::size_t open_ = 0;
};

}  // namespace pc::store
