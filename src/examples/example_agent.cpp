#include "examples/example_agent.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <optional>
#include <thread>
#include <unordered_map>

#include "core/clock.h"
#include "core/log.h"
#include "core/percent.h"
#include "examples/agent_call.h"
#include "examples/example_a2a.h"
#include "examples/identity_check.h"

namespace pc::examples {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
constexpr auto tok = asio::as_tuple(asio::use_awaitable);

// Threads for the blocking work (JWKS fetches, calls to other agents through the gateway), so the
// I/O thread keeps serving: an agent that calls itself through the gateway (A → B → A refused by
// the gateway, or a chain of four) needs a thread per hop still waiting.
constexpr unsigned kBlockingThreads = 8;
// The per-key counters are for tests; a bound keeps a long benchmark run from growing them forever.
constexpr std::size_t kMaxKeys = 100000;

struct State {
  ExampleAgentOptions options;
  std::unique_ptr<IdentityCheck> check;  // null: identity not checked
  std::unique_ptr<IdentityCheck> a2a_check;  // for /a2a: audience agent:<a2a_name> (null with check)
  std::unique_ptr<ExampleA2a> a2a;
  asio::thread_pool pool{kBlockingThreads};
  // Touched on the I/O thread only.
  std::unordered_map<std::string, std::int64_t> calls;     // Idempotency-Key → calls seen
  std::unordered_map<std::string, std::int64_t> attempts;  // fail_times key → calls seen
};

// Runs `f` on the blocking pool; the coroutine resumes on its own executor with the result.
// Only named locals in co_await expressions: GCC 12 destroys some temporaries of a co_await
// expression twice (docs/threat-model.md T21).
template <class F>
auto run_blocking(asio::thread_pool& pool, F f) -> asio::awaitable<decltype(f())> {
  using R = decltype(f());
  auto task = [f = std::move(f)]() mutable -> asio::awaitable<R> { co_return f(); };
  auto op = asio::co_spawn(pool, std::move(task), asio::use_awaitable);
  R result = co_await std::move(op);
  co_return result;
}

std::int64_t int_knob(const json::object& knobs, const json::object& body, std::string_view key, std::int64_t def,
                      std::int64_t lo, std::int64_t hi) {
  // The knob inside `input` wins; the same name at the top of the body is the older form.
  for (const json::object* o : {&knobs, &body}) {
    auto it = o->find(key);
    if (it != o->end() && it->value().is_int64()) return std::clamp<std::int64_t>(it->value().as_int64(), lo, hi);
    if (it != o->end() && it->value().is_uint64())
      return std::clamp<std::int64_t>(static_cast<std::int64_t>(std::min<std::uint64_t>(it->value().as_uint64(), hi)), lo, hi);
  }
  return def;
}

bool has_knob(const json::object& knobs, std::string_view key) { return knobs.contains(key); }

template <typename Res>
asio::awaitable<bool> send(beast::tcp_stream& s, Res& res) {
  auto [ec, n] = co_await http::async_write(s, res, tok);
  co_return !ec;
}

http::response<http::string_body> json_response(http::status st, const json::value& v, bool keep_alive) {
  http::response<http::string_body> res{st, 11};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(keep_alive);
  res.body() = json::serialize(v);
  res.prepare_payload();
  return res;
}

json::object error_json(std::string_view code, std::string_view message) {
  return {{"error", {{"code", code}, {"message", message}}}};
}

std::string header(const http::request<http::string_body>& req, std::string_view name) {
  auto it = req.find(name);
  return it == req.end() ? std::string() : std::string(it->value());
}

json::value or_null(const std::string& s) { return s.empty() ? json::value(nullptr) : json::value(s); }

// Roughly four characters a token: a stand-in for a model's count, but a real count of something,
// so callers can tell "reported" from "unknown".
std::int64_t token_estimate(std::size_t chars) { return static_cast<std::int64_t>((chars + 3) / 4); }

// The verified claims the output shows (what the agent learned about its caller).
json::object identity_view(const json::object& claims) {
  json::object out;
  for (std::string_view k : {"iss", "aud", "sub", "tenantid", "appid", "tier", "client_id", "scope", "session_id", "act", "exp"})
    if (auto it = claims.find(k); it != claims.end()) out[k] = it->value();
  return out;
}

void close_now(beast::tcp_stream& s) {
  beast::error_code ec;
  s.socket().shutdown(tcp::socket::shutdown_both, ec);
  s.socket().close(ec);
}

std::int64_t bump(std::unordered_map<std::string, std::int64_t>& m, const std::string& key) {
  if (m.size() >= kMaxKeys && !m.contains(key)) m.clear();
  return ++m[key];
}

// What the identity step decided: the verified claims (none when identity is not checked), or
// the refusal to send.
struct Auth {
  std::optional<json::object> claims;
  std::optional<http::response<http::string_body>> refusal;
};

// The identity step every agent endpoint runs first (/invocations and /a2a alike): with a gateway
// configured, nothing is answered without a valid X-Portcullis-Identity for `check`'s audience.
// Keys are fetched off the I/O thread when the token names one we lack.
asio::awaitable<Auth> authenticate(const http::request<http::string_body>& req, State& st, IdentityCheck* check) {
  Auth out;
  if (!check) co_return out;
  const bool keep = req.keep_alive();
  const std::string identity_token = header(req, "X-Portcullis-Identity");
  if (identity_token.empty()) {
    out.refusal = json_response(http::status::unauthorized,
                                error_json("identity_required", "X-Portcullis-Identity is required"), keep);
    co_return out;
  }
  auto r = check->check(identity_token, core::unix_now());
  if (r.outcome == IdentityCheck::Outcome::need_keys) {
    auto fetch = [check]() -> std::string {
      try {
        check->refresh();
        return {};
      } catch (const std::exception& e) {
        return e.what();
      }
    };
    auto fetch_op = run_blocking(st.pool, std::move(fetch));
    std::string fetch_error = co_await std::move(fetch_op);
    if (!fetch_error.empty()) {
      log::warn("example agent: cannot fetch the gateway's keys", {{"error", fetch_error}});
      out.refusal = json_response(http::status::service_unavailable,
                                  error_json("identity_keys_unavailable", "the gateway's keys cannot be fetched"), keep);
      co_return out;
    }
    r = check->check(identity_token, core::unix_now());
    if (r.outcome == IdentityCheck::Outcome::need_keys) {
      r.outcome = IdentityCheck::Outcome::refused;
      if (r.reason.empty()) r.reason = "the gateway publishes no keys";
    }
  }
  if (r.outcome != IdentityCheck::Outcome::ok) {
    out.refusal = json_response(http::status::unauthorized, error_json("identity_invalid", r.reason), keep);
    co_return out;
  }
  out.claims = std::move(r.claims);
  co_return out;
}

asio::awaitable<bool> invocations(beast::tcp_stream& s, http::request<http::string_body>& req, State& st) {
  const bool keep = req.keep_alive();
  const std::string idem = header(req, "Idempotency-Key");
  if (!idem.empty()) bump(st.calls, idem);

  // 1. Who is calling: with a gateway configured, nothing is answered without a valid identity.
  std::string identity_token = header(req, "X-Portcullis-Identity");
  auto auth_op = authenticate(req, st, st.check.get());
  Auth auth = co_await std::move(auth_op);
  if (auth.refusal) co_return co_await send(s, *auth.refusal) && keep;
  std::optional<json::object> claims = std::move(auth.claims);

  // 2. The body: {"input", "sessionId", "context", "metadata", "mode", "invocationId"}.
  json::error_code jec;
  json::value body = json::parse(req.body(), jec);
  if (jec || !body.is_object()) {
    auto res = json_response(http::status::bad_request, error_json("invalid_request", "body must be a JSON object"), keep);
    co_return co_await send(s, res) && keep;
  }
  auto& o = body.as_object();
  json::value input = o.contains("input") ? o.at("input") : json::value(nullptr);
  static const json::object kNoKnobs;
  const json::object& knobs = input.is_object() ? input.as_object() : kNoKnobs;

  auto delay = int_knob(knobs, o, "delay_ms", 0, 0, 600000);
  if (delay > 0) {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(delay));
    co_await t.async_wait(tok);
  }

