// GCRA (core/gcra.h) on its own: exact counts for a burst, exact waits, refusals that do not
// spend budget, and rates and bursts at the ends of their ranges.
#include "core/gcra.h"

#include <gtest/gtest.h>

namespace pc::core {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;

TEST(Gcra, BurstOf100Then50RefusedAtOnce) {
  std::int64_t tat = 0;
  const Rate r{10, 100};
  int ok = 0, refused = 0;
  for (int i = 0; i < 150; ++i) (gcra(tat, r, 5 * kSec).allowed ? ok : refused)++;
  EXPECT_EQ(ok, 100);
  EXPECT_EQ(refused, 50);
}

TEST(Gcra, RefusalsDoNotSpendAndRetryAfterIsExact) {
  std::int64_t tat = 0;
  const Rate r{2, 3};  // one call every 500 ms
  const std::int64_t t0 = 100 * kSec;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(gcra(tat, r, t0).allowed);
  const auto before = tat;
  auto d = gcra(tat, r, t0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(tat, before) << "a refusal must not move the TAT";
  EXPECT_EQ(d.retry_after_ns, kSec / 2);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_FALSE(gcra(tat, r, t0 + d.retry_after_ns - 1).allowed);
  EXPECT_TRUE(gcra(tat, r, t0 + d.retry_after_ns).allowed);
}

TEST(Gcra, RemainingCountsDownAndRefillsAtTheRate) {
  std::int64_t tat = 0;
  const Rate r{1, 5};
  EXPECT_EQ(gcra(tat, r, 10 * kSec).remaining, 4u);
  EXPECT_EQ(gcra(tat, r, 10 * kSec).remaining, 3u);
  EXPECT_EQ(gcra(tat, r, 12 * kSec).remaining, 4u);  // two seconds gave two back
}

TEST(Gcra, HugeBurstsAndTinyRatesDoNotOverflow) {
  std::int64_t tat = 0;
  EXPECT_TRUE(gcra(tat, {0.000001, std::uint64_t{1} << 53}, kSec).allowed);
  std::int64_t t2 = 0;
  EXPECT_TRUE(gcra(t2, {1e6, 1}, kSec).allowed);
}

TEST(Gcra, ABurstPastInt64IsCutNotSaturatedIntoAllowingEverything) {
  // 0.0001/s (T = 10^13 ns) with a burst of 10^6: b·T = 10^19 ns passes int64. The tolerance is
  // cut to a quarter of int64's range, ~230,584 calls at once; after those, refusals with a
  // finite wait (a TAT clamped at int64's maximum would have let every call through).
  std::int64_t tat = 0;
  const Rate r{0.0001, 1'000'000};
  int ok = 0;
  while (ok < 1'000'000 && gcra(tat, r, kSec).allowed) ++ok;
  EXPECT_EQ(ok, 230'584);
  auto d = gcra(tat, r, kSec);
  EXPECT_FALSE(d.allowed);
  EXPECT_GT(d.retry_after_ns, 0);
  EXPECT_LE(d.retry_after_ns, 10'000'000'000'000);  // one emission interval at most
}

}  // namespace
}  // namespace pc::core
