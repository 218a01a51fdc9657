// A small blocking HTTP/1.1 client for the few outbound documents the gateway must fetch itself:
// OIDC discovery and JWKS (and a token endpoint POST). These decide which keys we trust, so it is
// strict rather than general: https with full certificate and host name checks, plain http only
// to loopback, no redirects, no decompression, bounded size and time. One connection per call
// (Connection: close); nothing is pooled, because these fetches are rare.
//
// Blocking on purpose: call it from a worker thread, never from an I/O thread. No Boost.Beast or
// Asio here: the implementation runs its own private io_context per call.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "net/http.h"

namespace pc::net {

struct FetchOptions {
  // The whole exchange: resolve, connect, TLS handshake, write and read. A host name lookup
  // cannot be interrupted (getaddrinfo), so only a lookup hung past the system resolver's own
  // timeout can make a call overrun this; it still fails as timed out.
  std::chrono::milliseconds timeout{5000};
  std::size_t max_body_bytes = 1 << 20;  // a larger body (declared or received) is a FetchError
  // Extra request headers (e.g. Accept, Content-Type); User-Agent replaces ours. Host,
  // Connection, Content-Length, Transfer-Encoding, TE, Upgrade, Keep-Alive and Accept-Encoding
  // are the client's own and refused here.
  std::vector<Header> headers;
  std::string method = "GET";
  std::string body;     // sent with Content-Length
  std::string ca_file;  // PEM trust anchors; empty = the system trust store
  // Plain http:// is allowed only when this is set and every address the host resolves to is
  // loopback (127.0.0.0/8, ::1). Only the addresses checked are connected to.
  bool allow_http_loopback = true;

  // ---- issue 9: webhooks (targets named by tenants; see net/address_policy.h)
  // Set: called with every address the host resolves to (or the IP literal), as text without
  // brackets, after resolution and before connecting; one refused address fails the call, so
  // the addresses connected to are exactly the ones judged (no second lookup to rebind).
  std::function<bool(std::string_view address)> address_allowed;
  // Plain http:// to any address (still subject to address_allowed), not only to loopback.
  bool allow_http_any = false;
};

// Any status is a result, 3xx and 4xx/5xx included: redirects are not followed, the caller
// decides.
struct FetchResult {
  int status = 0;
  std::vector<Header> headers;
  std::string body;

  const std::string* header(std::string_view name) const;  // first match, case-insensitive
};

// Bad URL, refused target, network, TLS, protocol, size or time failure. what() is safe to log:
// the reason and the URL without userinfo, query or fragment.
class FetchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

FetchResult fetch(std::string_view url, const FetchOptions& opts = {});

}  // namespace pc::net
