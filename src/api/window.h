// Time filters of the admin API's query strings: windows (`?window=24h`: <n>m, <n>h or <n>d, at
// most 90 days), RFC 3339 bounds, and the invocation listings' filters.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "net/http.h"
#include "store/records.h"

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

// ?agent=&since=&limit=&cursor= of the invocation listings → a query asking for one row more than
// the page (to know whether there is a next page), or the 400 answer.
std::variant<store::InvocationQuery, net::Response> invocation_query(const net::Request& req);

// One page of invocation metadata from rows fetched with invocation_query (limit + 1 of them).
net::Response invocation_page(const std::vector<store::InvocationRecord>& rows, std::size_t limit);

}  // namespace pc::api
