#include "examples/example_tools.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "core/clock.h"
#include "core/log.h"
#include "examples/identity_check.h"

namespace pc::examples {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
constexpr auto tok = asio::as_tuple(asio::use_awaitable);

// The MCP revisions it speaks, newest first: an initialize asking for another one is answered
// with the newest (the client then decides whether it can go on), per the lifecycle spec.
constexpr std::array<std::string_view, 2> kProtocolVersions = {"2025-11-25", "2025-06-18"};
// Later requests may omit MCP-Protocol-Version; the transport spec says to assume this one then.
constexpr std::string_view kAssumedWithoutHeader = "2025-03-26";
constexpr std::size_t kMaxBodyBytes = 1024 * 1024;
// Sessions live in memory (it is an example); a bound and an idle expiry keep a long benchmark
// from growing the map forever.
constexpr std::size_t kMaxSessions = 10000;
constexpr auto kSessionIdle = std::chrono::hours(1);
constexpr std::int64_t kMaxSlowMs = 60000;

// JSON-RPC 2.0 and MCP error codes.
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kSessionNotFound = -32001;

struct Session {
  std::string protocol;
  bool initialized = false;  // notifications/initialized seen
  std::chrono::steady_clock::time_point last_used;
};

struct State {
  ExampleToolsOptions options;
  std::string url;
  std::string origin;  // scheme://host[:port] of url, the one browser origin it trusts besides loopback
  std::unique_ptr<IdentityCheck> check;  // null: tokens not required
  asio::thread_pool pool{2};              // JWKS fetches (blocking)
  std::unordered_map<std::string, Session> sessions;  // touched on the I/O thread only
};

template <class F>
auto run_blocking(asio::thread_pool& pool, F f) -> asio::awaitable<decltype(f())> {
  using R = decltype(f());
  auto task = [f = std::move(f)]() mutable -> asio::awaitable<R> { co_return f(); };
  auto op = asio::co_spawn(pool, std::move(task), asio::use_awaitable);
  R result = co_await std::move(op);  // named: GCC 12 co_await temporaries (docs/threat-model.md T21)
  co_return result;
}

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

std::string header(const Request& req, std::string_view name) {
  auto it = req.find(name);
  return it == req.end() ? std::string() : std::string(it->value());
}

Response plain(http::status st, bool keep_alive) {
  Response res{st, 11};
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

Response json_response(http::status st, const json::value& v, bool keep_alive) {
  Response res{st, 11};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(keep_alive);
  res.body() = json::serialize(v);
  res.prepare_payload();
  return res;
}

json::object rpc_error(const json::value& id, int code, std::string_view message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

json::object rpc_result(const json::value& id, json::value result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

std::string new_session_id() {
  std::array<unsigned char, 16> bytes;
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) throw std::runtime_error("no randomness");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

// ---- the tools

json::object schema(json::object properties, json::array required) {
  return {{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)},
          {"additionalProperties", false}};
}

const json::array& tool_list() {
  static const json::array tools = [] {
    json::object read_only{{"readOnlyHint", true}, {"openWorldHint", false}};
    json::array t;
    t.push_back({{"name", "echo"},
                 {"title", "Echo"},
                 {"description", "Returns the text it was given."},
                 {"inputSchema", schema({{"text", {{"type", "string"}, {"maxLength", 100000}}}}, {"text"})},
                 {"annotations", read_only}});
    t.push_back({{"name", "add"},
                 {"title", "Add"},
                 {"description", "Adds two numbers."},
                 {"inputSchema", schema({{"a", {{"type", "number"}}}, {"b", {{"type", "number"}}}}, {"a", "b"})},
                 {"outputSchema", schema({{"sum", {{"type", "number"}}}}, {"sum"})},
                 {"annotations", read_only}});
    t.push_back({{"name", "lookup_customer"},
                 {"title", "Look up a customer"},
                 {"description", "Returns a (fictitious) customer record, personal data included."},
                 {"inputSchema",
                  schema({{"id", {{"type", "string"}, {"pattern", "^[A-Za-z0-9_-]{1,64}$"}}}}, {"id"})},
                 {"annotations", read_only}});
    t.push_back({{"name", "slow"},
                 {"title", "Slow"},
                 {"description", "Waits the given number of milliseconds, then answers."},
                 {"inputSchema", schema({{"ms", {{"type", "integer"}, {"minimum", 0}, {"maximum", kMaxSlowMs}}}}, {"ms"})},
                 {"annotations", read_only}});
    return t;
  }();
  return tools;
}

// A tool's own failure (bad arguments included): a result with isError, which the model sees, as
// opposed to a protocol error (MCP "Tools: error handling").
json::object tool_error(std::string_view text) {
  return {{"content", json::array{{{"type", "text"}, {"text", text}}}}, {"isError", true}};
}

json::object text_result(std::string text) {
  return {{"content", json::array{{{"type", "text"}, {"text", std::move(text)}}}}, {"isError", false}};
}

const json::value* arg(const json::object& args, std::string_view name) { return args.if_contains(name); }

bool only_keys(const json::object& args, std::initializer_list<std::string_view> allowed) {
  return std::all_of(args.begin(), args.end(), [&](const auto& kv) {
    return std::find(allowed.begin(), allowed.end(), std::string_view(kv.key())) != allowed.end();
  });
}

bool valid_customer_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-';
  });
}

