// The invoke route's pure parts (issue 9): the caller's body, the runtime's request body, and
// the SPEC §5 answers built from what the runtime returned.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/invoke_answer.h"
#include "api/invoke_request.h"

namespace pc::api {
namespace {

net::Request post(std::string body, std::string accept = "") {
  net::Request r;
  r.method = "POST";
  r.body = std::move(body);
  r.request_id = "req-1";
  if (!accept.empty()) r.headers.push_back({"Accept", accept});
  return r;
}

InvokeRequest ok(const std::string& body, const std::string& accept = "") {
  auto r = parse_invoke(post(body, accept));
  if (auto* refusal = std::get_if<net::Response>(&r)) ADD_FAILURE() << body << " → " << refusal->body;
  return std::holds_alternative<InvokeRequest>(r) ? std::get<InvokeRequest>(r) : InvokeRequest{};
}

std::string refused(const std::string& body, const std::string& accept = "") {
  auto r = parse_invoke(post(body, accept));
  if (!std::holds_alternative<net::Response>(r)) {
    ADD_FAILURE() << body << " was accepted";
    return "";
  }
  const auto& resp = std::get<net::Response>(r);
  EXPECT_EQ(resp.status, 400);
  auto e = boost::json::parse(resp.body).at("error");
  EXPECT_EQ(e.at("code"), "invalid_request");
  EXPECT_EQ(e.at("requestId"), "req-1");
  return std::string(e.at("message").as_string());
}

TEST(InvokeBody, TheSmallestBodyIsSyncWithoutSession) {
  auto r = ok(R"({"input":"hello"})");
  EXPECT_EQ(r.input, "hello");
  EXPECT_EQ(r.mode, InvokeMode::sync);
  EXPECT_EQ(r.session_id, "");
  EXPECT_TRUE(r.context.is_null());
  EXPECT_TRUE(r.metadata.is_null());
}

TEST(InvokeBody, EveryFieldIsRead) {
  auto r = ok(R"({"input":{"q":[1,2]},"sessionId":"0b7f6c43-2c4e-4f3a-9a4d-1d2e3f405162","mode":"async",
                 "context":{"locale":"fr"},"metadata":{"trace":"x"},"webhookId":"wh_1"})");
  EXPECT_EQ(r.input.at("q").as_array().size(), 2u);
  EXPECT_EQ(r.session_id, "0b7f6c43-2c4e-4f3a-9a4d-1d2e3f405162");
  EXPECT_EQ(r.mode, InvokeMode::async);
  EXPECT_EQ(r.context.at("locale"), "fr");
  EXPECT_EQ(r.metadata.at("trace"), "x");
  EXPECT_EQ(r.webhook_id, "wh_1");
}

TEST(InvokeBody, AcceptEventStreamMeansStreamUnlessTheBodyNamesAMode) {
  EXPECT_EQ(ok(R"({"input":1})", "text/event-stream").mode, InvokeMode::stream);
  EXPECT_EQ(ok(R"({"input":1})", "application/json, Text/Event-Stream;q=0.9").mode, InvokeMode::stream);
  EXPECT_EQ(ok(R"({"input":1})", "application/json").mode, InvokeMode::sync);
  EXPECT_EQ(ok(R"({"input":1,"mode":"sync"})", "text/event-stream").mode, InvokeMode::sync);
  EXPECT_EQ(ok(R"({"input":1,"mode":"stream"})").mode, InvokeMode::stream);
}

TEST(InvokeBody, BadBodiesAreRefusedNamingTheField) {
  EXPECT_NE(refused("").find("JSON object"), std::string::npos);
  EXPECT_NE(refused("[1]").find("JSON object"), std::string::npos);
  EXPECT_NE(refused(R"({"input":1,"input":2})").find("duplicate"), std::string::npos);
  EXPECT_NE(refused(R"({"input":1,"sesionId":"x"})").find("sesionId"), std::string::npos);
  EXPECT_NE(refused(R"({})").find("input"), std::string::npos);
  EXPECT_NE(refused(R"({"input":null})").find("input"), std::string::npos);
  EXPECT_NE(refused(R"({"input":1,"mode":"batch"})").find("mode"), std::string::npos);
  EXPECT_NE(refused(R"({"input":1,"mode":3})").find("mode"), std::string::npos);
  EXPECT_NE(refused(R"({"input":1,"sessionId":5})").find("sessionId"), std::string::npos);
  EXPECT_NE(refused(R"({"input":1,"sessionId":""})").find("sessionId"), std::string::npos);
  EXPECT_NE(refused(R"({"input":1,"sessionId":"a b"})").find("sessionId"), std::string::npos);
  EXPECT_NE(refused(R"({"input":1,"sessionId":"a\r\nX-Evil: 1"})").find("sessionId"), std::string::npos);
  EXPECT_NE(refused(R"({"input":1,"sessionId":")" + std::string(65, 'a') + "\"}").find("sessionId"), std::string::npos);
  EXPECT_NE(refused(R"({"input":1,"context":"x"})").find("context"), std::string::npos);
  EXPECT_NE(refused(R"({"input":1,"metadata":[1]})").find("metadata"), std::string::npos);
  EXPECT_NE(refused(R"({"input":1,"webhookId":"wh_1"})").find("async"), std::string::npos);
  EXPECT_NE(refused(R"({"input":1,"mode":"async","webhookId":7})").find("webhookId"), std::string::npos);
  std::string deep(200, '[');
  EXPECT_NE(refused(R"({"input":)" + deep + std::string(200, ']') + "}").find("JSON"), std::string::npos);
}

