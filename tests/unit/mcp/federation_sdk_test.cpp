// mcp::Federation against the official TypeScript SDK's server (tests/integration/support/
// mcp_upstream.mjs, run by Node from this checkout's node_modules): the gateway's MCP client
// speaks to a real Streamable HTTP server — SDK sessions, event-stream answers, clashing names,
// progress relayed, sampling relayed and answered back. Needs node and npm's
// @modelcontextprotocol/sdk installed (npm ci): without them the test fails, never skips.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>

#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/principal.h"
#include "core/work_pool.h"
#include "mcp/federation.h"
#include "net/router.h"
#include "net/server.h"
#include "store/records.h"
#include "tenancy/capabilities.h"

namespace pc::mcp {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// Two SDK upstreams, alpha and beta, in one Node process; their URLs on its stdout.
class SdkUpstreams {
 public:
  SdkUpstreams() {
    std::string script =
        "const m = await import('" PORTCULLIS_SOURCE_DIR "/tests/integration/support/mcp_upstream.mjs');"
        "const a = await m.startMcpUpstream({ name: 'alpha' });"
        "const b = await m.startMcpUpstream({ name: 'beta' });"
        "console.log(a.url); console.log(b.url);"
        "setTimeout(() => process.exit(0), 60000);";
    std::string cmd = "cd '" PORTCULLIS_SOURCE_DIR "' && echo $$ && exec node --input-type=module -e \"" + script + "\"";
    pipe_ = ::popen(cmd.c_str(), "r");
    if (!pipe_) return;
    char line[512];
    std::vector<std::string> lines;
    while (lines.size() < 3 && std::fgets(line, sizeof line, pipe_)) {
      std::string l(line);
      while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.pop_back();
      lines.push_back(l);
    }
    if (lines.size() == 3) {
      pid_ = std::stoi(lines[0]);
      alpha = lines[1];
      beta = lines[2];
    }
  }
  ~SdkUpstreams() {
    if (pid_ > 0) ::kill(pid_, SIGTERM);
    if (pipe_) ::pclose(pipe_);
  }
  bool ok() const { return alpha.rfind("http://", 0) == 0 && beta.rfind("http://", 0) == 0; }
  std::string alpha, beta;

