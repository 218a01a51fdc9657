// Private to src/net: what a request must meet beyond Beast's parser, shared by the connection
// loop (connection.cpp) and the pure parse entry point (request_parse.cpp, fuzzed), so both
// accept and refuse exactly the same bytes.
#pragma once

#include <optional>
#include <string_view>

#include "core/config.h"
#include "net/detail/asio.h"
#include "net/http.h"

namespace pc::net::detail {

using RequestParser = http::request_parser<http::string_body>;

// An answer to a request that cannot be served; the connection closes after it.
struct Refusal {
  int status;
  std::string_view code;
  std::string_view message;
};

// Chunk extensions are framing, not content: all of a request's together may take no more than
// max_header_bytes (Beast parses them and hands them over, but bounds them by nothing).
struct ChunkExtensionBudget {
  std::size_t left;
  void operator()(std::uint64_t, beast::string_view extensions, beast::error_code& ec) {
    if (extensions.size() > left) {
      ec = http::error::header_limit;
      return;
    }
    left -= extensions.size();
  }
};

// Applies the limits to a fresh parser. `budget` must outlive the parser's use.
void configure(RequestParser& parser, const core::LimitsConfig& limits, ChunkExtensionBudget& budget);

// Framing (RFC 9112 §6.1, §6.3: one Transfer-Encoding, exactly "chunked", no Content-Length
// beside it, none in HTTP/1.0) and Host (§3.2: exactly one in HTTP/1.1, at most one in 1.0, a
// valid uri-host[:port]) of a parsed head.
std::optional<Refusal> check_head(const RequestParser& parser);

// One parse step over the unconsumed bytes of a body. `ec` is empty when the request is complete,
// http::error::need_more when it needs more bytes, otherwise why it cannot be complete. A chunked
// body waiting on a line terminated by a bare LF is refused now (bad_line_ending): Beast would
// wait for a CRLF that never comes.
struct BodyStep {
  std::size_t consumed = 0;
  beast::error_code ec;
};
BodyStep feed_body(RequestParser& parser, std::string_view pending);

// The answer to a failed read of the head (in_body false) or the body; nullopt when there is
// nobody to answer (the peer closed or reset, the head timed out).
std::optional<Refusal> refusal_for(beast::error_code ec, bool in_body);

// The request as handlers see it. The head is taken as soon as it is parsed: trailer fields,
// which Beast merges into the same field list, never become request headers (RFC 9110 §6.5.1).
void fill_head(Request& req, const RequestParser& parser);
inline void fill_body(Request& req, RequestParser& parser) { req.body = std::move(parser.get().body()); }

}  // namespace pc::net::detail