// What the act-on-behalf token said about the caller, as the tests read it back.
json::object caller_view(const json::object& claims) {
  json::object out;
  for (std::string_view k : {"sub", "tenantid", "aud", "session_id", "client_id", "tier", "scope"})
    if (auto it = claims.find(k); it != claims.end()) out[k] = it->value();
  if (const auto* act = claims.if_contains("act"); act && act->is_object())
    if (const auto* s = act->get_object().if_contains("sub")) out["act"] = {{"sub", *s}};
  return out;
}

asio::awaitable<json::object> call_tool(const json::object& params, const std::optional<json::object>& claims) {
  const json::value* name = params.if_contains("name");
  if (!name || !name->is_string()) throw std::invalid_argument("params.name must be a string");
  static const json::object kNoArgs;
  const json::value* a = params.if_contains("arguments");
  if (a && !a->is_object() && !a->is_null()) throw std::invalid_argument("params.arguments must be an object");
  const json::object& args = a && a->is_object() ? a->get_object() : kNoArgs;
  const std::string_view tool = name->get_string();

  json::object result;
  if (tool == "echo") {
    const json::value* text = arg(args, "text");
    if (!text || !text->is_string() || !only_keys(args, {"text"}))
      co_return tool_error("Invalid arguments: echo takes {\"text\": string}");
    result = text_result(std::string(text->get_string()));
  } else if (tool == "add") {
    const json::value* x = arg(args, "a");
    const json::value* y = arg(args, "b");
    if (!x || !y || !x->is_number() || !y->is_number() || !only_keys(args, {"a", "b"}))
      co_return tool_error("Invalid arguments: add takes {\"a\": number, \"b\": number}");
    const double sum = x->to_number<double>() + y->to_number<double>();
    json::value sum_v = sum;
    if (std::isfinite(sum) && std::floor(sum) == sum && std::fabs(sum) < 9.0e15)
      sum_v = static_cast<std::int64_t>(sum);
    // Shortest round-trip form ("5.5", not the serializer's "5.5E0"): the text is for people.
    std::array<char, 64> buf;
    auto [end, ec] = sum_v.is_int64() ? std::to_chars(buf.data(), buf.data() + buf.size(), sum_v.as_int64())
                                      : std::to_chars(buf.data(), buf.data() + buf.size(), sum);
    result = text_result(ec == std::errc() ? std::string(buf.data(), end) : json::serialize(sum_v));
    result["structuredContent"] = {{"sum", sum_v}};
  } else if (tool == "lookup_customer") {
    const json::value* id = arg(args, "id");
    if (!id || !id->is_string() || !valid_customer_id(id->get_string()) || !only_keys(args, {"id"}))
      co_return tool_error("Invalid arguments: lookup_customer takes {\"id\": string of letters, digits, _ or -}");
    // Test data only: the card number is the well-known Visa test number (Luhn-valid), the IBAN
    // the standard German example (mod-97-valid), the phone number from the 555-01xx fiction range.
    result = text_result("Customer " + std::string(id->get_string()) +
                         ": Jane Doe, e-mail jane.doe@example.com, phone +1 415 555 0100, "
                         "card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, status active");
  } else if (tool == "slow") {
    const json::value* ms = arg(args, "ms");
    if (!ms || !(ms->is_int64() || ms->is_uint64()) || !only_keys(args, {"ms"}) ||
        (ms->is_int64() && (ms->as_int64() < 0 || ms->as_int64() > kMaxSlowMs)) ||
        (ms->is_uint64() && ms->as_uint64() > static_cast<std::uint64_t>(kMaxSlowMs)))
      co_return tool_error("Invalid arguments: slow takes {\"ms\": integer from 0 to 60000}");
    const std::int64_t wait = ms->is_int64() ? ms->as_int64() : static_cast<std::int64_t>(ms->as_uint64());
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(wait));
    auto [ec] = co_await timer.async_wait(tok);
    result = text_result("waited " + std::to_string(wait) + " ms");
  } else {
    // Unknown tools are a protocol error (MCP "Tools: error handling").
    throw std::out_of_range("Unknown tool: " + std::string(tool));
  }
  if (claims)
    result["content"].as_array().push_back(
        {{"type", "text"}, {"text", "caller: " + json::serialize(caller_view(*claims))}});
  co_return result;
}