TEST(RuntimeBody, CarriesTheContractFieldsAndNeverNulls) {
  auto r = ok(R"({"input":{"text":"hi"},"mode":"stream","metadata":{"k":"v"}})");
  auto v = boost::json::parse(runtime_body(r, "sess-1", "inv_1"));
  EXPECT_EQ(v.at("input").at("text"), "hi");
  EXPECT_EQ(v.at("sessionId"), "sess-1");
  EXPECT_EQ(v.at("mode"), "stream");
  EXPECT_EQ(v.at("invocationId"), "inv_1");
  EXPECT_TRUE(v.at("context").is_object());
  EXPECT_EQ(v.at("metadata").at("k"), "v");
  EXPECT_EQ(v.as_object().size(), 6u);
}

TEST(RuntimeAnswer, OutputAndUsageAreTakenFromTheContractShape) {
  auto r = read_runtime_answer(200, R"({"output":{"text":"hi"},"usage":{"inputTokens":3,"outputTokens":5}})");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.output.at("text"), "hi");
  EXPECT_EQ(r.usage.input_tokens, 3);
  EXPECT_EQ(r.usage.output_tokens, 5);
}

TEST(RuntimeAnswer, AnyOtherJsonIsTheOutputAndUsageIsUnknown) {
  auto r = read_runtime_answer(200, R"({"answer":42})");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.output.at("answer"), 42);
  EXPECT_FALSE(r.usage.input_tokens);
  EXPECT_FALSE(r.usage.output_tokens);
  r = read_runtime_answer(201, R"("plain")");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.output, "plain");
  // Usage that is not a count is not reported, never coerced to 0.
  r = read_runtime_answer(200, R"({"output":1,"usage":{"inputTokens":-1,"outputTokens":"7"}})");
  EXPECT_FALSE(r.usage.input_tokens);
  EXPECT_FALSE(r.usage.output_tokens);
  r = read_runtime_answer(200, R"({"output":1,"usage":{"outputTokens":7}})");
  EXPECT_FALSE(r.usage.input_tokens);
  EXPECT_EQ(r.usage.output_tokens, 7);
}

TEST(RuntimeAnswer, FailuresBecome502WithoutTheRuntimesBody) {
  auto r = read_runtime_answer(503, R"({"secret":"internal stack trace"})");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "agent_error");
  auto resp = runtime_failure(r, "req-9");
  EXPECT_EQ(resp.status, 502);
  EXPECT_EQ(resp.body.find("secret"), std::string::npos);
  auto e = boost::json::parse(resp.body).at("error");
  EXPECT_EQ(e.at("code"), "agent_error");
  EXPECT_EQ(e.at("requestId"), "req-9");
  EXPECT_EQ(e.at("details").at(0).at("runtimeStatus"), 503);

  r = read_runtime_answer(200, "not json");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "agent_bad_response");
  EXPECT_EQ(boost::json::parse(runtime_failure(r, "x").body).at("error").at("code"), "agent_bad_response");
  std::string deep(200, '[');
  EXPECT_FALSE(read_runtime_answer(200, deep + std::string(200, ']')).ok) << "depth bounded";
}

TEST(SyncAnswer, HasTheSpecShapeWithNullForUnreportedUsage) {
  AnswerMeta m{"inv_1", "echo", "3", "sync", "sess-1", "2026-12-05T07:00:00.000Z", 12};
  auto r = read_runtime_answer(200, R"({"output":{"t":1},"usage":{"inputTokens":2}})");
  auto v = boost::json::parse(sync_answer_body(m, r)).as_object();
  EXPECT_EQ(v.at("invocationId"), "inv_1");
  EXPECT_EQ(v.at("agentName"), "echo");
  EXPECT_EQ(v.at("agentVersion"), "3");
  EXPECT_EQ(v.at("mode"), "sync");
  EXPECT_EQ(v.at("status"), "succeeded");
  EXPECT_EQ(v.at("output").at("t"), 1);
  EXPECT_EQ(v.at("sessionId"), "sess-1");
  EXPECT_EQ(v.at("usage").at("inputTokens"), 2);
  EXPECT_TRUE(v.at("usage").at("outputTokens").is_null());
  EXPECT_EQ(v.at("usage").at("latencyMs"), 12);
  EXPECT_EQ(v.at("timestamp"), "2026-12-05T07:00:00.000Z");
}

TEST(SseUsage, TheLastDoneEventsUsageCounts) {
  EXPECT_FALSE(usage_from_sse("").input_tokens);
  auto u = usage_from_sse(
      "event: token\ndata: {\"text\":\"a\"}\n\n: keep-alive\n\nevent: token\r\ndata: {\"usage\":{\"inputTokens\":9}}\r\n\r\n"
      "event: done\ndata: {\"usage\":{\"inputTokens\":4,\"outputTokens\":6}}\n\n");
  EXPECT_EQ(u.input_tokens, 4);
  EXPECT_EQ(u.output_tokens, 6);
  // A done event cut by the capture limit is not half-read.
  EXPECT_FALSE(usage_from_sse("event: done\ndata: {\"usage\":{\"inputTokens\":4").input_tokens);
  EXPECT_FALSE(usage_from_sse("event: done\ndata: not json\n\n").input_tokens);
}

}  // namespace
}  // namespace pc::api
