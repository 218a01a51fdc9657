#include "core/clock.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>

namespace pc::core {

namespace {

std::string format_slow(std::time_t secs, int millis) {
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

// Every proxied call stamps two times (its audit event and its invocation record); gmtime_r and
// snprintf for each showed as 8 % of the I/O thread's instructions. The text up to the seconds
// is kept per thread and reused within the same second; only the milliseconds are written.
std::string format(std::time_t secs, int millis) {
  struct Cached {
    std::time_t secs = -1;
    char head[24] = {};  // "YYYY-MM-DDTHH:MM:SS."
    bool usable = false;
  };
  thread_local Cached c;
  if (secs != c.secs) {
    std::string full = format_slow(secs, 0);
    // Only the common shape (a four-digit year) is cached: 24 characters, "." at 19.
    c.usable = full.size() == 24 && full[19] == '.';
    if (c.usable) full.copy(c.head, 20);
    c.secs = secs;
  }
  if (!c.usable || millis < 0 || millis > 999) return format_slow(secs, millis);
  std::string out(24, 'Z');
  std::copy(c.head, c.head + 20, out.begin());
  out[20] = static_cast<char>('0' + millis / 100);
  out[21] = static_cast<char>('0' + millis / 10 % 10);
  out[22] = static_cast<char>('0' + millis % 10);
  return out;
}

}  // namespace

std::string rfc3339(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {  // before 1970: floor, not truncate
    millis += 1000;
    --secs;
  }
  return format(secs, millis);
}

// Formatted from the seconds directly: a system_clock time_point counts nanoseconds, which
// overflow after 2262 (a purged tenant's purge_after, 9999-12-31, came out as 1816).
std::string rfc3339_from_unix(std::int64_t seconds) { return format(static_cast<std::time_t>(seconds), 0); }

}  // namespace pc::core
