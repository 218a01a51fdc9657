#include "net/request_parse.h"

#include "net/detail/request_rules.h"

namespace pc::net {

using namespace detail;

ParsedRequest parse_request(std::string_view bytes, const core::LimitsConfig& limits) {
  ParsedRequest out;
  auto refuse = [&](const Refusal& r) {
    out.status = r.status;
    out.code = r.code;
    return out;
  };
  RequestParser parser;
  ChunkExtensionBudget budget{0};
  configure(parser, limits, budget);
  const std::size_t window = limits.max_header_bytes;

  // The head, from a buffer of at most `window` bytes (the connection's buffer bound).
  parser.eager(false);
  beast::error_code ec;
  std::string_view head = bytes.substr(0, window);
  if (head.empty()) return out;
  out.consumed = parser.put(asio::buffer(head.data(), head.size()), ec);
  if (ec == http::error::need_more) {
    if (head.size() < window) return out;  // the bytes end inside the head
    ec = http::error::buffer_overflow;
  }
  if (ec) {
    if (auto r = refusal_for(ec, false)) return refuse(*r);
    return out;
  }
  if (auto r = check_head(parser)) return refuse(*r);
  fill_head(out.request, parser);

  while (!parser.is_done()) {
    const std::string_view pending = bytes.substr(out.consumed, window);
    if (pending.empty()) return out;
    const BodyStep step = feed_body(parser, pending);
    out.consumed += step.consumed;
    if (step.ec == http::error::need_more) {
      const std::size_t left = pending.size() - step.consumed;
      if (left == window) return refuse(*refusal_for(http::error::buffer_overflow, true));
      if (step.consumed == 0) return out;  // the bytes end inside the body
      continue;
    }
    if (step.ec) {
      if (auto r = refusal_for(step.ec, true)) return refuse(*r);
      return out;
    }
  }
  fill_body(out.request, parser);
  out.complete = true;
  return out;
}

}  // namespace pc::net
