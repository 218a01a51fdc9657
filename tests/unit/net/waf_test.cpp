// WAF-lite (net/waf.h) and the edge guard's order of checks (net/edge_guard.h).
#include "net/waf.h"

#include <gtest/gtest.h>

#include "core/metrics.h"
#include "net/edge_guard.h"

namespace pc::net {
namespace {

core::WafRule rule(std::string name, std::string action = "block") {
  core::WafRule r;
  r.name = std::move(name);
  r.action = std::move(action);
  return r;
}

Request req(std::string method, std::string target, std::vector<Header> headers = {}, std::string body = {}) {
  Request r;
  r.method = std::move(method);
  r.target = target;
  auto q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.query = target.substr(q + 1);
  r.headers = std::move(headers);
  r.body = std::move(body);
  r.request_id = "rid-1";
  r.remote_address = "198.51.100.7";
  return r;
}

double matches(const std::string& rule, const std::string& action) {
  return core::metrics().counter("portcullis_edge_waf_matches_total", "", {"rule", "action"}).labels({rule, action}).value();
}

TEST(Waf, PathQueryHeaderAndMethodRulesDecideOnTheHead) {
  auto dots = rule("dotdot");
  dots.path = R"(\.\./)";
  auto union_sel = rule("sqli");
  union_sel.query = R"(union\s+select)";
  union_sel.caseless = true;
  auto scanner = rule("scanner", "log");
  scanner.header_name = "User-Agent";
  scanner.header_pattern = "sqlmap";
  auto trace = rule("trace");
  trace.methods = {"TRACE"};
  Waf w({dots, union_sel, scanner, trace});
  Waf::Scan s;

  EXPECT_EQ(w.check_head(req("GET", "/v1/agents"), s), nullptr);
  EXPECT_EQ(w.check_head(req("GET", "/static/../etc/passwd"), s)->name, "dotdot");
  // Percent-encoded dots are decoded before the search.
  EXPECT_EQ(w.check_head(req("GET", "/static/%2e%2e/etc/passwd"), s)->name, "dotdot");
  EXPECT_EQ(w.check_head(req("GET", "/v1/agents?q=1+UNION+SELECT+x"), s)->name, "sqli");
  EXPECT_EQ(w.check_head(req("GET", "/v1/agents?q=1%20union%20select"), s)->name, "sqli");
  EXPECT_EQ(w.check_head(req("TRACE", "/"), s)->name, "trace");
  // A log rule matches, is counted, and blocks nothing.
  const double before = matches("scanner", "log");
  EXPECT_EQ(w.check_head(req("GET", "/v1/agents", {{"user-agent", "sqlmap/1.7"}}), s), nullptr);
  EXPECT_EQ(matches("scanner", "log"), before + 1);
  EXPECT_EQ(w.check_head(req("GET", "/v1/agents", {{"User-Agent", "curl/8"}}), s), nullptr);
  EXPECT_EQ(matches("scanner", "log"), before + 1);
}

TEST(Waf, EveryPartOfARuleMustMatchAndTheBodyIsCheckedLast) {
  auto r = rule("post-shell");
  r.methods = {"POST"};
  r.path = "^/v1/agents/";
  r.body = R"(/bin/sh)";
  Waf w({r});
  Waf::Scan s;
  auto get = req("GET", "/v1/agents/echo/invoke", {}, "/bin/sh");
  EXPECT_EQ(w.check_head(get, s), nullptr);
  EXPECT_FALSE(s.body_needed);  // the method already failed: no body scan
  auto post = req("POST", "/v1/agents/echo/invoke", {}, "{\"input\":\"run /bin/sh\"}");
  EXPECT_EQ(w.check_head(post, s), nullptr);
  EXPECT_TRUE(s.body_needed);
  EXPECT_EQ(w.check_body(post, s)->name, "post-shell");
  auto clean = req("POST", "/v1/agents/echo/invoke", {}, "{\"input\":\"hello\"}");
  EXPECT_EQ(w.check_head(clean, s), nullptr);
  EXPECT_EQ(w.check_body(clean, s), nullptr);
  auto elsewhere = req("POST", "/mcp", {}, "/bin/sh");
  EXPECT_EQ(w.check_head(elsewhere, s), nullptr);
  EXPECT_FALSE(s.body_needed);
}

TEST(Waf, FirstBlockingRuleInOrderDecides) {
  auto a = rule("a", "log");
  a.path = "admin";
  auto b = rule("b");
  b.path = "adm";
  auto c = rule("c");
  c.path = "admin";
  Waf w({a, b, c});
  Waf::Scan s;
  EXPECT_EQ(w.check_head(req("GET", "/admin"), s)->name, "b");
}

TEST(Waf, PatternHyperscanRefusesIsAConfigErrorWithItsPath) {
  core::Config c;
  auto ok = rule("ok");
  ok.path = "x";
  auto bad = rule("bad");
  bad.body = R"((a)\1)";  // back-reference: not supported
  c.server.edge.waf = {ok, bad};
  auto errors = waf_config_errors(c);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "server.edge.waf[1].body");
  EXPECT_FALSE(errors[0].message.empty());
  c.server.edge.waf = {ok};
  EXPECT_TRUE(waf_config_errors(c).empty());
  auto bad_header = rule("h");
  bad_header.header_name = "x";
  bad_header.header_pattern = "([";
  c.server.edge.waf = {ok, bad_header};
  errors = waf_config_errors(c);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "server.edge.waf[1].header.pattern");
}

