// The rate limiter (tenancy/rate_limiter.h; its GCRA step: tests/unit/core/gcra_test.cpp), the
// concurrency cap and the quota meter on their own: limits that hold across threads, day
// rollover, and the meter's flush bookkeeping.
#include "tenancy/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "tenancy/concurrency.h"
#include "tenancy/quota_meter.h"

namespace pc::tenancy {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;

TEST(LocalRateLimiter, KeysAreIndependentAndTheLimitHoldsAcrossThreads) {
  LocalRateLimiter l;
  const Rate r{0.001, 1000};  // no refill during the test
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 500; ++i)
        if (l.take("acme", "", r, kSec).allowed) ++ok;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 1000) << "2,000 concurrent takes against a burst of 1,000";
  EXPECT_TRUE(l.take("acme", "alice", r, kSec).allowed) << "a principal key is its own budget";
  EXPECT_TRUE(l.take("globex", "", r, kSec).allowed);
}

TEST(LocalRateLimiter, SweepDropsFullBudgetsAndTheTableStaysBounded) {
  LocalRateLimiter l(64);
  for (int i = 0; i < 1000; ++i) l.take("t", "p" + std::to_string(i), {1000, 1}, kSec);
  EXPECT_LE(l.size(), 1000u);
  // Long after, every budget is full again: all of them go.
  l.sweep(100 * kSec);
  EXPECT_EQ(l.size(), 0u);
  // Past the bound, a shard sweeps itself before it grows.
  for (int i = 0; i < 1000; ++i) l.take("t", "q" + std::to_string(i), {1000, 1}, kSec + i * kSec);
  EXPECT_LT(l.size(), 200u);
}

TEST(Concurrency, CapHoldsAndSlotsComeBack) {
  ConcurrencyLimiter c;
  auto a = c.try_acquire("acme", 2), b = c.try_acquire("acme", 2);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(c.try_acquire("acme", 2));
  EXPECT_TRUE(c.try_acquire("globex", 2));
  EXPECT_EQ(c.in_flight("acme"), 2);
  a.release();
  EXPECT_EQ(c.in_flight("acme"), 1);
  { auto again = c.try_acquire("acme", 2); EXPECT_TRUE(again); }
  EXPECT_EQ(c.in_flight("acme"), 1);
  ConcurrencyLimiter::Slot moved = std::move(b);
  EXPECT_EQ(c.in_flight("acme"), 1);
  moved = ConcurrencyLimiter::Slot();
  EXPECT_EQ(c.in_flight("acme"), 0);
  EXPECT_TRUE(c.try_acquire("acme", 0)) << "0 = no cap";
}

TEST(QuotaMeter, RefusesPastTheLimitAndResetsWhenTheDayStarts) {
  QuotaMeter m(3600);  // days start at 01:00 UTC
  const std::int64_t t = 1'780'000'000;  // some instant
  const std::int64_t next_day = t + m.seconds_to_reset(t);
  EXPECT_EQ((next_day - 3600) % 86400, 0);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(m.consume("acme", Meter::invocations, 3, 1, t).allowed);
  auto d = m.consume("acme", Meter::invocations, 3, 1, t);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.used, 3u);
  EXPECT_EQ(d.reset_seconds, next_day - t);
  EXPECT_TRUE(m.consume("acme", Meter::tool_calls, 3, 2, t).allowed) << "tool calls have their own count";
  EXPECT_FALSE(m.consume("acme", Meter::invocations, 3, 1, next_day - 1).allowed);
  EXPECT_TRUE(m.consume("acme", Meter::invocations, 3, 1, next_day).allowed);
  EXPECT_EQ(m.usage("acme", next_day).invocations, 1u);
  EXPECT_TRUE(m.consume("acme", Meter::invocations, 0, 1000, next_day).allowed) << "0 = unlimited";
}

TEST(QuotaMeter, PendingCountsAreAbsoluteUntilWrittenAndCarriedPastTheDay) {
  QuotaMeter m;
  const std::int64_t t = 1'780'000'000;
  m.consume("acme", Meter::invocations, 0, 2, t);
  m.consume("acme", Meter::tool_calls, 0, 1, t);
  auto p = m.take_pending();
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].counts.invocations, 2u);
  EXPECT_EQ(p[0].counts.tool_calls, 1u);
  EXPECT_EQ(p[0].day, m.day_label(m.day_of(t)));
  // The write failed (or its outcome is unknown): the same absolute counts go out again, plus
  // what was counted since; a repeat of a write that did commit cannot count twice.
  m.unwritten(p);
  m.consume("acme", Meter::invocations, 0, 1, t);
  auto again = m.take_pending();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].counts.invocations, 3u);
  m.wrote(again);
  EXPECT_TRUE(m.take_pending().empty()) << "nothing new since the last write";
  // Counted late on one day, the next day starts before the flush: the count keeps its day, and
  // survives a failed write of it.
  m.consume("acme", Meter::invocations, 0, 1, t);
  m.consume("acme", Meter::invocations, 0, 1, t + 86400);
  auto both = m.take_pending();
  ASSERT_EQ(both.size(), 2u);
  EXPECT_NE(both[0].day, both[1].day);
  m.unwritten(both);
  auto still = m.take_pending();
  ASSERT_EQ(still.size(), 2u);
  for (const auto& u : still)
    EXPECT_EQ(u.counts.invocations, u.day == m.day_label(m.day_of(t)) ? 4u : 1u) << u.day;
  m.wrote(still);
  EXPECT_TRUE(m.take_pending().empty());
}

TEST(QuotaMeter, TotalsFromOtherNodesAddToWhatThisNodeCountedSince) {
  QuotaMeter m;
  const std::int64_t t = 1'780'000'000;
  const auto day = m.day_of(t);
  m.consume("acme", Meter::invocations, 10, 2, t);
  m.wrote(m.take_pending());                        // written: our row says 2 (+ 5 in another node's)
  m.consume("acme", Meter::invocations, 10, 1, t);  // counted while the flush ran
  m.apply_totals(day, {{"acme", m.day_label(day), {7, 0}}});
  EXPECT_EQ(m.usage("acme", t).invocations, 8u);
  EXPECT_TRUE(m.consume("acme", Meter::invocations, 10, 2, t).allowed);
  EXPECT_FALSE(m.consume("acme", Meter::invocations, 10, 1, t).allowed) << "the cluster's total counts";
}

}  // namespace
}  // namespace pc::tenancy
