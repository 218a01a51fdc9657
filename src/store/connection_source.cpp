#include "store/connection_source.h"

#include <chrono>

#include "core/thread_priority.h"
#include "store/pg_db.h"
#include "store/sqlite_db.h"

namespace pc::store {

// ---- SqliteConnection --------------------------------------------------------------------

namespace {
// Short, so that each checkpoint copies little: the checkpointer shares the I/O thread's core, and
// once the scheduler runs it, it keeps the core until it is done or the next tick (4 ms here). At
// 200 ms a checkpoint under load copied ~200 ms of audit WAL in one such turn, and the requests
// that arrived meanwhile made the GET /v1/agents p99 (3.1-3.9 ms); at 50 ms that p99 is 2.7-3.1 ms
// at the same req/s (bench/README.md). Idle, a check of an empty WAL costs microseconds.
constexpr auto kCheckpointInterval = std::chrono::milliseconds(50);
}

SqliteConnection::SqliteConnection(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {
  if (db_->path() == ":memory:" || db_->path().empty()) return;  // no WAL there
  auto checkpointer = std::make_unique<SqliteDb>(db_->path());
  db_->exec("PRAGMA wal_autocheckpoint=0");
  checkpointer_ = std::thread([this, c = std::move(checkpointer)]() mutable { checkpoint_loop(std::move(c)); });
}

SqliteConnection::~SqliteConnection() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (checkpointer_.joinable()) checkpointer_.join();
}

void SqliteConnection::checkpoint_loop(std::unique_ptr<SqliteDb> c) {
  // Deferrable: below the I/O threads and the writers (core/thread_priority.h).
  core::name_this_thread("sqlite-ckpt");
  core::lower_this_thread_priority(core::kMaintenanceNice);
  std::unique_lock lock(stop_mu_);
  for (;;) {
    const bool stop = stop_cv_.wait_for(lock, kCheckpointInterval, [this] { return stopping_; });
    lock.unlock();
    try {
      // PASSIVE: copies what it can without waiting for readers or writers; the next writer
      // restarts the WAL from the beginning once everything was copied.
      c->exec(stop ? "PRAGMA wal_checkpoint(TRUNCATE)" : "PRAGMA wal_checkpoint(PASSIVE)");
    } catch (const std::exception&) {
      // A busy or failed checkpoint is retried at the next tick; the WAL only grows meanwhile.
    }
    if (stop) return;
    lock.lock();
  }
}

Db& SqliteConnection::acquire() {
  mu_.lock();
  return *db_;
}

void SqliteConnection::release(Db&) noexcept { mu_.unlock(); }

// ---- PgPool ------------------------------------------------------------------------------

PgPool::PgPool(std::string url, std::size_t max_size, std::unique_ptr<PgDb> first)
    : url_(std::move(url)), max_size_(max_size < 1 ? 1 : max_size) {
  idle_.reserve(max_size_);  // so that release(), which must not throw, never allocates
  if (first) {
    idle_.push_back(std::move(first));
    open_ = 1;
  }
}

PgPool::~PgPool() = default;

Db& PgPool::acquire() {
  std::unique_lock lock(mu_);
  for (;;) {
    freed_.wait(lock, [&] { return !idle_.empty() || open_ < max_size_; });
    if (idle_.empty()) break;
    std::unique_ptr<PgDb> db = std::move(idle_.back());
    idle_.pop_back();
    if (db->usable()) return *db.release();
    --open_;  // the server closed it while idle: open a fresh one instead of failing a call
  }
  ++open_;  // reserve the slot, then connect without holding the lock
  lock.unlock();
  try {
    return *new PgDb(url_);
  } catch (...) {
    lock.lock();
    --open_;
    freed_.notify_one();
    throw;
  }
}

void PgPool::release(Db& db) noexcept {
  std::unique_ptr<PgDb> owned(static_cast<PgDb*>(&db));
  const bool reusable = owned->usable() && !owned->in_transaction();
  if (!reusable) owned.reset();  // closed outside the lock: PQfinish may wait on the network
  std::lock_guard lock(mu_);
  if (owned)
    idle_.push_back(std::move(owned));
  else
    --open_;
  freed_.notify_one();
}

std::size_t PgPool::open_connections() {
  std::lock_guard lock(mu_);
  return open_;
}

}  // namespace pc::store
