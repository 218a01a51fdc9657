#include "api/paging.h"

#include <charconv>

#include "api/form.h"

namespace pc::api {

std::string query_param(std::string_view query, std::string_view name) {
  std::size_t i = 0;
  while (i <= query.size()) {
    std::size_t j = query.find('&', i);
    if (j == std::string_view::npos) j = query.size();
    auto pair = query.substr(i, j - i);
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
      std::string out;
      return form_decode(pair.substr(name.size() + 1), out) ? out : std::string();
    }
    i = j + 1;
  }
  return {};
}

std::optional<Page> page_of(std::string_view query) {
  Page p;
  p.cursor = query_param(query, "cursor");
  const std::string v = query_param(query, "limit");
  if (v.empty()) return p;
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < 1 || n > 1000) return std::nullopt;
  p.limit = n;
  return p;
}

}  // namespace pc::api
