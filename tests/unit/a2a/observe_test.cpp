// a2a/observe.h: ids, states and stream ends from both versions' shapes, and the SSE parser fed
// in arbitrary pieces, bounded.
#include "a2a/observe.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace pc::a2a {
namespace {

namespace json = boost::json;

Observation of(std::string_view text) { return observe(json::parse(text)); }

TEST(A2aObserve, Shapes10) {
  auto o = of(R"({"jsonrpc":"2.0","id":1,"result":{"task":{"id":"t","contextId":"c","status":{"state":"TASK_STATE_WORKING"}}}})");
  EXPECT_EQ(o.shape, "task");
  EXPECT_EQ(o.task_id, "t");
  EXPECT_EQ(o.context_id, "c");
  EXPECT_EQ(o.state, "working");
  EXPECT_FALSE(o.final);
  o = of(R"({"statusUpdate":{"taskId":"t","contextId":"c","status":{"state":"TASK_STATE_COMPLETED"}}})");
  EXPECT_EQ(o.shape, "status");
  EXPECT_TRUE(o.final);
  o = of(R"({"artifactUpdate":{"taskId":"t","contextId":"c","artifact":{}}})");
  EXPECT_EQ(o.shape, "artifact");
  EXPECT_EQ(o.task_id, "t");
  o = of(R"({"message":{"messageId":"m","contextId":"c"}})");
  EXPECT_EQ(o.shape, "message");
  EXPECT_TRUE(o.final);
  // A bare task (REST GetTask), and the 0.3 proto JSON message member.
  o = of(R"({"id":"t","contextId":"c","status":{"state":"TASK_STATE_INPUT_REQUIRED"}})");
  EXPECT_EQ(o.shape, "task");
  EXPECT_EQ(o.state, "input-required");
  EXPECT_TRUE(o.final);
  EXPECT_EQ(of(R"({"msg":{"contextId":"c"}})").context_id, "c");
}

TEST(A2aObserve, Shapes03) {
  auto o = of(R"({"jsonrpc":"2.0","id":1,"result":{"kind":"task","id":"t","contextId":"c","status":{"state":"submitted"}}})");
  EXPECT_EQ(o.task_id, "t");
  EXPECT_EQ(o.state, "submitted");
  o = of(R"({"jsonrpc":"2.0","id":1,"result":{"kind":"status-update","taskId":"t","contextId":"c","status":{"state":"working"},"final":true}})");
  EXPECT_EQ(o.shape, "status");
  EXPECT_TRUE(o.final);
  EXPECT_EQ(of(R"({"kind":"artifact-update","taskId":"t","contextId":"c"})").shape, "artifact");
  EXPECT_TRUE(of(R"({"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"x"}})").rpc_error);
  EXPECT_TRUE(of(R"({"error":{"code":404,"message":"x"}})").rpc_error);
  EXPECT_EQ(of("[1,2]").shape, "");
  EXPECT_EQ(of(R"({"task":"not an object"})").shape, "");
}

TEST(A2aObserve, States) {
  EXPECT_EQ(normalize_state("TASK_STATE_CANCELLED"), "canceled");
  EXPECT_EQ(normalize_state("TASK_STATE_CANCELED"), "canceled");
  EXPECT_EQ(normalize_state("auth-required"), "auth-required");
  EXPECT_EQ(normalize_state("TASK_STATE_UNSPECIFIED"), "unknown");
  EXPECT_EQ(normalize_state("<script>"), "unknown");
  EXPECT_TRUE(ends_stream("failed"));
  EXPECT_FALSE(ends_stream("working"));
}

TEST(A2aSse, EventsAcrossPieces) {
  const std::string text =
      ": keep-alive\n\n"
      "data: {\"a\":1}\n\n"
      "event: error\r\ndata: {\"b\":\r\ndata: 2}\r\n\r\n"
      "id: 7\ndata:x\n\n";
  // Every split point gives the same events.
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    SseParser p;
    std::vector<SseParser::Event> evs;
    ASSERT_TRUE(p.feed(text.substr(0, cut), evs));
    ASSERT_TRUE(p.feed(text.substr(cut), evs));
    ASSERT_EQ(evs.size(), 4u) << cut;
    EXPECT_TRUE(evs[0].comment_only);
    EXPECT_EQ(evs[1].data, "{\"a\":1}");
    EXPECT_EQ(evs[1].raw, "data: {\"a\":1}\n\n");
    EXPECT_EQ(evs[2].name, "error");
    EXPECT_EQ(evs[2].data, "{\"b\":\n2}");
    EXPECT_EQ(evs[3].data, "x");
    EXPECT_EQ(p.pending(), 0u);
  }
}

TEST(A2aSse, Bounded) {
  SseParser p(64);
  std::vector<SseParser::Event> evs;
  EXPECT_TRUE(p.feed("data: small\n\n", evs));
  EXPECT_FALSE(p.feed("data: " + std::string(100, 'x'), evs));  // never ends, too big
  SseParser q(64);
  EXPECT_FALSE(q.feed("data: " + std::string(100, 'x') + "\n\n", evs));
}

}  // namespace
}  // namespace pc::a2a
