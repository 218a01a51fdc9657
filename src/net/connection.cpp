// One client connection: read a request within the limits, route it, run its handler (or the
// proxy), write the answer, repeat while keep-alive lasts. Every error path answers in the SPEC
// error shape when the client can still be answered, and logs with the request id.
#include <array>
#include <chrono>
#include <unordered_map>

#include <boost/asio/write.hpp>

#include "core/log.h"
#include "net/detail/request_rules.h"
#include "net/detail/server_state.h"
#include "net/http.h"

namespace pc::net::detail {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Per-thread cache of the metric children each route uses, so the hot path takes no lock and
// builds no label key: the registry lookup happens once per (thread, route, method, status).
struct RouteMetrics {
  core::Histogram* duration = nullptr;
  struct Entry {
    std::string_view method;  // a method_label: static storage
    int status;
    core::Counter* counter;
  };
  std::vector<Entry> requests;
};

void record(const Settings& st, const Request& req, int status, Clock::time_point start,
            std::string_view upstream) {
  thread_local std::unordered_map<const char*, RouteMetrics> cache;
  const std::string_view route = req.route.empty() ? std::string_view("unmatched") : req.route;
  auto& rm = cache[route.data()];
  auto& m = Metrics::get();
  if (!rm.duration) rm.duration = &m.duration.labels({route});
  // Clients choose the method: label it from a fixed set, or 20,000 made-up methods would make
  // 20,000 series.
  const std::string_view method = method_label(req.method);
  core::Counter* counter = nullptr;
  for (auto& e : rm.requests)
    if (e.status == status && e.method == method) counter = e.counter;
  if (!counter) {
    auto code = std::to_string(status);
    counter = &m.requests.labels({route, method, code});
    if (rm.requests.size() < 64) rm.requests.push_back({method, status, counter});
  }
  counter->inc();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  rm.duration->observe(secs);
  if (st.access_log)
    log::info("access", {{"request_id", req.request_id},
                         {"method", method},
                         {"path", req.path},
                         {"route", route},
                         {"status", status},
                         {"duration_ms", secs * 1000.0},
                         {"remote", req.remote_address},
                         {"upstream", upstream}});
}

// Waits for a handler's Responder, which may answer on this thread or from a pool thread.
struct Pending {
  explicit Pending(Executor ex) : timer(ex, Timer::time_point::max()) {}
  Timer timer;
  std::optional<Response> res;
};

Task<Response> run_handler(const Route& route, const std::shared_ptr<Request>& req) {
  auto ex = co_await asio::this_coro::executor;
  auto pending = std::make_shared<Pending>(ex);
  {
    Responder responder([pending, ex](Response&& r) {
      if (ex.running_in_this_thread()) {
        pending->res.emplace(std::move(r));
        pending->timer.cancel();
      } else {
        asio::post(ex, [pending, r = std::move(r)]() mutable {
          pending->res.emplace(std::move(r));
          pending->timer.cancel();
        });
      }
    });
    try {
      route.handler(req, responder);
    } catch (const std::exception& e) {
      log::error("handler failed", {{"request_id", req->request_id}, {"route", route.pattern}, {"error", e.what()}});
      responder(error_response(500, "internal", "internal error", req->request_id));
    }
  }  // our copy of the responder is dropped: an unanswered request now falls back to 500
  while (!pending->res) co_await pending->timer.async_wait(use_task);
  co_return std::move(*pending->res);
}

Response route_request(const Router& router, Request& req, const Route*& route) {
  auto m = router.match(req.method, req.path);
  switch (m.kind) {
    case RouteMatch::Kind::found:
      route = m.route;
      req.route = m.route->pattern;
      req.params = std::move(m.params);
      return {};
    case RouteMatch::Kind::method_not_allowed: {
      req.route = "method_not_allowed";
      // Only a method from the fixed set is named: the answer must not echo what a client made up.
      const std::string_view label = method_label(req.method);
      auto r = error_response(405, "method_not_allowed",
                              label == "other" ? std::string("this method is not allowed here")
                                               : "method " + std::string(label) + " is not allowed here",
                              req.request_id);
      r.headers.push_back({"Allow", m.allow});
      return r;
    }
    case RouteMatch::Kind::not_found:
      break;
  }
  req.route = "not_found";
  return error_response(404, "not_found", "no such resource", req.request_id);
}

std::string pick_request_id(const http::request_parser<http::string_body>& parser) {
  const auto& msg = parser.get();
  auto it = msg.find("x-request-id");
  if (it != msg.end() && is_valid_request_id(it->value())) return std::string(it->value());
  return new_request_id();
}

// Answers a request that failed before it could be routed (limits, malformed HTTP) and closes.
// Arguments by reference and callers pass named values: GCC 12 may destroy by-value temporaries
// of a co_await expression twice.
template <typename Stream>
Task<> reject(Stream& s, const Settings& st, const std::string& request_id, const std::string& remote,
              const Refusal& refusal, Clock::time_point start, const std::vector<Header>* extra = nullptr) {
  const int status = refusal.status;
  const std::string_view code = refusal.code, message = refusal.message;
  Request req;
  req.request_id = request_id;
  req.remote_address = remote;
  req.route = "rejected";
  req.method = "-";
  Response res = error_response(status, code, message, req.request_id);
  if (extra) res.headers = *extra;  // edge (issue 12): Retry-After
  log::warn("request rejected", {{"request_id", req.request_id}, {"status", status}, {"reason", code},
                                 {"remote", req.remote_address}});
  co_await write_response(s, req, res, false, milliseconds(st.limits.header_timeout_ms));
  record(st, req, status, start, {});
}

// an edge refusal as a rejection, with Retry-After when it has one.
template <typename Stream>
Task<> reject_edge(Stream& s, const Settings& st, const Request& req, const EdgeRefusal& edge, Clock::time_point start) {
  const Refusal refusal{edge.status, edge.code, edge.message};
  std::vector<Header> extra;
  if (edge.retry_after.count() > 0)
    extra.push_back({"Retry-After", std::to_string((edge.retry_after.count() + 999) / 1000)});
  co_await reject(s, st, req.request_id, req.remote_address, refusal, start, &extra);
}

// The body's deadline. Not the stream's own expiry: Beast closes the socket when that fires,
// which leaves no way to send the 408. This one cancels the pending read instead.
struct Deadline {
  Deadline(Executor ex, TcpStream& s) : timer(ex), tcp(&s) {}
  Timer timer;
  TcpStream* tcp;  // touched only while armed: the connection outlives an armed deadline
  bool armed = true;
  bool fired = false;
};

// Reads the rest of a request whose head is parsed, within `timeout`, through a buffer of at
// most max_header_bytes: chunk lines and trailers, the only bytes it keeps, are bounded by it.
// Returns an empty code when the request is complete, beast::error::timeout when the deadline
// passed, otherwise the parser's or the socket's error.
template <typename Stream>
Task<beast::error_code> read_body(Stream& s, beast::flat_buffer& buffer, RequestParser& parser, milliseconds timeout) {
  auto& tcp = tcp_layer(s);
  tcp.expires_never();
  auto deadline = std::make_shared<Deadline>(co_await asio::this_coro::executor, tcp);
  deadline->timer.expires_after(timeout);
  deadline->timer.async_wait([deadline](beast::error_code ec) {
    if (ec || !deadline->armed) return;
    deadline->fired = true;
    deadline->tcp->socket().cancel(ec);
  });
  struct Disarm {
    Deadline& d;
    ~Disarm() {
      d.armed = false;
      d.timer.cancel();
    }
  } disarm{*deadline};
  for (;;) {
    if (buffer.size() > 0) {
      auto data = buffer.data();
      const BodyStep step = feed_body(parser, {static_cast<const char*>(data.data()), data.size()});
      buffer.consume(step.consumed);
      if (step.ec != http::error::need_more) co_return step.ec;
    }
    const std::size_t room = buffer.max_size() - buffer.size();
    if (room == 0) co_return beast::error_code(http::error::buffer_overflow);
    auto [ec, n] = co_await s.async_read_some(buffer.prepare(std::min<std::size_t>(room, 65536)), use_task);
    if (deadline->fired) co_return beast::error_code(beast::error::timeout);
    if (ec) co_return ec;
    buffer.commit(n);
  }
}

// RFC 9112 §9.6: closing a socket that still has unread request bytes makes the kernel send a
// reset, which can destroy the error response still in flight (the client sees EPIPE instead of
// our 431/413). After the response and our FIN, read and drop what the client is still sending,
// for a bounded time and amount, then close.
Task<> discard_unread(TcpStream& s) {
  constexpr std::size_t kMaxDiscard = 4u << 20;
  std::array<char, 16384> sink;
  std::size_t total = 0;
  s.expires_after(std::chrono::seconds(2));
  while (total < kMaxDiscard) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(sink), use_task);
    if (ec) break;
    total += n;
  }
}

