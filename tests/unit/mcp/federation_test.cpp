// mcp::Federation end to end on loopback: two scripted Streamable HTTP MCP upstreams (real HTTP
// servers in this file: JSON answers, event-stream answers sent in chunks, session ids, 404 for
// an expired session), called through net::call_upstream on a running net::Server's I/O threads.
// Listing and calling across servers with clashing names, the one rule set (a refused tool is
// neither listed nor callable), credentials (never the client's token), paging with cursors a
// client cannot forge, a dead server dropping out of a list, session expiry, fail-closed
// interceptors, progress relayed, sampling relayed and answered back, cancellation forwarded.
#include "mcp/federation.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "support/ports.h"
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agents/idempotency.h"
#include "audit/audit_log.h"
#include "auth/principal.h"
#include "crypto/master_keyring.h"
#include "mcp/federation_setup.h"
#include "mcp/tool_calls.h"
#include "store/store.h"
#include "support/test_store.h"
#include "vault/data_keys.h"
#include "vault/vault_test_util.h"
#include "core/work_pool.h"
#include "mcp/upstream_answer.h"
#include "mcp/upstream_client.h"
#include "net/router.h"
#include "net/server.h"
#include "store/records.h"
#include "tenancy/capabilities.h"

namespace pc::mcp {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const bool kNoSigpipe = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

// One HTTP request as the upstream saw it.
struct Seen {
  std::string method;  // HTTP method
  std::string head;
  json::object body;   // empty for GET/DELETE
  std::string header(std::string_view name) const {
    std::string lower_head = head;
    for (auto& c : lower_head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string key = "\r\n" + std::string(name) + ": ";
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto at = lower_head.find(key);
    if (at == std::string::npos) return "";
    auto end = head.find("\r\n", at + key.size());
    return head.substr(at + key.size(), end - at - key.size());
  }
};

// How the upstream answers: a status and a JSON body, or an event stream sent chunk by chunk
// (each chunk may wait for a condition first: the sampling answer).
struct Answer {
  int status = 200;
  std::string json;                                   // application/json body ("" with sse)
  std::vector<std::pair<std::function<void()>, std::string>> sse;  // (wait, event text)
  std::vector<std::pair<std::string, std::string>> headers;
};

Answer json_answer(const json::value& id, json::object result) {
  return {200, json::serialize(json::object{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}), {}, {}};
}

// A loopback Streamable HTTP MCP server: one thread per connection, keep-alive, chunked event
// streams. `tools` are its tool names; `script` may answer a request before the defaults.
class ScriptedMcp {
 public:
  using Script = std::function<std::optional<Answer>(const Seen&)>;
  ScriptedMcp(std::string name, std::vector<std::string> tools, Script script = {})
      : name_(std::move(name)), tools_(std::move(tools)), script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    EXPECT_EQ(::listen(fd_, 64), 0);
    accept_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0) continue;
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) continue;
        std::lock_guard lock(mu_);
        conns_.emplace_back([this, c] { serve(c); });
      }
    });
  }
  ~ScriptedMcp() {
    stop_ = true;
    accept_.join();
    std::vector<std::thread> conns;
    {
      std::lock_guard lock(mu_);
      conns.swap(conns_);
    }
    for (auto& t : conns) t.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  std::vector<Seen> seen(std::string_view rpc_method) {
    std::vector<Seen> out;
    for (auto& s : seen())
      if (auto* m = s.body.if_contains("method"); m && m->is_string() && m->get_string() == rpc_method) out.push_back(s);
    return out;
  }
  std::vector<json::object> responses() {  // JSON-RPC responses the client posted (sampling answers)
    std::vector<json::object> out;
    for (auto& s : seen())
      if (!s.body.contains("method") && s.body.contains("id")) out.push_back(s.body);
    return out;
  }
  void expire_sessions() { ++generation_; }
  int initializes() { return static_cast<int>(seen("initialize").size()); }

 private:
  std::string session_for(int gen) const { return name_ + "-session-" + std::to_string(gen); }

  Answer answer(const Seen& s) {
    if (script_)
      if (auto a = script_(s)) return *a;
    if (s.method == "DELETE") return {200, "", {}, {}};
    if (s.method == "GET") return {405, "", {}, {}};
    auto* m = s.body.if_contains("method");
    std::string method = m && m->is_string() ? std::string(m->get_string()) : "";
    json::value id = s.body.contains("id") ? s.body.at("id") : json::value(nullptr);
    if (method == "initialize") {
      auto a = json_answer(id, {{"protocolVersion", "2025-06-18"},
                                {"capabilities", {{"tools", {{"listChanged", true}}}}},
                                {"serverInfo", {{"name", name_}, {"version", "1"}}}});
      a.headers.push_back({"Mcp-Session-Id", session_for(generation_)});
      return a;
    }
    if (s.header("mcp-session-id") != session_for(generation_)) return {404, "", {}, {}};
    if (!s.body.contains("id")) return {202, "", {}, {}};  // a notification
    if (method == "tools/list") {
      json::array tools;
      for (const auto& t : tools_)
        tools.push_back(json::object{{"name", t},
                                     {"description", name_ + " " + t},
                                     {"inputSchema", {{"type", "object"}}}});
      return json_answer(id, {{"tools", tools}});
    }
    if (method == "tools/call") {
      const auto& p = s.body.at("params").as_object();
      std::string text = name_ + ":" + std::string(p.at("name").as_string());
      return json_answer(id, {{"content", json::array{json::object{{"type", "text"}, {"text", text}}}}});
    }
    return {200, json::serialize(json::object{{"jsonrpc", "2.0"}, {"id", id},
                                              {"error", {{"code", -32601}, {"message", "Method not found"}}}}),
            {}, {}};
  }

  void serve(int c) {
    std::string buf;
    for (;;) {
      std::size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos)
        if (!read_some(c, buf)) return (void)::close(c);
      std::size_t length = 0;
      Seen s;
      s.head = buf.substr(0, end + 4);
      s.method = s.head.substr(0, s.head.find(' '));
      auto cl = s.header("content-length");
      if (!cl.empty()) length = std::stoul(cl);
      while (buf.size() < end + 4 + length)
        if (!read_some(c, buf)) return (void)::close(c);
      std::string body = buf.substr(end + 4, length);
      buf.erase(0, end + 4 + length);
      if (!body.empty()) {
        std::error_code ec;
        auto v = json::parse(body, ec);
        if (!ec && v.is_object()) s.body = v.as_object();
      }
      {
        std::lock_guard lock(mu_);
        seen_.push_back(s);
      }
      cv_.notify_all();
      Answer a = answer(s);
      std::string head = "HTTP/1.1 " + std::to_string(a.status) + " X\r\n";
      for (auto& [k, v] : a.headers) head += k + ": " + v + "\r\n";
      if (a.sse.empty()) {
        head += "Content-Type: application/json\r\nContent-Length: " + std::to_string(a.json.size()) + "\r\n\r\n";
        head += a.json;
        if (!send_all(c, head)) return (void)::close(c);
        continue;
      }
      head += "Content-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
      if (!send_all(c, head)) return (void)::close(c);
      for (auto& [wait, event] : a.sse) {
        if (wait) wait();
        char size[32];
        std::snprintf(size, sizeof size, "%zx\r\n", event.size());
        if (!send_all(c, std::string(size) + event + "\r\n")) return (void)::close(c);
      }
      if (!send_all(c, "0\r\n\r\n")) return (void)::close(c);
    }
  }
  bool send_all(int c, const std::string& data) {
    return ::send(c, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  bool read_some(int c, std::string& buf) {
    char chunk[4096];
    while (!stop_) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const ssize_t n = ::recv(c, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buf.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
    return false;
  }

 public:
  // Blocks (in a script's wait) until the upstream saw a request matching `pred`.
  bool wait_seen(const std::function<bool(const Seen&)>& pred, std::chrono::milliseconds limit = 5s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] {
      for (const auto& s : seen_)
        if (pred(s)) return true;
      return stop_.load();
    });
  }

 private:
  std::string name_;
  std::vector<std::string> tools_;
  Script script_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> generation_{1};
  std::thread accept_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> conns_;
  std::vector<Seen> seen_;
};

