// Private to src/net: which fields cross the proxy, in each direction, and the flat heads the
// proxy writes with one send.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "net/detail/asio.h"
#include "net/http.h"

namespace pc::net::detail {

// RFC 9110 §7.6.1: connection-specific fields never cross a proxy.
bool is_hop_by_hop(std::string_view name);

// Names listed in a Connection header ("keep-alive, X-Foo") are hop-by-hop too.
bool listed_in(std::string_view connection, std::string_view name);

// The upstream request as one flat string (request line, kept inbound fields, ours, body).
std::string upstream_request(const Request& req, const ForwardTo& to);

// The relayed response head for a body of known length already buffered: the upstream's fields
// without hop-by-hop ones, our X-Request-Id and Content-Length.
std::string flat_response_head(const http::response_header<>& head, const Request& req, std::uint64_t length,
                               bool keep_alive);

}  // namespace pc::net::detail
