// net::call_upstream (net/upstream_call.h): the gateway's own outbound calls, on the I/O threads'
// event loops and their upstream pools, with the same lease discipline as the proxy
// (net/detail/upstream_lease.h): a connection goes back to the pool only when its answer was read
// exactly to its end, and a failed attempt on a stale pooled connection is repeated only when
// net/detail/retry_policy.h says repeating cannot run the call twice.
#include "net/upstream_call.h"

#include <atomic>
#include <limits>
#include <mutex>
#include <shared_mutex>

#include "core/log.h"
#include "net/detail/forward_headers.h"
#include "net/detail/retry_policy.h"
#include "net/detail/server_state.h"
#include "net/detail/tls_client.h"
#include "net/detail/upstream_lease.h"

namespace pc::net {

const std::string* UpstreamReply::header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

namespace detail {

thread_local Worker* t_current_worker = nullptr;

namespace {

using std::chrono::milliseconds;

// The running server, for calls made from threads that are not its I/O threads. Server::start
// registers it and Server::stop unregisters it before its event loops stop, under the lock, so a
// call never posts to a loop that is being torn down.
std::shared_mutex g_mu;
Shared* g_shared = nullptr;
std::atomic<std::size_t> g_next{0};

// One call's state, shared by the coroutine and the handle. Touched only on its worker's thread
// (the handle's cancel() posts there), except `done`'s once-guard.
struct CallState : UpstreamCallHandle, std::enable_shared_from_this<CallState> {
  UpstreamCall call;
  std::function<void(UpstreamReply&&)> done;
  std::atomic<bool> finished{false};
  Worker* worker = nullptr;
  bool cancelled = false;
  TcpStream* stream = nullptr;  // the connection in use, for cancel()

