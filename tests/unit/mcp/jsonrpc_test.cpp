#include "mcp/jsonrpc.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

namespace pc::mcp::jsonrpc {
namespace {

namespace json = boost::json;

ParseResult ok(std::string_view text) {
  auto r = parse(text);
  EXPECT_TRUE(r.ok()) << text << " → " << r.failure.message;
  return r;
}

ParseFailure bad(std::string_view text, int code, const Limits& limits = {}) {
  auto r = parse(text, limits);
  EXPECT_FALSE(r.ok()) << text;
  EXPECT_EQ(r.failure.code, code) << text << " → " << r.failure.message;
  return r.failure;
}

TEST(JsonRpc, RequestWithIntegerAndStringIds) {
  auto r = ok(R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"x":1}}})");
  EXPECT_EQ(r.message->kind, Kind::request);
  EXPECT_EQ(r.message->id.as_int64(), 7);
  EXPECT_EQ(r.message->method, "tools/call");
  EXPECT_TRUE(r.message->has_params);
  EXPECT_EQ(r.message->params.at("name").as_string(), "echo");

  r = ok(R"({"jsonrpc":"2.0","id":"a-1","method":"ping"})");
  EXPECT_EQ(r.message->kind, Kind::request);
  EXPECT_EQ(r.message->id.as_string(), "a-1");
  EXPECT_FALSE(r.message->has_params);
  EXPECT_TRUE(r.message->params.empty());
}

TEST(JsonRpc, NotificationHasNoId) {
  auto r = ok(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  EXPECT_EQ(r.message->kind, Kind::notification);
  EXPECT_TRUE(r.message->id.is_null());
}

TEST(JsonRpc, ResponsesWithResultOrError) {
  auto r = ok(R"({"jsonrpc":"2.0","id":3,"result":{"content":[]}})");
  EXPECT_EQ(r.message->kind, Kind::response);
  EXPECT_FALSE(r.message->is_error);
  EXPECT_TRUE(r.message->result.is_object());

  r = ok(R"({"jsonrpc":"2.0","id":"x","error":{"code":-32601,"message":"no"}})");
  EXPECT_TRUE(r.message->is_error);
  EXPECT_EQ(r.message->error.at("code").as_int64(), -32601);

  // An error answering an unreadable request carries id null (JSON-RPC 2.0 §5).
  r = ok(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}})");
  EXPECT_TRUE(r.message->id.is_null());
  // A result may be any value, null included.
  ok(R"({"jsonrpc":"2.0","id":1,"result":null})");
}

TEST(JsonRpc, MalformedJsonIsParseError) {
  bad("", kParseError);
  bad("{", kParseError);
  bad("{\"jsonrpc\":\"2.0\",}", kParseError);                       // trailing comma
  bad("{\"jsonrpc\":\"2.0\" /* c */}", kParseError);                // comment
  bad("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"} x", kParseError);  // trailing data
  bad("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}", kParseError);  // invalid UTF-8
  bad(R"({"jsonrpc":"2.0","id":1e400,"method":"a"})", kParseError);    // infinity
}

TEST(JsonRpc, DuplicateMembersRefusedAtAnyDepth) {
  auto f = bad(R"({"jsonrpc":"2.0","id":1,"id":2,"method":"a"})", kParseError);
  EXPECT_EQ(f.message, "duplicate member name");
  bad(R"({"jsonrpc":"2.0","id":1,"method":"a","params":{"x":{"k":1,"k":2}}})", kParseError);
  // Equal once unescaped.
  bad(R"({"jsonrpc":"2.0","id":1,"method":"a","params":{"k":1,"\u006b":2}})", kParseError);
}

TEST(JsonRpc, LimitsOnSizeDepthAndValues) {
  Limits small;
  small.max_bytes = 64;
  bad(R"({"jsonrpc":"2.0","id":1,"method":"a","params":{"x":"0123456789012345678901234567890"}})", kInvalidRequest,
      small);
  std::string deep = R"({"jsonrpc":"2.0","id":1,"method":"a","params":{"x":)";
  for (int i = 0; i < 100; ++i) deep += "[";
  for (int i = 0; i < 100; ++i) deep += "]";
  deep += "}}";
  auto f = bad(deep, kInvalidRequest);
  EXPECT_EQ(f.message, "nesting too deep");
  Limits few;
  few.max_values = 10;
  std::string many = R"({"jsonrpc":"2.0","id":1,"method":"a","params":{"x":[1,2,3,4,5,6,7,8,9,10]}})";
  f = bad(many, kInvalidRequest, few);
  EXPECT_EQ(f.message, "too many values");
}

TEST(JsonRpc, BatchesAndNonObjectsRefused) {
  auto f = bad(R"([{"jsonrpc":"2.0","id":1,"method":"a"}])", kInvalidRequest);
  EXPECT_EQ(f.message, "batches are not supported");
  EXPECT_TRUE(f.id.is_null());
  bad("[]", kInvalidRequest);
  bad("\"x\"", kInvalidRequest);
  bad("42", kInvalidRequest);
  bad("null", kInvalidRequest);
}