  // 3. Failures on demand.
  const auto fail_status = static_cast<unsigned>(int_knob(knobs, o, "fail_status", 0, 0, 599));
  const auto fail_times = int_knob(knobs, o, "fail_times", 0, 0, 1000000);
  bool fail = false;
  if (fail_times > 0) {
    std::string key = idem;
    if (key.empty())
      if (auto it = knobs.find("key"); it != knobs.end() && it->value().is_string()) key = std::string(it->value().as_string());
    fail = bump(st.attempts, key) <= fail_times;
  } else {
    fail = fail_status >= 400;
  }
  if (fail) {
    auto status = static_cast<http::status>(fail_status >= 400 ? fail_status : 503);
    auto res = json_response(status, error_json("runtime_failure", "failing on purpose (fail_status/fail_times)"), keep);
    co_return co_await send(s, res) && keep;
  }

  std::string mode = o.contains("mode") && o.at("mode").is_string() ? std::string(o.at("mode").as_string()) : "";
  const bool stream = mode == "stream" || (o.contains("stream") && o.at("stream") == true) ||
                      header(req, "Accept").find("text/event-stream") != std::string::npos;
  if (!stream && has_knob(knobs, "die_after_events")) {
    close_now(s);  // the runtime dies before answering
    co_return false;
  }

