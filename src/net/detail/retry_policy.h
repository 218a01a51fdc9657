// Private to src/net: whether a failed upstream attempt may be sent again on a fresh connection.
//
// A pooled connection can be closed by the upstream while idle. Taking it from the pool peeks at
// the socket, so a close that already arrived is seen and the connection is never used; what
// remains is the race where the upstream closes it while our request is on the way. Then the
// gateway cannot know whether the upstream acted on the request. The rule:
//   - only an attempt on a REUSED connection is repeated, once, on a fresh connection (a failure
//     on a fresh connection is the upstream's answer, not staleness);
//   - only when the connection was lost (closed or reset: not a timeout, not a malformed answer)
//     before any byte of the answer arrived, an interim 1xx included;
//   - and only when repeating cannot run the call twice: either the method is GET, HEAD or
//     OPTIONS (safe, RFC 9110 §9.2.1; PUT and DELETE are idempotent but are not repeated, to be
//     conservative), or not one byte of the request left the gateway.
// A POST invoke on a stale pooled connection is therefore answered 502, never sent twice.
#pragma once

#include <cstddef>
#include <string_view>

namespace pc::net::detail {

// What is known about one failed attempt.
struct FailedAttempt {
  bool reused = false;           // the connection came from the pool
  bool connection_lost = false;  // closed or reset before any byte of the answer arrived
  std::size_t bytes_sent = 0;    // of the request
};

inline bool safe_to_repeat(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

inline bool may_retry(std::string_view method, const FailedAttempt& a) {
  if (!a.reused || !a.connection_lost) return false;
  return a.bytes_sent == 0 || safe_to_repeat(method);
}

}  // namespace pc::net::detail
