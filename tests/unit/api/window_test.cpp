// Query-string time windows (`?window=24h`) and time filters (`?since=2026-11-23`) of the admin
// API: what they accept, what they normalise to, and that junk is refused rather than guessed.
#include "api/window.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "core/clock.h"

namespace pc::api {
namespace {

// ---- parse_window

TEST(ParseWindow, MinutesHoursAndDays) {
  EXPECT_EQ(parse_window("1m"), 60);
  EXPECT_EQ(parse_window("15m"), 15 * 60);
  EXPECT_EQ(parse_window("1h"), 3600);
  EXPECT_EQ(parse_window("24h"), 24 * 3600);
  EXPECT_EQ(parse_window("1d"), 86400);
  EXPECT_EQ(parse_window("7d"), 7 * 86400);
}

TEST(ParseWindow, NinetyDaysIsTheLimitInEveryUnit) {
  constexpr std::int64_t kNinetyDays = 90LL * 86400;
  EXPECT_EQ(parse_window("90d"), kNinetyDays);
  EXPECT_EQ(parse_window("2160h"), kNinetyDays);
  EXPECT_EQ(parse_window("129600m"), kNinetyDays);
  EXPECT_FALSE(parse_window("91d"));
  EXPECT_FALSE(parse_window("2161h"));
  EXPECT_FALSE(parse_window("129601m"));
  EXPECT_FALSE(parse_window("365d"));
}

TEST(ParseWindow, ZeroAndNegativeAreRefused) {
  for (const char* w : {"0m", "0h", "0d", "00h", "-1h", "-90d", "-0m"}) EXPECT_FALSE(parse_window(w)) << w;
}

TEST(ParseWindow, JunkIsRefused) {
  for (const char* w : {"", "h", "d", "1", "24", "1s", "1w", "1y", "1H", "1D", "1.5h", "1,5h", " 1h", "1h ",
                        "+1h", "1 h", "abc", "h1", "1hh", "1hm", "0x10h", "1e2m", "24hours"})
    EXPECT_FALSE(parse_window(w)) << "'" << w << "' was accepted";
  // Too many digits to fit: refused, never wrapped around into a small window.
  EXPECT_FALSE(parse_window("99999999999999999999d"));
  EXPECT_FALSE(parse_window("9223372036854775807m"));
}

TEST(SinceSecondsAgo, IsThatFarInThePastInTheStoreFormat) {
  const std::string before = core::rfc3339(std::chrono::system_clock::now() - std::chrono::seconds(3601));
  const std::string since = since_seconds_ago(3600);
  const std::string after = core::rfc3339_now();
  // Store timestamps compare as text.
  EXPECT_LT(before, since);
  EXPECT_LT(since, after);
  ASSERT_EQ(since.size(), 24u) << since;
  EXPECT_EQ(since.back(), 'Z');
}

TEST(StartOfToday, IsMidnightUtcOfToday) {
  auto midnight = [] {
    const std::int64_t now = core::unix_now();
    return core::rfc3339_from_unix(now - now % 86400);
  };
  const std::string before = midnight();
  const std::string today = start_of_today();
  const std::string after = midnight();
  ASSERT_EQ(today.size(), 24u) << today;
  EXPECT_EQ(today.substr(10), "T00:00:00.000Z");
  // Today's date (either side of the call, should the test straddle midnight).
  EXPECT_TRUE(today == before || today == after) << today << " vs " << before;
  EXPECT_LE(today, core::rfc3339_now());
}

// ---- parse_time_filter

TEST(ParseTimeFilter, DateOnlyBecomesMidnight) {
  EXPECT_EQ(parse_time_filter("2026-11-23"), "2026-11-23T00:00:00.000Z");
  EXPECT_EQ(parse_time_filter("1999-01-01"), "1999-01-01T00:00:00.000Z");
}

TEST(ParseTimeFilter, SecondsWithZGetMilliseconds) {
  EXPECT_EQ(parse_time_filter("2026-11-23T10:00:00Z"), "2026-11-23T10:00:00.000Z");
  EXPECT_EQ(parse_time_filter("2026-11-23T23:59:59Z"), "2026-11-23T23:59:59.000Z");
}

TEST(ParseTimeFilter, MillisecondsAreKeptAsTheyAre) {
  EXPECT_EQ(parse_time_filter("2026-11-23T10:00:00.123Z"), "2026-11-23T10:00:00.123Z");
  EXPECT_EQ(parse_time_filter("2026-11-23T10:00:00.000Z"), "2026-11-23T10:00:00.000Z");
}

TEST(ParseTimeFilter, NormalisedValuesCompareLikeStoreTimestamps) {
  // What the filters are for: text comparison against stored "YYYY-MM-DDTHH:MM:SS.fffZ".
  const std::string stored = "2026-11-23T10:00:00.500Z";
  EXPECT_LT(*parse_time_filter("2026-11-23"), stored);
  EXPECT_LT(*parse_time_filter("2026-11-23T10:00:00Z"), stored);
  EXPECT_GT(*parse_time_filter("2026-11-23T10:00:01Z"), stored);
  EXPECT_GT(*parse_time_filter("2026-11-24"), stored);
}

// Issue 8 item 18: well-shaped but impossible dates and times are refused (→ 400), not compared as text.
TEST(ParseTimeFilter, ImpossibleDatesAndTimesAreRefused) {
  for (const char* t : {"2026-02-30", "2026-02-29", "9999-99-99", "2026-00-10", "2026-13-01", "2026-04-31",
                        "2026-11-00", "2026-11-23T24:00:00Z", "2026-11-23T10:60:00Z", "2026-11-23T10:00:60Z",
                        "2026-02-30T10:00:00.000Z"})
    EXPECT_FALSE(parse_time_filter(t).has_value()) << t;
  EXPECT_EQ(parse_time_filter("2028-02-29"), "2028-02-29T00:00:00.000Z");  // a leap day
  EXPECT_EQ(parse_time_filter("2026-12-31T23:59:59.999Z"), "2026-12-31T23:59:59.999Z");
}

TEST(ParseTimeFilter, MalformedIsRefused) {
  for (const char* t : {
           "",
           "2026",
           "2026-11",
           "2026-11-2",
           "26-11-23",
           "2026/11/23",
           "2026-11-23x",
           "2026-11-23 ",
           " 2026-11-23",
           "2026-1a-23",
           "2026-11-23T",
           "2026-11-23T10",
           "2026-11-23T10:00",
           "2026-11-23T10:00Z",
           "2026-11-23T10:00:00",        // no zone
           "2026-11-23T10:00:00+02:00",  // another zone: the store is UTC
           "2026-11-23T10:00:00+00:00",
           "2026-11-23 10:00:00Z",       // space for T
           "2026-11-23T10-00-00Z",
           "2026-11-23T1a:00:00Z",
           "2026-11-23T10:00:00.1Z",
           "2026-11-23T10:00:00.12Z",
           "2026-11-23T10:00:00.1234Z",
           "2026-11-23T10:00:00.abcZ",
           "2026-11-23T10:00:00.123",
           "2026-11-23T10:00:00.123Zjunk",
           "2026-11-23T10:00:00Zjunk",
           "2026-11-23T10:00:00ZZ",
           "2026-11-23T10:00:00' OR '1'='1",
           "yesterday",
       })
    EXPECT_FALSE(parse_time_filter(t)) << "'" << t << "' was accepted";
}

}  // namespace
}  // namespace pc::api
