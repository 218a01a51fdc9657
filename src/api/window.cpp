#include "api/window.h"

#include <cctype>
#include <charconv>
#include <chrono>

#include "api/paging.h"
#include "api/render.h"
#include "core/clock.h"

#include <boost/json.hpp>

namespace pc::api {

std::optional<std::int64_t> parse_window(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  const char unit = text.back();
  std::string_view digits = text.substr(0, text.size() - 1);
  std::int64_t n = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || n <= 0) return std::nullopt;
  const std::int64_t unit_seconds = unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 0;
  if (unit_seconds == 0 || n > 90 * 86400 / unit_seconds) return std::nullopt;
  return n * unit_seconds;
}

std::string since_seconds_ago(std::int64_t seconds) {
  return core::rfc3339(std::chrono::system_clock::now() - std::chrono::seconds(seconds));
}

std::string start_of_today() {
  const std::int64_t now = core::unix_now();
  return core::rfc3339_from_unix(now - now % 86400);
}

std::optional<std::string> parse_time_filter(std::string_view t) {
  // The shapes: YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SS with optional .fff, ending in Z.
  auto digits = [&](std::size_t from, std::size_t n) {
    for (std::size_t i = from; i < from + n; ++i)
      if (i >= t.size() || !std::isdigit(static_cast<unsigned char>(t[i]))) return false;
    return true;
  };
  auto number = [&](std::size_t from, std::size_t n) {
    int v = 0;
    for (std::size_t i = from; i < from + n; ++i) v = v * 10 + (t[i] - '0');
    return v;
  };
  const bool date = t.size() >= 10 && digits(0, 4) && t[4] == '-' && digits(5, 2) && t[7] == '-' && digits(8, 2);
  if (!date) return std::nullopt;
  // A real calendar day (2026-02-30 and 9999-99-99 are not): compared as text against stored
  // times they would silently select nothing or everything.
  const std::chrono::year_month_day ymd{std::chrono::year{number(0, 4)},
                                        std::chrono::month{static_cast<unsigned>(number(5, 2))},
                                        std::chrono::day{static_cast<unsigned>(number(8, 2))}};
  if (!ymd.ok()) return std::nullopt;
  if (t.size() == 10) return std::string(t) + "T00:00:00.000Z";
  if (t.size() < 20 || t[10] != 'T' || !digits(11, 2) || t[13] != ':' || !digits(14, 2) || t[16] != ':' || !digits(17, 2))
    return std::nullopt;
  if (number(11, 2) > 23 || number(14, 2) > 59 || number(17, 2) > 59) return std::nullopt;
  std::string out(t.substr(0, 19));
  std::string_view rest = t.substr(19);
  if (rest == "Z") return out + ".000Z";
  if (rest.size() == 5 && rest[0] == '.' && digits(20, 3) && rest[4] == 'Z') return std::string(t);
  return std::nullopt;
}

std::variant<store::InvocationQuery, net::Response> invocation_query(const net::Request& req) {
  auto page = page_of(req.query);
  if (!page) return bad_request(req, "limit must be 1 to 1000");
  store::InvocationQuery q;
  q.agent = query_param(req.query, "agent");
  if (auto since = query_param(req.query, "since"); !since.empty()) {
    auto t = parse_time_filter(since);
    if (!t) return bad_request(req, "since must be an RFC 3339 UTC time");
    q.since = *t;
  }
  q.after_id = page->cursor;
  q.limit = page->limit + 1;
  return q;
}

net::Response invocation_page(const std::vector<store::InvocationRecord>& rows, std::size_t limit) {
  boost::json::array items;
  for (std::size_t i = 0; i < rows.size() && i < limit; ++i) items.push_back(invocation_json(rows[i]));
  return page_response("invocations", std::move(items), rows.size() > limit ? rows[limit - 1].invocation_id : "");
}

}  // namespace pc::api
