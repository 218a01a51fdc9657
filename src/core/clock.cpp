#include "core/clock.h"

#include <ctime>
#include <cstdio>

namespace pc::core {

namespace {

std::string format(std::time_t secs, int millis) {
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
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
