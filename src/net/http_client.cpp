// The outbound client behind fetch(). One private io_context per call runs one coroutine to
// completion: every socket operation carries the call's absolute deadline (beast::basic_stream
// closes the socket when it passes), so ioc.run() always returns and nothing outlives the call.
//
// Why the rules are what they are: what this fetches (discovery documents, JWKS) decides which
// signing keys the gateway trusts. So the peer must prove it is the host in the URL (verified
// chain, host name or IP checked by OpenSSL itself, TLS 1.2+), plain http is only for a local
// development issuer, and a plain-http target is judged by the addresses it actually resolves to,
// which are then the only ones connected to (a second lookup could answer differently).
#include "net/http_client.h"

#include <boost/asio/ssl.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <charconv>
#include <exception>
#include <optional>
#include <type_traits>

#include "net/detail/asio.h"
#include "net/detail/tls_client.h"

namespace pc::net {

const std::string* FetchResult::header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

namespace {

using namespace detail;
namespace urls = boost::urls;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
// The read buffer only ever holds an unparsed head or chunk header (bodies are moved out as they
// are parsed), so twice the header limit lets the header limit, not the buffer, report first.
constexpr std::size_t kMaxBufferBytes = 2 * kMaxHeaderBytes;
constexpr int kMaxInterimResponses = 8;  // 100 Continue, 103 Early Hints, … are skipped
constexpr std::size_t kMaxLoggedUrl = 256;

// What the URL resolved into, and its loggable form.
struct Target {
  bool https = false;
  std::string host;                          // DNS name, or the IP literal without brackets
  std::optional<asio::ip::address> literal;  // set when the host is an IP literal
  std::uint16_t port = 0;
  std::string host_header;
  std::string target;    // origin-form: path and query
  std::string safe_url;  // scheme://host[:port]/path — no userinfo, query or fragment
};

[[noreturn]] void fail(const Target& t, std::string_view reason) {
  throw FetchError("fetch " + t.safe_url + ": " + std::string(reason));
}

bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

// Field values may hold anything but the characters that would end the field or the head.
bool is_field_value(std::string_view s) {
  for (char c : s)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

// A host name we will hand to the resolver, SNI and certificate matching: LDH labels (and '_',
// which DNS allows), nothing percent-encoded.
bool is_host_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') return false;
  return true;
}

bool is_loopback(const asio::ip::address& a) {
  if (a.is_v4()) return (a.to_v4().to_uint() >> 24) == 127;
  return a.to_v6() == asio::ip::address_v6::loopback();
}

Target parse_target(std::string_view url) {
  auto parsed = urls::parse_uri(url);
  if (!parsed) throw FetchError("fetch: invalid URL");  // not echoed: it may hold anything
  const urls::url_view& u = *parsed;

  Target t;
  t.safe_url = std::string(u.scheme()) + "://" + std::string(u.encoded_host_and_port()) +
               std::string(u.encoded_path());
  if (t.safe_url.size() > kMaxLoggedUrl) t.safe_url = t.safe_url.substr(0, kMaxLoggedUrl) + "...";

  if (u.scheme_id() == urls::scheme::https) t.https = true;
  else if (u.scheme_id() != urls::scheme::http) fail(t, "unsupported scheme (only https and http)");
  if (u.has_userinfo()) fail(t, "credentials in the URL are refused");
  if (!u.has_authority()) fail(t, "the URL has no host");

  switch (u.host_type()) {
    case urls::host_type::ipv4:
      t.literal = asio::ip::address_v4(u.host_ipv4_address().to_bytes());
      t.host = t.literal->to_string();
      t.host_header = t.host;
      break;
    case urls::host_type::ipv6:
      t.literal = asio::ip::address_v6(u.host_ipv6_address().to_bytes());
      t.host = t.literal->to_string();
      t.host_header = "[" + t.host + "]";
      break;
    case urls::host_type::name:
      if (!is_host_name(u.encoded_host())) fail(t, "invalid host name");
      t.host = std::string(u.encoded_host());
      t.host_header = t.host;
      break;
    default:
      fail(t, "the URL has no usable host");
  }

  const std::uint16_t default_port = t.https ? 443 : 80;
  t.port = default_port;
  if (u.has_port() && !u.port().empty()) {
    // Parsed here: Boost.URL 1.81's port_number() wraps some values above 65535 (99999 → 34463).
    const std::string_view p = u.port();
    unsigned long n = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
    if (ec != std::errc() || end != p.data() + p.size() || n == 0 || n > 65535) fail(t, "invalid port");
    t.port = static_cast<std::uint16_t>(n);
  }
  if (t.port != default_port) t.host_header += ":" + std::to_string(t.port);

  t.target = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
  if (u.has_query()) t.target += "?" + std::string(u.encoded_query());
  return t;  // the fragment is the client's business, never sent
}

// Headers whose value is the client's to decide: framing, connection handling, and an encoding
// we could not decode.
bool is_reserved_header(std::string_view name) {
  return iequals(name, "host") || iequals(name, "connection") || iequals(name, "content-length") ||
         iequals(name, "transfer-encoding") || iequals(name, "accept-encoding") || iequals(name, "te") ||
         iequals(name, "upgrade") || iequals(name, "keep-alive");
}

http::request<http::string_body> make_request(const Target& t, const FetchOptions& o) {
  if (!is_token(o.method)) fail(t, "invalid request method");
  http::request<http::string_body> req;
  req.version(11);
  req.method_string(o.method);
  req.target(t.target);
  req.set(http::field::host, t.host_header);
  req.set(http::field::user_agent, "portcullis/" PORTCULLIS_VERSION);
  for (const auto& h : o.headers) {
    if (!is_token(h.name) || !is_field_value(h.value)) fail(t, "invalid request header");
    if (is_reserved_header(h.name)) fail(t, "request header " + h.name + " is set by the client itself");
    if (iequals(h.name, "user-agent")) req.set(http::field::user_agent, h.value);
    else req.insert(h.name, h.value);
  }
  req.set(http::field::connection, "close");
  req.body() = o.body;
  try {
    req.prepare_payload();  // Content-Length (Beast refuses e.g. a TRACE with a body)
  } catch (const std::exception&) {
    fail(t, "a " + o.method + " request cannot carry this body");
  }
  return req;
}

void configure_tls(asio::ssl::context& ctx, const Target& t, const FetchOptions& o) {
  if (auto error = configure_client_tls(ctx, o.ca_file); !error.empty()) fail(t, error);
}

// SNI and the identity OpenSSL checks during chain verification (net/detail/tls_client.h).
void prepare_tls(TlsStream& s, const Target& t) {
  if (!bind_peer_identity(s.native_handle(), t.host, t.literal.has_value()))
    fail(t, "cannot set up TLS peer verification");
}

[[noreturn]] void fail_io(const Target& t, const FetchOptions& o, std::string_view stage,
                          const beast::error_code& ec, Clock::time_point deadline) {
  if (ec == beast::error::timeout || Clock::now() >= deadline)
    fail(t, "timed out after " + std::to_string(o.timeout.count()) + " ms while " + std::string(stage));
  fail(t, std::string(stage) + " failed: " + ec.message());
}

Task<std::vector<tcp::endpoint>> endpoints_for(const Target& t, const FetchOptions& o, Clock::time_point deadline) {
  std::vector<tcp::endpoint> out;
  if (t.literal) {
    out.emplace_back(*t.literal, t.port);
    co_return out;
  }
  // getaddrinfo runs on Asio's resolver thread and cannot be cancelled; the deadline is checked
  // once it answers. Without AI_ADDRCONFIG: it hides "localhost" on hosts with only loopback.
  asio::ip::basic_resolver<tcp, Executor> resolver(co_await asio::this_coro::executor);
  const std::string service = std::to_string(t.port);
  auto [ec, results] = co_await resolver.async_resolve(t.host, service, tcp::resolver::numeric_service, use_task);
  if (ec) fail_io(t, o, "resolving the host", ec, deadline);
  if (Clock::now() >= deadline) fail_io(t, o, "resolving the host", beast::error::timeout, deadline);
  for (const auto& r : results) out.push_back(r.endpoint());
  if (out.empty()) fail(t, "the host has no addresses");
  co_return out;
}

template <typename Stream>
Task<FetchResult> exchange(Stream& s, const Target& t, const FetchOptions& o,
                           const http::request<http::string_body>& req,
                           const std::vector<tcp::endpoint>& endpoints, Clock::time_point deadline) {
  auto& tcp_stream = tcp_layer(s);
  tcp_stream.expires_at(deadline);  // stays armed for every operation below
  auto [cec, ep] = co_await tcp_stream.async_connect(endpoints, use_task);
  if (cec) fail_io(t, o, "connecting", cec, deadline);

  if constexpr (std::is_same_v<Stream, TlsStream>) {
    auto [hec] = co_await s.async_handshake(asio::ssl::stream_base::client, use_task);
    if (hec) {
      if (auto refusal = certificate_refusal(s.native_handle()); !refusal.empty())
        fail(t, "the server certificate was not accepted: " + refusal);
      fail_io(t, o, "the TLS handshake", hec, deadline);
    }
  }

  auto [wec, wn] = co_await http::async_write(s, req, use_task);
  if (wec) fail_io(t, o, "sending the request", wec, deadline);

  beast::flat_buffer buffer(kMaxBufferBytes);
  FetchResult out;
  for (int interim = 0;; ++interim) {
    http::response_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(o.max_body_bytes);  // checked against Content-Length and while reading
    if (req.method() == http::verb::head) parser.skip(true);
    auto [rec, rn] = co_await http::async_read(s, buffer, parser, use_task);
    if (rec == http::error::body_limit)
      fail(t, "the response body exceeds " + std::to_string(o.max_body_bytes) + " bytes");
    if (rec == http::error::header_limit || rec == http::error::buffer_overflow)
      fail(t, "the response header exceeds " + std::to_string(kMaxHeaderBytes) + " bytes");
    if (rec) fail_io(t, o, "reading the response", rec, deadline);
    auto res = parser.release();
    const int status = res.result_int();
    if (status >= 100 && status < 200) {
      if (status == 101 || interim == kMaxInterimResponses) fail(t, "unexpected interim response");
      continue;
    }
    out.status = status;
    for (const auto& f : res) out.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    out.body = std::move(res.body());
    break;
  }

  // We sent Connection: close and the response is complete, so there is nothing left to say. No
  // TLS close_notify exchange either: it would only spend time, and a peer could stall it.
  beast::error_code ignored;
  tcp_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  tcp_stream.close();
  co_return out;
}

Task<FetchResult> run(const Target& t, const FetchOptions& o, const http::request<http::string_body>& req,
                      asio::ssl::context* tls, Clock::time_point deadline) {
  auto ex = co_await asio::this_coro::executor;
  std::vector<tcp::endpoint> endpoints = co_await endpoints_for(t, o, deadline);
  // issue 9: webhooks — the caller's address policy, on exactly the addresses connected to.
  if (o.address_allowed)
    for (const auto& e : endpoints)
      if (!o.address_allowed(e.address().to_string())) fail(t, "the address " + e.address().to_string() + " is not allowed");
  if (!tls && !o.allow_http_any) {
    if (!o.allow_http_loopback) fail(t, "plain http is not allowed");
    for (const auto& e : endpoints)
      if (!is_loopback(e.address())) fail(t, "plain http is only allowed to loopback");
  }
  if (!tls) {
    TcpStream s(ex);
    FetchResult r = co_await exchange(s, t, o, req, endpoints, deadline);
    co_return r;
  }
  TlsStream s(ex, *tls);
  prepare_tls(s, t);
  FetchResult r = co_await exchange(s, t, o, req, endpoints, deadline);
  co_return r;
}

}  // namespace

FetchResult fetch(std::string_view url, const FetchOptions& opts) {
  const auto deadline = Clock::now() + opts.timeout;
  const Target t = parse_target(url);
  const auto req = make_request(t, opts);
  std::optional<asio::ssl::context> tls;
  if (t.https) {
    tls.emplace(asio::ssl::context::tls_client);
    configure_tls(*tls, t, opts);
  }

  asio::io_context ioc(1);
  std::optional<FetchResult> result;
  std::exception_ptr error;
  asio::co_spawn(ioc, run(t, opts, req, tls ? &*tls : nullptr, deadline),
                 [&](std::exception_ptr e, FetchResult r) {
                   if (e) error = e;
                   else result = std::move(r);
                 });
  ioc.run();
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

}  // namespace pc::net