class Directory final : public ServerDirectory {
 public:
  std::shared_ptr<const std::vector<ServerEntry>> for_tenant(std::string_view) const override {
    std::lock_guard lk(mu);
    return std::make_shared<const std::vector<ServerEntry>>(servers);
  }
  mutable std::mutex mu;
  std::vector<ServerEntry> servers;
};

class Health final : public ServerHealthSink {
 public:
  void report(std::string_view, std::string_view name, bool ok, std::string_view reason, std::string_view) override {
    std::lock_guard lk(mu);
    reports.push_back(std::string(name) + (ok ? ":ok" : ":down:" + std::string(reason)));
  }
  std::vector<std::string> all() {
    std::lock_guard lk(mu);
    return reports;
  }
  std::mutex mu;
  std::vector<std::string> reports;
};

class Sessions final : public SessionState {
 public:
  void set_upstream(const std::string&, const std::string& key, const std::string& value) override {
    std::lock_guard lk(mu);
    saved[key] = value;
  }
  std::mutex mu;
  std::map<std::string, std::string> saved;
};

class Box final : public Outbox {
 public:
  void send(json::object m) override {
    std::lock_guard lk(mu);
    sent.push_back(std::move(m));
    cv.notify_all();
  }
  void answer(json::object m) override {
    std::lock_guard lk(mu);
    answers.push_back(std::move(m));
    cv.notify_all();
  }
  json::object wait_answer(std::chrono::milliseconds limit = 8s) {
    std::unique_lock lk(mu);
    EXPECT_TRUE(cv.wait_for(lk, limit, [&] { return !answers.empty(); })) << "no answer";
    return answers.empty() ? json::object{} : answers.front();
  }
  std::optional<json::object> wait_sent(std::string_view method, std::chrono::milliseconds limit = 8s) {
    std::unique_lock lk(mu);
    std::optional<json::object> found;
    cv.wait_for(lk, limit, [&] {
      for (auto& m : sent)
        if (auto* v = m.if_contains("method"); v && v->is_string() && v->get_string() == method) return found = m, true;
      return false;
    });
    return found;
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<json::object> sent, answers;
};

ServerEntry entry(std::string name, std::uint16_t port) {
  ServerEntry s;
  s.name = std::move(name);
  s.url = "http://127.0.0.1:" + std::to_string(port) + "/mcp";
  s.scheme = "http";
  s.host = "127.0.0.1";
  s.port = port;
  s.path = "/mcp";
  return s;
}

std::uint16_t dead_port() { return pc::testing::closed_port(); }  // nothing listens there

struct ThrowingResponse final : ResponseInterceptor {
  std::string_view name() const override { return "boom"; }
  void on_response(const CallContext&, json::value&, bool, ResponseFacts&, DecisionDone) const override {
    throw std::runtime_error("interceptor crashed");
  }
};
struct DenyTool final : RequestInterceptor {
  std::string tool;
  explicit DenyTool(std::string t) : tool(std::move(t)) {}
  std::string_view name() const override { return "deny"; }
  void on_request(const CallContext& ctx, json::object&, DecisionDone done) const override {
    done(ctx.tool == tool ? Decision::denied(-32003, "Forbidden by policy") : Decision::allowed());
  }
};
struct Redact final : ResponseInterceptor {
  std::string_view name() const override { return "redact"; }
  void on_response(const CallContext&, json::value& result, bool, ResponseFacts& facts, DecisionDone done) const override {
    facts.redactions["email"] += 1;
    result.as_object()["redacted"] = true;
    done(Decision::allowed());
  }
};

class FederationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    core::Config c;
    c.server.listen = "127.0.0.1:0";
    c.server.threads = 1;
    c.server.upstream.connect_timeout_ms = 500;
    c.server.upstream.response_timeout_ms = 3000;
    c.log.access = false;
    server_ = std::make_unique<net::Server>(c, std::make_shared<net::Router>());
    server_->start();
    caps_.publish({cap("tools.alpha"), cap("tools.beta"), cap("tools.dead"), cap("tools.hidden", false)});
    auto p = std::make_shared<auth::Principal>();
    p->subject = "user-1";
    p->tenant = "acme";
    p->client = "agent-7";
    p->roles = {"Agent.Invoke"};
    caller_ = McpCaller{p, "acme", "standard", "req-1"};
    session_.id = "sess-1";
    session_.tenant = "acme";
    session_.subject = "user-1";
    session_.protocol_version = "2025-06-18";
    session_.client_capabilities = {{"sampling", json::object{}}};
  }
  void TearDown() override {
    fed_.reset();
    server_->shutdown(200ms);
  }
  static store::CapabilityRecord cap(std::string name, bool enabled = true) {
    store::CapabilityRecord r;
    r.name = std::move(name);
    r.enabled = enabled;
    return r;
  }
  void build(std::vector<std::shared_ptr<const RequestInterceptor>> req = {},
             std::vector<std::shared_ptr<const ResponseInterceptor>> resp = {}, std::size_t page_size = 200,
             agents::Idempotency* idem = nullptr, ToolCallLog* calls = nullptr) {
    FederationPorts ports;
    ports.idempotency = idem;
    ports.calls = calls;
    ports.vault = [this](std::string_view tenant, std::string_view name) -> std::optional<std::string> {
      ++vault_reads_;
      if (tenant == "acme" && name == "beta-key") return std::string("s3cr3t");
      return std::nullopt;
    };
    ports.directory = &dir_;
    ports.health = &health_;
    ports.sessions = &sessions_;
    ports.capabilities = &caps_;
    ports.policy = [this](std::string_view, const std::vector<std::string>&, std::string_view server,
                          std::string_view tool) { return !(server == "alpha" && tool == "secret"); };
    ports.mint = [this](const McpCaller& c, std::string_view audience, std::string_view sid) {
      ++mints_;
      return "aob." + c.principal->subject + "." + std::string(audience.substr(audience.rfind(':') + 1)) + "." +
             std::string(sid);
    };
    ports.blocking = &pool_;
    ports.request_interceptors = std::move(req);
    ports.response_interceptors = std::move(resp);
    FederationOptions o;
    o.mcp.list_timeout_ms = 1500;
    o.mcp.call_timeout_ms = 3000;
    o.cursor_key = std::string(32, 'c');
    o.page_size = page_size;
    fed_ = make_federation(std::move(ports), std::move(o));
  }
  json::object rpc(std::string method, json::object params = {}, json::value id = 1,
                   std::shared_ptr<Box> box = nullptr) {
    if (!box) box = std::make_shared<Box>();
    json::object m{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
    if (!params.empty()) m["params"] = std::move(params);
    fed_->request(caller_, session_, std::move(m), box);
    return box->wait_answer();
  }
  static std::vector<std::string> tool_names(const json::object& answer) {
    std::vector<std::string> out;
    for (auto& t : answer.at("result").at("tools").as_array()) out.emplace_back(t.at("name").as_string());
    return out;
  }
  static int error_code(const json::object& a) {
    auto* e = a.if_contains("error");
    return e ? static_cast<int>(e->at("code").as_int64()) : 0;
  }

  std::unique_ptr<net::Server> server_;
  tenancy::Capabilities caps_;
  Directory dir_;
  Health health_;
  Sessions sessions_;
  core::WorkPool pool_{"fed-test", 2, 64};
  std::atomic<int> mints_{0};
  std::atomic<int> vault_reads_{0};
  McpCaller caller_;
  McpSession session_;
  std::shared_ptr<Federation> fed_;
};

