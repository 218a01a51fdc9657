// Forwards one request to an upstream and relays the answer as it arrives. The response body is
// never buffered whole: each read from the upstream is written to the client before the next,
// so server-sent events reach the client one by one. While the exchange runs, a watcher waits
// for the client to hang up; if it does, the upstream call is cancelled and its connection
// dropped rather than returned to the pool.
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <memory>
#include <unordered_map>
#include <sys/socket.h>

#include <array>
#include <boost/asio/write.hpp>
#include <cerrno>

#include "core/log.h"
#include "net/detail/server_state.h"
#include "net/http.h"

namespace pc::net::detail {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using namespace asio::experimental::awaitable_operators;

// RFC 9110 §7.6.1: connection-specific fields never cross a proxy.
constexpr std::string_view kHopByHop[] = {"connection", "keep-alive", "proxy-connection", "te",
                                          "trailer", "transfer-encoding", "upgrade",
                                          "proxy-authenticate", "proxy-authorization"};

bool is_hop_by_hop(std::string_view name) {
  for (auto h : kHopByHop)
    if (iequals(name, h)) return true;
  return false;
}

// Names listed in a Connection header ("keep-alive, X-Foo") are hop-by-hop too.
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

// Headers the gateway replaces or must never forward: the caller's credentials stay here
// (agents get a gateway-minted identity instead), and forwarding metadata is ours to set.
bool never_forwarded(std::string_view name) {
  return iequals(name, "authorization") || iequals(name, "cookie") || iequals(name, "host") ||
         iequals(name, "content-length") || iequals(name, "x-request-id") ||
         iequals(name, "x-forwarded-for") || iequals(name, "x-forwarded-proto") ||
         iequals(name, "x-forwarded-host") || iequals(name, "forwarded") || iequals(name, "expect");
}

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// The upstream request as one flat string, written with a single send: building it by hand is
// far cheaper than Beast's field container and serializer (whose buffer-sequence iteration
// dominated the proxy's profile). Inbound fields were validated by the parser; fields a handler
// sets (set_headers) replace inbound ones of the same name and are dropped if they hold a line
// break.
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
  field("Host", to.host + ":" + std::to_string(to.port));
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

// The relayed response head for a body whose length is known and which is already buffered:
// the upstream's fields without hop-by-hop ones, our X-Request-Id and Content-Length.
template <class Head>
std::string flat_response_head(const Head& head, const Request& req, std::uint64_t length, bool keep_alive) {
  std::string out;
  out.reserve(256);
  out += "HTTP/1.1 ";
  out += std::to_string(head.result_int());
  out += ' ';
  out += http::obsolete_reason(head.result());
  out += "\r\n";
  const std::string listed = head.count(http::field::connection) ? std::string(head[http::field::connection]) : "";
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

// The success metrics of one upstream, looked up once per thread: labels() takes a lock and
// builds a key, which the hot path should not pay per request. Upstream names are bounded (one
// per agent or tool), so the map stays small.
struct UpstreamOkMetrics {
  core::Histogram* duration = nullptr;
  core::Counter* ok = nullptr;
};
UpstreamOkMetrics& ok_metrics(std::string_view name) {
  thread_local std::unordered_map<std::string, UpstreamOkMetrics> cache;
  auto it = cache.find(std::string(name));
  if (it != cache.end()) return it->second;
  auto& m = Metrics::get();
  UpstreamOkMetrics um{&m.upstream_duration.labels({name}), &m.upstream_requests.labels({name, "ok"})};
  return cache.emplace(std::string(name), um).first->second;
}

void record_ok(std::string_view name, Clock::time_point start) {
  auto& um = ok_metrics(name);
  um.duration->observe(std::chrono::duration<double>(Clock::now() - start).count());
  um.ok->inc();
}

// What exchange() answers when the client hung up: nothing was (or will be) sent to it.
constexpr ProxyResult kClientGone{499, false};

struct Failure {
  int status;
  std::string_view code;
  std::string_view kind;  // metrics label
  std::string message;
};

Task<std::optional<Failure>> connect(UpstreamConn& c, const ForwardTo& to, milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  beast::error_code ec;
  auto addr = asio::ip::make_address(to.host, ec);
  std::vector<tcp::endpoint> endpoints;
  if (!ec) {
    endpoints.emplace_back(addr, to.port);
  } else {
    asio::ip::basic_resolver<tcp, Executor> resolver(ex);
    Timer timer(ex, timeout);
    auto r = co_await (resolver.async_resolve(to.host, std::to_string(to.port), use_task) ||
                       timer.async_wait(use_task));
    if (r.index() == 1) co_return Failure{504, "upstream_timeout", "timeout", "resolving the upstream timed out"};
    auto& [rec, results] = std::get<0>(r);
    if (rec) co_return Failure{502, "upstream_unavailable", "resolve", "the upstream host could not be resolved"};
    for (const auto& e : results) endpoints.push_back(e.endpoint());
  }
  c.stream.expires_after(timeout);
  auto [cec, ep] = co_await c.stream.async_connect(endpoints, use_task);
  c.stream.expires_never();
  if (cec == beast::error::timeout)
    co_return Failure{504, "upstream_timeout", "timeout", "connecting to the upstream timed out"};
  if (cec) co_return Failure{502, "upstream_unavailable", "connect", "the upstream is not reachable"};
  c.stream.socket().set_option(tcp::no_delay(true), ec);
  co_return std::nullopt;
}

bool is_stale_error(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe;
}

// Watches the client socket while a request is proxied, so that a client who hangs up cancels
// the upstream call. A plain callback on the socket's read readiness, not a second coroutine
// raced against the exchange: that (an awaitable `||`) cost two coroutine spawns and a parallel
// group per request. Readiness alone proves nothing (the reactor may wake a wait spuriously), so
// it peeks: 0 bytes is an orderly close, an error is a reset, data means a pipelined request
// from a live client (then it stops watching), EAGAIN means wait again.
struct ClientWatch : std::enable_shared_from_this<ClientWatch> {
  explicit ClientWatch(Socket& s) : socket(s) {}
  Socket& socket;
  TcpStream* upstream = nullptr;  // the upstream connection in use, cancelled when the client goes
  bool gone = false;
  bool finished = false;  // the exchange is over: nothing to cancel any more

  void arm() {
    socket.async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      if (self->finished || ec) return;
      char byte;
      const ssize_t n = ::recv(self->socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n > 0) return;  // a pipelined request: the client is alive
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return self->arm();
      self->gone = true;
      if (self->upstream) self->upstream->cancel();
    });
  }
  void finish() {
    finished = true;
    upstream = nullptr;
    beast::error_code ignored;
    socket.cancel(ignored);  // completes the pending wait (no system call)
  }
};