TEST(EdgeGuard, TrustedProxyNamesTheClientAndBudgetsCountIt) {
  core::ServerConfig sc;
  sc.trusted_proxies = {"127.0.0.1"};
  sc.edge.requests_per_ip = {1, 3};
  EdgeRules rules(sc);
  EdgeGuard g(1024);
  Waf::Scan s;
  auto from = [](std::string peer, std::string xff) {
    Request r = req("GET", "/v1/agents", {{"X-Forwarded-For", xff}});
    r.remote_address = peer;
    return r;
  };
  for (int i = 0; i < 3; ++i) {
    auto r = from("127.0.0.1", "203.0.113.5");
    EXPECT_FALSE(g.admit_head(r, rules, s));
    EXPECT_EQ(r.remote_address, "203.0.113.5");
    EXPECT_EQ(r.peer_address, "127.0.0.1");
  }
  auto r = from("127.0.0.1", "203.0.113.5");
  auto refusal = g.admit_head(r, rules, s);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->status, 429);
  EXPECT_EQ(refusal->code, "rate_limited");
  EXPECT_GT(refusal->retry_after.count(), 0);
  // Another client behind the same proxy has its own budget.
  auto other = from("127.0.0.1", "203.0.113.6");
  EXPECT_FALSE(g.admit_head(other, rules, s));
  // An untrusted peer's X-Forwarded-For is ignored: it is counted as itself.
  auto spoof = from("192.0.2.1", "203.0.113.77");
  EXPECT_FALSE(g.admit_head(spoof, rules, s));
  EXPECT_EQ(spoof.remote_address, "192.0.2.1");
}

TEST(EdgeGuard, TokenAndAdminBudgetsAreSeparate) {
  core::ServerConfig sc;
  sc.edge.token_endpoint = {1, 2};
  sc.edge.admin_api = {1, 1};
  EdgeRules rules(sc);
  EdgeGuard g(1024);
  Waf::Scan s;
  auto one = [&](std::string path) {
    Request r = req("POST", path);
    return g.admit_head(r, rules, s);
  };
  EXPECT_FALSE(one("/oauth2/token"));
  EXPECT_FALSE(one("/oauth2/token"));
  EXPECT_TRUE(one("/oauth2/token"));
  EXPECT_FALSE(one("/v1/tenants"));  // the token flood did not spend the admin budget
  EXPECT_TRUE(one("/v1/tenants/t1/clients"));
  EXPECT_FALSE(one("/v1/agents/echo/invoke"));  // served calls: no budget configured
  EXPECT_FALSE(one("/v1/agents/echo/invoke"));
  EXPECT_EQ(edge_class("/v1/platform/keys"), EdgeClass::admin);
  EXPECT_EQ(edge_class("/v1/tenantsx"), EdgeClass::other);
  EXPECT_EQ(edge_class("/oauth2/token/x"), EdgeClass::other);
}

