// The limit stage's pure parts (api/limit_stage.h): which requests are calls, and the 429 with
// Retry-After and the IETF RateLimit-Policy / RateLimit fields (draft-ietf-httpapi-ratelimit-headers-11).
#include "api/limit_stage.h"

#include <gtest/gtest.h>

namespace pc::api {
namespace {

net::Request req(std::string method, std::string_view route, std::string path, std::string body = "") {
  net::Request r;
  r.method = std::move(method);
  r.route = route;
  r.path = std::move(path);
  r.body = std::move(body);
  r.request_id = "rid-1";
  return r;
}

const std::string* header(const net::Response& r, std::string_view name) {
  for (const auto& h : r.headers)
    if (net::iequals(h.name, name)) return &h.value;
  return nullptr;
}

TEST(ClassifyCall, InvocationsToolCallsAndPlainRequests) {
  using K = tenancy::CallKind;
  EXPECT_EQ(classify_call(req("POST", "/v1/agents/{name}/invoke", "/v1/agents/echo/invoke")).kind, K::invocation);
  EXPECT_EQ(classify_call(req("GET", "/v1/agents", "/v1/agents")).kind, K::request);
  for (const char* m : {"SendMessage", "SendStreamingMessage", "message/send", "message/stream"})
    EXPECT_EQ(classify_call(req("POST", "/a2a/{agent}", "/a2a/x", std::string(R"({"jsonrpc":"2.0","id":1,"method":")") + m + "\"}")).kind,
              K::invocation)
        << m;
  EXPECT_EQ(classify_call(req("POST", "/a2a/{agent}", "/a2a/x", R"({"jsonrpc":"2.0","id":1,"method":"GetTask"})")).kind, K::request);
  EXPECT_EQ(classify_call(req("POST", "/a2a/{agent}/{p1}", "/a2a/x/message:send", "{}")).kind, K::invocation);
  EXPECT_EQ(classify_call(req("POST", "/a2a/{agent}/{p1}/{p2}", "/a2a/x/v1/message:stream", "{}")).kind, K::invocation);
  EXPECT_EQ(classify_call(req("GET", "/a2a/{agent}/{p1}/{p2}", "/a2a/x/tasks/t1")).kind, K::request);
  // Review H1: the A2A route decodes each segment, so an encoded verb is still a send and must count.
  for (const char* path : {"/a2a/x/message%3Asend", "/a2a/x/message%3asend", "/a2a/x/message:sen%64",
                           "/a2a/x/v1/message%3Astream", "/a2a/x/%76%31/message%3Astream"})
    EXPECT_EQ(classify_call(req("POST", "/a2a/{agent}/{p1}", path, "{}")).kind, K::invocation) << path;
  // Not sends: other verbs, extra segments, a malformed escape (the route answers 400), GET.
  for (const char* path : {"/a2a/x/message%3Aother", "/a2a/x/a/message:send", "/a2a/x/message%3", "/a2a/x/message%2Fsend"})
    EXPECT_EQ(classify_call(req("POST", "/a2a/{agent}/{p1}", path, "{}")).kind, K::request) << path;
  EXPECT_EQ(classify_call(req("GET", "/a2a/{agent}/{p1}", "/a2a/x/message%3Asend")).kind, K::request);
  auto one = classify_call(req("POST", "/mcp", "/mcp", R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}})"));
  EXPECT_EQ(one.kind, K::tool_call);
  EXPECT_EQ(one.calls, 1u);
  auto batch = classify_call(req("POST", "/mcp", "/mcp",
                                 R"([{"method":"tools/call"},{"method":"tools/list"},{"method":"tools/call"}])"));
  EXPECT_EQ(batch.kind, K::tool_call);
  EXPECT_EQ(batch.calls, 2u);
  EXPECT_EQ(classify_call(req("POST", "/mcp", "/mcp", R"({"method":"tools/list"})")).kind, K::request);
  // Names and values compared decoded, as the handler reads them; only the message's own members.
  EXPECT_EQ(classify_call(req("POST", "/mcp", "/mcp", R"({"meth\u006fd":"tools\/c\u0061ll"})")).kind, K::tool_call);
  EXPECT_EQ(classify_call(req("POST", "/a2a/{agent}", "/a2a/x", R"({"method":"SendStreaming\u004dessage"})")).kind,
            K::invocation);
  EXPECT_EQ(classify_call(req("POST", "/mcp", "/mcp", R"({"params":{"method":"tools/call"},"method":"tools/list"})")).kind,
            K::request);
  EXPECT_EQ(classify_call(req("POST", "/mcp", "/mcp", "not json")).kind, K::request);
  EXPECT_EQ(classify_call(req("POST", "/mcp", "/mcp", std::string(100000, '['))).kind, K::request) << "too deep: no crash";
}

// Review L4: the principal budget is per issuer and subject: the same sub from two issuers of one
// tenant are two principals with a budget each.
TEST(PrincipalKey, IssuerAndSubjectNameTheBudget) {
  auth::Principal a, b, c;
  a.issuer = "https://idp-a", a.subject = "alice";
  b.issuer = "https://idp-b", b.subject = "alice";
  c.issuer = "https://idp-a", c.subject = "alice";
  std::string ka, kb, kc;
  principal_key(ka, a), principal_key(kb, b), principal_key(kc, c);
  EXPECT_NE(ka, kb);
  EXPECT_EQ(ka, kc);
  auth::Principal d, e;  // an issuer ending in what another's subject starts with
  d.issuer = "x|", d.subject = "y";
  e.issuer = "x", e.subject = "|y";
  std::string kd, ke;
  principal_key(kd, d), principal_key(ke, e);
  EXPECT_NE(kd, ke);
}

TEST(TooManyRequests, RateRefusal) {
  tenancy::Admission a;
  a.refusal = tenancy::Admission::Refusal::rate;
  a.plan = {10, 100, 0, 0, 20, 1000, 0};
  a.retry_after_seconds = 3;
  auto r = too_many_requests(req("GET", "/v1/agents", "/v1/agents"), a);
  EXPECT_EQ(r.status, 429);
  EXPECT_NE(r.body.find("\"code\":\"rate_limited\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("rid-1"), std::string::npos);
  ASSERT_TRUE(header(r, "Retry-After"));
  EXPECT_EQ(*header(r, "Retry-After"), "3");
  EXPECT_EQ(*header(r, "RateLimit-Policy"),
            R"("tenant";q=100;w=10, "concurrency";q=20;qu="concurrent-requests", "daily";q=1000;w=86400)");
  EXPECT_EQ(*header(r, "RateLimit"), R"("tenant";r=0;t=3)");
}

TEST(TooManyRequests, QuotaAndConcurrencyRefusals) {
  tenancy::Admission a;
  a.plan = {1, 1, 0, 0, 2, 0, 7};
  a.refusal = tenancy::Admission::Refusal::tool_quota;
  a.retry_after_seconds = 600;
  auto q = too_many_requests(req("POST", "/mcp", "/mcp"), a);
  EXPECT_NE(q.body.find("\"code\":\"quota_exceeded\""), std::string::npos) << q.body;
  EXPECT_EQ(*header(q, "RateLimit"), R"("tool-calls";r=0;t=600)");
  EXPECT_NE(q.body.find("is used up; it resets in 600 s"), std::string::npos) << q.body;
  // Shared quota, this node's reservation spent: calls may be left, so no "used up".
  a.refusal = tenancy::Admission::Refusal::quota;
  a.retry_after_seconds = 1;
  a.remaining = 3;
  a.plan.daily_quota = 7;
  a.quota_held = true;
  auto h = too_many_requests(req("POST", "/v1/agents/a/invoke", "/v1/agents/{name}/invoke"), a);
  EXPECT_NE(h.body.find("\"code\":\"quota_exceeded\""), std::string::npos) << h.body;
  EXPECT_NE(h.body.find("daily quota of 7 invocations is nearly used up; this node is asking the others for more of it; retry after 1 s"),
            std::string::npos)
      << h.body;
  EXPECT_EQ(*header(h, "Retry-After"), "1");
  EXPECT_EQ(*header(h, "RateLimit"), R"("daily";r=3;t=1)");
  a.quota_held = false;
  a.remaining = 0;
  a.refusal = tenancy::Admission::Refusal::concurrency;
  a.retry_after_seconds = 1;
  auto c = too_many_requests(req("POST", "/mcp", "/mcp"), a);
  EXPECT_NE(c.body.find("\"code\":\"concurrency_limited\""), std::string::npos) << c.body;
  EXPECT_EQ(*header(c, "RateLimit"), R"("concurrency";r=0)");
}

// the fields of a served answer, from a real admission.
TEST(ServedFields, WhatIsLeftOfEachPolicyChecked) {
  tenancy::UsageLimits::Options opt;
  core::TierConfig t;
  t.rps = 1;
  t.burst = 10;
  t.daily_quota = 5;
  t.principal_rps = 2;
  t.principal_burst = 4;
  opt.tiers = {{"basic", t}};
  tenancy::UsageLimits limits(std::move(opt));
  auto a = limits.admit("acme", "alice", "basic", tenancy::CallKind::request);
  ASSERT_TRUE(a);
  EXPECT_EQ(rate_limit_left(a, tenancy::CallKind::request), R"("principal";r=3;t=1, "tenant";r=9;t=1)");
  auto b = limits.admit("acme", "alice", "basic", tenancy::CallKind::invocation);
  ASSERT_TRUE(b);
  const std::string left = rate_limit_left(b, tenancy::CallKind::invocation);
  EXPECT_NE(left.find(R"("tenant";r=8;t=2)"), std::string::npos) << left;
  EXPECT_NE(left.find(R"("daily";r=4;t=)"), std::string::npos) << left;
  EXPECT_EQ(rate_limit_policy(b.plan), R"("tenant";q=10;w=10, "principal";q=4;w=2, "daily";q=5;w=86400)");
  tenancy::Admission none;
  EXPECT_EQ(rate_limit_left(none, tenancy::CallKind::request), "") << "an unlimited plan has no fields";
}

}  // namespace
}  // namespace pc::api
