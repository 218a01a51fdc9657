// Time windows in query strings (`?window=24h`): <n>m, <n>h or <n>d, at most 90 days.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pc::api {

// Seconds, or nullopt when malformed or out of range.
std::optional<std::int64_t> parse_window(std::string_view text);
// RFC 3339 of now minus `seconds` (the store's time format, comparable as text).
std::string since_seconds_ago(std::int64_t seconds);
// RFC 3339 of the start of today (UTC).
std::string start_of_today();
// A time filter value: RFC 3339 as the store writes it ("2026-11-23T10:00:00.000Z") or a shorter
// prefix of it ("2026-11-23", "2026-11-23T10:00:00Z" is normalised); nullopt when malformed.
std::optional<std::string> parse_time_filter(std::string_view text);

}  // namespace pc::api