TEST_F(FederationTest, ListsAcrossServersPrefixingOnlyClashesAndCallsRouteToTheirServer) {
  ScriptedMcp alpha("alpha", {"echo", "add", "secret", "off"});
  ScriptedMcp beta("beta", {"echo", "lookup"});
  ScriptedMcp hidden("hidden", {"hidden_tool"});
  dir_.servers = {entry("alpha", alpha.port()), entry("beta", beta.port()), entry("hidden", hidden.port())};
  dir_.servers[0].disabled_tools = {"off"};
  dir_.servers[0].auth = UpstreamAuth::act_on_behalf;
  build();

  auto list = rpc("tools/list");
  EXPECT_EQ(tool_names(list), (std::vector<std::string>{"alpha__echo", "add", "beta__echo", "lookup"}));
  EXPECT_TRUE(hidden.seen().empty()) << "a server whose capability is off is never contacted";

  auto call = [&](std::string name) { return rpc("tools/call", {{"name", name}, {"arguments", json::object{}}}); };
  EXPECT_EQ(call("alpha__echo").at("result").at("content").at(0).at("text"), "alpha:echo");
  EXPECT_EQ(call("beta__echo").at("result").at("content").at(0).at("text"), "beta:echo");
  EXPECT_EQ(call("add").at("result").at("content").at(0).at("text"), "alpha:add");
  EXPECT_EQ(call("alpha__add").at("result").at("content").at(0).at("text"), "alpha:add");
  EXPECT_EQ(call("lookup").at("result").at("content").at(0).at("text"), "beta:lookup");

  // Refused (policy, disabled, capability off) and absent answer exactly alike.
  for (std::string name : {"secret", "alpha__secret", "off", "alpha__off", "hidden_tool", "hidden__hidden_tool",
                           "echo", "nope", "gamma__echo"}) {
    auto a = call(name);
    EXPECT_EQ(error_code(a), -32602) << name;
    EXPECT_EQ(std::string(a.at("error").at("message").as_string()), "Unknown tool: " + name) << name;
  }
  for (const auto& s : alpha.seen("tools/call")) {
    auto n = s.body.at("params").at("name").as_string();
    EXPECT_TRUE(n == "echo" || n == "add") << "never called: " << n;
  }

  // Credentials: alpha gets an act-on-behalf token, beta (auth none) no Authorization at all;
  // the upstream session id is reused.
  for (const auto& s : alpha.seen()) {
    if (s.method != "POST") continue;
    EXPECT_EQ(s.header("authorization").rfind("Bearer aob.user-1.", 0), 0u) << s.head;
  }
  for (const auto& s : beta.seen()) EXPECT_EQ(s.header("authorization"), "");
  EXPECT_EQ(alpha.initializes(), 1);
  EXPECT_EQ(alpha.seen("notifications/initialized").size(), 1u);
  for (const auto& s : alpha.seen("tools/call")) {
    EXPECT_EQ(s.header("mcp-session-id"), "alpha-session-1");
    EXPECT_EQ(s.header("mcp-protocol-version"), "2025-06-18");
  }
  // Persisted so that another node resumes the upstream session.
  ASSERT_TRUE(sessions_.saved.count("/alpha"));
  auto st = decode_upstream_session(sessions_.saved["/alpha"]);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->session_id, "alpha-session-1");
}