// ---- the transport

bool accepts_json(const Request& req) {
  const std::string accept = header(req, "Accept");
  // Clients must list both application/json and text/event-stream; every answer here is JSON, so
  // what matters is that JSON is acceptable.
  return accept.empty() || accept.find("application/json") != std::string::npos ||
         accept.find("*/*") != std::string::npos || accept.find("application/*") != std::string::npos;
}

bool is_json_content(const Request& req) {
  std::string ct = header(req, "Content-Type");
  std::transform(ct.begin(), ct.end(), ct.begin(), [](unsigned char c) { return std::tolower(c); });
  return ct == "application/json" || ct.starts_with("application/json;") || ct.starts_with("application/json ");
}

// DNS rebinding defence the transport spec requires: a browser page of another origin must not
// reach a server on loopback. Requests without Origin (every non-browser client) pass.
bool origin_allowed(const Request& req, const State& st) {
  const std::string origin = header(req, "Origin");
  if (origin.empty() || origin == st.origin) return true;
  auto u = boost::urls::parse_uri(origin);
  if (!u) return false;
  const std::string host(u->host());
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]" || host == "::1";
}

std::string resource_metadata_url(const State& st) {
  auto u = boost::urls::parse_uri(st.url);
  std::string path = u ? std::string(u->path()) : std::string();
  return st.origin + "/.well-known/oauth-protected-resource" + (path == "/" ? "" : path);
}

Response unauthorized(const State& st, bool had_token, bool keep) {
  Response res = json_response(http::status::unauthorized,
                               {{"error", had_token ? "invalid_token" : "unauthorized"},
                                {"error_description", had_token ? "the token is not valid for this server"
                                                                : "an act-on-behalf token from the gateway is required"}},
                               keep);
  std::string challenge = "Bearer";
  if (had_token) challenge += " error=\"invalid_token\",";
  challenge += " resource_metadata=\"" + resource_metadata_url(st) + "\"";
  res.set(http::field::www_authenticate, challenge);
  return res;
}

// Verifies the bearer token when a gateway is configured. Returns the claims (empty optional and
// *refusal set when refused).
asio::awaitable<std::optional<json::object>> authenticate(const Request& req, State& st,
                                                          std::optional<Response>& refusal) {
  std::optional<json::object> none;
  if (!st.check) co_return none;
  const bool keep = req.keep_alive();
  const std::string auth = header(req, "Authorization");
  if (auth.size() <= 7 || !(auth.starts_with("Bearer ") || auth.starts_with("bearer "))) {
    refusal = unauthorized(st, false, keep);
    co_return none;
  }
  const std::string token = auth.substr(7);
  auto r = st.check->check(token, core::unix_now());
  if (r.outcome == IdentityCheck::Outcome::need_keys) {
    auto fetch = [&st]() -> std::string {
      try {
        st.check->refresh();
        return {};
      } catch (const std::exception& e) {
        return e.what();
      }
    };
    auto fetch_op = run_blocking(st.pool, std::move(fetch));
    std::string fetch_error = co_await std::move(fetch_op);
    if (!fetch_error.empty()) {
      log::warn("example tools: cannot fetch the gateway's keys", {{"error", fetch_error}});
      refusal = json_response(http::status::service_unavailable,
                              {{"error", "temporarily_unavailable"},
                               {"error_description", "the gateway's keys cannot be fetched"}},
                              keep);
      co_return none;
    }
    r = st.check->check(token, core::unix_now());
  }
  if (r.outcome != IdentityCheck::Outcome::ok) {
    log::info("example tools: token refused", {{"reason", r.reason}});
    refusal = unauthorized(st, true, keep);
    co_return none;
  }
  co_return std::move(r.claims);
}

