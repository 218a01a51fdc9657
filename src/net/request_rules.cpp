#include "net/detail/request_rules.h"

#include <iterator>

namespace pc::net::detail {
namespace {

constexpr Refusal kBadFraming{400, "bad_request", "Transfer-Encoding must be exactly 'chunked', without Content-Length"};
constexpr Refusal kBadHost{400, "bad_request", "exactly one valid Host header is required"};

bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_alnum(unsigned char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// RFC 3986 reg-name characters: unreserved, sub-delims and pct-encoded ('%' and hex digits).
bool is_reg_name_char(unsigned char c) {
  return is_alnum(c) || std::string_view("-._~!$&'()*+,;=%").find(static_cast<char>(c)) != std::string_view::npos;
}

// uri-host [ ":" port ] (RFC 9110 §7.2). Empty is valid: a target without authority.
bool is_valid_host(std::string_view v) {
  if (v.empty()) return true;
  std::size_t i = 0;
  if (v[0] == '[') {  // IP-literal: IPv6 or IPvFuture, checked for its alphabet only
    const auto close = v.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (unsigned char c : v.substr(1, close - 1))
      if (!is_alnum(c) && c != ':' && c != '.') return false;
    i = close + 1;
  } else {
    while (i < v.size() && v[i] != ':') {
      if (!is_reg_name_char(static_cast<unsigned char>(v[i]))) return false;
      ++i;
    }
    if (i == 0) return false;  // ":80" names no host
  }
  if (i == v.size()) return true;
  if (v[i] != ':') return false;
  const auto port = v.substr(i + 1);
  if (port.size() > 5) return false;
  for (unsigned char c : port)
    if (!is_digit(c)) return false;
  return true;
}

// A line feed not preceded by a carriage return. Chunk framing and trailers never contain one
// legitimately (quoted strings and field values exclude control characters).
bool has_bare_lf(std::string_view s) {
  for (std::size_t i = s.find('\n'); i != std::string_view::npos; i = s.find('\n', i + 1))
    if (i == 0 || s[i - 1] != '\r') return true;
  return false;
}

}  // namespace

void configure(RequestParser& parser, const core::LimitsConfig& limits, ChunkExtensionBudget& budget) {
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser.body_limit(limits.max_body_bytes);
  budget.left = limits.max_header_bytes;
  parser.on_chunk_header(budget);
}

std::optional<Refusal> check_head(const RequestParser& parser) {
  const auto& msg = parser.get();
  // Beast takes the last coding when it is "chunked" and otherwise reads no body at all, so
  // "chunked, identity", "gzip" or a second Transfer-Encoding line would leave the body to be
  // parsed as the next request: the classic smuggling primitive.
  if (const auto te = msg.count(http::field::transfer_encoding); te > 0) {
    if (te > 1 || msg.version() < 11 || msg.count(http::field::content_length) > 0 ||
        !beast::iequals(msg[http::field::transfer_encoding], "chunked"))
      return kBadFraming;
  }
  const auto hosts = msg.count(http::field::host);
  if (hosts > 1 || (hosts == 0 && msg.version() >= 11)) return kBadHost;
  if (hosts == 1 && !is_valid_host(msg[http::field::host])) return kBadHost;
  return std::nullopt;
}

BodyStep feed_body(RequestParser& parser, std::string_view pending) {
  BodyStep step;
  parser.eager(true);
  step.consumed = parser.put(asio::buffer(pending.data(), pending.size()), step.ec);
  if (!step.ec && !parser.is_done()) step.ec = http::error::need_more;
  // What a chunked body's parser leaves unconsumed is the chunk line or trailer it waits on.
  if (step.ec == http::error::need_more && parser.chunked() && has_bare_lf(pending.substr(step.consumed)))
    step.ec = http::error::bad_line_ending;
  return step;
}

std::optional<Refusal> refusal_for(beast::error_code ec, bool in_body) {
  if (ec == beast::error::timeout) {
    if (!in_body) return std::nullopt;  // a slow head is closed without an answer
    return Refusal{408, "request_timeout", "the request body did not arrive in time"};
  }
  if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
      ec == asio::error::broken_pipe)
    return std::nullopt;
  if (ec == http::error::body_limit) return Refusal{413, "body_too_large", "request body exceeds the limit"};
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    if (in_body)
      return Refusal{431, "headers_too_large", "chunk extensions or trailers exceed the header limit"};
    return Refusal{431, "headers_too_large", "request headers exceed the limit"};
  }
  if (in_body) return Refusal{400, "bad_request", "malformed request body"};
  return Refusal{400, "bad_request", "malformed HTTP request"};
}

void fill_head(Request& req, const RequestParser& parser) {
  const auto& msg = parser.get();
  req.method = msg.method_string();
  req.target = msg.target();
  req.version = msg.version();
  auto q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) req.query = req.target.substr(q + 1);
  // Exactly as many as there are: a fixed 16 (1 KiB of Header) was a large-bin allocation on every
  // request, and each of those made glibc's malloc consolidate its fast bins first.
  req.headers.reserve(static_cast<std::size_t>(std::distance(msg.begin(), msg.end())));
  for (const auto& f : msg) req.headers.push_back({std::string(f.name_string()), std::string(f.value())});
}

}  // namespace pc::net::detail
