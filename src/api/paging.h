// List routes take ?limit=&cursor= and answer nextCursor (SPEC §5). The cursor is the sort key
// of the last item of the previous page, so pages stay stable while rows are added.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pc::api {

struct Page {
  std::size_t limit = 100;
  std::string cursor;  // "" = from the start
};

// The first value of a query parameter, percent-decoded; "" when absent or malformed.
std::string query_param(std::string_view query, std::string_view name);

// limit 1..1000 (default 100); nullopt when limit is present but not such a number.
std::optional<Page> page_of(std::string_view query);

}  // namespace pc::api