  // 4. A call to another agent through the gateway, with this call's identity.
  std::optional<json::object> call;
  if (auto it = knobs.find("call"); it != knobs.end()) {
    const json::object* c = it->value().if_object();
    const json::value* callee = c ? c->if_contains("agent") : nullptr;
    if (!callee || !callee->is_string()) {
      auto res = json_response(http::status::bad_request, error_json("invalid_request", "call must be {agent, input}"), keep);
      co_return co_await send(s, res) && keep;
    }
    if (!st.check) {
      auto res = json_response(http::status::bad_request,
                               error_json("invalid_request", "this agent runs without --gateway: it cannot call agents"), keep);
      co_return co_await send(s, res) && keep;
    }
    GatewayEndpoint gw{st.options.gateway, st.options.gateway_ca};
    json::value callee_input = c->contains("input") ? c->at("input") : json::value(nullptr);
    std::string agent_name(callee->as_string());
    std::string request_id = header(req, "X-Request-Id");
    auto job = [gw, identity_token, agent_name, callee_input, request_id] {
      return call_agent(gw, identity_token, agent_name, callee_input, request_id);
    };
    auto call_op = run_blocking(st.pool, std::move(job));
    json::object answer = co_await std::move(call_op);
    call = std::move(answer);
  }

  // 5. The answer: the input echoed with what the agent learned about the call.
  json::object seen_headers;
  for (const auto& f : req) {
    std::string name(f.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    // The identity token is a bearer credential for this agent (it can be exchanged at the
    // gateway): an agent must never hand it back to its caller.
    seen_headers[name] = name == "x-portcullis-identity" ? json::value("(redacted)") : json::value(f.value());
  }
  json::object output{{"echo", input},
                      {"identity", claims ? json::value(identity_view(*claims)) : json::value(nullptr)},
                      {"sessionId", or_null(header(req, "X-Portcullis-Session-Id"))},
                      {"idempotencyKey", or_null(idem)},
                      {"agent", st.options.name},
                      {"headers", seen_headers}};
  if (call) output["call"] = std::move(*call);
  const bool report_usage = !(knobs.contains("no_usage") && knobs.at("no_usage") == true);
  const std::int64_t input_tokens = std::max<std::int64_t>(1, token_estimate(json::serialize(input).size()));

  if (!stream) {
    json::object answer{{"output", std::move(output)}};
    if (report_usage) answer["usage"] = {{"inputTokens", input_tokens}, {"outputTokens", input_tokens}};
    // Also at the top level, as the raw proxy's tests read it before the invocation contract.
    answer["headers"] = std::move(seen_headers);
    auto res = json_response(http::status::ok, answer, keep);
    co_return co_await send(s, res) && keep;
  }

  const auto events = int_knob(knobs, o, "stream_events", int_knob(knobs, o, "chunks", 3, 1, 100000), 1, 100000);
  const auto interval = int_knob(knobs, o, "stream_interval_ms", int_knob(knobs, o, "interval_ms", 100, 0, 60000), 0, 60000);
  const auto die_after = int_knob(knobs, o, "die_after_events", -1, 0, 100000);
  http::response<http::empty_body> head{http::status::ok, 11};
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-cache");
  head.keep_alive(keep);
  head.chunked(true);
  http::response_serializer<http::empty_body> sr{head};
  auto [hec, hn] = co_await http::async_write_header(s, sr, tok);
  if (hec) co_return false;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (std::int64_t i = 0; i < events; ++i) {
    if (i == die_after) {
      close_now(s);  // mid-stream death: no final chunk, no done event
      co_return false;
    }
    if (i > 0 && interval > 0) {
      timer.expires_after(std::chrono::milliseconds(interval));
      co_await timer.async_wait(tok);
    }
    std::string ev = "event: token\ndata: {\"index\":" + std::to_string(i) + ",\"text\":\"chunk " + std::to_string(i) + "\"}\n\n";
    auto [ec, n] = co_await asio::async_write(s, http::make_chunk(asio::buffer(ev)), tok);
    if (ec) co_return false;
  }
  if (die_after == events) {
    close_now(s);
    co_return false;
  }
  json::object done{{"output", std::move(output)}};
  if (report_usage) done["usage"] = {{"inputTokens", input_tokens}, {"outputTokens", events}};
  std::string done_ev = "event: done\ndata: " + json::serialize(done) + "\n\n";
  auto [ec1, n1] = co_await asio::async_write(s, http::make_chunk(asio::buffer(done_ev)), tok);
  if (ec1) co_return false;
  auto [ec2, n2] = co_await asio::async_write(s, http::make_chunk_last(), tok);
  co_return !ec2 && keep;
}

// The base URL a card names: as the caller reached us (Host), so the gateway's card fetch on the
// registered origin and a direct client both get URLs they can use. A caller's odd Host only
// changes its own copy; the gateway takes nothing but the paths from a card (a2a/card_cache.h).
std::string base_url(const http::request<http::string_body>& req, const std::string& address) {
  std::string host = header(req, "Host");
  return "http://" + (host.empty() ? address : host);
}

// One server-sent event (one chunk): `data` is one line of JSON.
asio::awaitable<bool> write_sse(beast::tcp_stream& s, const std::string& data) {
  std::string ev = "data: " + data + "\n\n";
  auto [ec, n] = co_await asio::async_write(s, http::make_chunk(asio::buffer(ev)), tok);
  co_return !ec;
}

// POST /a2a: JSON-RPC (example_a2a.h), after the same identity step as /invocations.
asio::awaitable<bool> a2a_rpc(beast::tcp_stream& s, http::request<http::string_body>& req, State& st) {
  const bool keep = req.keep_alive();
  auto auth_op = authenticate(req, st, st.a2a_check.get());
  Auth auth = co_await std::move(auth_op);
  if (auth.refusal) co_return co_await send(s, *auth.refusal) && keep;
  ExampleA2a::Caller caller;
  if (auth.claims) caller.identity = identity_view(*auth.claims);
  caller.session_id = header(req, "X-Portcullis-Session-Id");
  caller.a2a_version = header(req, "A2A-Version");
  caller.request_id = header(req, "X-Request-Id");
  ExampleA2a::Reply reply = st.a2a->handle(req.body(), caller);
  if (!reply.stream) {
    http::response<http::string_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "application/json");
    res.keep_alive(keep);
    res.body() = std::move(reply.body);
    res.prepare_payload();
    co_return co_await send(s, res) && keep;
  }
  http::response<http::empty_body> head{http::status::ok, 11};
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-cache");
  head.keep_alive(keep);
  head.chunked(true);
  http::response_serializer<http::empty_body> sr{head};
  auto [hec, hn] = co_await http::async_write_header(s, sr, tok);
  if (hec) co_return false;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  bool last = false;
  for (const auto& ev : reply.events) {
    if (ev.delay.count() > 0) {
      timer.expires_after(ev.delay);
      co_await timer.async_wait(tok);
    }
    ExampleA2a::Emit e = st.a2a->emit(reply, ev);
    auto write_op = write_sse(s, e.data);
    if (!co_await std::move(write_op)) co_return false;  // the client went away: the task stays as it is
    if (e.last) {
      last = true;
      break;
    }
  }
  if (reply.hold && !last) {
    // Held: the stream stays open until the task is canceled or completed by a next message.
    const auto step = std::max(reply.interval, std::chrono::milliseconds(20));
    std::optional<std::string> final_event;
    for (std::int64_t waited = 0; !final_event; waited += step.count()) {
      if (waited >= ExampleA2a::kMaxHoldMs) {
        final_event = st.a2a->give_up(reply);
        break;
      }
      timer.expires_after(step);
      co_await timer.async_wait(tok);
      final_event = st.a2a->poll_held(reply);
    }
    auto write_op = write_sse(s, *final_event);
    if (!co_await std::move(write_op)) co_return false;
  }
  auto [ec2, n2] = co_await asio::async_write(s, http::make_chunk_last(), tok);
  co_return !ec2 && keep;
}

