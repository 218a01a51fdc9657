// Forwards one request to an upstream and hands the answer to the client in one of two ways:
//  - relay (the default): each read from the upstream is written to the client before the next,
//    so server-sent events reach the client one by one, and nothing is buffered whole. Options:
//    keep a copy of the body's start (capture_limit, for the invocation record), keep an idle
//    event stream alive (sse_heartbeat), and end an event stream that broke off with an
//    `event: error` and a clean end of the body instead of a cut connection;
//  - buffered (ForwardTo::transform): the whole answer, bounded, is read and turned into the
//    client's answer on this thread.
// While the exchange runs, a watcher waits for the client to hang up; if it does, the upstream
// call is cancelled and its connection dropped rather than returned to the pool. on_outcome
// hears how it ended, once.
//
// The upstream side is an UpstreamLease (net/detail/upstream_lease.h): plain TCP or verified TLS,
// it reads past interim answers to the final head, and pools a connection only when its answer
// was read exactly to its end. Whether a failed attempt is sent again is
// net/detail/retry_policy.h's decision.
#include <sys/socket.h>

#include <array>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <limits>
#include <memory>
#include <unordered_map>

#include "core/log.h"
#include "net/detail/client_watch.h"
#include "net/detail/forward_headers.h"
#include "net/detail/retry_policy.h"
#include "net/detail/server_state.h"
#include "net/detail/sse.h"
#include "net/detail/tls_client.h"
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
// the upstream call: net/detail/client_watch.h.

// What exchange() answers when the client hung up: nothing was (or will be) sent to it.
constexpr ProxyResult kClientGone{499, false};

// The names one exchange goes by.
struct Target {
  std::string key;        // the pool's key (server_state.h)
  std::string_view name;  // metrics and logs
};

// What one exchange learned, for on_outcome. Kept on the coroutine frame in every mode; the
// relay fills `captured` only when capture_limit asks for it, so the plain relay allocates
// nothing more.
struct Outcome {
  std::string_view error;  // "" or a SPEC code (static storage)
  int upstream_status = 0;
  std::string captured;
  bool truncated = false;
};

// Keeps the first `limit` body bytes.
void capture(Outcome& oc, std::size_t limit, const char* data, std::size_t n) {
  if (limit == 0 || n == 0) return;
  const std::size_t room = limit > oc.captured.size() ? limit - oc.captured.size() : 0;
  if (n > room) oc.truncated = true;
  oc.captured.append(data, std::min(n, room));
}

milliseconds response_timeout(const ForwardTo& to, const core::UpstreamConfig& up) {
  return to.response_timeout.count() > 0 ? to.response_timeout : milliseconds(up.response_timeout_ms);
}

constexpr UpstreamFailure kTooLarge{502, "upstream_bad_response", "too_large",
                                    "the upstream answer is larger than the gateway accepts"};

// Sends the request and reads the final head, on a pooled connection or a fresh one, repeating
// the attempt once when retry_policy.h allows. nullopt: the final head is in `parser`.
Task<std::optional<UpstreamFailure>> obtain_head(UpstreamLease& lease, std::optional<ResponseParser>& parser,
                                                 const Request& req, const ForwardTo& to, const Target& t,
                                                 const core::UpstreamConfig& up, asio::ssl::context* tls,
                                                 ClientWatch& watch) {
  const auto ureq = upstream_request(req, to);
  const auto ex = co_await asio::this_coro::executor;
  const milliseconds timeout = response_timeout(to, up);
  for (int attempt = 0;; ++attempt) {
    watch.upstream = nullptr;
    if (attempt > 0 || !lease.take(milliseconds(up.pool_idle_timeout_ms))) {
      lease.renew(ex, tls);
      watch.upstream = &lease.stream();  // a client hang-up cancels the connect too
      auto failure = co_await lease.connect(to, milliseconds(up.connect_timeout_ms));
      if (failure || watch.gone) co_return failure;
    }
    watch.upstream = &lease.stream();
    auto failure = co_await lease.send(ureq, timeout);
    if (!failure && !watch.gone) failure = co_await lease.read_final_head(parser, req.method == "HEAD", timeout);
    if (!failure || watch.gone) co_return failure;
    if (attempt > 0 || !may_retry(req.method, lease.attempt(*failure))) co_return failure;
    log::info("pooled upstream connection lost; retrying on a fresh one",
              {{"request_id", req.request_id}, {"upstream", t.name}});
  }
}