template <typename Stream>
Task<> serve(Worker& w, Stream& stream, const std::string& remote, bool tls) {
  Shared& sh = *w.shared;
  ConnTrack track{&tcp_layer(stream), true};
  w.connections.insert(&track);
  struct Untrack {
    Worker& w;
    ConnTrack* t;
    ~Untrack() { w.connections.erase(t); }
  } untrack{w, &track};

  beast::flat_buffer buffer;
  bool first = true;
  bool linger = false;  // refused a request whose bytes may still be arriving
  for (;;) {
    auto settings = sh.settings.load(std::memory_order_acquire);
    const auto& lim = settings->limits;
    // Unparsed bytes (a head, a chunk line, trailers, the start of a pipelined request) never
    // take more than the header limit: Beast bounds none of chunk extensions and trailers.
    buffer.max_size(std::max(lim.max_header_bytes, buffer.size()));
    if (sh.draining.load(std::memory_order_relaxed) && !first && buffer.size() == 0) break;

    // Wait for the next request's first byte. A new connection gets header_timeout to start
    // talking; a kept-alive one gets idle_timeout.
    track.idle = true;
    if (buffer.size() == 0) {
      tcp_layer(stream).expires_after(milliseconds(first ? lim.header_timeout_ms : lim.idle_timeout_ms));
      auto [ec, n] = co_await stream.async_read_some(
          buffer.prepare(std::min<std::size_t>(4096, buffer.max_size())), use_task);
      if (ec) break;  // timeout, close or drain: nothing to answer
      buffer.commit(n);
    }
    track.idle = false;
    first = false;
    auto start = Clock::now();

    RequestParser parser;
    ChunkExtensionBudget budget{0};
    configure(parser, lim, budget);
    tcp_layer(stream).expires_after(milliseconds(lim.header_timeout_ms));
    auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, use_task);
    if (hec) {
      // body_limit here is a Content-Length over the limit, seen in the head.
      if (auto refusal = refusal_for(hec, false)) {
        linger = true;
        const std::string fresh_id = new_request_id();
        co_await reject(stream, *settings, fresh_id, remote, *refusal, start);
      }
      break;
    }

    std::string request_id = pick_request_id(parser);
    // Beast enforces header_limit only while a head is incomplete; one that arrives whole in a
    // single read passes its check. The bytes it consumed are the head's size: check them too.
    if (hn > lim.max_header_bytes) {
      linger = true;
      const Refusal refusal = *refusal_for(http::error::header_limit, false);
      co_await reject(stream, *settings, request_id, remote, refusal, start);
      break;
    }
    if (auto refusal = check_head(parser)) {
      linger = true;
      co_await reject(stream, *settings, request_id, remote, *refusal, start);
      break;
    }
    auto req = std::make_shared<Request>();
    fill_head(*req, parser);  // before the body: trailers are not headers
    req->request_id = request_id;
    req->remote_address = remote;
    // client address, per-address budgets, WAF rules on the head.
    Waf::Scan waf_scan;
    if (auto refusal = sh.edge->admit_head(*req, *settings->edge, waf_scan)) {
      linger = true;
      co_await reject_edge(stream, *settings, *req, *refusal, start);
      break;
    }
    if (!parser.is_done()) {
      auto& msg = parser.get();
      if (auto it = msg.find(http::field::expect); it != msg.end() && beast::iequals(it->value(), "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, 11};
        tcp_layer(stream).expires_after(milliseconds(lim.header_timeout_ms));
        auto [cec, cn] = co_await http::async_write(stream, cont, use_task);
        if (cec) break;
      }
      auto bec = co_await read_body(stream, buffer, parser, milliseconds(lim.body_timeout_ms));
      if (bec) {
        linger = true;
        if (auto refusal = refusal_for(bec, true))
          co_await reject(stream, *settings, request_id, remote, *refusal, start);
        break;
      }
    }
    tcp_layer(stream).expires_never();

    req->tls = tls;
    bool keep_alive = parser.get().keep_alive();
    fill_body(*req, parser);
    // WAF rules with a body pattern.
    if (waf_scan.body_needed) {
      if (auto refusal = sh.edge->admit_body(*req, *settings->edge, waf_scan)) {
        linger = true;
        co_await reject_edge(stream, *settings, *req, *refusal, start);
        break;
      }
    }

    const Route* route = nullptr;
    Response res = route_request(*sh.router, *req, route);
    if (route) res = co_await run_handler(*route, req);
    keep_alive = keep_alive && !sh.draining.load(std::memory_order_relaxed);

    int status;
    std::string_view upstream;
    if (res.stream) {  // net (issue 10): a streamed response
      // Checked before `forward`: a response with both is a handler bug that send_stream answers
      // with a 500, ending the stream so its producer hears of it.
      // Unread request bytes are not kept for the stream's lifetime: an idle stream should cost
      // little (10,000 open MCP GET streams are a goal).
      if (buffer.size() == 0) buffer.shrink_to_fit();
      const bool draining = sh.draining.load(std::memory_order_relaxed);
      keep_alive = co_await send_stream(stream, *req, res, keep_alive, *settings, track, draining);
      status = res.status;  // 500 when the response broke the stream's contract
    } else if (res.forward) {
      auto pr = co_await proxy(w, stream, *req, *res.forward, keep_alive, *settings);
      status = pr.status;
      keep_alive = pr.keep_alive;
      upstream = res.forward->upstream_name;
      if (res.forward->on_complete) res.forward->on_complete(status);
    } else {
      status = res.status;
      if (!co_await write_response(stream, *req, res, keep_alive, milliseconds(lim.idle_timeout_ms)))
        keep_alive = false;
    }
    record(*settings, *req, status, start, upstream);
    if (!keep_alive) break;
  }

  // Close politely: flush what we wrote, tell the peer we are done.
  beast::error_code ignored;
  tcp_layer(stream).socket().shutdown(tcp::socket::shutdown_send, ignored);
  if (linger) co_await discard_unread(tcp_layer(stream));
  tcp_layer(stream).close();
}

}  // namespace

