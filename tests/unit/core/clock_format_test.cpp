// core::rfc3339 keeps the fixed-width text the store compares as strings, with the per-thread
// cache of the seconds' text (clock.cpp): same answers as formatting from scratch, whatever the
// order of the times asked for.
#include "core/clock.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <random>
#include <string>

namespace pc::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

std::string reference(std::int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::string at(std::int64_t ms) { return rfc3339(system_clock::time_point(milliseconds(ms))); }

TEST(ClockFormat, KnownTimes) {
  EXPECT_EQ(at(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(at(7), "1970-01-01T00:00:00.007Z");
  EXPECT_EQ(at(999), "1970-01-01T00:00:00.999Z");
  EXPECT_EQ(at(1000), "1970-01-01T00:00:01.000Z");
  EXPECT_EQ(at(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(at(1795438500123), "2026-11-23T12:55:00.123Z");
  EXPECT_EQ(rfc3339_from_unix(253402300799), "9999-12-31T23:59:59.000Z");
}

TEST(ClockFormat, SameAsFormattingFromScratchInAnyOrder) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::int64_t> any(-1000LL * 86400 * 365, 1000LL * 86400 * 365 * 60);
  std::int64_t base = 1795438500000;
  for (int i = 0; i < 20000; ++i) {
    // Mostly neighbouring times (the cache's case: same second, next second), some far away.
    std::int64_t ms = i % 7 == 0 ? any(rng) : base + static_cast<std::int64_t>(rng() % 3000);
    if (i % 100 == 0) base += 1000;
    ASSERT_EQ(at(ms), reference(ms)) << ms;
  }
}

TEST(ClockFormat, NowIsFixedWidth) {
  const std::string now = rfc3339_now();
  EXPECT_EQ(now.size(), 24u);
  EXPECT_EQ(now[10], 'T');
  EXPECT_EQ(now.back(), 'Z');
}

}  // namespace
}  // namespace pc::core
