// ExternalHook against a real hook service on loopback (a small HTTP server in this file), called
// through net::call_upstream on a running net::Server's I/O threads: allow, allow with a
// modification, deny, and every way a hook can fail — garbage, a non-2xx status, too slow, not
// listening — each failing the call closed.
#include "mcp/external_hook.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mcp/interceptor_chain.h"
#include "mcp/jsonrpc.h"
#include "net/router.h"
#include "net/server.h"
#include "net/upstream_call.h"

namespace pc::mcp {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const bool kNoSigpipe = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

// What the hook service does with one request body.
struct Reply {
  std::string raw;  // the whole HTTP response
  int delay_ms = 0;
};

Reply http(int status, std::string_view body) {
  return {"HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\n\r\n" + std::string(body),
          0};
}

// A loopback HTTP/1.1 service: one thread per connection, keep-alive, Content-Length bodies.
class HookService {
 public:
  explicit HookService(std::function<Reply(const std::string& body)> answer) : answer_(std::move(answer)) {
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
    EXPECT_EQ(::listen(fd_, 16), 0);
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
  ~HookService() {
    stop_ = true;
    accept_.join();
    std::lock_guard lock(mu_);
    for (auto& t : conns_) t.join();
    ::close(fd_);
  }
  std::string url(std::string_view path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }
  std::vector<std::string> heads() {
    std::lock_guard lock(mu_);
    return heads_;
  }

 private:
  void serve(int c) {
    std::string buf;
    for (;;) {
      std::size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos)
        if (!read_some(c, buf)) return (void)::close(c);
      std::size_t length = 0;
      const std::string head = buf.substr(0, end + 4);
      for (const char* name : {"Content-Length: ", "content-length: "})
        if (auto at = head.find(name); at != std::string::npos) length = std::stoul(head.substr(at + 16));
      while (buf.size() < end + 4 + length)
        if (!read_some(c, buf)) return (void)::close(c);
      const std::string body = buf.substr(end + 4, length);
      buf.erase(0, end + 4 + length);
      {
        std::lock_guard lock(mu_);
        heads_.push_back(head);
        bodies_.push_back(body);
      }
      const Reply r = answer_(body);
      for (int waited = 0; waited < r.delay_ms && !stop_; waited += 5) std::this_thread::sleep_for(5ms);
      ::send(c, r.raw.data(), r.raw.size(), MSG_NOSIGNAL);
    }
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

  std::function<Reply(const std::string&)> answer_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread accept_;
  std::mutex mu_;
  std::vector<std::thread> conns_;
  std::vector<std::string> bodies_, heads_;
};

// A running gateway server: its I/O threads carry call_upstream.
class HookFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    core::Config c;
    c.server.listen = "127.0.0.1:0";
    c.server.threads = 1;
    c.server.upstream.connect_timeout_ms = 500;
    c.server.upstream.response_timeout_ms = 2000;
    c.log.access = false;
    server_ = std::make_unique<net::Server>(c, std::make_shared<net::Router>());
    server_->start();
  }
  void TearDown() override { server_->shutdown(100ms); }

  static core::McpHook hook(std::string url, std::string stage = "request", std::uint32_t timeout_ms = 1000) {
    core::McpHook h;
    h.name = "audit-hook";
    h.url = std::move(url);
    h.stage = std::move(stage);
    h.timeout_ms = timeout_ms;
    return h;
  }
  static CallContext ctx() {
    CallContext c;
    c.tenant = "acme";
    c.subject = "user-1";
    c.client = "agent-7";
    c.server = "weather";
    c.tool = "forecast";
    return c;
  }
  // One request-stage run; returns the decision and the params afterwards.
  static std::pair<Decision, json::object> request(const ExternalHook& h, json::object params,
                                                   const CallContext& c = ctx()) {
    std::promise<Decision> p;
    auto f = p.get_future();
    h.on_request(c, params, [&p](Decision d) { p.set_value(d); });
    EXPECT_EQ(f.wait_for(5s), std::future_status::ready);
    return {f.get(), params};
  }

  std::unique_ptr<net::Server> server_;
};

TEST_F(HookFixture, AllowSendsTheDocumentedJson) {
  HookService svc([](const std::string&) { return http(200, R"({"decision":"allow"})"); });
  ExternalHook h(hook(svc.url("/judge?x=1")));
  auto [d, params] = request(h, {{"name", "forecast"}, {"arguments", {{"city", "Oslo"}}}});
  EXPECT_EQ(d.kind, Decision::allow);
  EXPECT_EQ(params.at("arguments").at("city").as_string(), "Oslo");
  auto bodies = svc.bodies();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(bodies[0], R"({"stage":"request","tenant":"acme","subject":"user-1","client":"agent-7",)"
                       R"("server":"weather","tool":"forecast","arguments":{"city":"Oslo"}})");
  auto heads = svc.heads();
  EXPECT_NE(heads[0].find("POST /judge?x=1 HTTP/1.1\r\n"), std::string::npos);
  EXPECT_NE(heads[0].find("Content-Type: application/json\r\n"), std::string::npos);
}

