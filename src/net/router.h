// Maps (method, path) to a handler. Patterns are literal segments and `{name}` parameters,
// e.g. "/v1/agents/{name}/invoke". Exact paths are found by one hash lookup (the hot health and
// proxy routes); parameterised ones by a segment-by-segment scan in registration order.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "net/http.h"

namespace pc::net {

struct Route {
  std::string pattern;  // also the metrics label
  std::string method;
  Handler handler;
};

struct RouteMatch {
  enum class Kind { found, not_found, method_not_allowed } kind = Kind::not_found;
  const Route* route = nullptr;
  std::vector<std::pair<std::string, std::string>> params;
  std::string allow;  // for method_not_allowed: "GET, HEAD"
};

class Router {
 public:
  // Throws std::invalid_argument for a malformed pattern or a duplicate (method, pattern).
  void add(std::string method, std::string pattern, Handler handler);
  RouteMatch match(std::string_view method, std::string_view path) const;

 private:
  struct Pattern {
    std::string text;
    std::vector<std::string> segments;  // "{x}" marks a parameter
    std::vector<std::unique_ptr<Route>> routes;
  };
  Pattern& pattern_for(const std::string& text);
  const Pattern* find(std::string_view path, std::vector<std::pair<std::string, std::string>>& params) const;

  std::vector<std::unique_ptr<Pattern>> patterns_;
  std::unordered_map<std::string, Pattern*> exact_;  // patterns without parameters
};

// Percent-decodes one path segment; false on a malformed escape or an encoded '/' or NUL
// (which would let a parameter smuggle a path separator).
bool decode_segment(std::string_view in, std::string& out);

}  // namespace pc::net
