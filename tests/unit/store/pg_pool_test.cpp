// The PostgreSQL Store's connection pool, seen from the server: how many connections it holds
// and how it gets over one the server cut.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "store/connection_source.h"
#include "store/pg_db.h"
#include "store/store.h"
#include "support/test_store.h"

namespace pc::store {
namespace {

using pc::testing::Backend;

class PgPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (pc::testing::pg_test_url().empty()) GTEST_SKIP() << "PORTCULLIS_TEST_PG_URL is not set";
    database = std::make_unique<pc::testing::TestDatabase>(Backend::postgres);
    admin = std::make_unique<PgDb>(pc::testing::pg_test_url());
  }

  // Server processes connected to the test database (the admin connection sits in the
  // maintenance database).
  std::int64_t connections() {
    Statement q = admin->prepare("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = ?1");
    q.bind_text(1, database->name());
    q.step();
    return q.column_int64(0);
  }
  void cut_every_connection() {
    Statement q = admin->prepare("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ?1");
    q.bind_text(1, database->name());
    q.run();
    for (int i = 0; i < 100 && connections() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  std::unique_ptr<pc::testing::TestDatabase> database;
  std::unique_ptr<PgDb> admin;
};

TEST_F(PgPoolTest, OpensConnectionsAsCallsNeedThemUpToItsSize) {
  auto store = database->open_store(/*pool_size=*/3);
  EXPECT_EQ(connections(), 1);  // the one that migrated, kept for the first call
  std::vector<std::thread> threads;
  std::atomic<int> failures = 0;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      for (int j = 0; j < 30; ++j)
        if (!store->ping()) ++failures;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  const std::int64_t open = connections();
  EXPECT_GE(open, 1);
  EXPECT_LE(open, 3);
  store.reset();
  for (int i = 0; i < 100 && connections() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(connections(), 0);  // closing the store closes its connections
}

TEST_F(PgPoolTest, ACutConnectionIsDroppedAndTheNextCallReconnects) {
  auto store = database->open_store(/*pool_size=*/1);
  TenantRecord t;
  t.tenant_id = "acme";
  t.display_name = "Acme";
  t.tier = "basic";
  store->insert_tenant(t);
  cut_every_connection();
  // The server closed the idle connection: the pool sees that when handing it out and opens a
  // new one, so the call does not fail.
  auto found = store->find_tenant("acme");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->display_name, "Acme");
  EXPECT_EQ(connections(), 1);
}

// ---- the pool by itself ------------------------------------------------------------------

TEST_F(PgPoolTest, AConnectionCutWhileLeasedFailsAsBusyAndIsNotReused) {
  PgPool pool(database->location(), 1, nullptr);
  auto& leased = static_cast<PgDb&>(pool.acquire());
  admin->prepare("SELECT pg_terminate_backend(CAST(?1 AS INTEGER))").bind_int64(1, leased.backend_pid()).run();
  try {
    leased.prepare("SELECT 1").step();
    ADD_FAILURE() << "a statement ran on a terminated connection";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::busy) << e.what();
  }
  pool.release(leased);
  EXPECT_EQ(pool.open_connections(), 0u);
  Db& fresh = pool.acquire();
  Statement q = fresh.prepare("SELECT 1");
  EXPECT_TRUE(q.step());
  pool.release(fresh);
  EXPECT_EQ(pool.open_connections(), 1u);
}

TEST_F(PgPoolTest, AConnectionLeftInATransactionIsClosedNotReused) {
  PgPool pool(database->location(), 2, nullptr);
  Db& c = pool.acquire();
  c.exec("BEGIN");
  pool.release(c);
  EXPECT_EQ(pool.open_connections(), 0u);
  Db& d = pool.acquire();
  EXPECT_FALSE(d.in_transaction());
  pool.release(d);
}

TEST_F(PgPoolTest, AcquireWaitsWhenEveryConnectionIsLeased) {
  PgPool pool(database->location(), 2, nullptr);
  Db& a = pool.acquire();
  Db& b = pool.acquire();
  std::atomic<bool> got = false;
  std::thread third([&] {
    Db& c = pool.acquire();
    got = true;
    pool.release(c);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(got.load());
  pool.release(a);
  third.join();
  EXPECT_TRUE(got.load());
  pool.release(b);
  EXPECT_EQ(pool.open_connections(), 2u);
}

}  // namespace
}  // namespace pc::store