template <typename Stream>
Task<ProxyResult> exchange(Worker& w, Stream& client, const Request& req, const ForwardTo& to,
                           bool client_keep_alive, const Settings& st, ClientWatch& watch) {
  auto& m = Metrics::get();
  const auto& up = st.upstream;
  const std::string key = to.host + ":" + std::to_string(to.port);
  const std::string_view name = to.upstream_name.empty() ? std::string_view(key) : std::string_view(to.upstream_name);
  auto ex = co_await asio::this_coro::executor;
  auto ureq = upstream_request(req, to);
  auto start = Clock::now();

  std::unique_ptr<UpstreamConn> conn;
  std::optional<http::response_parser<http::buffer_body>> parser;
  std::optional<Failure> failure;
  // A pooled connection may have been closed by the upstream while idle; that shows as an
  // error before any response byte, and then one retry on a fresh connection is safe.
  for (int attempt = 0; !failure; ++attempt) {
    conn = attempt == 0 ? w.pool.take(key, milliseconds(up.pool_idle_timeout_ms)) : nullptr;
    bool reused = conn != nullptr;
    watch.upstream = nullptr;
    if (!conn) {
      conn = std::make_unique<UpstreamConn>(ex);
      watch.upstream = &conn->stream;
      failure = co_await connect(*conn, to, milliseconds(up.connect_timeout_ms));
      if (watch.gone) co_return kClientGone;
      if (failure) break;
    }
    watch.upstream = &conn->stream;
    conn->stream.expires_after(milliseconds(up.response_timeout_ms));
    auto [wec, wn] = co_await asio::async_write(conn->stream, asio::buffer(ureq), use_task);
    if (watch.gone) co_return kClientGone;
    if (wec) {
      if (reused && attempt == 0) continue;
      failure.emplace(Failure{502, "upstream_unavailable", "write", "sending to the upstream failed"});
      break;
    }
    parser.emplace();  // a fresh parser per attempt: a failed read leaves the old one unusable
    parser->body_limit(boost::none);
    if (req.method == "HEAD") parser->skip(true);
    conn->stream.expires_after(milliseconds(up.response_timeout_ms));
    auto [rec, rn] = co_await http::async_read_header(conn->stream, conn->buffer, *parser, use_task);
    if (watch.gone) co_return kClientGone;
    if (!rec) break;
    if (reused && attempt == 0 && is_stale_error(rec)) continue;
    if (rec == beast::error::timeout)
      failure.emplace(Failure{504, "upstream_timeout", "timeout", "the upstream did not answer in time"});
    else
      failure.emplace(Failure{502, "upstream_bad_response", "protocol", "the upstream answer was not valid HTTP"});
  }
  if (failure) {
    // Named locals only around co_await: GCC 12 can destroy temporaries in a co_await
    // expression twice.
    m.upstream_errors.labels({name, failure->kind}).inc();
    m.upstream_requests.labels({name, "error"}).inc();
    log::warn("upstream failed", {{"request_id", req.request_id}, {"upstream", name}, {"kind", failure->kind},
                                  {"status", failure->status}});
    Response res = error_response(failure->status, failure->code, failure->message, req.request_id);
    const milliseconds write_timeout(st.limits.idle_timeout_ms);
    const bool ok = co_await write_response(client, req, res, client_keep_alive, write_timeout);
    ProxyResult result{failure->status, ok && client_keep_alive};
    co_return result;
  }

  auto& head = parser->get();
  const bool upstream_keep_alive = head.keep_alive();
  const int head_status = head.result_int();

  // The common case for JSON answers: a known length, and the whole body already in our buffer.
  // Head and body go out in one gather write, without the serializer.
  if (auto length = parser->content_length();
      length && req.method != "HEAD" && head_status >= 200 && head_status != 204 && head_status != 304 &&
      conn->buffer.size() >= *length) {
    const std::string text = flat_response_head(head, req, *length, client_keep_alive);
    const std::array<asio::const_buffer, 2> out{asio::buffer(text),
                                                asio::buffer(conn->buffer.data().data(), *length)};
    tcp_layer(client).expires_after(milliseconds(st.limits.idle_timeout_ms));
    auto [ec, n] = co_await asio::async_write(client, out, use_task);
    tcp_layer(client).expires_never();
    if (ec) co_return ProxyResult{head_status, false};  // client gone: drop the upstream connection too
    conn->buffer.consume(*length);
    record_ok(name, start);
    // Bytes beyond the body would be an upstream protocol error: such a connection is not reused.
    if (upstream_keep_alive && conn->buffer.size() == 0) {
      watch.upstream = nullptr;
      conn->stream.expires_never();
      w.pool.give(key, std::move(conn), up.pool_max_idle_per_host);
    }
    co_return ProxyResult{head_status, client_keep_alive};
  }

  // Relay the head: drop hop-by-hop fields, add ours, and re-frame the body for the client.
  std::string listed = head.count(http::field::connection) ? std::string(head[http::field::connection]) : "";
  for (auto it = head.begin(); it != head.end();) {
    if (is_hop_by_hop(it->name_string()) || listed_in(listed, it->name_string())) it = head.erase(it);
    else ++it;
  }
  head.set("X-Request-Id", req.request_id);
  head.keep_alive(client_keep_alive);
  const int status = head.result_int();
  const bool bodiless = req.method == "HEAD" || status == 204 || status == 304 || (status >= 100 && status < 200);
  if (!bodiless && !parser->content_length()) head.chunked(true);

  http::response_serializer<http::buffer_body> sr{head};
  // When the body (or its start) arrived with the head, the first write below sends head and
  // body together: one send instead of two. Only a body still to come (a stream) gets its head
  // sent on its own now, so the client sees the status without waiting for the first event.
  if (!parser->is_done() && conn->buffer.size() == 0) {
    tcp_layer(client).expires_after(milliseconds(st.limits.idle_timeout_ms));
    auto [hec, hn] = co_await http::async_write_header(client, sr, use_task);
    if (hec) co_return ProxyResult{status, false};
  }

  char buf[16384];
  bool upstream_ok = true;
  do {
    if (!parser->is_done()) {
      head.body().data = buf;
      head.body().size = sizeof buf;
      conn->stream.expires_after(milliseconds(up.response_timeout_ms));
      auto [ec, n] = co_await http::async_read_some(conn->stream, conn->buffer, *parser, use_task);
      if (watch.gone) co_return kClientGone;
      if (ec == http::error::need_buffer) ec = {};
      if (ec) {
        upstream_ok = false;
        m.upstream_errors.labels({name, ec == beast::error::timeout ? "timeout" : "body"}).inc();
        log::warn("upstream body failed", {{"request_id", req.request_id}, {"upstream", name}, {"error", ec.message()}});
        break;
      }
      head.body().size = sizeof buf - head.body().size;
      // A read may yield only chunk framing. Beast's chunked serializer turns an empty non-null
      // buffer into an empty chunk, which is the end-of-body marker: pass nullptr for "nothing",
      // and with more to come, read again before writing.
      head.body().data = head.body().size ? buf : nullptr;
      head.body().more = !parser->is_done();
      if (!head.body().data && head.body().more) continue;
    } else {
      head.body().data = nullptr;
      head.body().size = 0;
      head.body().more = false;
    }
    tcp_layer(client).expires_after(milliseconds(st.limits.idle_timeout_ms));
    auto [ec, n] = co_await http::async_write(client, sr, use_task);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return ProxyResult{status, false};  // client gone: drop the upstream connection too
  } while (!parser->is_done() && !sr.is_done());
  tcp_layer(client).expires_never();

  ok_metrics(name).duration->observe(std::chrono::duration<double>(Clock::now() - start).count());
  if (!upstream_ok) co_return ProxyResult{status, false};  // the client saw a truncated body
  ok_metrics(name).ok->inc();
  if (upstream_keep_alive && parser->is_done()) {
    watch.upstream = nullptr;
    conn->stream.expires_never();
    w.pool.give(key, std::move(conn), up.pool_max_idle_per_host);
  }
  co_return ProxyResult{status, client_keep_alive};
}

}  // namespace

