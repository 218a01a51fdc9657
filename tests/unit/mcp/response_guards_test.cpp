// The response guards of tools/call: redaction over every string of a real MCP result shape,
// guardrail deny (fixed reason, never quoting the match), size limit, and fail-closed behaviour
// when a detector throws or the document is too deep.
#include "mcp/response_guards.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <optional>
#include <stdexcept>

#include "core/metrics.h"

namespace pc::mcp {
namespace {
namespace json = boost::json;

struct Outcome {
  int calls = 0;
  Decision decision;
};

Outcome run(const ResponseInterceptor& i, json::value& result, ResponseFacts& facts, bool is_error = false) {
  Outcome o;
  CallContext ctx;
  ctx.tenant = "acme";
  ctx.server = "crm";
  ctx.tool = "lookup_customer";
  i.on_response(ctx, result, is_error, facts, [&](Decision d) {
    ++o.calls;
    o.decision = std::move(d);
  });
  return o;
}

json::value tool_result() {
  return json::parse(R"({
    "content": [
      {"type": "text", "text": "Customer Ada, ada@example.com, card 4111 1111 1111 1111"},
      {"type": "resource", "resource": {"uri": "crm://c/1", "text": "SSN 123-45-6789"}}
    ],
    "structuredContent": {"customer": {"email": "bob@example.org", "phones": ["+44 20 7946 0958"], "age": 41}},
    "isError": false
  })");
}

std::shared_ptr<const Redactor> default_redactor() {
  static auto r = std::make_shared<const Redactor>(core::RedactionConfig{});
  return r;
}

TEST(RedactionInterceptor, RedactsEveryStringAndCountsKinds) {
  RedactionInterceptor i(default_redactor());
  EXPECT_EQ(i.name(), "redaction");
  json::value result = tool_result();
  ResponseFacts facts;
  const auto o = run(i, result, facts);
  ASSERT_EQ(o.calls, 1);
  EXPECT_EQ(o.decision.kind, Decision::allow);
  const std::string out = json::serialize(result);
  for (const char* leaked : {"ada@example.com", "4111", "123-45-6789", "bob@example.org", "7946"})
    EXPECT_EQ(out.find(leaked), std::string::npos) << leaked << " in " << out;
  EXPECT_EQ(result.at("content").at(0).at("text").as_string(),
            "Customer Ada, [REDACTED:email], card [REDACTED:credit_card]");
  EXPECT_EQ(result.at("structuredContent").at("customer").at("age").as_int64(), 41);
  EXPECT_EQ(result.at("content").at(1).at("resource").at("uri").as_string(), "crm://c/1");
  EXPECT_EQ(facts.redactions, (std::map<std::string, std::uint64_t>{
                                  {"email", 2}, {"credit_card", 1}, {"us_ssn", 1}, {"phone", 1}}));
  // Counts reach the metric, labelled by kind only.
  const std::string metrics = core::metrics().render();
  EXPECT_NE(metrics.find("portcullis_mcp_redactions_total{kind=\"email\"}"), std::string::npos);
  EXPECT_EQ(metrics.find("ada@example.com"), std::string::npos);
}

TEST(RedactionInterceptor, RedactsErrorObjectsToo) {
  RedactionInterceptor i(default_redactor());
  json::value err = json::parse(R"({"code": -32000, "message": "no account for carol@example.com", "data": {"hint": "078-05-1120"}})");
  ResponseFacts facts;
  const auto o = run(i, err, facts, /*is_error=*/true);
  EXPECT_EQ(o.decision.kind, Decision::allow);
  EXPECT_EQ(err.at("message").as_string(), "no account for [REDACTED:email]");
  EXPECT_EQ(err.at("data").at("hint").as_string(), "[REDACTED:us_ssn]");
}

TEST(RedactionInterceptor, CleanResultIsUntouched) {
  RedactionInterceptor i(default_redactor());
  json::value result = json::parse(R"({"content":[{"type":"text","text":"42 apples, 7 pears"}]})");
  const json::value before = result;
  ResponseFacts facts;
  EXPECT_EQ(run(i, result, facts).decision.kind, Decision::allow);
  EXPECT_EQ(result, before);
  EXPECT_TRUE(facts.redactions.empty());
}

TEST(RedactionInterceptor, AThrowingDetectorFailsTheCallClosed) {
  auto r = std::make_shared<Redactor>(core::RedactionConfig{});
  r->set_fault_hook_for_test([](std::string_view) { throw std::runtime_error("detector crashed on ada@example.com"); });
  RedactionInterceptor i(r);
  json::value result = tool_result();
  ResponseFacts facts;
  const auto o = run(i, result, facts);
  ASSERT_EQ(o.calls, 1);
  EXPECT_EQ(o.decision.kind, Decision::deny);
  EXPECT_EQ(o.decision.code, -32603);
  EXPECT_EQ(o.decision.reason, kGuardFailedReason);  // never the exception's text
}

TEST(RedactionInterceptor, ADocumentTooDeepFailsClosed) {
  RedactionInterceptor i(default_redactor());
  json::value v = "ada@example.com";
  for (int k = 0; k < 1000; ++k) {
    json::array a;
    a.push_back(std::move(v));
    v = std::move(a);
  }
  ResponseFacts facts;
  const auto o = run(i, v, facts);
  EXPECT_EQ(o.decision.kind, Decision::deny);
  EXPECT_EQ(o.decision.code, -32603);
}

TEST(GuardrailInterceptor, RefusesAMatchWithAFixedReason) {
  GuardrailInterceptor g({"(?i)internal use only", "project-[0-9]{4}"});
  json::value result = json::parse(R"({"content":[{"type":"text","text":"the plan for Project-1234 is"}]})");
  ResponseFacts facts;
  auto o = run(g, result, facts);
  ASSERT_EQ(o.calls, 1);
  EXPECT_EQ(o.decision.kind, Decision::allow);  // case-sensitive pattern, no match
  result = json::parse(R"({"content":[{"type":"text","text":"INTERNAL USE ONLY: the plan for project-1234"}]})");
  o = run(g, result, facts);
  EXPECT_EQ(o.decision.kind, Decision::deny);
  EXPECT_EQ(o.decision.code, -32003);
  EXPECT_EQ(o.decision.reason, GuardrailInterceptor::kReason);
  EXPECT_EQ(o.decision.reason.find("project"), std::string::npos);
  EXPECT_TRUE(facts.guardrail_hit);
}

TEST(GuardrailInterceptor, ChecksNestedValuesKeysAndErrors) {
  GuardrailInterceptor g({"forbidden"});
  ResponseFacts facts;
  json::value nested = json::parse(R"({"structuredContent":{"a":[{"b":"all forbidden here"}]}})");
  EXPECT_EQ(run(g, nested, facts).decision.kind, Decision::deny);
  json::value key = json::parse(R"({"structuredContent":{"forbidden":1}})");
  EXPECT_EQ(run(g, key, facts).decision.kind, Decision::deny);
  json::value err = json::parse(R"({"code":-32000,"message":"forbidden"})");
  EXPECT_EQ(run(g, err, facts, true).decision.kind, Decision::deny);
  json::value fine = json::parse(R"({"content":[{"type":"text","text":"allowed"}]})");
  EXPECT_EQ(run(g, fine, facts).decision.kind, Decision::allow);
}

TEST(GuardrailInterceptor, RejectsAPatternThatDoesNotCompile) {
  try {
    GuardrailInterceptor g({"ok", "(unclosed"});
    FAIL() << "compiled";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("guardrail_deny[1]"), std::string::npos);
  }
}