// The SPEC error answer for a failure; false when the client is gone. A coroutine of its own so
// that its Response lives only on this rare path, not in every caller's frame.
template <typename Stream>
Task<bool> send_failure(Stream& client, const Request& req, const UpstreamFailure& failure, const Settings& st) {
  // Named locals only around co_await: GCC 12 can destroy temporaries in a co_await expression
  // twice.
  Response res = error_response(failure.status, failure.code, failure.message, req.request_id);
  const milliseconds write_timeout(st.limits.idle_timeout_ms);
  co_return co_await write_response(client, req, res, false, write_timeout);
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
Task<ProxyResult> relay_buffered(Stream& client, const Request& req, const ForwardTo& to, ResponseParser& parser,
                                 UpstreamLease& lease, bool client_keep_alive, const Settings& st,
                                 std::string_view name, Clock::time_point start, Outcome& oc) {
  const auto& head = parser.get();
  const int status = static_cast<int>(head.result_int());
  const std::uint64_t length = *parser.content_length();
  const char* body = static_cast<const char*>(lease.buffer().data().data());
  const std::string text = flat_response_head(head, req, length, client_keep_alive);
  const std::array<asio::const_buffer, 2> out{asio::buffer(text), asio::buffer(body, length)};
  tcp_layer(client).expires_after(milliseconds(st.limits.idle_timeout_ms));
  auto [ec, n] = co_await asio::async_write(client, out, use_task);
  tcp_layer(client).expires_never();
  if (ec) co_return kClientGone;  // the client is gone: the lease stays dirty
  capture(oc, to.capture_limit, body, length);
  lease.buffer().consume(length);
  lease.finished(head.keep_alive());
  record_ok(name, start);
  co_return ProxyResult{status, client_keep_alive};
}

// Writes ": keep-alive" to an idle event-stream client while the relay waits on the upstream.
// A timer callback, not a second coroutine: it writes only while the relay is parked in a read
// (start() before it, stop() after), and stop() waits out a write in flight, so the relay's
// own writes never overlap one. Each start() is a new generation: a stale timer that fired just
// before a stop() does nothing.
template <typename Stream>
struct Heartbeat : std::enable_shared_from_this<Heartbeat<Stream>> {
  Heartbeat(Stream& c, Executor ex, milliseconds every, milliseconds write_timeout, bool chunked)
      : client(c), timer(ex), idle(ex), every(every), write_timeout(write_timeout),
        frame(chunked ? kKeepAliveChunk : kKeepAlive) {}
  Stream& client;
  Timer timer;  // the next beat
  Timer idle;   // wakes stop() when a write in flight ends
  milliseconds every, write_timeout;
  std::string_view frame;  // the comment, framed for the client's body (static storage)
  unsigned generation = 0;
  bool running = false;
  bool writing = false;
  bool failed = false;  // a beat could not be written: the client is gone

  void start() {
    running = true;
    arm(++generation);
  }
  void arm(unsigned gen) {
    timer.expires_after(every);
    timer.async_wait([self = this->shared_from_this(), gen](beast::error_code ec) {
      if (ec || !self->running || gen != self->generation || self->writing) return;
      self->beat(gen);
    });
  }
  void beat(unsigned gen) {
    writing = true;
    tcp_layer(client).expires_after(write_timeout);
    auto done = [self = this->shared_from_this(), gen](beast::error_code ec, std::size_t) {
      self->writing = false;
      self->idle.cancel();
      if (ec) self->failed = true;
      if (!ec && self->running && gen == self->generation) self->arm(gen);
    };
    asio::async_write(client, asio::buffer(frame.data(), frame.size()), std::move(done));
  }
  Task<> stop() {
    running = false;
    timer.cancel();
    while (writing) {
      idle.expires_at(Timer::time_point::max());
      co_await idle.async_wait(use_task);
    }
  }
};

// Any other answer: relay the head without hop-by-hop fields, re-frame the body for the client,
// and copy it read by read.
template <typename Stream, typename Upstream>
Task<ProxyResult> relay_streamed(Stream& client, Upstream& upstream, const Request& req, const ForwardTo& to,
                                 ResponseParser& parser, UpstreamLease& lease, bool client_keep_alive,
                                 const Settings& st, ClientWatch& watch, std::string_view name,
                                 Clock::time_point start, Outcome& oc) {
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
  const bool open_ended = !bodiless && !parser.content_length();
  if (open_ended) {
    // HTTP/1.0 knows no chunked coding (RFC 9112 §6.1): such a client's body ends at the close.
    if (req.version >= 11) head.chunked(true);
    else client_keep_alive = false;
  }
  head.keep_alive(client_keep_alive);
  lease.relaying();
  // An event stream of open length is ours to add to: keep-alive comments while idle, and a final
  // error event if the upstream breaks off. One with a Content-Length is relayed byte for byte.
  const bool event_stream = open_ended && is_event_stream(head[http::field::content_type]);
  EventBoundary boundary;
  std::shared_ptr<Heartbeat<Stream>> beat;
  if (event_stream && to.sse_heartbeat.count() > 0)
    beat = std::make_shared<Heartbeat<Stream>>(client, co_await asio::this_coro::executor, to.sse_heartbeat,
                                               milliseconds(st.limits.idle_timeout_ms), head.chunked());

  http::response_serializer<http::buffer_body> sr{head};
  // When the body (or its start) arrived with the head, the first write below sends head and
  // body together: one send instead of two. Only a body still to come (a stream) gets its head
  // sent on its own now, so the client sees the status without waiting for the first event.
  if (!parser.is_done() && lease.buffer().size() == 0) {
    tcp_layer(client).expires_after(milliseconds(st.limits.idle_timeout_ms));
    auto [hec, hn] = co_await http::async_write_header(client, sr, use_task);
    if (hec) co_return kClientGone;
  }

  const milliseconds read_timeout = response_timeout(to, st.upstream);
  char buf[16384];
  beast::error_code upstream_ec;
  do {
    if (!parser.is_done()) {
      head.body().data = buf;
      head.body().size = sizeof buf;
      lease.stream().expires_after(read_timeout);
      if (beat && boundary.at_boundary()) beat->start();
      auto [ec, n] = co_await http::async_read_some(upstream, lease.buffer(), parser, use_task);
      if (beat) {
        co_await beat->stop();
        if (beat->failed) co_return kClientGone;
      }
      if (watch.gone) co_return kClientGone;
      if (ec == http::error::need_buffer) ec = {};
      if (ec) {
        upstream_ec = ec;
        break;
      }
      head.body().size = sizeof buf - head.body().size;
      // A read may yield only chunk framing. Beast's chunked serializer turns an empty non-null
      // buffer into an empty chunk, which is the end-of-body marker: pass nullptr for "nothing",
      // and with more to come, read again before writing.
      head.body().data = head.body().size ? buf : nullptr;
      head.body().more = !parser.is_done();
      if (!head.body().data && head.body().more) continue;
      if (head.body().data) {
        capture(oc, to.capture_limit, buf, head.body().size);
        if (event_stream) boundary.feed(buf, head.body().size);
      }
    } else {
      head.body().data = nullptr;
      head.body().size = 0;
      head.body().more = false;
    }
    tcp_layer(client).expires_after(milliseconds(st.limits.idle_timeout_ms));
    auto [ec, n] = co_await http::async_write(client, sr, use_task);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return kClientGone;  // the client is gone: the lease stays dirty
  } while (!parser.is_done() && !sr.is_done());
  tcp_layer(client).expires_never();
  ok_metrics(name).duration->observe(std::chrono::duration<double>(Clock::now() - start).count());
  if (!upstream_ec) {
    ok_metrics(name).ok->inc();
    if (parser.is_done()) lease.finished(upstream_keep_alive);
    co_return ProxyResult{status, client_keep_alive};
  }

  // The upstream broke off (or went quiet past the timeout) in the middle of the body.
  const bool timed_out = upstream_ec == beast::error::timeout;
  oc.error = timed_out ? "upstream_timeout" : "upstream_broken";
  oc.truncated = true;
  Metrics::get().upstream_errors.labels({name, timed_out ? "timeout" : "body"}).inc();
  log::warn("upstream body failed", {{"request_id", req.request_id}, {"upstream", name}, {"error", upstream_ec.message()}});
  if (!sr.is_header_done()) {
    // Nothing reached the client yet: it can still get a plain error answer.
    const UpstreamFailure f = timed_out ? UpstreamFailure{504, "upstream_timeout", "timeout",
                                                          "the upstream did not finish its answer in time"}
                                        : UpstreamFailure{502, "upstream_broken", "body", "the upstream broke off its answer"};
    co_await send_failure(client, req, f, st);
    co_return ProxyResult{f.status, false};
  }
  if (!event_stream) co_return ProxyResult{status, false};  // the client sees a cut body: it was
  // An event stream is told in its own terms, then ended cleanly: the client's SSE reader sees
  // why the stream ended instead of a network error it would retry blindly.
  std::string event = final_error_event(boundary.at_boundary(), oc.error,
                                        timed_out ? "the agent stopped sending events in time"
                                                  : "the agent's stream broke off",
                                        req.request_id);
  head.body().data = event.data();
  head.body().size = event.size();
  head.body().more = false;
  tcp_layer(client).expires_after(milliseconds(st.limits.idle_timeout_ms));
  bool client_ok = true;
  while (!sr.is_done()) {
    auto [ec, n] = co_await http::async_write(client, sr, use_task);
    if (ec == http::error::need_buffer) {
      head.body().data = nullptr;  // the event is out; what remains is the last chunk
      head.body().size = 0;
      continue;
    }
    if (ec) {
      client_ok = false;
      break;
    }
  }
  tcp_layer(client).expires_never();
  co_return ProxyResult{status, client_ok && client_keep_alive};
}

// Buffered mode: reads the rest of the answer (at most max_buffered_bytes, within one response
// timeout after the head) into `body`.
template <typename Upstream>
Task<std::optional<UpstreamFailure>> read_whole(Upstream& upstream, UpstreamLease& lease, ResponseParser& parser,
                                                const ForwardTo& to, milliseconds timeout, ClientWatch& watch,
                                                std::string& body) {
  const std::size_t max = std::min<std::size_t>(to.max_buffered_bytes, std::numeric_limits<std::size_t>::max() - 1);
  const auto length = parser.content_length();
  if (length) {
    if (*length > max) co_return kTooLarge;
    body.reserve(*length);
  }
  lease.relaying();
  lease.stream().expires_after(timeout);
  while (!parser.is_done()) {
    const std::size_t have = body.size();
    // A declared length is read into exactly its room. Otherwise the room grows geometrically up
    // to one byte past the limit: reading that byte proves the answer too large.
    const std::size_t room = length && *length > have ? *length - have
                                                      : std::min(std::max<std::size_t>(have, 16384), max + 1 - have);
    body.resize(have + room);
    parser.get().body().data = body.data() + have;
    parser.get().body().size = room;
    auto [ec, n] = co_await http::async_read_some(upstream, lease.buffer(), parser, use_task);
    body.resize(have + room - parser.get().body().size);
    if (watch.gone) co_return std::nullopt;
    if (ec == http::error::need_buffer) ec = {};
    if (ec == beast::error::timeout)
      co_return UpstreamFailure{504, "upstream_timeout", "timeout", "the upstream did not finish its answer in time"};
    if (ec) co_return UpstreamFailure{502, "upstream_broken", "body", "the upstream broke off its answer"};
    if (body.size() > max) co_return kTooLarge;
  }
  lease.stream().expires_never();
  lease.finished(parser.get().keep_alive());
  co_return std::nullopt;
}

template <typename Stream, typename Upstream>
Task<ProxyResult> answer_transformed(Stream& client, Upstream& upstream, const Request& req, const ForwardTo& to,
                                     ResponseParser& parser, UpstreamLease& lease, bool client_keep_alive,
                                     const Settings& st, ClientWatch& watch, std::string_view name,
                                     Clock::time_point start, Outcome& oc) {
  UpstreamAnswer answer;
  auto failure = co_await read_whole(upstream, lease, parser, to, response_timeout(to, st.upstream), watch, answer.body);
  if (watch.gone) co_return kClientGone;
  if (failure) {
    oc.error = failure->code;
    ProxyResult r = co_await answer_failure(client, req, *failure, name, client_keep_alive, st);
    co_return r;
  }
  const auto& head = parser.get();
  answer.status = head.result_int();
  const std::string listed = head.count(http::field::connection) ? std::string(head[http::field::connection]) : "";
  for (const auto& f : head) {
    const auto field = f.name_string();
    if (is_hop_by_hop(field) || listed_in(listed, field) || iequals(field, "content-length")) continue;
    if (iequals(field, "content-type")) answer.content_type = std::string(f.value());
    else answer.headers.push_back({std::string(field), std::string(f.value())});
  }
  if (to.on_outcome) oc.captured = answer.body;
  record_ok(name, start);
  Response res;
  try {
    res = to.transform(std::move(answer));
    res.forward.reset();  // a transform answers; it cannot forward again
  } catch (const std::exception& e) {
    log::error("forward transform failed", {{"request_id", req.request_id}, {"upstream", name}, {"error", e.what()}});
    oc.error = "upstream_bad_response";
    res = error_response(502, "upstream_bad_response", "the upstream answer could not be used", req.request_id);
  }
  const milliseconds write_timeout(st.limits.idle_timeout_ms);
  const bool ok = co_await write_response(client, req, res, client_keep_alive, write_timeout);
  co_return ProxyResult{res.status, ok && client_keep_alive};
}

// The pool key (see UpstreamPool): plain http keeps the short "host:port" (it fits the string's
// inline buffer: no allocation); https names its scheme and trust anchors.
std::string pool_key(const ForwardTo& to, bool https, const std::string& ca_file) {
  std::string key;
  if (https) key = "https://";
  key += to.host;
  key += ':';
  key += std::to_string(to.port);
  if (https) {
    key += ' ';
    key += ca_file;
  }
  return key;
}

template <typename Stream>
Task<ProxyResult> exchange(Worker& w, Stream& client, const Request& req, const ForwardTo& to,
                           bool client_keep_alive, const Settings& st, ClientWatch& watch, Outcome& oc) {
  const bool https = to.scheme == "https";
  const std::string& ca_file = to.ca_file.empty() ? st.upstream.ca_file : to.ca_file;
  Target t{pool_key(to, https, ca_file), {}};
  t.name = to.upstream_name.empty() ? std::string_view(t.key) : std::string_view(to.upstream_name);
  const auto start = Clock::now();

  asio::ssl::context* tls = nullptr;
  if (https) {
    std::string error;
    tls = client_tls_context(ca_file, error);
    if (!tls) {
      log::error("cannot set up TLS for an upstream", {{"request_id", req.request_id}, {"upstream", t.name}, {"error", error}});
      const UpstreamFailure f{502, "upstream_unavailable", "tls", "the gateway cannot verify this upstream"};
      oc.error = f.code;
      co_return co_await answer_failure(client, req, f, t.name, client_keep_alive, st);
    }
  } else if (to.scheme != "http") {
    const UpstreamFailure f{502, "upstream_unavailable", "scheme", "the upstream's scheme is not supported"};
    oc.error = f.code;
    co_return co_await answer_failure(client, req, f, t.name, client_keep_alive, st);
  }

  UpstreamLease lease(w.pool, t.key);
  std::optional<ResponseParser> parser;
  auto failure = co_await obtain_head(lease, parser, req, to, t, st.upstream, tls, watch);
  if (watch.gone) co_return kClientGone;
  ProxyResult result;
  if (failure) {
    oc.error = failure->code;
    result = co_await answer_failure(client, req, *failure, t.name, client_keep_alive, st);
  } else {
    // Dispatched here, not in a helper coroutine: each coroutine level is one more frame per
    // request on the hot path.
    oc.upstream_status = parser->get().result_int();
    TlsStream* secure = lease.tls();
    if (to.transform && secure)
      result = co_await answer_transformed(client, *secure, req, to, *parser, lease, client_keep_alive, st, watch,
                                           t.name, start, oc);
    else if (to.transform)
      result = co_await answer_transformed(client, lease.plain(), req, to, *parser, lease, client_keep_alive, st,
                                           watch, t.name, start, oc);
    else if (body_buffered(*parser, req, lease))
      result = co_await relay_buffered(client, req, to, *parser, lease, client_keep_alive, st, t.name, start, oc);
    else if (secure)
      result = co_await relay_streamed(client, *secure, req, to, *parser, lease, client_keep_alive, st, watch, t.name,
                                       start, oc);
    else
      result = co_await relay_streamed(client, lease.plain(), req, to, *parser, lease, client_keep_alive, st, watch,
                                       t.name, start, oc);
  }
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
  Outcome oc;
  ProxyResult r = co_await exchange(w, client, req, to, client_keep_alive, st, *watch, oc);
  watch->finish();
  if (r.status == kClientGone.status) {
    log::info("client went away; upstream call cancelled", {{"request_id", req.request_id}});
    const std::string_view name = to.upstream_name.empty() ? std::string_view("upstream") : std::string_view(to.upstream_name);
    Metrics::get().upstream_errors.labels({name, "client_gone"}).inc();
    r = ProxyResult{499, false};
    oc.error = "client_gone";
  }
  // A late hang-up after a complete answer is no abort: the status stands.
  if (to.on_outcome) {
    ForwardOutcome out{r.status, std::string(oc.error), oc.upstream_status, std::move(oc.captured), oc.truncated};
    try {
      to.on_outcome(std::move(out));
    } catch (const std::exception& e) {
      log::error("forward outcome callback failed", {{"request_id", req.request_id}, {"error", e.what()}});
    }
  }
  co_return r;
}

template Task<ProxyResult> proxy<TcpStream>(Worker&, TcpStream&, const Request&, const ForwardTo&, bool, const Settings&);
template Task<ProxyResult> proxy<TlsStream>(Worker&, TlsStream&, const Request&, const ForwardTo&, bool, const Settings&);

}  // namespace pc::net::detail