TEST_F(FederationTest, ADeadServerDropsOutOfTheListWithAHealthReport) {
  ScriptedMcp alpha("alpha", {"echo"});
  dir_.servers = {entry("alpha", alpha.port()), entry("dead", dead_port())};
  build();
  auto list = rpc("tools/list");
  EXPECT_EQ(tool_names(list), std::vector<std::string>{"echo"});
  bool reported = false;
  for (auto& r : health_.all()) reported |= r.rfind("dead:down:", 0) == 0;
  EXPECT_TRUE(reported);
  EXPECT_EQ(error_code(rpc("tools/call", {{"name", "dead__x"}})), -32602);
  EXPECT_EQ(rpc("tools/call", {{"name", "echo"}}, 2).at("result").at("content").at(0).at("text"), "alpha:echo");
}

TEST_F(FederationTest, ASlowServerDelaysItsListButNotCallsToOthers) {
  ScriptedMcp alpha("alpha", {"echo"});
  ScriptedMcp slow("slow", {"x"}, [](const Seen& s) -> std::optional<Answer> {
    auto* m = s.body.if_contains("method");
    if (m && m->as_string() == "tools/list") std::this_thread::sleep_for(2500ms);  // past list_timeout_ms
    return std::nullopt;
  });
  dir_.servers = {entry("alpha", alpha.port()), entry("slow", slow.port())};
  caps_.publish({cap("tools.alpha"), cap("tools.slow")});
  build();
  EXPECT_EQ(tool_names(rpc("tools/list")), std::vector<std::string>{"echo"});
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(error_code(rpc("tools/call", {{"name", "echo"}}, 2)), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1000ms) << "the slow server's failure is remembered";
}

