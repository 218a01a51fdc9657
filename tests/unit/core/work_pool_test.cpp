#include "core/work_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <thread>

namespace pc::core {
namespace {

// Holds every worker inside a job until released, so tests can fill the queue deterministically.
// Jobs share the gate's state by value, so they stay valid whichever of gate and pool goes first.
struct Gate {
  std::promise<void> open;
  std::shared_future<void> opened = open.get_future().share();
  std::shared_ptr<std::atomic<int>> entered = std::make_shared<std::atomic<int>>(0);
  std::function<void()> job() {
    return [opened = opened, entered = entered] {
      ++*entered;
      opened.wait();
    };
  }
  void wait_entered(int n) {
    while (entered->load() < n) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
};

TEST(WorkPool, RunsSubmittedJobs) {
  WorkPool pool("test", 2, 100);
  std::atomic<int> done{0};
  std::promise<void> all;
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(pool.try_submit([&] {
      if (++done == 50) all.set_value();
    }));
  ASSERT_EQ(all.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(done.load(), 50);
}

TEST(WorkPool, RefusesWhenQueueIsFull) {
  WorkPool pool("test", 1, 2);
  Gate gate;
  ASSERT_TRUE(pool.try_submit(gate.job()));
  gate.wait_entered(1);  // the only worker is busy; now the queue alone limits
  EXPECT_TRUE(pool.try_submit([] {}));
  EXPECT_TRUE(pool.try_submit([] {}));
  EXPECT_EQ(pool.queued(), 2u);
  EXPECT_FALSE(pool.try_submit([] {}));  // back-pressure, not blocking
  gate.open.set_value();
}

TEST(WorkPool, StopDrainsQueuedJobsThenRefuses) {
  std::atomic<int> done{0};
  WorkPool pool("test", 1, 10);
  Gate gate;  // declared after the pool: if an assertion fails, the broken promise frees the worker
  ASSERT_TRUE(pool.try_submit(gate.job()));
  gate.wait_entered(1);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(pool.try_submit([&] { ++done; }));
  std::thread stopper([&] { pool.stop(); });
  // stop() must wait for the blocked job and the five queued behind it.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(done.load(), 0);
  gate.open.set_value();
  stopper.join();
  EXPECT_EQ(done.load(), 5);
  EXPECT_EQ(pool.queued(), 0u);
  EXPECT_FALSE(pool.try_submit([] {}));
  pool.stop();  // idempotent
}

TEST(WorkPool, DestructorDrains) {
  std::atomic<int> done{0};
  {
    WorkPool pool("test", 2, 100);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(pool.try_submit([&] { ++done; }));
  }
  EXPECT_EQ(done.load(), 20);
}

TEST(WorkPool, ThrowingJobDoesNotKillTheWorker) {
  WorkPool pool("test", 1, 10);
  ASSERT_TRUE(pool.try_submit([] { throw std::runtime_error("boom"); }));
  std::promise<void> ran;
  ASSERT_TRUE(pool.try_submit([&] { ran.set_value(); }));
  EXPECT_EQ(ran.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

TEST(WorkPool, RunsJobsInParallel) {
  WorkPool pool("test", 3, 10);
  Gate gate;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pool.try_submit(gate.job()));
  gate.wait_entered(3);  // would hang if the pool ran one job at a time
  EXPECT_EQ(pool.queued(), 0u);
  gate.open.set_value();
}

TEST(WorkPool, ZeroThreadsIsRejected) {
  EXPECT_THROW(WorkPool("test", 0, 10), std::invalid_argument);
}

}  // namespace
}  // namespace pc::core