std::string response_head(const Request& req, const Response& res, bool keep_alive) {
  std::string head;
  head.reserve(192 + req.request_id.size());
  head += "HTTP/1.1 ";
  head += std::to_string(res.status);
  head += ' ';
  head += http::obsolete_reason(static_cast<http::status>(res.status));
  head += "\r\n";
  // Every answer that may carry content says what it is (an empty NDJSON export is still
  // NDJSON); 204 and 304 have no content.
  if (res.status != 204 && res.status != 304 && !res.content_type.empty()) {
    head += "Content-Type: ";
    head += res.content_type;
    head += "\r\n";
  }
  head += "X-Request-Id: ";
  head += req.request_id;
  head += "\r\n";
  for (const auto& h : res.headers) {
    // A CR or LF in a handler-supplied header would split the response: drop the field.
    if (h.name.find_first_of("\r\n:") != std::string::npos || h.value.find_first_of("\r\n") != std::string::npos) {
      log::error("dropped a response header with a line break", {{"request_id", req.request_id}, {"header", h.name}});
      continue;
    }
    head += h.name;
    head += ": ";
    head += h.value;
    head += "\r\n";
  }
  if (!keep_alive) head += "Connection: close\r\n";
  else if (req.version < 11) head += "Connection: keep-alive\r\n";  // HTTP/1.0 closes by default
  return head;
}