TEST_F(FederationTest, CursorsPageAcrossServersAndCannotBeForged) {
  ScriptedMcp alpha("alpha", {"a1", "a2"});
  ScriptedMcp beta("beta", {"b1"});
  dir_.servers = {entry("alpha", alpha.port()), entry("beta", beta.port())};
  build({}, {}, 1);
  std::vector<std::string> all;
  json::object params;
  for (int page = 0; page < 5; ++page) {
    auto a = rpc("tools/list", params);
    ASSERT_EQ(error_code(a), 0);
    for (auto& n : tool_names(a)) all.push_back(n);
    auto* next = a.at("result").as_object().if_contains("nextCursor");
    if (!next) break;
    params = {{"cursor", *next}};
  }
  EXPECT_EQ(all, (std::vector<std::string>{"a1", "a2", "b1"}));
  EXPECT_EQ(error_code(rpc("tools/list", {{"cursor", "eyJtIjoidG9vbHMvbGlzdCJ9.AAAA"}})), -32602);
  EXPECT_EQ(error_code(rpc("tools/list", {{"cursor", 7}})), -32602);
  // A genuine cursor of another list method is refused too.
  auto first = rpc("tools/list");
  auto c = first.at("result").at("nextCursor");
  EXPECT_EQ(error_code(rpc("prompts/list", {{"cursor", c}})), -32602);
  // A cursor into a server the caller may no longer use: refused like a forgery.
  caps_.publish({cap("tools.alpha", false), cap("tools.beta")});
  EXPECT_EQ(error_code(rpc("tools/list", {{"cursor", c}})), -32602);
}

TEST_F(FederationTest, AnExpiredUpstreamSessionIsInitializedAgainOnce) {
  ScriptedMcp alpha("alpha", {"echo"});
  dir_.servers = {entry("alpha", alpha.port())};
  build();
  EXPECT_EQ(error_code(rpc("tools/call", {{"name", "echo"}})), 0);
  alpha.expire_sessions();
  auto a = rpc("tools/call", {{"name", "echo"}}, 2);
  EXPECT_EQ(error_code(a), 0) << json::serialize(a);
  EXPECT_EQ(alpha.initializes(), 2);
}

TEST_F(FederationTest, InterceptorsFailClosed) {
  ScriptedMcp alpha("alpha", {"echo", "add"});
  dir_.servers = {entry("alpha", alpha.port())};
  build({std::make_shared<DenyTool>("add")}, {std::make_shared<ThrowingResponse>()});
  auto denied = rpc("tools/call", {{"name", "add"}});
  EXPECT_EQ(error_code(denied), -32003);
  EXPECT_TRUE(alpha.seen("tools/call").size() <= 1u);
  auto crashed = rpc("tools/call", {{"name", "echo"}}, 2);
  EXPECT_EQ(error_code(crashed), -32603);
  EXPECT_FALSE(crashed.contains("result")) << "never the upstream's result unchecked";
  EXPECT_EQ(json::serialize(crashed).find("alpha:echo"), std::string::npos);
}

TEST_F(FederationTest, ResponseInterceptorsChangeTheResult) {
  ScriptedMcp alpha("alpha", {"echo"});
  dir_.servers = {entry("alpha", alpha.port())};
  build({}, {std::make_shared<Redact>()});
  auto a = rpc("tools/call", {{"name", "echo"}});
  EXPECT_EQ(a.at("result").at("redacted"), true);
}

