// What crosses the proxy: hop-by-hop fields never do (RFC 9110 §7.6.1), the caller's credentials
// stay here, and every statement about the caller's address is the gateway's own.
#include "net/detail/forward_headers.h"

namespace pc::net::detail {
namespace {

constexpr std::string_view kHopByHop[] = {"connection", "keep-alive", "proxy-connection", "te",
                                          "trailer", "transfer-encoding", "upgrade",
                                          "proxy-authenticate", "proxy-authorization"};

// Headers the gateway replaces or must never forward. The caller's credentials stay here (agents
// get a gateway-minted identity instead). Forwarding metadata is ours to set: X-Forwarded-For
// carries the peer we saw, so the fields that CDNs and other proxies use to name a client
// address are dropped, or a caller could tell an agent it comes from anywhere.
constexpr std::string_view kNeverForwarded[] = {
    "authorization", "cookie", "host", "content-length", "expect", "x-request-id",
    // forwarding metadata the gateway sets itself
    "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "forwarded",
    // client-address claims of other proxies and CDNs
    "x-real-ip", "true-client-ip", "cf-connecting-ip", "x-client-ip", "x-cluster-client-ip",
    "fastly-client-ip", "x-originating-ip", "x-remote-ip", "x-remote-addr", "x-forwarded",
    "forwarded-for", "client-ip"};

bool never_forwarded(std::string_view name) {
  for (auto n : kNeverForwarded)
    if (iequals(name, n)) return true;
  return false;
}

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

}  // namespace

bool is_hop_by_hop(std::string_view name) {
  for (auto h : kHopByHop)
    if (iequals(name, h)) return true;
  return false;
}

bool listed_in(std::string_view connection, std::string_view name) {
  std::size_t i = 0;
  while (i < connection.size()) {
    std::size_t j = connection.find(',', i);
    if (j == std::string_view::npos) j = connection.size();
    auto tok = connection.substr(i, j - i);
    while (!tok.empty() && (tok.front() == ' ' || tok.front() == '\t')) tok.remove_prefix(1);
    while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\t')) tok.remove_suffix(1);
    if (iequals(tok, name)) return true;
    i = j + 1;
  }
  return false;
}

// Built by hand, written with a single send: far cheaper than Beast's field container and
// serializer (whose buffer-sequence iteration dominated the proxy's profile). Inbound fields were
// validated by the parser; fields a handler sets (set_headers) replace inbound ones of the same
// name and are dropped if they hold a line break.
std::string upstream_request(const Request& req, const ForwardTo& to) {
  const std::string& body = to.body ? *to.body : req.body;
  std::string out;
  out.reserve(256 + req.target.size() + body.size() + req.headers.size() * 48);
  out += req.method;
  out += ' ';
  out += to.target;
  out += " HTTP/1.1\r\n";
  auto field = [&out](std::string_view name, std::string_view value) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  };
  const std::string* conn = req.header("connection");
  for (const auto& h : req.headers) {
    if (is_hop_by_hop(h.name) || never_forwarded(h.name)) continue;
    if (conn && listed_in(*conn, h.name)) continue;
    bool replaced = false;
    for (const auto& s : to.set_headers) replaced = replaced || iequals(s.name, h.name);
    if (!replaced) field(h.name, h.value);
  }
  // An IPv6 literal is bracketed in Host (RFC 9110 §7.2, RFC 3986 §3.2.2), or its colons would
  // read as a port.
  const bool v6 = to.host.find(':') != std::string::npos && to.host.front() != '[';
  out += "Host: ";
  if (v6) out += '[';
  out += to.host;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(to.port);
  out += "\r\n";
  field("X-Request-Id", req.request_id);
  field("X-Forwarded-For", req.remote_address);
  field("X-Forwarded-Proto", req.tls ? "https" : "http");
  for (const auto& h : to.set_headers)
    if (!has_line_break(h.name) && !has_line_break(h.value) && h.name.find(':') == std::string::npos)
      field(h.name, h.value);
  // Methods that carry bodies always get a length, as Beast's prepare_payload did.
  if (!body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH")
    field("Content-Length", std::to_string(body.size()));
  out += "\r\n";
  out += body;
  return out;
}

std::string flat_response_head(const http::response_header<>& head, const Request& req, std::uint64_t length,
                               bool keep_alive) {
  std::string out;
  out.reserve(256);
  out += "HTTP/1.1 ";
  out += std::to_string(head.result_int());
  out += ' ';
  out += http::obsolete_reason(head.result());
  out += "\r\n";
  const auto conn = head.find(http::field::connection);
  const std::string_view listed = conn == head.end() ? std::string_view() : std::string_view(conn->value());
  for (const auto& f : head) {
    const auto name = f.name_string();
    if (is_hop_by_hop(name) || listed_in(listed, name) || iequals(name, "content-length") ||
        iequals(name, "x-request-id"))
      continue;
    out += name;
    out += ": ";
    out += f.value();
    out += "\r\n";
  }
  out += "X-Request-Id: ";
  out += req.request_id;
  out += "\r\nContent-Length: ";
  out += std::to_string(length);
  out += "\r\n";
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  return out;
}

}  // namespace pc::net::detail