void sweep_sessions(State& st) {
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(st.sessions, [now](const auto& kv) { return now - kv.second.last_used > kSessionIdle; });
}

std::string negotiate(const json::object& params) {
  const json::value* v = params.if_contains("protocolVersion");
  const std::string_view asked = v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
  for (auto known : kProtocolVersions)
    if (known == asked) return std::string(known);
  return std::string(kProtocolVersions.front());
}

bool known_protocol(std::string_view v) {
  return v == kAssumedWithoutHeader ||
         std::find(kProtocolVersions.begin(), kProtocolVersions.end(), v) != kProtocolVersions.end();
}

asio::awaitable<Response> post_mcp(const Request& req, State& st, const std::optional<json::object>& claims) {
  const bool keep = req.keep_alive();
  if (!is_json_content(req))
    co_return json_response(http::status::unsupported_media_type,
                            rpc_error(nullptr, kInvalidRequest, "Content-Type must be application/json"), keep);
  if (!accepts_json(req))
    co_return json_response(http::status::not_acceptable,
                            rpc_error(nullptr, kInvalidRequest, "Accept must include application/json"), keep);
  json::error_code jec;
  json::value body = json::parse(req.body(), jec);
  if (jec) co_return json_response(http::status::bad_request, rpc_error(nullptr, kParseError, "Parse error"), keep);
  if (body.is_array())
    co_return json_response(http::status::bad_request,
                            rpc_error(nullptr, kInvalidRequest, "batches are not supported (MCP 2025-06-18)"), keep);
  json::object* msg = body.if_object();
  const json::value* jsonrpc = msg ? msg->if_contains("jsonrpc") : nullptr;
  if (!msg || !jsonrpc || *jsonrpc != "2.0")
    co_return json_response(http::status::bad_request, rpc_error(nullptr, kInvalidRequest, "Invalid Request"), keep);
  const json::value* method = msg->if_contains("method");
  const json::value* idv = msg->if_contains("id");
  const bool has_id = idv && (idv->is_string() || idv->is_int64() || idv->is_uint64());
  if (idv && !has_id)
    co_return json_response(http::status::bad_request,
                            rpc_error(nullptr, kInvalidRequest, "id must be a string or an integer"), keep);
  const json::value id = has_id ? *idv : json::value(nullptr);
  if (method && !method->is_string())
    co_return json_response(http::status::bad_request, rpc_error(id, kInvalidRequest, "method must be a string"), keep);
  const json::value* params_v = msg->if_contains("params");
  if (params_v && !params_v->is_object() && !params_v->is_null())
    co_return json_response(http::status::bad_request, rpc_error(id, kInvalidRequest, "params must be an object"), keep);
  static const json::object kNoParams;
  const json::object& params = params_v && params_v->is_object() ? params_v->get_object() : kNoParams;
  const std::string m = method ? std::string(method->get_string()) : std::string();

  // initialize opens a session; everything else needs one.
  if (m == "initialize") {
    if (!has_id)
      co_return json_response(http::status::bad_request, rpc_error(nullptr, kInvalidRequest, "initialize needs an id"), keep);
    if (!params.contains("protocolVersion") || !params.at("protocolVersion").is_string())
      co_return json_response(http::status::ok, rpc_error(id, kInvalidParams, "params.protocolVersion is required"), keep);
    sweep_sessions(st);
    if (st.sessions.size() >= kMaxSessions)
      co_return json_response(http::status::service_unavailable,
                              rpc_error(id, -32603, "too many sessions; try again later"), keep);
    Session s{negotiate(params), false, std::chrono::steady_clock::now()};
    const std::string sid = new_session_id();
    json::object result{{"protocolVersion", s.protocol},
                        {"capabilities", {{"tools", {{"listChanged", false}}}}},
                        {"serverInfo", {{"name", st.options.name}, {"title", "Portcullis example tools"},
                                        {"version", PORTCULLIS_VERSION}}},
                        {"instructions", "Example tools: echo, add, lookup_customer (returns personal data), slow."}};
    st.sessions.emplace(sid, std::move(s));
    Response res = json_response(http::status::ok, rpc_result(id, std::move(result)), keep);
    res.set("Mcp-Session-Id", sid);
    co_return res;
  }
  const std::string sid = header(req, "Mcp-Session-Id");
  if (sid.empty())
    co_return json_response(http::status::bad_request,
                            rpc_error(id, kInvalidRequest, "Bad Request: Mcp-Session-Id header is required"), keep);
  auto it = st.sessions.find(sid);
  if (it == st.sessions.end())
    co_return json_response(http::status::not_found, rpc_error(id, kSessionNotFound, "Session not found"), keep);
  const std::string version = header(req, "MCP-Protocol-Version");
  if (!version.empty() && !known_protocol(version))
    co_return json_response(http::status::bad_request,
                            rpc_error(id, kInvalidRequest, "Bad Request: unsupported MCP-Protocol-Version"), keep);
  it->second.last_used = std::chrono::steady_clock::now();

  if (!method) {
    // A response to a request of ours (we send none) or garbage: accepted if it is shaped like one.
    if (has_id && (msg->contains("result") || msg->contains("error"))) co_return plain(http::status::accepted, keep);
    co_return json_response(http::status::bad_request, rpc_error(id, kInvalidRequest, "Invalid Request"), keep);
  }
  if (!has_id) {  // a notification: nothing to answer
    if (m == "notifications/initialized") it->second.initialized = true;
    co_return plain(http::status::accepted, keep);
  }
  if (m == "ping") co_return json_response(http::status::ok, rpc_result(id, json::object{}), keep);
  if (m == "tools/list")
    co_return json_response(http::status::ok, rpc_result(id, json::object{{"tools", tool_list()}}), keep);
  if (m == "tools/call") {
    std::string refusal;
    int code = kInvalidParams;
    json::object result;
    try {
      auto op = call_tool(params, claims);
      result = co_await std::move(op);
    } catch (const std::out_of_range& e) {
      refusal = e.what();
    } catch (const std::invalid_argument& e) {
      refusal = e.what();
    }
    if (!refusal.empty()) co_return json_response(http::status::ok, rpc_error(id, code, refusal), keep);
    co_return json_response(http::status::ok, rpc_result(id, std::move(result)), keep);
  }
  co_return json_response(http::status::ok, rpc_error(id, kMethodNotFound, "Method not found"), keep);
}