TEST_F(FederationTest, ProgressAndSamplingAreRelayedAndTheAnswerGoesBack) {
  ScriptedMcp* self = nullptr;
  ScriptedMcp alpha("alpha", {"ask"}, [&self](const Seen& s) -> std::optional<Answer> {
    auto* m = s.body.if_contains("method");
    if (!m || m->as_string() != "tools/call") return std::nullopt;
    auto id = s.body.at("id");
    Answer a;
    a.sse.push_back({nullptr, "data: " + json::serialize(json::object{
                                   {"jsonrpc", "2.0"}, {"method", "notifications/progress"},
                                   {"params", {{"progressToken", "tok"}, {"progress", 1}}}}) + "\n\n"});
    a.sse.push_back({nullptr, "data: " + json::serialize(json::object{
                                   {"jsonrpc", "2.0"}, {"id", 77}, {"method", "sampling/createMessage"},
                                   {"params", {{"maxTokens", 5}}}}) + "\n\n"});
    // The tool finishes once the client's sampling answer (id 77) came back through the gateway.
    a.sse.push_back({[&self] {
                       self->wait_seen([](const Seen& x) {
                         return !x.body.contains("method") && x.body.contains("id") && x.body.at("id") == 77;
                       });
                     },
                     "data: " + json::serialize(json::object{{"jsonrpc", "2.0"}, {"id", id},
                                                             {"result", {{"content", json::array{}}, {"sampled", true}}}}) +
                         "\n\n"});
    return a;
  });
  self = &alpha;
  dir_.servers = {entry("alpha", alpha.port())};
  build();
  auto box = std::make_shared<Box>();
  json::object m{{"jsonrpc", "2.0"}, {"id", 5}, {"method", "tools/call"},
                 {"params", {{"name", "ask"}, {"_meta", {{"progressToken", "tok"}}}}}};
  fed_->request(caller_, session_, std::move(m), box);
  ASSERT_TRUE(box->wait_sent("notifications/progress"));
  auto ask = box->wait_sent("sampling/createMessage");
  ASSERT_TRUE(ask);
  ASSERT_TRUE(ask->at("id").is_string());
  EXPECT_NE(ask->at("id").as_string(), "77") << "the gateway chooses the id the client sees";
  // The client answers; the federation routes it to the upstream with the upstream's id.
  fed_->client_response(caller_, session_,
                        {{"jsonrpc", "2.0"}, {"id", ask->at("id")}, {"result", {{"role", "assistant"}}}});
  auto a = box->wait_answer();
  EXPECT_EQ(a.at("result").at("sampled"), true) << json::serialize(a);
  auto resp = alpha.responses();
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_EQ(resp[0].at("id"), 77);
  // A second answer to the same id, or one to an id never asked, goes nowhere.
  fed_->client_response(caller_, session_, {{"jsonrpc", "2.0"}, {"id", ask->at("id")}, {"result", json::object{}}});
  fed_->client_response(caller_, session_, {{"jsonrpc", "2.0"}, {"id", "pc-ask-forged"}, {"result", json::object{}}});
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(alpha.responses().size(), 1u);
}

