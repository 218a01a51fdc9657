// Wall-clock time as JWT and OAuth count it: whole seconds since the Unix epoch.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace pc::core {

inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// RFC 3339 UTC with milliseconds, "2026-11-23T13:05:00.123Z": the store's timestamp format
// (fixed width, so timestamps compare correctly as text on every backend).
std::string rfc3339(std::chrono::system_clock::time_point t);
inline std::string rfc3339_now() { return rfc3339(std::chrono::system_clock::now()); }
// Whole seconds since the epoch as RFC 3339 (".000Z").
std::string rfc3339_from_unix(std::int64_t seconds);

}  // namespace pc::core