TEST(JsonRpc, VersionMustBeTwoPointZero) {
  auto f = bad(R"({"id":5,"method":"a"})", kInvalidRequest);
  EXPECT_EQ(f.id.as_int64(), 5);  // answered to the request's id
  bad(R"({"jsonrpc":"1.0","id":5,"method":"a"})", kInvalidRequest);
  bad(R"({"jsonrpc":2.0,"id":5,"method":"a"})", kInvalidRequest);
}

TEST(JsonRpc, IdMustBeStringOrInteger) {
  for (auto text : {R"({"jsonrpc":"2.0","id":null,"method":"a"})", R"({"jsonrpc":"2.0","id":1.5,"method":"a"})",
                    R"({"jsonrpc":"2.0","id":1.0,"method":"a"})", R"({"jsonrpc":"2.0","id":true,"method":"a"})",
                    R"({"jsonrpc":"2.0","id":{},"method":"a"})", R"({"jsonrpc":"2.0","id":[1],"method":"a"})",
                    R"({"jsonrpc":"2.0","id":1.5,"result":{}})", R"({"jsonrpc":"2.0","id":null,"result":{}})"}) {
    auto f = bad(text, kInvalidRequest);
    EXPECT_TRUE(f.id.is_null()) << text;  // an id that is not one cannot be answered to
  }
  ok(R"({"jsonrpc":"2.0","id":-3,"method":"a"})");
  ok(R"({"jsonrpc":"2.0","id":18446744073709551615,"method":"a"})");
}

TEST(JsonRpc, MethodAndParamsShapes) {
  bad(R"({"jsonrpc":"2.0","id":1,"method":5})", kInvalidRequest);
  bad(R"({"jsonrpc":"2.0","id":1,"method":""})", kInvalidRequest);
  bad(R"({"jsonrpc":"2.0","id":1,"method":null})", kInvalidRequest);
  auto f = bad(R"({"jsonrpc":"2.0","id":1,"method":"a","params":[1,2]})", kInvalidRequest);
  EXPECT_EQ(f.message, "params must be an object");
  EXPECT_EQ(f.id.as_int64(), 1);
  bad(R"({"jsonrpc":"2.0","id":1,"method":"a","params":null})", kInvalidRequest);
  bad(R"({"jsonrpc":"2.0","id":1,"method":"a","params":"x"})", kInvalidRequest);
}

TEST(JsonRpc, ResponseShapes) {
  bad(R"({"jsonrpc":"2.0","id":1})", kInvalidRequest);                                     // neither
  bad(R"({"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"m"}})", kInvalidRequest);  // both
  bad(R"({"jsonrpc":"2.0","id":1,"method":"a","result":{}})", kInvalidRequest);           // mixed
  bad(R"({"jsonrpc":"2.0","id":1,"error":"boom"})", kInvalidRequest);
  bad(R"({"jsonrpc":"2.0","id":1,"error":{"message":"m"}})", kInvalidRequest);
  bad(R"({"jsonrpc":"2.0","id":1,"error":{"code":1.5,"message":"m"}})", kInvalidRequest);
  bad(R"({"jsonrpc":"2.0","id":1,"error":{"code":1}})", kInvalidRequest);
  bad(R"({"jsonrpc":"2.0","id":1,"result":{},"params":{}})", kInvalidRequest);
  bad(R"({"jsonrpc":"2.0","result":{}})", kInvalidRequest);                                // no id
  bad(R"({"jsonrpc":"2.0"})", kInvalidRequest);
}

TEST(JsonRpc, ErrorBuilders) {
  auto e = error_response(json::value(9), kForbidden, "forbidden");
  EXPECT_EQ(json::serialize(e), R"({"jsonrpc":"2.0","id":9,"error":{"code":-32003,"message":"forbidden"}})");
  // An id that is not a valid one is answered as null.
  e = error_response(json::value(1.5), kParseError, "parse error");
  EXPECT_TRUE(e.at("id").is_null());
  json::value data = json::object{{"path", "/x"}};
  e = error_response(json::value("q"), kInvalidParams, "bad", &data);
  EXPECT_EQ(e.at("error").at("data").at("path").as_string(), "/x");
  auto r = result_response(json::value("q"), json::object{{"ok", true}});
  EXPECT_EQ(json::serialize(r), R"({"jsonrpc":"2.0","id":"q","result":{"ok":true}})");
  auto f = parse(R"({"jsonrpc":"2.0","id":4,"method":7})").failure;
  e = error_response(f);
  EXPECT_EQ(e.at("id").as_int64(), 4);
  EXPECT_EQ(e.at("error").at("code").as_int64(), kInvalidRequest);
  EXPECT_EQ(kUnauthenticated, -32001);
  EXPECT_EQ(kMethodNotFound, -32601);
  EXPECT_EQ(kInternalError, -32603);
}

TEST(JsonRpc, ClassifyTakesParsedValues) {
  auto r = classify(json::parse(R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.message->kind, Kind::notification);
}

}  // namespace
}  // namespace pc::mcp::jsonrpc