asio::awaitable<Response> handle_mcp(const Request& req, State& st) {
  const bool keep = req.keep_alive();
  if (!origin_allowed(req, st))
    co_return json_response(http::status::forbidden, rpc_error(nullptr, kInvalidRequest, "Origin not allowed"), keep);
  std::optional<Response> refusal;
  auto auth_op = authenticate(req, st, refusal);
  std::optional<json::object> claims = co_await std::move(auth_op);
  if (refusal) co_return std::move(*refusal);

  if (req.method() == http::verb::post) {
    auto op = post_mcp(req, st, claims);
    Response res = co_await std::move(op);
    co_return res;
  }
  if (req.method() == http::verb::delete_) {
    const std::string sid = header(req, "Mcp-Session-Id");
    if (sid.empty())
      co_return json_response(http::status::bad_request,
                              rpc_error(nullptr, kInvalidRequest, "Bad Request: Mcp-Session-Id header is required"), keep);
    if (st.sessions.erase(sid) == 0)
      co_return json_response(http::status::not_found, rpc_error(nullptr, kSessionNotFound, "Session not found"), keep);
    co_return plain(http::status::ok, keep);
  }
  // GET would open a stream for server-initiated messages; this server sends none (405 is how the
  // transport spec says so).
  Response res = plain(http::status::method_not_allowed, keep);
  res.set(http::field::allow, "POST, DELETE");
  co_return res;
}

