#include "net/router.h"

#include <stdexcept>

#include "core/percent.h"

namespace pc::net {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 1;  // skip the leading '/'
  while (i <= path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool is_param(std::string_view seg) { return seg.size() > 2 && seg.front() == '{' && seg.back() == '}'; }

}  // namespace

bool decode_segment(std::string_view in, std::string& out) {
  // A segment holds no literal '/', so any '/' after decoding was encoded: refused.
  return core::percent_decode(in, out, false) && out.find('/') == std::string::npos;
}

Router::Pattern& Router::pattern_for(const std::string& text) {
  for (auto& p : patterns_)
    if (p->text == text) return *p;
  if (text.empty() || text.front() != '/') throw std::invalid_argument("route pattern must start with '/': " + text);
  auto p = std::make_unique<Pattern>();
  p->text = text;
  bool has_param = false;
  for (auto seg : split_path(text)) {
    if (seg.find_first_of("{}") != std::string_view::npos && !is_param(seg))
      throw std::invalid_argument("malformed route segment in " + text);
    has_param = has_param || is_param(seg);
    p->segments.emplace_back(seg);
  }
  Pattern& ref = *p;
  if (!has_param) exact_.emplace(text, &ref);
  patterns_.push_back(std::move(p));
  return ref;
}

void Router::add(std::string method, std::string pattern, Handler handler) {
  Pattern& p = pattern_for(pattern);
  for (auto& r : p.routes)
    if (r->method == method) throw std::invalid_argument("duplicate route " + method + " " + pattern);
  p.routes.push_back(std::make_unique<Route>(Route{std::move(pattern), std::move(method), std::move(handler)}));
}

const Router::Pattern* Router::find(std::string_view path,
                                    std::vector<std::pair<std::string, std::string>>& params) const {
  if (auto it = exact_.find(std::string(path)); it != exact_.end()) return it->second;
  if (path.empty() || path.front() != '/') return nullptr;
  auto segs = split_path(path);
  for (const auto& p : patterns_) {
    if (p->segments.size() != segs.size()) continue;
    params.clear();
    bool ok = true;
    for (std::size_t i = 0; ok && i < segs.size(); ++i) {
      const std::string& want = p->segments[i];
      if (is_param(want)) {
        std::string value;
        ok = !segs[i].empty() && decode_segment(segs[i], value);
        if (ok) params.emplace_back(want.substr(1, want.size() - 2), std::move(value));
      } else {
        ok = want == segs[i];
      }
    }
    if (ok) return p.get();
  }
  params.clear();
  return nullptr;
}

RouteMatch Router::match(std::string_view method, std::string_view path) const {
  RouteMatch m;
  const Pattern* p = find(path, m.params);
  if (!p) return m;
  for (const auto& r : p->routes) {
    // HEAD is served by the GET handler; the server drops the body.
    if (r->method == method || (method == "HEAD" && r->method == "GET")) {
      m.kind = RouteMatch::Kind::found;
      m.route = r.get();
      return m;
    }
  }
  m.kind = RouteMatch::Kind::method_not_allowed;
  for (const auto& r : p->routes) {
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += r->method;
    if (r->method == "GET") m.allow += ", HEAD";
  }
  m.params.clear();
  return m;
}

}  // namespace pc::net