std::unique_ptr<UpstreamConn> UpstreamPool::take(const std::string& key, milliseconds max_idle) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  auto& list = it->second;
  auto now = Clock::now();
  while (!list.empty()) {
    auto c = std::move(list.back());
    list.pop_back();
    if (now - c->idle_since < max_idle && c->stream.socket().is_open()) return c;
  }
  return nullptr;
}

void UpstreamPool::give(const std::string& key, std::unique_ptr<UpstreamConn> conn, std::size_t max_per_host) {
  auto& list = idle_[key];
  if (list.size() >= max_per_host) return;
  conn->idle_since = Clock::now();
  list.push_back(std::move(conn));
}

template <typename Stream>
Task<ProxyResult> proxy(Worker& w, Stream& client, const Request& req, const ForwardTo& to,
                        bool client_keep_alive, const Settings& st) {
  auto watch = std::make_shared<ClientWatch>(tcp_layer(client).socket());
  watch->arm();
  ProxyResult r = co_await exchange(w, client, req, to, client_keep_alive, st, *watch);
  watch->finish();
  if (r.status != kClientGone.status) co_return r;  // a late hang-up after a complete answer is no abort
  log::info("client went away; upstream call cancelled", {{"request_id", req.request_id}});
  const std::string_view name = to.upstream_name.empty() ? std::string_view("upstream") : std::string_view(to.upstream_name);
  Metrics::get().upstream_errors.labels({name, "client_gone"}).inc();
  co_return ProxyResult{499, false};
}

template Task<ProxyResult> proxy<TcpStream>(Worker&, TcpStream&, const Request&, const ForwardTo&, bool, const Settings&);
template Task<ProxyResult> proxy<TlsStream>(Worker&, TlsStream&, const Request&, const ForwardTo&, bool, const Settings&);

}  // namespace pc::net::detail