// GET /calls?key=K → {"count": N}: how many POST /invocations carried Idempotency-Key K.
http::response<http::string_body> calls(const http::request<http::string_body>& req, const State& st) {
  std::string_view target = req.target();
  std::string_view query = target.find('?') == std::string_view::npos ? "" : target.substr(target.find('?') + 1);
  std::optional<std::string> key;
  while (!query.empty()) {
    std::string_view pair = query.substr(0, query.find('&'));
    query = pair.size() == query.size() ? "" : query.substr(pair.size() + 1);
    if (pair.starts_with("key=")) {
      std::string decoded;
      if (core::percent_decode(pair.substr(4), decoded, true)) key = std::move(decoded);
    }
  }
  if (!key || key->empty())
    return json_response(http::status::bad_request, error_json("invalid_request", "key is required"), req.keep_alive());
  auto it = st.calls.find(*key);
  return json_response(http::status::ok, {{"count", it == st.calls.end() ? 0 : it->second}}, req.keep_alive());
}

asio::awaitable<void> session(beast::tcp_stream s, State& st, std::string address) {
  beast::flat_buffer buf;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(8 * 1024 * 1024);
    s.expires_after(std::chrono::seconds(120));
    auto [ec, n] = co_await http::async_read(s, buf, parser, tok);
    if (ec) break;
    s.expires_never();
    auto& req = parser.get();
    bool keep;
    std::string_view path = req.target().substr(0, req.target().find('?'));
    if (req.method() == http::verb::get && path == "/ping") {
      auto res = json_response(http::status::ok, {{"status", "Healthy"}}, req.keep_alive());
      keep = co_await send(s, res) && req.keep_alive();
    } else if (req.method() == http::verb::post && path == "/invocations") {
      keep = co_await invocations(s, req, st);
    } else if (req.method() == http::verb::post && path == ExampleA2a::kJsonRpcPath) {
      keep = co_await a2a_rpc(s, req, st);
    } else if (req.method() == http::verb::get &&
               (path == ExampleA2a::kCardPath || path == ExampleA2a::kLegacyCardPath)) {
      // The card is public, as A2A discovery is: the gateway fetches it without a caller (its
      // card cache) and serves its own rewrite only to authenticated callers.
      const std::string base = base_url(req, address);
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "application/json");
      res.keep_alive(req.keep_alive());
      res.body() = path == ExampleA2a::kCardPath ? st.a2a->card_v1(base) : st.a2a->card_v03(base);
      res.prepare_payload();
      keep = co_await send(s, res) && req.keep_alive();
    } else if (req.method() == http::verb::get && path == "/calls") {
      auto res = calls(req, st);
      keep = co_await send(s, res) && req.keep_alive();
    } else {
      auto res = json_response(http::status::not_found, error_json("not_found", "not found"), req.keep_alive());
      keep = co_await send(s, res) && req.keep_alive();
    }
    if (!keep) break;
  }
  beast::error_code ec;
  s.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> accept_loop(tcp::acceptor& a, State& st) {
  for (;;) {
    auto [ec, sock] = co_await a.async_accept(tok);
    if (ec) {
      if (!a.is_open()) co_return;
      continue;
    }
    sock.set_option(tcp::no_delay(true), ec);
    auto local = sock.local_endpoint(ec);
    std::string address = ec ? std::string("127.0.0.1") : local.address().to_string() + ":" + std::to_string(local.port());
    asio::co_spawn(a.get_executor(), session(beast::tcp_stream(std::move(sock)), st, std::move(address)), asio::detached);
  }
}

}  // namespace