TEST(SizeLimitInterceptor, RefusesAResultOverTheLimit) {
  SizeLimitInterceptor s(1024);
  ResponseFacts facts;
  json::value small = json::parse(R"({"content":[{"type":"text","text":"hi"}]})");
  EXPECT_EQ(run(s, small, facts).decision.kind, Decision::allow);
  json::value exact = json::object{{"t", std::string(1024 - 8, 'x')}};  // {"t":"…"} is 8 bytes + text
  ASSERT_EQ(json::serialize(exact).size(), 1024u);
  EXPECT_EQ(run(s, exact, facts).decision.kind, Decision::allow);
  json::value over = json::object{{"t", std::string(1024 - 7, 'x')}};
  const auto o = run(s, over, facts);
  EXPECT_EQ(o.decision.kind, Decision::deny);
  EXPECT_EQ(o.decision.code, -32603);
  EXPECT_EQ(o.decision.reason, SizeLimitInterceptor::kReason);
  // Far over: stops counting early, same answer.
  json::value huge = json::object{{"t", std::string(8u << 20, 'y')}};
  EXPECT_EQ(run(s, huge, facts).decision.kind, Decision::deny);
}

TEST(ResponseGuards, BuiltFromConfigInChainOrder) {
  core::McpConfig mcp;
  auto guards = make_response_guards(core::RedactionConfig{}, mcp);
  ASSERT_EQ(guards.size(), 2u);  // no guardrail patterns configured
  EXPECT_EQ(guards[0]->name(), "redaction");
  EXPECT_EQ(guards[1]->name(), "size_limit");
  mcp.guardrail_deny = {"secret-plan"};
  guards = make_response_guards(core::RedactionConfig{}, mcp);
  ASSERT_EQ(guards.size(), 3u);
  EXPECT_EQ(guards[1]->name(), "guardrail");
  mcp.guardrail_deny = {"("};
  EXPECT_THROW(make_response_guards(core::RedactionConfig{}, mcp), std::invalid_argument);
  core::RedactionConfig bad;
  bad.custom = {{"x", "[unclosed"}};
  EXPECT_THROW(make_response_guards(bad, core::McpConfig{}), std::invalid_argument);
}

}  // namespace
}  // namespace pc::mcp