TEST(EdgeGuard, PushReceiverHasItsOwnBudgetOnByDefault) {
  core::ServerConfig sc;
  EXPECT_GT(sc.edge.a2a_push.rps, 0) << "on by default";
  sc.edge.a2a_push = {1, 2};
  EdgeRules rules(sc);
  EdgeGuard g(1024);
  Waf::Scan s;
  auto one = [&](std::string path, std::string peer = "192.0.2.1") {
    Request r = req("POST", path);
    r.remote_address = peer;
    return g.admit_head(r, rules, s);
  };
  EXPECT_FALSE(one("/a2a-push/r1"));
  EXPECT_FALSE(one("/a2a-push/r2"));
  auto refused = one("/a2a-push/r1");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429);
  EXPECT_NE(refused->message.find("push"), std::string_view::npos);
  EXPECT_FALSE(one("/a2a-push/r1", "192.0.2.2")) << "per client address";
  EXPECT_FALSE(one("/oauth2/token")) << "the push flood did not spend the token budget";
  EXPECT_FALSE(one("/a2a/echo")) << "nor the A2A proxy's";
  EXPECT_EQ(edge_class("/a2a-push/x"), EdgeClass::push);
  EXPECT_EQ(edge_class("/a2a-pushx"), EdgeClass::other);
}

TEST(EdgeGuard, ForwardedHeaderIsReadOnlyWhenConfigured) {
  core::ServerConfig sc;
  sc.trusted_proxies = {"127.0.0.1"};
  auto with = [](std::string name, std::string value) {
    Request r = req("GET", "/v1/agents", {{name, value}});
    r.remote_address = "127.0.0.1";
    return r;
  };
  Waf::Scan s;
  EdgeGuard g(1024);
  {
    EdgeRules rules(sc);  // default: X-Forwarded-For; a Forwarded field is the client's word
    auto r = with("Forwarded", "for=203.0.113.9");
    EXPECT_FALSE(g.admit_head(r, rules, s));
    EXPECT_EQ(r.remote_address, "127.0.0.1");
  }
  sc.edge.forwarded_header = "forwarded";
  EdgeRules rules(sc);
  auto r = with("Forwarded", "for=6.6.6.6, for=\"[2001:db8:cafe::17]:4711\";proto=https");
  EXPECT_FALSE(g.admit_head(r, rules, s));
  EXPECT_EQ(r.remote_address, "2001:db8:cafe::17");
  auto x = with("X-Forwarded-For", "203.0.113.9");
  EXPECT_FALSE(g.admit_head(x, rules, s));
  EXPECT_EQ(x.remote_address, "127.0.0.1") << "X-Forwarded-For is the client's word then";
}

TEST(EdgeGuard, ConnectionCapExemptsTrustedProxies) {
  core::ServerConfig sc;
  sc.trusted_proxies = {"10.0.0.0/8"};
  sc.edge.max_connections_per_ip = 2;
  EdgeRules rules(sc);
  EdgeGuard g(1024);
  std::string k1, k2, k3, kp;
  EXPECT_TRUE(g.admit_connection("192.0.2.1", rules, k1));
  EXPECT_TRUE(g.admit_connection("192.0.2.1", rules, k2));
  EXPECT_FALSE(g.admit_connection("192.0.2.1", rules, k3));
  EXPECT_TRUE(k3.empty());
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(g.admit_connection("10.0.0.1", rules, kp));
    EXPECT_TRUE(kp.empty());  // not counted
  }
  g.release_connection(k1);
  EXPECT_TRUE(g.admit_connection("192.0.2.1", rules, k3));
}

}  // namespace
}  // namespace pc::net
