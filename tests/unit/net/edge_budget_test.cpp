// Per-address budgets (net/edge_budget.h): exact GCRA counts, Retry-After, a bounded table under
// an address spray, connection counts.
#include "net/edge_budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace pc::net {
namespace {

using namespace std::chrono_literals;
using Clock = IpRateTable::Clock;

TEST(IpRateTable, BurstPassesThenExactlyOnePerInterval) {
  IpRateTable t(1024);
  const auto t0 = Clock::now();
  int ok = 0;
  for (int i = 0; i < 150; ++i) ok += t.take("1.2.3.4", 10, 100, t0).allowed;
  EXPECT_EQ(ok, 100);
  auto d = t.take("1.2.3.4", 10, 100, t0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 100ms);  // one emission interval at 10/s
  EXPECT_FALSE(t.take("1.2.3.4", 10, 100, t0 + 99ms).allowed);
  EXPECT_TRUE(t.take("1.2.3.4", 10, 100, t0 + 100ms).allowed);
  EXPECT_FALSE(t.take("1.2.3.4", 10, 100, t0 + 100ms).allowed);
  // After a whole second, ten more.
  ok = 0;
  for (int i = 0; i < 20; ++i) ok += t.take("1.2.3.4", 10, 100, t0 + 1100ms).allowed;
  EXPECT_EQ(ok, 10);
  // Another address has its own budget.
  EXPECT_TRUE(t.take("5.6.7.8", 10, 100, t0).allowed);
}

// review12 L3: b·T overflowed int64 (1e13 ns × 1e6 = 1e19) and the budget refused everything.
// Now the backlog is cut to a quarter of int64 ns (~73 years): 230,584 intervals of 1e4 s.
TEST(IpRateTable, TinyRateWithLargeBurstDoesNotOverflow) {
  IpRateTable t(64);
  const auto t0 = Clock::now();
  int ok = 0;
  for (int i = 0; i < 1'000'000; ++i) ok += t.take("1.2.3.4", 0.0001, 1'000'000, t0).allowed;
  EXPECT_EQ(ok, 230'584);
  auto d = t.take("1.2.3.4", 0.0001, 1'000'000, t0);
  EXPECT_FALSE(d.allowed);
  EXPECT_GT(d.retry_after, 0ms);
  EXPECT_LE(d.retry_after, 10'000'000ms);  // at most one emission interval at 0.0001/s
  EXPECT_TRUE(t.take("1.2.3.4", 0.0001, 1'000'000, t0 + 10'000s).allowed);
  // A rate so small that 1e9/rps is past int64: one call, then a (clamped, positive) wait.
  EXPECT_TRUE(t.take("5.6.7.8", 1e-15, 1, t0).allowed);
  d = t.take("5.6.7.8", 1e-15, 1, t0);
  EXPECT_FALSE(d.allowed);
  EXPECT_GT(d.retry_after, 24h * 365);
}

TEST(IpRateTable, ZeroRateIsOffAndBurstDefaultsToRate) {
  IpRateTable t(64);
  const auto t0 = Clock::now();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(t.take("a", 0, 0, t0).allowed);
  EXPECT_EQ(t.size(), 0u);
  int ok = 0;
  for (int i = 0; i < 10; ++i) ok += t.take("b", 3, 0, t0).allowed;
  EXPECT_EQ(ok, 3);
}

TEST(IpRateTable, SprayOfAddressesStaysWithinCapacityAndKeepsTheActiveOne) {
  IpRateTable t(1024);
  const auto t0 = Clock::now();
  // The abuser spends its burst, then 100,000 other addresses arrive one request each, while it
  // keeps asking every 64 of them: it stays recently seen, so it is never forgotten.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(t.take("6.6.6.6", 1, 5, t0).allowed);
  int abuser_ok = 0;
  for (int i = 0; i < 100000; ++i) {
    const std::string ip = "10." + std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255);
    t.take(ip, 1, 5, t0);
    if (i % 64 == 0) abuser_ok += t.take("6.6.6.6", 1, 5, t0).allowed;
  }
  EXPECT_LE(t.size(), 1024u);
  EXPECT_GE(t.evictions(), 100000u - 1024u);
  EXPECT_EQ(abuser_ok, 0);
}

TEST(IpRateTable, ThreadsShareOneBudget) {
  IpRateTable t(1024);
  const auto t0 = Clock::now();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) ok += t.take("9.9.9.9", 1, 500, t0).allowed;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 500);
}

TEST(IpConnectionTable, CapsPerAddressAndForgetsClosedOnes) {
  IpConnectionTable t;
  EXPECT_TRUE(t.try_open("1.1.1.1", 2));
  EXPECT_TRUE(t.try_open("1.1.1.1", 2));
  EXPECT_FALSE(t.try_open("1.1.1.1", 2));
  EXPECT_TRUE(t.try_open("2.2.2.2", 2));
  EXPECT_EQ(t.open_for("1.1.1.1"), 2u);
  t.close("1.1.1.1");
  EXPECT_TRUE(t.try_open("1.1.1.1", 2));
  t.close("1.1.1.1");
  t.close("1.1.1.1");
  t.close("2.2.2.2");
  EXPECT_EQ(t.size(), 0u);  // nothing kept for addresses without connections
  EXPECT_FALSE(t.try_open("3.3.3.3", 0));
  EXPECT_EQ(t.size(), 0u);
}

}  // namespace
}  // namespace pc::net