  // Exactly once. A call whose loop stopped before it ran (shutdown) reports "cancelled" when
  // the last reference goes.
  void finish(UpstreamReply&& r) {
    if (finished.exchange(true)) return;
    auto fn = std::move(done);
    try {
      if (fn) fn(std::move(r));
    } catch (const std::exception& e) {
      log::error("upstream call callback failed", {{"upstream", call.upstream_name}, {"error", e.what()}});
    }
  }
  ~CallState() override {
    if (!finished.load()) {
      UpstreamReply r;
      r.error = "cancelled";
      finish(std::move(r));
    }
  }
  void cancel() override {
    Worker* w = worker;
    if (!w) return;
    asio::post(w->ioc, [self = shared_from_this()] {
      self->cancelled = true;
      if (self->stream) self->stream->cancel();
    });
  }
};

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

bool own_field(std::string_view name) {
  for (auto n : {"host", "content-length", "connection", "transfer-encoding", "te", "upgrade", "keep-alive"})
    if (iequals(name, n)) return true;
  return false;
}

std::string request_text(const UpstreamCall& c) {
  std::string out;
  out.reserve(256 + c.target.size() + c.body.size());
  out += c.method;
  out += ' ';
  out += c.target.empty() ? "/" : c.target;
  out += " HTTP/1.1\r\nHost: ";
  const bool v6 = c.host.find(':') != std::string::npos && c.host.front() != '[';
  if (v6) out += '[';
  out += c.host;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(c.port);
  out += "\r\n";
  for (const auto& h : c.headers) {
    if (own_field(h.name) || has_line_break(h.name) || has_line_break(h.value) ||
        h.name.find(':') != std::string::npos || h.name.empty())
      continue;
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  if (!c.body.empty() || c.method == "POST" || c.method == "PUT" || c.method == "PATCH") {
    out += "Content-Length: ";
    out += std::to_string(c.body.size());
    out += "\r\n";
  }
  out += "\r\n";
  out += c.body;
  return out;
}

UpstreamReply failed(std::string_view code) {
  UpstreamReply r;
  r.error = std::string(code);
  return r;
}

void take_head(const ResponseParser& parser, UpstreamReply& r) {
  const auto& head = parser.get();
  r.status = head.result_int();
  const std::string listed = head.count(http::field::connection) ? std::string(head[http::field::connection]) : "";
  for (const auto& f : head) {
    const auto name = f.name_string();
    if (is_hop_by_hop(name) || listed_in(listed, name) || iequals(name, "content-length")) continue;
    if (iequals(name, "content-type")) r.content_type = std::string(f.value());
    else r.headers.push_back({std::string(name), std::string(f.value())});
  }
}

template <typename Upstream>
Task<std::string_view> read_body(Upstream& up, UpstreamLease& lease, ResponseParser& parser, CallState& st,
                                 milliseconds timeout, std::string& body) {
  const UpstreamCall& c = st.call;
  const bool streaming = static_cast<bool>(c.on_body);
  const std::size_t max = std::min<std::size_t>(c.max_body_bytes, std::numeric_limits<std::size_t>::max() - 1);
  lease.relaying();
  if (!streaming) lease.stream().expires_after(timeout);
  std::string piece;
  while (!parser.is_done()) {
    if (streaming) {
      if (c.idle_timeout.count() > 0) lease.stream().expires_after(c.idle_timeout);
      else lease.stream().expires_never();
      piece.resize(16384);
      parser.get().body().data = piece.data();
      parser.get().body().size = piece.size();
    } else {
      const std::size_t have = body.size();
      const std::size_t room = std::min(std::max<std::size_t>(have, 16384), max + 1 - have);
      body.resize(have + room);
      parser.get().body().data = body.data() + have;
      parser.get().body().size = room;
    }
    auto [ec, n] = co_await http::async_read_some(up, lease.buffer(), parser, use_task);
    if (!streaming) {
      body.resize(body.size() - parser.get().body().size);
    } else {
      piece.resize(piece.size() - parser.get().body().size);
    }
    if (st.cancelled) co_return "cancelled";
    if (ec == http::error::need_buffer) ec = {};
    if (ec == beast::error::timeout) co_return "upstream_timeout";
    if (ec) co_return "upstream_broken";
    if (streaming && !piece.empty()) {
      bool go_on = false;
      try {
        go_on = c.on_body(piece);
      } catch (const std::exception& e) {
        log::error("upstream body callback failed", {{"upstream", c.upstream_name}, {"error", e.what()}});
      }
      if (!go_on) co_return "cancelled";
    }
    if (!streaming && body.size() > max) co_return "upstream_bad_response";
  }
  lease.stream().expires_never();
  lease.finished(parser.get().keep_alive());
  co_return "";
}

std::string pool_key(const UpstreamCall& c, bool https, const std::string& ca_file) {
  std::string key;
  if (https) key = "https://";
  key += c.host;
  key += ':';
  key += std::to_string(c.port);
  if (https) {
    key += ' ';
    key += ca_file;
  }
  return key;
}

Task<> run_call(Worker& w, std::shared_ptr<CallState> st) {
  const UpstreamCall& c = st->call;
  const auto settings = w.shared->settings.load(std::memory_order_relaxed);
  const core::UpstreamConfig& up = settings->upstream;
  const bool https = c.scheme == "https";
  if (!https && c.scheme != "http") {
    st->finish(failed("upstream_unavailable"));
    co_return;
  }
  const std::string& ca_file = c.ca_file.empty() ? up.ca_file : c.ca_file;
  asio::ssl::context* tls = nullptr;
  if (https) {
    std::string error;
    tls = client_tls_context(ca_file, error);
    if (!tls) {
      log::error("cannot set up TLS for an upstream", {{"upstream", c.upstream_name}, {"error", error}});
      st->finish(failed("upstream_unavailable"));
      co_return;
    }
  }
  ForwardTo to;  // what the lease's connect needs to know of the target
  to.host = c.host;
  to.port = c.port;
  to.scheme = c.scheme;
  to.upstream_name = c.upstream_name;
  const milliseconds timeout = c.timeout.count() > 0 ? c.timeout : milliseconds(up.response_timeout_ms);
  const std::string text = request_text(c);
  UpstreamLease lease(w.pool, pool_key(c, https, ca_file));
  std::optional<ResponseParser> parser;
  std::optional<UpstreamFailure> failure;
  const auto ex = co_await asio::this_coro::executor;
  for (int attempt = 0;; ++attempt) {
    st->stream = nullptr;
    if (attempt > 0 || !lease.take(milliseconds(up.pool_idle_timeout_ms))) {
      lease.renew(ex, tls);
      st->stream = &lease.stream();
      if (st->cancelled) break;
      failure = co_await lease.connect(to, milliseconds(up.connect_timeout_ms));
      if (failure || st->cancelled) break;
    }
    st->stream = &lease.stream();
    failure = co_await lease.send(text, timeout);
    if (!failure && !st->cancelled) failure = co_await lease.read_final_head(parser, c.method == "HEAD", timeout);
    if (!failure || st->cancelled) break;
    if (attempt > 0 || !may_retry(c.method, lease.attempt(*failure))) break;
  }
  UpstreamReply reply;
  std::string_view error;
  if (st->cancelled) error = "cancelled";
  else if (failure) error = failure->code;
  if (error.empty()) {
    take_head(*parser, reply);
    if (c.on_head) {
      try {
        c.on_head(reply);
      } catch (const std::exception& e) {
        log::error("upstream head callback failed", {{"upstream", c.upstream_name}, {"error", e.what()}});
        error = "cancelled";
      }
    }
  }
  if (error.empty()) {
    std::string body;
    if (TlsStream* secure = lease.tls()) error = co_await read_body(*secure, lease, *parser, *st, timeout, body);
    else error = co_await read_body(lease.plain(), lease, *parser, *st, timeout, body);
    if (!c.on_body) reply.body = std::move(body);
  }
  st->stream = nullptr;
  lease.release(up.pool_max_idle_per_host);
  auto& m = Metrics::get();
  const std::string_view name = c.upstream_name.empty() ? std::string_view("upstream") : std::string_view(c.upstream_name);
  if (error.empty()) {
    m.upstream_requests.labels({name, "ok"}).inc();
  } else {
    m.upstream_errors.labels({name, error}).inc();
    reply.error = std::string(error);
    if (error != "cancelled") reply.body.clear();
  }
  st->finish(std::move(reply));
}

void start_on(Worker& w, std::shared_ptr<CallState> st) {
  st->worker = &w;
  asio::co_spawn(w.ioc, run_call(w, st), [st](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::error("upstream call failed", {{"upstream", st->call.upstream_name}, {"error", ex.what()}});
    }
    st->finish(failed("upstream_bad_response"));
  });
}

}  // namespace

void register_running(Shared* shared) {
  std::unique_lock lock(g_mu);
  g_shared = shared;
}

void unregister_running(Shared* shared) {
  std::unique_lock lock(g_mu);
  if (g_shared == shared) g_shared = nullptr;
}

}  // namespace detail

std::shared_ptr<UpstreamCallHandle> call_upstream(UpstreamCall call, std::function<void(UpstreamReply&&)> done) {
  using namespace detail;
  auto st = std::make_shared<CallState>();
  st->call = std::move(call);
  st->done = std::move(done);
  if (Worker* w = t_current_worker) {
    start_on(*w, st);
    return st;
  }
  std::shared_lock lock(g_mu);
  if (!g_shared || g_shared->workers.empty()) {
    lock.unlock();
    st->finish(failed("upstream_unavailable"));
    return st;
  }
  Worker& w = *g_shared->workers[g_next.fetch_add(1, std::memory_order_relaxed) % g_shared->workers.size()];
  st->worker = &w;
  asio::post(w.ioc, [&w, st] { start_on(w, st); });
  return st;
}

}  // namespace pc::net