TEST_F(HookFixture, AllowWithModifiedArgumentsReplacesThem) {
  HookService svc([](const std::string&) { return http(200, R"({"decision":"allow","arguments":{"city":"Bergen"}})"); });
  ExternalHook h(hook(svc.url()));
  auto [d, params] = request(h, {{"name", "forecast"}, {"arguments", {{"city", "Oslo"}, {"ssn", "x"}}}});
  EXPECT_EQ(d.kind, Decision::allow);
  EXPECT_EQ(json::serialize(params.at("arguments")), R"({"city":"Bergen"})");
}

TEST_F(HookFixture, DenyCarriesTheReason) {
  HookService svc([](const std::string&) { return http(200, R"({"decision":"deny","reason":"outside office hours"})"); });
  ExternalHook h(hook(svc.url()));
  auto [d, params] = request(h, {{"arguments", json::object{}}});
  EXPECT_EQ(d.kind, Decision::deny);
  EXPECT_EQ(d.code, jsonrpc::kForbidden);
  EXPECT_EQ(d.reason, "Denied by audit-hook: outside office hours");
}

TEST_F(HookFixture, EveryFailureDeniesClosed) {
  struct Case {
    const char* what;
    Reply reply;
  };
  const std::vector<Case> cases = {
      {"garbage", http(200, "not json")},
      {"empty", http(200, "")},
      {"no decision", http(200, R"({"allow":true})")},
      {"odd decision", http(200, R"({"decision":"maybe"})")},
      {"decision not a string", http(200, R"({"decision":true})")},
      {"array", http(200, R"(["allow"])")},
      {"arguments not an object", http(200, R"({"decision":"allow","arguments":[1]})")},
      {"reason not a string", http(200, R"({"decision":"deny","reason":5})")},
      {"duplicate decision", http(200, R"({"decision":"deny","decision":"allow"})")},
      {"500", http(500, R"({"decision":"allow"})")},
      {"302", http(302, R"({"decision":"allow"})")},
      {"204", {"HTTP/1.1 204 No Content\r\n\r\n", 0}},
  };
  for (const auto& k : cases) {
    HookService svc([&](const std::string&) { return k.reply; });
    ExternalHook h(hook(svc.url()));
    auto [d, params] = request(h, {{"arguments", {{"a", 1}}}});
    EXPECT_EQ(d.kind, Decision::deny) << k.what;
    EXPECT_EQ(d.code, jsonrpc::kInternalError) << k.what;
    EXPECT_EQ(d.reason, "interceptor audit-hook failed") << k.what;
    EXPECT_EQ(json::serialize(params.at("arguments")), R"({"a":1})") << k.what;  // untouched
  }
}

TEST_F(HookFixture, SlowHookTimesOutClosed) {
  HookService svc([](const std::string&) {
    Reply r = http(200, R"({"decision":"allow"})");
    r.delay_ms = 1500;
    return r;
  });
  ExternalHook h(hook(svc.url(), "request", 200));
  const auto start = std::chrono::steady_clock::now();
  auto [d, params] = request(h, {{"arguments", json::object{}}});
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1200ms);
  EXPECT_EQ(d.kind, Decision::deny);
  EXPECT_EQ(d.code, jsonrpc::kInternalError);
  EXPECT_EQ(d.reason, "interceptor audit-hook timed out");
}

TEST_F(HookFixture, UnreachableHookDeniesClosed) {
  std::string url;
  {
    HookService gone([](const std::string&) { return http(200, "{}"); });
    url = gone.url();
  }  // closed: nothing listens there any more
  ExternalHook h(hook(url));
  auto [d, params] = request(h, {});
  EXPECT_EQ(d.kind, Decision::deny);
  EXPECT_EQ(d.code, jsonrpc::kInternalError);
}

TEST_F(HookFixture, AppliesOnlyToItsStageTenantsAndServers) {
  HookService svc([](const std::string&) { return http(200, R"({"decision":"deny"})"); });
  auto cfg = hook(svc.url());
  cfg.tenants = {"globex"};
  ExternalHook only_globex(cfg);
  EXPECT_EQ(request(only_globex, {}).first.kind, Decision::allow);  // acme: not judged
  auto c = ctx();
  c.tenant = "globex";
  auto d = request(only_globex, {}, c).first;
  EXPECT_EQ(d.kind, Decision::deny);
  EXPECT_EQ(d.reason, "Denied by audit-hook");
  cfg.tenants = {};
  cfg.servers = {"files"};
  ExternalHook only_files(cfg);
  EXPECT_EQ(request(only_files, {}).first.kind, Decision::allow);
  ExternalHook response_stage(hook(svc.url(), "response"));
  EXPECT_EQ(request(response_stage, {}).first.kind, Decision::allow);
  EXPECT_EQ(svc.bodies().size(), 1u);  // only the globex call reached the service
}