struct ExampleAgent::Impl {
  State state;
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::thread thread;
};

ExampleAgent::ExampleAgent(const std::string& listen) : ExampleAgent(ExampleAgentOptions{.listen = listen}) {}

ExampleAgent::ExampleAgent(ExampleAgentOptions options) : impl_(std::make_unique<Impl>()) {
  while (!options.gateway.empty() && options.gateway.back() == '/') options.gateway.pop_back();
  if (options.name.empty()) throw std::runtime_error("example agent: --name must not be empty");
  if (!options.gateway.empty())
    impl_->state.check = std::make_unique<IdentityCheck>(options.gateway, options.issuer, options.name,
                                                         IdentityCheck::default_fetch(options.gateway_ca));
  if (options.a2a_name.empty()) options.a2a_name = options.name;
  if (!options.gateway.empty())
    impl_->state.a2a_check = std::make_unique<IdentityCheck>(options.gateway, options.issuer, options.a2a_name,
                                                             IdentityCheck::default_fetch(options.gateway_ca));
  impl_->state.a2a = std::make_unique<ExampleA2a>(options.a2a_name);
  impl_->state.options = options;
  const std::string& listen = options.listen;
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("example agent: listen must be host:port");
  tcp::endpoint ep{asio::ip::make_address(listen.substr(0, colon)),
                   static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)))};
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  asio::co_spawn(impl_->ioc, accept_loop(impl_->acceptor, impl_->state), asio::detached);
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

ExampleAgent::~ExampleAgent() { stop(); }

std::string ExampleAgent::address() const {
  auto ep = impl_->acceptor.local_endpoint();
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

void ExampleAgent::stop() {
  if (!impl_->thread.joinable()) return;
  asio::post(impl_->ioc, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
    impl_->ioc.stop();
  });
  impl_->thread.join();
  // Blocking calls still running finish on their own time (bounded by their timeouts); their
  // results have nowhere to go once the I/O loop stopped.
  impl_->state.pool.stop();
  impl_->state.pool.join();
}

}  // namespace pc::examples