// RFC 9728 metadata, so a standard MCP client learns who issues the tokens this server takes.
Response protected_resource(const Request& req, const State& st) {
  json::object meta{{"resource", st.url}, {"bearer_methods_supported", json::array{"header"}}};
  if (st.check) meta["authorization_servers"] = json::array{st.options.issuer.empty() ? st.options.gateway : st.options.issuer};
  return json_response(http::status::ok, meta, req.keep_alive());
}

asio::awaitable<void> session(beast::tcp_stream s, State& st) {
  beast::flat_buffer buf;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    s.expires_after(std::chrono::seconds(120));
    auto [ec, n] = co_await http::async_read(s, buf, parser, tok);
    if (ec) {
      if (ec == http::error::body_limit) {
        Response res = json_response(http::status::payload_too_large,
                                     rpc_error(nullptr, kInvalidRequest, "request body too large"), false);
        auto [wec, wn] = co_await http::async_write(s, res, tok);
      }
      break;
    }
    s.expires_never();
    Request& req = parser.get();
    std::string_view path = req.target().substr(0, req.target().find('?'));
    Response res;
    if (path == "/mcp") {
      auto op = handle_mcp(req, st);
      res = co_await std::move(op);
    } else if (req.method() == http::verb::get && (path == "/.well-known/oauth-protected-resource" ||
                                                   path == "/.well-known/oauth-protected-resource/mcp")) {
      res = protected_resource(req, st);
    } else if (req.method() == http::verb::get && path == "/ping") {
      res = json_response(http::status::ok, {{"status", "Healthy"}}, req.keep_alive());
    } else {
      res = json_response(http::status::not_found, {{"error", "not_found"}}, req.keep_alive());
    }
    const bool keep = res.keep_alive();
    auto [wec, wn] = co_await http::async_write(s, res, tok);
    if (wec || !keep) break;
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
    asio::co_spawn(a.get_executor(), session(beast::tcp_stream(std::move(sock)), st), asio::detached);
  }
}

std::string origin_of(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  if (!u || (u->scheme() != "http" && u->scheme() != "https") || u->host().empty())
    throw std::runtime_error("example tools: --url must be an absolute http(s) URL, got " + url);
  return std::string(u->scheme()) + "://" + std::string(u->encoded_authority());
}

}  // namespace

struct ExampleTools::Impl {
  State state;
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::thread thread;
};

ExampleTools::ExampleTools(ExampleToolsOptions options) : impl_(std::make_unique<Impl>()) {
  while (!options.gateway.empty() && options.gateway.back() == '/') options.gateway.pop_back();
  const std::string& listen = options.listen;
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("example tools: listen must be host:port");
  tcp::endpoint ep{asio::ip::make_address(listen.substr(0, colon)),
                   static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)))};
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();

  State& st = impl_->state;
  // The audience is the URL clients (the gateway) reach it by; with port 0 that is known only now.
  st.url = options.url.empty() ? "http://" + address() + "/mcp" : options.url;
  st.origin = origin_of(st.url);
  if (!options.gateway.empty())
    st.check = std::make_unique<IdentityCheck>(options.gateway, options.issuer, IdentityCheck::Audience{st.url},
                                               IdentityCheck::default_fetch(options.gateway_ca));
  st.options = std::move(options);
  asio::co_spawn(impl_->ioc, accept_loop(impl_->acceptor, st), asio::detached);
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

ExampleTools::~ExampleTools() { stop(); }

std::string ExampleTools::address() const {
  auto ep = impl_->acceptor.local_endpoint();
  const std::string host = ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
  return host + ":" + std::to_string(ep.port());
}

std::string ExampleTools::url() const { return impl_->state.url; }

void ExampleTools::stop() {
  if (!impl_->thread.joinable()) return;
  asio::post(impl_->ioc, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
    impl_->ioc.stop();
  });
  impl_->thread.join();
  impl_->state.pool.stop();
  impl_->state.pool.join();
}

}  // namespace pc::examples