TEST_F(HookFixture, ResponseStageSeesAndReplacesTheResult) {
  HookService svc([](const std::string& body) {
    auto v = json::parse(body);
    if (v.at("isError").as_bool()) return http(200, R"({"decision":"deny","reason":"errors are hidden"})");
    return http(200, R"({"decision":"allow","result":{"content":[{"type":"text","text":"[filtered]"}]}})");
  });
  ExternalHook h(hook(svc.url(), "response"));
  json::value result = json::object{{"content", json::array{json::object{{"type", "text"}, {"text", "secret"}}}}};
  ResponseFacts facts;
  std::promise<Decision> p;
  auto f = p.get_future();
  h.on_response(ctx(), result, false, facts, [&p](Decision d) { p.set_value(d); });
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get().kind, Decision::allow);
  EXPECT_EQ(result.at("content").at(0).at("text").as_string(), "[filtered]");
  auto sent = json::parse(svc.bodies().at(0));
  EXPECT_EQ(sent.at("stage").as_string(), "response");
  EXPECT_EQ(sent.at("result").at("content").at(0).at("text").as_string(), "secret");

  std::promise<Decision> q;
  auto g = q.get_future();
  h.on_response(ctx(), result, true, facts, [&q](Decision d) { q.set_value(d); });
  ASSERT_EQ(g.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(g.get().reason, "Denied by audit-hook: errors are hidden");
}

TEST_F(HookFixture, InAChainASlowHookFailsTheCall) {
  HookService svc([](const std::string&) {
    Reply r = http(200, R"({"decision":"allow"})");
    r.delay_ms = 1500;
    return r;
  });
  // The chain's step timeout is shorter than the hook's own: the chain's timer decides.
  auto h = std::make_shared<ExternalHook>(hook(svc.url(), "request", 5000));
  RequestChain chain;
  chain.add(h, 150ms);
  json::object params{{"arguments", json::object{}}};
  std::promise<Decision> p;
  auto f = p.get_future();
  chain.on_request(ctx(), params, [&p](Decision d) { p.set_value(d); });
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  auto d = f.get();
  EXPECT_EQ(d.kind, Decision::deny);
  EXPECT_EQ(d.reason, "interceptor audit-hook timed out");
}

TEST(ExternalHookConfig, RefusesUnusableUrls) {
  core::McpHook h;
  h.name = "x";
  for (const char* url : {"ftp://h/x", "not a url", "http:///path", "http://user:pw@h/x", "http://h:0/x",
                          "http://h/x#frag"}) {
    h.url = url;
    EXPECT_THROW(ExternalHook{h}, std::invalid_argument) << url;
  }
  h.url = "https://[::1]:8443/hook";
  EXPECT_NO_THROW(ExternalHook{h});
}

TEST(ExternalHookConfig, MakeHooksKeepsOneStageInOrder) {
  std::vector<core::McpHook> cfg(3);
  cfg[0].name = "a";
  cfg[0].url = "http://127.0.0.1:1/a";
  cfg[1].name = "b";
  cfg[1].url = "http://127.0.0.1:1/b";
  cfg[1].stage = "response";
  cfg[2].name = "c";
  cfg[2].url = "http://127.0.0.1:1/c";
  auto req = make_hooks(cfg, "request");
  ASSERT_EQ(req.size(), 2u);
  EXPECT_EQ(req[0]->name(), "a");
  EXPECT_EQ(req[1]->name(), "c");
  auto res = make_hooks(cfg, "response");
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0]->name(), "b");
}

TEST(ExternalHookAnswer, ReadsReplies) {
  net::UpstreamReply r;
  r.status = 200;
  r.body = R"({"decision":"allow","result":{"x":1},"extra":"ignored"})";
  auto a = read_hook_answer(r, "response");
  EXPECT_EQ(a.kind, HookAnswer::allow);
  ASSERT_TRUE(a.replacement);
  EXPECT_EQ(a.replacement->at("x").as_int64(), 1);
  // The other stage's member is not a replacement.
  a = read_hook_answer(r, "request");
  EXPECT_EQ(a.kind, HookAnswer::allow);
  EXPECT_FALSE(a.replacement);
  // A long reason is cut.
  r.body = R"({"decision":"deny","reason":")" + std::string(1000, 'r') + R"("})";
  a = read_hook_answer(r, "request");
  EXPECT_EQ(a.kind, HookAnswer::deny);
  EXPECT_LE(a.reason.size(), 204u);
  r.error = "upstream_timeout";
  EXPECT_EQ(read_hook_answer(r, "request").kind, HookAnswer::failed);
}

}  // namespace
}  // namespace pc::mcp