 private:
  FILE* pipe_ = nullptr;
  int pid_ = 0;
};

ServerEntry entry_for(std::string name, const std::string& url) {
  // http://127.0.0.1:PORT/mcp
  ServerEntry s;
  s.name = std::move(name);
  s.url = url;
  s.scheme = "http";
  auto hostport = url.substr(7, url.find('/', 7) - 7);
  s.host = hostport.substr(0, hostport.find(':'));
  s.port = static_cast<std::uint16_t>(std::stoi(hostport.substr(hostport.find(':') + 1)));
  s.path = url.substr(url.find('/', 7));
  return s;
}

class Dir final : public ServerDirectory {
 public:
  std::shared_ptr<const std::vector<ServerEntry>> for_tenant(std::string_view) const override {
    return std::make_shared<const std::vector<ServerEntry>>(servers);
  }
  std::vector<ServerEntry> servers;
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
  json::object wait_answer() {
    std::unique_lock lk(mu);
    EXPECT_TRUE(cv.wait_for(lk, 10s, [&] { return !answers.empty(); })) << "no answer";
    return answers.empty() ? json::object{} : answers.front();
  }
  std::optional<json::object> wait_sent(std::string_view method) {
    std::unique_lock lk(mu);
    std::optional<json::object> found;
    cv.wait_for(lk, 10s, [&] {
      for (auto& m : sent)
        if (auto* v = m.if_contains("method"); v && v->is_string() && v->get_string() == method) return found = m, true;
      return false;
    });
    return found;
  }
  std::vector<json::object> all_sent() {
    std::lock_guard lk(mu);
    return sent;
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<json::object> sent, answers;
};

store::CapabilityRecord cap(std::string name) {
  store::CapabilityRecord r;
  r.name = std::move(name);
  r.enabled = true;
  return r;
}

TEST(FederationSdk, TheOfficialSdkServerThroughTheFederation) {
  SdkUpstreams ups;
  ASSERT_TRUE(ups.ok()) << "node with @modelcontextprotocol/sdk is required (npm ci)";
  core::Config c;
  c.server.listen = "127.0.0.1:0";
  c.server.threads = 1;
  c.log.access = false;
  net::Server server(c, std::make_shared<net::Router>());
  server.start();
  tenancy::Capabilities caps;
  caps.publish({cap("tools.alpha"), cap("tools.beta")});
  Dir dir;
  dir.servers = {entry_for("alpha", ups.alpha), entry_for("beta", ups.beta)};
  core::WorkPool pool("sdk-test", 1, 16);
  FederationPorts ports;
  ports.directory = &dir;
  ports.capabilities = &caps;
  ports.policy = [](auto, auto&, auto, auto) { return true; };
  ports.blocking = &pool;
  FederationOptions o;
  o.cursor_key = std::string(32, 'k');
  auto fed = make_federation(std::move(ports), std::move(o));
  auto p = std::make_shared<auth::Principal>();
  p->subject = "user-1";
  p->roles = {"Agent.Invoke"};
  McpCaller caller{p, "acme", "standard", "req-sdk"};
  McpSession session;
  session.id = "sess-sdk";
  session.tenant = "acme";
  session.protocol_version = "2025-06-18";
  session.client_capabilities = {{"sampling", json::object{}}};
  auto rpc = [&](std::string method, json::object params, int id, std::shared_ptr<Box> box = nullptr) {
    if (!box) box = std::make_shared<Box>();
    fed->request(caller, session, {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}, box);
    return box->wait_answer();
  };

  auto list = rpc("tools/list", {}, 1);
  std::vector<std::string> names;
  for (auto& t : list.at("result").at("tools").as_array()) names.emplace_back(t.at("name").as_string());
  auto has = [&](const char* n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  EXPECT_TRUE(has("alpha__search") && has("beta__search") && has("alpha_info") && has("beta_info"))
      << json::serialize(list);
  EXPECT_FALSE(has("search"));

  auto r = rpc("tools/call", {{"name", "beta__search"}, {"arguments", {{"query", "q"}}}}, 2);
  EXPECT_EQ(r.at("result").at("content").at(0).at("text"), "beta: results for q") << json::serialize(r);
  r = rpc("tools/call", {{"name", "alpha_info"}, {"arguments", json::object{}}}, 3);
  EXPECT_EQ(r.at("result").at("content").at(0).at("text"), "server alpha") << json::serialize(r);

  // Progress with the client's token, relayed before the answer.
  auto box = std::make_shared<Box>();
  r = rpc("tools/call", {{"name", "alpha__progress"}, {"arguments", {{"steps", 2}}}, {"_meta", {{"progressToken", "pt-1"}}}}, 4, box);
  EXPECT_NE(json::serialize(r).find("done after 2 steps"), std::string::npos) << json::serialize(r);
  int progress = 0;
  for (auto& m : box->all_sent())
    if (m.at("method") == "notifications/progress") {
      ++progress;
      EXPECT_EQ(m.at("params").at("progressToken"), "pt-1");
    }
  EXPECT_EQ(progress, 2);

  // Sampling: relayed with the gateway's id; the answer goes back; the tool finishes with it.
  box = std::make_shared<Box>();
  fed->request(caller, session,
               {{"jsonrpc", "2.0"}, {"id", 5}, {"method", "tools/call"},
                {"params", {{"name", "alpha__sample"}, {"arguments", {{"prompt", "hi"}}}}}},
               box);
  auto ask = box->wait_sent("sampling/createMessage");
  ASSERT_TRUE(ask);
  fed->client_response(caller, session,
                       {{"jsonrpc", "2.0"}, {"id", ask->at("id")},
                        {"result", {{"role", "assistant"}, {"model", "m"}, {"content", {{"type", "text"}, {"text", "echo(hi)"}}}}}});
  r = box->wait_answer();
  EXPECT_NE(json::serialize(r).find("the model said echo(hi)"), std::string::npos) << json::serialize(r);

  // Prompts clash like tools; resources by URI.
  auto prompts = rpc("prompts/list", {}, 6);
  EXPECT_NE(json::serialize(prompts).find("alpha__greet"), std::string::npos) << json::serialize(prompts);
  auto res = rpc("resources/read", {{"uri", "beta://readme"}}, 7);
  EXPECT_TRUE(res.contains("result")) << json::serialize(res);

  fed->session_ended(session);
  fed.reset();
  server.shutdown(200ms);
}

}  // namespace
}  // namespace pc::mcp