// Buffered responses are written as one flat head plus the body in a single gather write: no
// per-field allocations and no buffer-sequence machinery on the hottest path.
template <typename Stream>
Task<bool> write_response(Stream& s, const Request& req, Response& res, bool keep_alive, milliseconds timeout) {
  std::string head = response_head(req, res, keep_alive);
  head += "Content-Length: ";
  head += std::to_string(res.body.size());  // for HEAD: the size a GET would have sent
  head += "\r\n\r\n";
  std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(res.body)};
  if (req.method == "HEAD") bufs[1] = asio::const_buffer();
  tcp_layer(s).expires_after(timeout);
  auto [ec, n] = co_await asio::async_write(s, bufs, use_task);
  tcp_layer(s).expires_never();
  co_return !ec;
}

template Task<bool> write_response<TcpStream>(TcpStream&, const Request&, Response&, bool, milliseconds);
template Task<bool> write_response<TlsStream>(TlsStream&, const Request&, Response&, bool, milliseconds);

Task<> serve_plain(Worker& w, Socket socket, std::string remote) {
  TcpStream stream(std::move(socket));
  co_await serve(w, stream, remote, false);
}

Task<> serve_tls(Worker& w, Socket socket, std::string remote) {
  TlsStream stream(TcpStream(std::move(socket)), *w.shared->tls);
  auto settings = w.shared->settings.load();
  tcp_layer(stream).expires_after(milliseconds(settings->limits.header_timeout_ms));
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_task);
  if (ec) {
    log::debug("tls handshake failed", {{"remote", remote}, {"error", ec.message()}});
    co_return;
  }
  co_await serve(w, stream, remote, true);
}

}  // namespace pc::net::detail
