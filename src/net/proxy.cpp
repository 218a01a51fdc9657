// Forwards one request to an upstream and relays the answer as it arrives. The response body is
// never buffered whole: each read from the upstream is written to the client before the next,
// so server-sent events reach the client one by one. While the exchange runs, a watcher waits
// for the client to hang up; if it does, the upstream call is cancelled and its connection
// dropped rather than returned to the pool.
//
// The upstream side is an UpstreamLease (net/detail/upstream_lease.h): it reads past interim
// answers to the final head, and pools a connection only when its answer was read exactly to its
// end. Whether a failed attempt is sent again is net/detail/retry_policy.h's decision.
#include <sys/socket.h>

#include <array>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <memory>
#include <unordered_map>

#include "core/log.h"
#include "net/detail/forward_headers.h"
#include "net/detail/retry_policy.h"
#include "net/detail/server_state.h"
#include "net/detail/upstream_lease.h"
#include "net/http.h"

namespace pc::net::detail {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

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

// What exchange() answers when the client hung up: nothing was (or will be) sent to it.
constexpr ProxyResult kClientGone{499, false};

// The names one exchange goes by.
struct Target {
  std::string key;        // "host:port", the pool's key
  std::string_view name;  // metrics and logs
};

// Sends the request and reads the final head, on a pooled connection or a fresh one, repeating
// the attempt once when retry_policy.h allows. nullopt: the final head is in `parser`.
Task<std::optional<UpstreamFailure>> obtain_head(UpstreamLease& lease, std::optional<ResponseParser>& parser,
                                                 const Request& req, const ForwardTo& to, const Target& t,
                                                 const core::UpstreamConfig& up, ClientWatch& watch) {
  const auto ureq = upstream_request(req, to);
  const auto ex = co_await asio::this_coro::executor;
  for (int attempt = 0;; ++attempt) {
    watch.upstream = nullptr;
    if (attempt > 0 || !lease.take(milliseconds(up.pool_idle_timeout_ms))) {
      lease.renew(ex);
      watch.upstream = &lease.stream();  // a client hang-up cancels the connect too
      auto failure = co_await lease.connect(to, milliseconds(up.connect_timeout_ms));
      if (failure || watch.gone) co_return failure;
    }
    watch.upstream = &lease.stream();
    auto failure = co_await lease.send(ureq, milliseconds(up.response_timeout_ms));
    if (!failure && !watch.gone)
      failure = co_await lease.read_final_head(parser, req.method == "HEAD", milliseconds(up.response_timeout_ms));
    if (!failure || watch.gone) co_return failure;
    if (attempt > 0 || !may_retry(req.method, lease.attempt(*failure))) co_return failure;
    log::info("pooled upstream connection lost; retrying on a fresh one",
              {{"request_id", req.request_id}, {"upstream", t.name}});
  }
}

template <typename Stream>
Task<ProxyResult> answer_failure(Stream& client, const Request& req, const UpstreamFailure& failure,
                                 std::string_view name, bool client_keep_alive, const Settings& st) {
  auto& m = Metrics::get();
  m.upstream_errors.labels({name, failure.kind}).inc();
  m.upstream_requests.labels({name, "error"}).inc();
  log::warn("upstream failed", {{"request_id", req.request_id}, {"upstream", name}, {"kind", failure.kind},
                                {"status", failure.status}});
  // Named locals only around co_await: GCC 12 can destroy temporaries in a co_await expression
  // twice.
  Response res = error_response(failure.status, failure.code, failure.message, req.request_id);
  const milliseconds write_timeout(st.limits.idle_timeout_ms);
  const bool ok = co_await write_response(client, req, res, client_keep_alive, write_timeout);
  co_return ProxyResult{failure.status, ok && client_keep_alive};
}

// The common case for JSON answers: a known length, and the whole body already in our buffer.
// Head and body go out in one gather write, without the serializer.
bool body_buffered(const ResponseParser& parser, const Request& req, UpstreamLease& lease) {
  const int status = parser.get().result_int();
  const auto length = parser.content_length();
  return length && req.method != "HEAD" && status != 204 && status != 304 && lease.buffer().size() >= *length;
}

template <typename Stream>
Task<ProxyResult> relay_buffered(Stream& client, const Request& req, ResponseParser& parser, UpstreamLease& lease,
                                 bool client_keep_alive, const Settings& st, std::string_view name,
                                 Clock::time_point start) {
  const auto& head = parser.get();
  const int status = static_cast<int>(head.result_int());
  const std::uint64_t length = *parser.content_length();
  const std::string text = flat_response_head(head, req, length, client_keep_alive);
  const std::array<asio::const_buffer, 2> out{asio::buffer(text), asio::buffer(lease.buffer().data().data(), length)};
  tcp_layer(client).expires_after(milliseconds(st.limits.idle_timeout_ms));
  auto [ec, n] = co_await asio::async_write(client, out, use_task);
  tcp_layer(client).expires_never();
  if (ec) co_return ProxyResult{status, false};  // client gone: the lease stays dirty
  lease.buffer().consume(length);
  lease.finished(head.keep_alive());
  record_ok(name, start);
  co_return ProxyResult{status, client_keep_alive};
}

// Any other answer: relay the head without hop-by-hop fields, re-frame the body for the client,
// and copy it read by read.
template <typename Stream>
Task<ProxyResult> relay_streamed(Stream& client, const Request& req, ResponseParser& parser, UpstreamLease& lease,
                                 bool client_keep_alive, const Settings& st, ClientWatch& watch,
                                 std::string_view name, Clock::time_point start) {
  auto& head = parser.get();
  const bool upstream_keep_alive = head.keep_alive();
  std::string listed = head.count(http::field::connection) ? std::string(head[http::field::connection]) : "";
  for (auto it = head.begin(); it != head.end();) {
    if (is_hop_by_hop(it->name_string()) || listed_in(listed, it->name_string())) it = head.erase(it);
    else ++it;
  }
  head.set("X-Request-Id", req.request_id);
  const int status = head.result_int();
  const bool bodiless = req.method == "HEAD" || status == 204 || status == 304;
  if (!bodiless && !parser.content_length()) {
    // HTTP/1.0 knows no chunked coding (RFC 9112 §6.1): such a client's body ends at the close.
    if (req.version >= 11) head.chunked(true);
    else client_keep_alive = false;
  }
  head.keep_alive(client_keep_alive);
  lease.relaying();

  http::response_serializer<http::buffer_body> sr{head};
  // When the body (or its start) arrived with the head, the first write below sends head and
  // body together: one send instead of two. Only a body still to come (a stream) gets its head
  // sent on its own now, so the client sees the status without waiting for the first event.
  if (!parser.is_done() && lease.buffer().size() == 0) {
    tcp_layer(client).expires_after(milliseconds(st.limits.idle_timeout_ms));
    auto [hec, hn] = co_await http::async_write_header(client, sr, use_task);
    if (hec) co_return ProxyResult{status, false};
  }

  char buf[16384];
  bool upstream_ok = true;
  do {
    if (!parser.is_done()) {
      head.body().data = buf;
      head.body().size = sizeof buf;
      lease.stream().expires_after(milliseconds(st.upstream.response_timeout_ms));
      auto [ec, n] = co_await http::async_read_some(lease.stream(), lease.buffer(), parser, use_task);
      if (watch.gone) co_return kClientGone;
      if (ec == http::error::need_buffer) ec = {};
      if (ec) {
        upstream_ok = false;
        Metrics::get().upstream_errors.labels({name, ec == beast::error::timeout ? "timeout" : "body"}).inc();
        log::warn("upstream body failed", {{"request_id", req.request_id}, {"upstream", name}, {"error", ec.message()}});
        break;
      }
      head.body().size = sizeof buf - head.body().size;
      // A read may yield only chunk framing. Beast's chunked serializer turns an empty non-null
      // buffer into an empty chunk, which is the end-of-body marker: pass nullptr for "nothing",
      // and with more to come, read again before writing.
      head.body().data = head.body().size ? buf : nullptr;
      head.body().more = !parser.is_done();
      if (!head.body().data && head.body().more) continue;
    } else {
      head.body().data = nullptr;
      head.body().size = 0;
      head.body().more = false;
    }
    tcp_layer(client).expires_after(milliseconds(st.limits.idle_timeout_ms));
    auto [ec, n] = co_await http::async_write(client, sr, use_task);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return ProxyResult{status, false};  // client gone: the lease stays dirty
  } while (!parser.is_done() && !sr.is_done());
  tcp_layer(client).expires_never();
  ok_metrics(name).duration->observe(std::chrono::duration<double>(Clock::now() - start).count());
  if (!upstream_ok) co_return ProxyResult{status, false};  // the client saw a truncated body
  ok_metrics(name).ok->inc();
  if (parser.is_done()) lease.finished(upstream_keep_alive);
  co_return ProxyResult{status, client_keep_alive};
}

template <typename Stream>
Task<ProxyResult> exchange(Worker& w, Stream& client, const Request& req, const ForwardTo& to,
                           bool client_keep_alive, const Settings& st, ClientWatch& watch) {
  Target t{to.host + ":" + std::to_string(to.port), {}};
  t.name = to.upstream_name.empty() ? std::string_view(t.key) : std::string_view(to.upstream_name);
  const auto start = Clock::now();

  UpstreamLease lease(w.pool, t.key);
  std::optional<ResponseParser> parser;
  auto failure = co_await obtain_head(lease, parser, req, to, t, st.upstream, watch);
  if (watch.gone) co_return kClientGone;
  ProxyResult result;
  if (failure)
    result = co_await answer_failure(client, req, *failure, t.name, client_keep_alive, st);
  else if (body_buffered(*parser, req, lease))
    result = co_await relay_buffered(client, req, *parser, lease, client_keep_alive, st, t.name, start);
  else
    result = co_await relay_streamed(client, req, *parser, lease, client_keep_alive, st, watch, t.name, start);
  // The only way back into the pool: a clean lease with nothing buffered or readable. An
  // exchange cut short (client gone, upstream error) never left its lease clean.
  watch.upstream = nullptr;
  lease.release(st.upstream.pool_max_idle_per_host);
  co_return result;
}

}  // namespace

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
