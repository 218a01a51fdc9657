// One request parsed from bytes by the same parser, limits and rules as a client connection
// (src/net/detail/request_rules.h), without a socket: the HTTP fuzz target's entry point, and
// what unit tests of the framing rules call.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/config.h"
#include "net/http.h"

namespace pc::net {

struct ParsedRequest {
  int status = 0;        // 0: no refusal; else what the connection would answer (400, 408, 413, 431)
  std::string code;      // the refusal's error code
  bool complete = false; // a whole request was parsed (status 0)
  Request request;       // method, target, version, head fields and body as far as parsed
  std::size_t consumed = 0;  // bytes the request took; the rest belongs to the next one
};

// `bytes` is everything the client sent; at most limits.max_header_bytes of it is looked at
// unconsumed at once, as the connection's buffer holds no more.
ParsedRequest parse_request(std::string_view bytes, const core::LimitsConfig& limits);

}  // namespace pc::net
