// Private to src/net: the client side of TLS, shared by fetch() (http_client.cpp) and https
// upstreams (upstream_lease.cpp), so both verify peers the same way: TLS 1.2+, the chain checked
// against the configured anchors, and the peer's identity (host name or IP address) checked by
// OpenSSL itself during chain verification, not in a callback we could get wrong.
#pragma once

#include <string>
#include <string_view>

#include <boost/asio/ssl/context.hpp>

#include "net/detail/asio.h"

namespace pc::net::detail {

// TLS 1.2 or later, peer verification on, trust anchors from `ca_file` (PEM) or, when empty, the
// system store. Returns "" on success, else why the anchors could not be loaded.
std::string configure_client_tls(asio::ssl::context& ctx, const std::string& ca_file);

// Binds a connection to the identity its peer must prove: SAN dNSName for a name (no partial
// wildcards) with SNI, SAN iPAddress for an IP literal (no SNI: RFC 6066 forbids literals there).
// `host` is the bare name or address (no IPv6 brackets). false when OpenSSL refused the setup.
bool bind_peer_identity(SSL* ssl, const std::string& host, bool literal);

// After a failed handshake: why the peer's certificate was refused, or "" when it was not the
// certificate (then the handshake failed for another reason).
std::string certificate_refusal(SSL* ssl);

// The calling thread's verifying context for `ca_file` ("" = system store), built on first use
// and kept: loading a trust store costs milliseconds, far too much per connection. nullptr with
// `error` set when the anchors cannot be loaded (not cached, so a fixed file is picked up).
// Only for I/O threads that live as long as the process: the context is thread_local.
asio::ssl::context* client_tls_context(const std::string& ca_file, std::string& error);

}  // namespace pc::net::detail
