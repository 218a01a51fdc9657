// Reading an upstream MCP server's answer to one POST: application/json, or an event stream of
// notifications and server→client requests that ends with the response to our id — in any
// split of the bytes, with every line-ending the event-stream format allows, and bounded.
#include "mcp/upstream_answer.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>
#include <vector>

namespace pc::mcp {
namespace {

namespace json = boost::json;

std::vector<SseEvent> parse_all(std::string_view text, std::size_t split) {
  SseParser p;
  std::vector<SseEvent> out;
  for (std::size_t i = 0; i < text.size(); i += split)
    EXPECT_TRUE(p.feed(text.substr(i, split), [&](SseEvent&& e) { out.push_back(std::move(e)); }));
  return out;
}

TEST(SseParser, EventsInAnySplitAndLineEnding) {
  const std::string lf = ": keep-alive\nid: 7\nevent: message\ndata: {\"a\":1}\n\ndata: x\ndata: y\n\n";
  std::string crlf, cr;
  for (char c : lf) {
    if (c == '\n') {
      crlf += "\r\n";
      cr += "\r";
    } else {
      crlf += c;
      cr += c;
    }
  }
  for (const std::string* text : std::vector<const std::string*>{&lf, &crlf, &cr}) {
    for (std::size_t split : {1u, 2u, 3u, 7u, 1000u}) {
      auto evs = parse_all(*text, split);
      ASSERT_EQ(evs.size(), 2u) << "split " << split;
      EXPECT_EQ(evs[0].id, "7");
      EXPECT_EQ(evs[0].event, "message");
      EXPECT_EQ(evs[0].data, "{\"a\":1}");
      EXPECT_EQ(evs[1].data, "x\ny");
      EXPECT_EQ(evs[1].id, "7");  // the last event id persists
    }
  }
}

TEST(SseParser, ByteOrderMarkUnterminatedEventAndFieldsWithoutSpace) {
  auto evs = parse_all("\xEF\xBB\xBF" "data:one\n\ndata: two", 1);
  ASSERT_EQ(evs.size(), 1u);  // "two" never got its blank line: discarded
  EXPECT_EQ(evs[0].data, "one");
}

TEST(SseParser, RefusesAnEventPastTheLimit) {
  SseParser p(64);
  std::string big = "data: " + std::string(100, 'x');
  EXPECT_FALSE(p.feed(big, [](SseEvent&&) {}));
}

TEST(Classify, JsonRpcKinds) {
  auto k = [](std::string_view s) { return classify(json::parse(s).as_object()); };
  EXPECT_EQ(k(R"({"jsonrpc":"2.0","id":1,"method":"ping"})"), MessageKind::request);
  EXPECT_EQ(k(R"({"jsonrpc":"2.0","method":"notifications/progress"})"), MessageKind::notification);
  EXPECT_EQ(k(R"({"jsonrpc":"2.0","id":"a","result":{}})"), MessageKind::response);
  EXPECT_EQ(k(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}})"), MessageKind::response);
  EXPECT_EQ(k(R"({"jsonrpc":"2.0","id":1,"result":{},"error":{}})"), MessageKind::invalid);
  EXPECT_EQ(k(R"({"jsonrpc":"2.0","id":null,"result":{}})"), MessageKind::invalid);
  EXPECT_EQ(k(R"({"jsonrpc":"1.0","id":1,"result":{}})"), MessageKind::invalid);
  EXPECT_EQ(k(R"({"jsonrpc":"2.0","id":1.5,"method":"x"})"), MessageKind::invalid);
}

TEST(SameId, TypeAndValue) {
  EXPECT_TRUE(same_id(json::value(1), json::value(1u)));
  EXPECT_FALSE(same_id(json::value(1), json::value("1")));
  EXPECT_TRUE(same_id(json::value("g-1"), json::value("g-1")));
}

TEST(AnswerReader, JsonBody) {
  std::vector<json::object> others;
  AnswerReader r(json::value(5), 1 << 20, [&](json::object m) { others.push_back(std::move(m)); });
  ASSERT_TRUE(r.start("Application/JSON; charset=utf-8"));
  EXPECT_TRUE(r.feed(R"({"jsonrpc":"2.0","id":5,)"));
  EXPECT_TRUE(r.feed(R"("result":{"tools":[]}})"));
  r.finish();
  ASSERT_TRUE(r.response());
  EXPECT_TRUE(r.response()->contains("result"));
  EXPECT_TRUE(others.empty());
  EXPECT_EQ(r.error(), "");
}

TEST(AnswerReader, EventStreamHandsOnMessagesBeforeTheResponseAndStopsThere) {
  std::vector<std::string> seen;
  AnswerReader r(json::value("up-3"), 1 << 20, [&](json::object m) { seen.push_back(json::serialize(m)); });
  ASSERT_TRUE(r.start("text/event-stream"));
  std::string stream =
      "id: e0\ndata:\n\n"  // a priming event: no message
      "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\n\n"
      "data: {\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"sampling/createMessage\",\"params\":{}}\n\n"
      "event: other\ndata: ignored\n\n"
      "data: {\"jsonrpc\":\"2.0\",\"id\":\"up-3\",\"result\":{\"content\":[]}}\n\n";
  bool more = true;
  for (std::size_t i = 0; i < stream.size() && more; i += 5) more = r.feed(std::string_view(stream).substr(i, 5));
  EXPECT_FALSE(more);  // stopped at the response
  ASSERT_TRUE(r.response());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[0].find("notifications/progress"), std::string::npos);
  EXPECT_NE(seen[1].find("sampling/createMessage"), std::string::npos);
  EXPECT_EQ(r.last_event_id(), "e0");
}

TEST(AnswerReader, FailuresAreNamedNeverGuessed) {
  {
    AnswerReader r(json::value(1), 1 << 20, {});
    EXPECT_FALSE(r.start("text/html"));
    EXPECT_EQ(r.error(), "content_type");
  }
  {
    AnswerReader r(json::value(1), 1 << 20, {});
    r.start("application/json");
    r.feed("{not json");
    r.finish();
    EXPECT_EQ(r.error(), "bad_json");
  }
  {
    AnswerReader r(json::value(1), 1 << 20, {});
    r.start("application/json");
    r.feed(R"({"jsonrpc":"2.0","id":2,"result":{}})");  // another id
    r.finish();
    EXPECT_EQ(r.error(), "no_response");
  }
  {
    AnswerReader r(json::value(1), 16, {});
    r.start("application/json");
    EXPECT_FALSE(r.feed(R"({"jsonrpc":"2.0","id":1,"result":{}})"));
    EXPECT_EQ(r.error(), "too_large");
  }
  {
    AnswerReader r(json::value(1), 1 << 20, {});
    r.start("text/event-stream");
    r.feed("data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}\n\n");
    r.finish();  // ended without the response
    EXPECT_EQ(r.error(), "no_response");
  }
}

}  // namespace
}  // namespace pc::mcp