TEST_F(FederationTest, CancellationIsForwardedWithTheUpstreamsRequestId) {
  std::atomic<bool> release{false};
  ScriptedMcp alpha("alpha", {"slow"}, [&release](const Seen& s) -> std::optional<Answer> {
    auto* m = s.body.if_contains("method");
    if (!m || m->as_string() != "tools/call") return std::nullopt;
    Answer a;
    a.sse.push_back({[&release] {
                       for (int i = 0; i < 300 && !release; ++i) std::this_thread::sleep_for(10ms);
                     },
                     "data: " + json::serialize(json::object{{"jsonrpc", "2.0"}, {"id", s.body.at("id")},
                                                             {"result", {{"content", json::array{}}}}}) + "\n\n"});
    return a;
  });
  dir_.servers = {entry("alpha", alpha.port())};
  build();
  rpc("tools/list");
  auto box = std::make_shared<Box>();
  fed_->request(caller_, session_, {{"jsonrpc", "2.0"}, {"id", "c-9"}, {"method", "tools/call"}, {"params", {{"name", "slow"}}}},
                box);
  ASSERT_TRUE(alpha.wait_seen([](const Seen& s) {
    auto* m = s.body.if_contains("method");
    return m && m->as_string() == "tools/call";
  }));
  std::this_thread::sleep_for(50ms);
  fed_->notification(caller_, session_,
                     {{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", "c-9"}, {"reason", "user"}}}});
  ASSERT_TRUE(alpha.wait_seen([](const Seen& s) {
    auto* m = s.body.if_contains("method");
    return m && m->as_string() == "notifications/cancelled";
  }));
  auto upstream_id = alpha.seen("tools/call").at(0).body.at("id");
  auto cancel = alpha.seen("notifications/cancelled").at(0).body;
  EXPECT_EQ(cancel.at("params").at("requestId"), upstream_id);
  EXPECT_EQ(cancel.at("params").at("reason"), "user");
  release = true;
  box->wait_answer();
}

TEST_F(FederationTest, VaultSecretsGoInTheirHeaderAndAMissingOneFailsClosed) {
  ScriptedMcp alpha("alpha", {"a"});
  ScriptedMcp beta("beta", {"b"});
  dir_.servers = {entry("alpha", alpha.port()), entry("beta", beta.port())};
  dir_.servers[0].auth = UpstreamAuth::vault_secret;
  dir_.servers[0].secret = "missing";
  dir_.servers[1].auth = UpstreamAuth::vault_secret;
  dir_.servers[1].secret = "beta-key";
  dir_.servers[1].header = "X-Api-Key";
  build();
  // alpha's secret does not exist: alpha drops out (never called without its credentials).
  EXPECT_EQ(tool_names(rpc("tools/list")), std::vector<std::string>{"b"});
  EXPECT_TRUE(alpha.seen().empty());
  EXPECT_EQ(rpc("tools/call", {{"name", "b"}}, 2).at("result").at("content").at(0).at("text"), "beta:b");
  for (const auto& s : beta.seen()) {
    EXPECT_EQ(s.header("x-api-key"), "s3cr3t");
    EXPECT_EQ(s.header("authorization"), "");
  }
  EXPECT_LE(vault_reads_.load(), 3) << "the secret is cached within the session";
}

TEST_F(FederationTest, ARetriedIdReturnsTheFirstAnswerAndEveryCallIsRecordedSealed) {
  pc::testing::TestDatabase db(pc::testing::Backend::sqlite);
  auto store = db.open_store();
  crypto::MasterKeyring ring{vault::testing::master_key(1)};
  vault::DataKeys keys(*store, ring);
  agents::Idempotency idem(*store, keys);
  audit::AuditLog audit(*store);
  ToolCallLog calls(*store, keys, &audit);
  std::atomic<int> n{0};
  ScriptedMcp alpha("alpha", {"count"}, [&n](const Seen& s) -> std::optional<Answer> {
    auto* m = s.body.if_contains("method");
    if (!m || m->as_string() != "tools/call") return std::nullopt;
    return json_answer(s.body.at("id"), {{"content", json::array{json::object{{"type", "text"}, {"text", std::to_string(++n)}}}}});
  });
  dir_.servers = {entry("alpha", alpha.port())};
  build({}, {std::make_shared<Redact>()}, 200, &idem, &calls);
  auto first = rpc("tools/call", {{"name", "count"}, {"arguments", {{"x", 1}}}}, 42);
  auto again = rpc("tools/call", {{"name", "count"}, {"arguments", {{"x", 1}}}}, 42);
  EXPECT_EQ(json::serialize(first), json::serialize(again));
  EXPECT_EQ(n.load(), 1) << "the retry did not reach the upstream";
  auto other = rpc("tools/call", {{"name", "count"}, {"arguments", {{"x", 2}}}}, 42);
  EXPECT_EQ(error_code(other), -32600) << "the same id with other arguments";
  EXPECT_EQ(rpc("tools/call", {{"name", "count"}}, 43).at("result").at("content").at(0).at("text"), "2");
  std::vector<store::McpToolCallRecord> rows;
  for (int i = 0; i < 100 && rows.size() < 4; ++i) {  // recorded just after the answer went out
    calls.flush();
    rows = store->list_mcp_tool_calls("acme", "", 10);
    if (rows.size() < 4) std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(rows.size(), 4u);
  std::map<std::string, int> outcomes;
  const store::McpToolCallRecord* first_row = nullptr;
  for (const auto& r : rows) {
    ++outcomes[r.outcome];
    if (r.outcome == "denied") {
      EXPECT_EQ(r.error_code, -32600);
    }
    if (r.outcome == "succeeded") {
      EXPECT_EQ(r.redactions, R"({"email":1})");
    }
    if (r.outcome == "succeeded" && !first_row) first_row = &r;
  }
  EXPECT_EQ(outcomes, (std::map<std::string, int>{{"succeeded", 2}, {"replayed", 1}, {"denied", 1}}));
  ASSERT_TRUE(first_row);
  rows = {*first_row};
  auto found = store->find_mcp_tool_call(rows[0].call_id);
  ASSERT_TRUE(found && found->content_sealed);
  auto [args, result] = open_tool_call_content(keys, "acme", rows[0].call_id, *found->content_sealed);
  EXPECT_TRUE(args == R"({"x":1})" || args == "{}") << args;
  EXPECT_NE(result.find("\"redacted\":true"), std::string::npos) << "the record holds what the client got";
}

TEST_F(FederationTest, AServerRequestTheClientCannotTakeIsRefusedToTheUpstreamAtOnce) {
  ScriptedMcp* self = nullptr;
  ScriptedMcp alpha("alpha", {"ask"}, [&self](const Seen& s) -> std::optional<Answer> {
    auto* m = s.body.if_contains("method");
    if (!m || m->as_string() != "tools/call") return std::nullopt;
    auto id = s.body.at("id");
    Answer a;
    a.sse.push_back({nullptr, "data: " + json::serialize(json::object{
                                   {"jsonrpc", "2.0"}, {"id", 78}, {"method", "elicitation/create"},
                                   {"params", json::object{}}}) + "\n\n"});
    a.sse.push_back({[&self] {
                       self->wait_seen([](const Seen& x) { return !x.body.contains("method") && x.body.contains("id"); });
                     },
                     "data: " + json::serialize(json::object{{"jsonrpc", "2.0"}, {"id", id},
                                                             {"result", {{"content", json::array{}}}}}) + "\n\n"});
    return a;
  });
  self = &alpha;
  dir_.servers = {entry("alpha", alpha.port())};
  build();
  // The client declared sampling only: elicitation is not relayed.
  auto box = std::make_shared<Box>();
  fed_->request(caller_, session_, {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"}, {"params", {{"name", "ask"}}}}, box);
  EXPECT_EQ(error_code(box->wait_answer()), 0);
  EXPECT_FALSE(box->wait_sent("elicitation/create", 100ms));
  auto resp = alpha.responses();
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_EQ(resp[0].at("id"), 78);
  EXPECT_EQ(resp[0].at("error").at("code"), -32601);
}

TEST_F(FederationTest, TheClientsGetStreamCarriesWhatUpstreamsSendOnTheirs) {
  std::atomic<bool> release{false};
  ScriptedMcp alpha("alpha", {"echo"}, [&release](const Seen& s) -> std::optional<Answer> {
    if (s.method != "GET" || s.header("mcp-session-id").empty()) return std::nullopt;
    Answer a;
    a.sse.push_back({nullptr, "data: " + json::serialize(json::object{
                                   {"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}}) + "\n\n"});
    a.sse.push_back({[&release] {
                       for (int i = 0; i < 500 && !release; ++i) std::this_thread::sleep_for(10ms);
                     },
                     ": bye\n\n"});
    return a;
  });
  dir_.servers = {entry("alpha", alpha.port())};
  build();
  rpc("tools/list");  // the upstream session exists from here
  auto stream = std::make_shared<Box>();
  fed_->stream_opened(caller_, session_, stream);
  EXPECT_TRUE(stream->wait_sent("notifications/tools/list_changed"));
  bool get_seen = false;
  for (const auto& s : alpha.seen())
    if (s.method == "GET") {
      get_seen = true;
      EXPECT_EQ(s.header("mcp-session-id"), "alpha-session-1");
      EXPECT_EQ(s.header("accept"), "text/event-stream");
    }
  EXPECT_TRUE(get_seen);
  fed_->stream_closed(session_);
  release = true;
  // The session ends: the upstream session is deleted too.
  fed_->session_ended(session_);
  EXPECT_TRUE(alpha.wait_seen([](const Seen& s) { return s.method == "DELETE"; }));
}

TEST_F(FederationTest, AnEventStreamThatNeverEndsIsCutAtTheDeadline) {
  ScriptedMcp alpha("alpha", {"chatty"}, [](const Seen& s) -> std::optional<Answer> {
    auto* m = s.body.if_contains("method");
    if (!m || m->as_string() != "tools/call") return std::nullopt;
    Answer a;  // keep-alives every 100 ms for 5 s: never idle, never done
    for (int i = 0; i < 50; ++i)
      a.sse.push_back({[] { std::this_thread::sleep_for(100ms); }, ": keep-alive\n\n"});
    return a;
  });
  auto e = entry("alpha", alpha.port());
  e.timeout_ms = 600;
  dir_.servers = {e};
  build();
  auto started = std::chrono::steady_clock::now();
  auto a = rpc("tools/call", {{"name", "chatty"}});
  EXPECT_EQ(error_code(a), -32603);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3000ms);
}

TEST_F(FederationTest, BuiltFromConfigurationPoliciesHideToolsAndSchemasCheckArguments) {
  ScriptedMcp alpha("alpha", {}, [](const Seen& s) -> std::optional<Answer> {
    auto* m = s.body.if_contains("method");
    if (!m || m->as_string() != "tools/list") return std::nullopt;
    json::object schema{{"type", "object"},
                        {"properties", {{"city", {{"type", "string"}}}}},
                        {"required", json::array{"city"}}};
    json::array tools{json::object{{"name", "forecast"}, {"inputSchema", schema}},
                      json::object{{"name", "admin_reset"}, {"inputSchema", {{"type", "object"}}}}};
    return json_answer(s.body.at("id"), {{"tools", tools}});
  });
  dir_.servers = {entry("alpha", alpha.port())};
  core::McpConfig mcp;
  core::McpPolicyRule deny;
  deny.tool = "admin_*";
  deny.effect = "deny";
  core::McpPolicyRule allow;
  allow.effect = "allow";
  mcp.policies = {deny, allow};
  mcp.list_timeout_ms = 1500;
  mcp.call_timeout_ms = 3000;
  FederationSetup setup;
  setup.directory = &dir_;
  setup.capabilities = &caps_;
  setup.blocking = &pool_;
  FederationOptions o;
  o.cursor_key = std::string(32, 'c');
  fed_ = build_federation(mcp, setup, o);
  EXPECT_EQ(tool_names(rpc("tools/list")), std::vector<std::string>{"forecast"});
  EXPECT_EQ(error_code(rpc("tools/call", {{"name", "admin_reset"}}, 2)), -32602);
  EXPECT_EQ(error_code(rpc("tools/call", {{"name", "forecast"}, {"arguments", {{"town", "Oslo"}}}}, 3)), -32602);
  EXPECT_EQ(error_code(rpc("tools/call", {{"name", "forecast"}, {"arguments", {{"city", 7}}}}, 4)), -32602);
  EXPECT_TRUE(alpha.seen("tools/call").empty()) << "invalid arguments never reach the tool";
  auto ok = rpc("tools/call", {{"name", "forecast"}, {"arguments", {{"city", "Oslo"}}}}, 5);
  EXPECT_EQ(error_code(ok), 0) << json::serialize(ok);
}

}  // namespace
}  // namespace pc::mcp
