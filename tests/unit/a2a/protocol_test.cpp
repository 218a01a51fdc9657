// a2a/protocol.h and a2a/errors.h: both bindings and both versions read into one Operation, every
// malformed or unsupported request refused with the A2A error the SDKs read.
#include "a2a/protocol.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "a2a/errors.h"

namespace pc::a2a {
namespace {

namespace json = boost::json;

Operation ok(std::variant<Operation, ProtocolError> r) {
  if (auto* e = std::get_if<ProtocolError>(&r)) ADD_FAILURE() << "refused: " << e->code << " " << e->message;
  return std::get<Operation>(std::move(r));
}
ProtocolError bad(std::variant<Operation, ProtocolError> r) {
  if (std::holds_alternative<Operation>(r)) {
    ADD_FAILURE() << "accepted";
    return {};
  }
  return std::get<ProtocolError>(std::move(r));
}

const std::string v10 = "1.0";
const std::string v03 = "0.3";

TEST(A2aProtocol, VersionNegotiation) {
  EXPECT_EQ(negotiate_version(nullptr), Version::v0_3);  // absent: 0.3
  std::string s;
  for (const char* v : {"1", "1.0", "1.0.2", " 1.0 "}) {
    s = v;
    EXPECT_EQ(negotiate_version(&s), Version::v1_0) << v;
  }
  for (const char* v : {"0.3", "0.3.0", ""}) {
    s = v;
    EXPECT_EQ(negotiate_version(&s), Version::v0_3) << v;
  }
  for (const char* v : {"2.0", "0.2", "1.1", "10", "1.0.x", "abc", "1."}) {
    s = v;
    EXPECT_FALSE(negotiate_version(&s).has_value()) << v;
  }
}

TEST(A2aProtocol, JsonRpc10SendReadsTaskAndContext) {
  auto op = ok(parse_jsonrpc(
      R"({"jsonrpc":"2.0","id":7,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER",)"
      R"("taskId":"t1","contextId":"c1","parts":[{"text":"hi"}]}}})",
      &v10));
  EXPECT_EQ(op.version, Version::v1_0);
  EXPECT_EQ(op.binding, Binding::jsonrpc);
  EXPECT_EQ(op.kind, Kind::send);
  EXPECT_EQ(op.task_id, "t1");
  EXPECT_EQ(op.context_id, "c1");
  EXPECT_EQ(op.rpc_id, json::value(7));
}

TEST(A2aProtocol, JsonRpcMethodTables) {
  struct Case {
    const char* method;
    const std::string* version;
    const char* params;
    Kind kind;
    const char* task;
    const char* config;
  };
  const Case cases[] = {
      {"SendStreamingMessage", &v10, R"({"message":{"messageId":"m"}})", Kind::stream, "", ""},
      {"GetTask", &v10, R"({"id":"t"})", Kind::get_task, "t", ""},
      {"ListTasks", &v10, R"({})", Kind::list_tasks, "", ""},
      {"CancelTask", &v10, R"({"id":"t"})", Kind::cancel_task, "t", ""},
      {"SubscribeToTask", &v10, R"({"id":"t"})", Kind::subscribe, "t", ""},
      {"CreateTaskPushNotificationConfig", &v10, R"({"taskId":"t","url":"https://x"})", Kind::push_set, "t", ""},
      {"GetTaskPushNotificationConfig", &v10, R"({"taskId":"t","id":"c"})", Kind::push_get, "t", "c"},
      {"ListTaskPushNotificationConfigs", &v10, R"({"taskId":"t"})", Kind::push_list, "t", ""},
      {"DeleteTaskPushNotificationConfig", &v10, R"({"taskId":"t","id":"c"})", Kind::push_delete, "t", "c"},
      {"GetExtendedAgentCard", &v10, R"({})", Kind::extended_card, "", ""},
      {"message/send", nullptr, R"({"message":{"kind":"message","messageId":"m"}})", Kind::send, "", ""},
      {"message/stream", &v03, R"({"message":{"messageId":"m","taskId":"t"}})", Kind::stream, "t", ""},
      {"tasks/get", nullptr, R"({"id":"t","historyLength":2})", Kind::get_task, "t", ""},
      {"tasks/cancel", nullptr, R"({"id":"t"})", Kind::cancel_task, "t", ""},
      {"tasks/resubscribe", nullptr, R"({"id":"t"})", Kind::subscribe, "t", ""},
      {"tasks/pushNotificationConfig/set", nullptr, R"({"taskId":"t","pushNotificationConfig":{"url":"https://x"}})",
       Kind::push_set, "t", ""},
      {"tasks/pushNotificationConfig/get", nullptr, R"({"id":"t","pushNotificationConfigId":"c"})", Kind::push_get,
       "t", "c"},
      {"tasks/pushNotificationConfig/list", nullptr, R"({"id":"t"})", Kind::push_list, "t", ""},
      {"tasks/pushNotificationConfig/delete", nullptr, R"({"id":"t","pushNotificationConfigId":"c"})",
       Kind::push_delete, "t", "c"},
      {"agent/getAuthenticatedExtendedCard", nullptr, R"({})", Kind::extended_card, "", ""},
  };
  for (const auto& c : cases) {
    std::string body = std::string(R"({"jsonrpc":"2.0","id":"x","method":")") + c.method + R"(","params":)" +
                       c.params + "}";
    auto op = ok(parse_jsonrpc(body, c.version));
    EXPECT_EQ(op.kind, c.kind) << c.method;
    EXPECT_EQ(op.task_id, c.task) << c.method;
    EXPECT_EQ(op.push_config_id, c.config) << c.method;
    EXPECT_EQ(op.version, c.version == &v10 ? Version::v1_0 : Version::v0_3) << c.method;
  }
}

TEST(A2aProtocol, JsonRpcRefusals) {
  // A 1.0 method without the 1.0 header (absent = 0.3), and a 0.3 method under 1.0.
  auto e = bad(parse_jsonrpc(R"({"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"t"}})", nullptr));
  EXPECT_EQ(e.code, kMethodNotFound);
  EXPECT_EQ(e.rpc_id, json::value(1));
  e = bad(parse_jsonrpc(R"({"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"id":"t"}})", &v10));
  EXPECT_EQ(e.code, kMethodNotFound);
  const std::string v2 = "2.0";
  e = bad(parse_jsonrpc(R"({"jsonrpc":"2.0","id":"q","method":"GetTask","params":{"id":"t"}})", &v2));
  EXPECT_EQ(e.code, kVersionNotSupported);
  EXPECT_EQ(e.rpc_id, json::value("q"));
  EXPECT_EQ(bad(parse_jsonrpc("{not json", &v10)).code, kParseError);
  EXPECT_EQ(bad(parse_jsonrpc(R"({"jsonrpc":"2.0","id":1,"id":2,"method":"GetTask"})", &v10)).code, kParseError);
  // A notification: A2A has none.
  EXPECT_EQ(bad(parse_jsonrpc(R"({"jsonrpc":"2.0","method":"GetTask","params":{"id":"t"}})", &v10)).code,
            kInvalidRequest);
  // Missing or mistyped ids.
  EXPECT_EQ(bad(parse_jsonrpc(R"({"jsonrpc":"2.0","id":1,"method":"GetTask","params":{}})", &v10)).code,
            kInvalidParams);
  EXPECT_EQ(bad(parse_jsonrpc(R"({"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":5}})", &v10)).code,
            kInvalidParams);
  EXPECT_EQ(bad(parse_jsonrpc(R"({"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{}})", &v10)).code,
            kInvalidParams);
  EXPECT_EQ(bad(parse_jsonrpc(
                    R"({"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"contextId":{}}}})", &v10))
                .code,
            kInvalidParams);
  const std::string long_id(300, 'a');
  EXPECT_EQ(bad(parse_jsonrpc(R"({"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":")" + long_id + "\"}}",
                              &v10))
                .code,
            kInvalidParams);
  EXPECT_EQ(bad(parse_jsonrpc(
                    R"({"jsonrpc":"2.0","id":1,"method":"tasks/pushNotificationConfig/delete","params":{"id":"t"}})",
                    nullptr))
                .code,
            kInvalidParams);
}

TEST(A2aProtocol, Rest10Paths) {
  auto op = ok(parse_rest("POST", "/message:send", "", R"({"message":{"messageId":"m","contextId":"c"}})", &v10));
  EXPECT_EQ(op.kind, Kind::send);
  EXPECT_EQ(op.version, Version::v1_0);
  EXPECT_EQ(op.binding, Binding::rest);
  EXPECT_EQ(op.context_id, "c");
  EXPECT_EQ(ok(parse_rest("POST", "/message:stream", "", R"({"message":{}})", &v10)).kind, Kind::stream);
  op = ok(parse_rest("GET", "/tasks/t%2D1", "historyLength=3", "", &v10));
  EXPECT_EQ(op.kind, Kind::get_task);
  EXPECT_EQ(op.task_id, "t-1");
  EXPECT_EQ(ok(parse_rest("POST", "/tasks/t:cancel", "", "", &v10)).kind, Kind::cancel_task);
  EXPECT_EQ(ok(parse_rest("POST", "/tasks/t:subscribe", "", "", &v10)).kind, Kind::subscribe);
  EXPECT_EQ(ok(parse_rest("GET", "/tasks/t:subscribe", "", "", &v10)).kind, Kind::subscribe);
  op = ok(parse_rest("GET", "/tasks", "contextId=c9&pageSize=5", "", &v10));
  EXPECT_EQ(op.kind, Kind::list_tasks);
  EXPECT_EQ(op.context_id, "c9");
  op = ok(parse_rest("POST", "/tasks/t/pushNotificationConfigs", "", R"({"taskId":"t","url":"https://x"})", &v10));
  EXPECT_EQ(op.kind, Kind::push_set);
  EXPECT_EQ(op.task_id, "t");
  op = ok(parse_rest("GET", "/tasks/t/pushNotificationConfigs/c", "", "", &v10));
  EXPECT_EQ(op.kind, Kind::push_get);
  EXPECT_EQ(op.push_config_id, "c");
  EXPECT_EQ(ok(parse_rest("GET", "/tasks/t/pushNotificationConfigs", "", "", &v10)).kind, Kind::push_list);
  EXPECT_EQ(ok(parse_rest("DELETE", "/tasks/t/pushNotificationConfigs/c", "", "", &v10)).kind, Kind::push_delete);
  EXPECT_EQ(ok(parse_rest("GET", "/extendedAgentCard", "", "", &v10)).kind, Kind::extended_card);
}

TEST(A2aProtocol, Rest03Paths) {
  auto op = ok(parse_rest("POST", "/v1/message:send", "", R"({"message":{"taskId":"t"}})", nullptr));
  EXPECT_EQ(op.version, Version::v0_3);
  EXPECT_EQ(op.task_id, "t");
  EXPECT_EQ(ok(parse_rest("GET", "/v1/tasks/t", "", "", nullptr)).kind, Kind::get_task);
  EXPECT_EQ(ok(parse_rest("GET", "/v1/tasks/t:subscribe", "", "", nullptr)).kind, Kind::subscribe);
  EXPECT_EQ(ok(parse_rest("GET", "/v1/card", "", "", nullptr)).kind, Kind::extended_card);
  op = ok(parse_rest("POST", "/v1/tasks/t/pushNotificationConfigs", "",
                     R"({"name":"tasks/t/pushNotificationConfigs/c","pushNotificationConfig":{"id":"c","url":"https://x"}})",
                     nullptr));
  EXPECT_EQ(op.kind, Kind::push_set);
  EXPECT_EQ(op.push_config_id, "c");
}

TEST(A2aProtocol, RestRefusals) {
  EXPECT_EQ(bad(parse_rest("GET", "/message:send", "", "", &v10)).http_status, 404);  // wrong method
  EXPECT_EQ(bad(parse_rest("POST", "/tasks/t:explode", "", "", &v10)).code, kMethodNotFound);
  EXPECT_EQ(bad(parse_rest("GET", "/nothing/here", "", "", &v10)).http_status, 404);
  EXPECT_EQ(bad(parse_rest("GET", "/v1/tasks", "", "", nullptr)).http_status, 404);  // no 0.3 ListTasks
  EXPECT_EQ(bad(parse_rest("GET", "/tasks/%zz", "", "", &v10)).code, kInvalidRequest);
  EXPECT_EQ(bad(parse_rest("GET", "/tasks/a%2Fb", "", "", &v10)).code, kInvalidRequest);  // encoded '/'
  EXPECT_EQ(bad(parse_rest("POST", "/message:send", "", "[1]", &v10)).code, kInvalidParams);
  EXPECT_EQ(bad(parse_rest("POST", "/message:send", "", "{", &v10)).code, kParseError);
  const std::string v9 = "9";
  EXPECT_EQ(bad(parse_rest("GET", "/tasks/t", "", "", &v9)).code, kVersionNotSupported);
  // A body naming another task than the path's.
  EXPECT_EQ(bad(parse_rest("POST", "/tasks/t/pushNotificationConfigs", "", R"({"taskId":"other","url":"u"})", &v10))
                .code,
            kInvalidParams);
}

TEST(A2aErrors, BindingShapes) {
  ErrorTarget rpc{Binding::jsonrpc, Version::v1_0, json::value(3)};
  auto r = error_answer(rpc, make_error(kTaskNotFound, "Task not found"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"jsonrpc":"2.0","id":3,"error":{"code":-32001,"message":"Task not found"}})"));
  ErrorTarget rest10{Binding::rest, Version::v1_0, nullptr};
  r = error_answer(rest10, make_error(kTaskNotFound, "Task not found"));
  EXPECT_EQ(r.status, 404);
  auto b = json::parse(r.body);
  EXPECT_EQ(b.at("error").at("status"), "NOT_FOUND");
  EXPECT_EQ(b.at("error").at("code"), 404);
  EXPECT_EQ(b.at("error").at("details").at(0).at("reason"), "TASK_NOT_FOUND");
  EXPECT_EQ(b.at("error").at("details").at(0).at("domain"), "a2a-protocol.org");
  ErrorTarget rest03{Binding::rest, Version::v0_3, nullptr};
  r = error_answer(rest03, make_error(kVersionNotSupported, "no"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"code":-32009,"message":"no"})"));
  EXPECT_EQ(sse_error_event(rest10, make_error(kInternalError, "x")).rfind("event: error\ndata: {", 0), 0u);
  EXPECT_EQ(sse_error_event(rpc, make_error(kInternalError, "x")).rfind("data: {\"jsonrpc\"", 0), 0u);
}

// rest_send_kind agrees with parse_rest on every send, encoded or not (the limit stage counts with it).
TEST(RestSendKind, AgreesWithParseRest) {
  const std::string v10 = "1.0";
  for (const char* p : {"/message:send", "/message%3Asend", "/message:sen%64", "/v1/message%3Astream", "/message:stream",
                        "/message%3Aother", "/a/message:send", "/message%3", "/tasks/t1", "/v1/tasks/t1:cancel"}) {
    auto parsed = parse_rest("POST", p, "", R"({"message":{"messageId":"m"}})", &v10);
    auto* op = std::get_if<Operation>(&parsed);
    const bool send = op && (op->kind == Kind::send || op->kind == Kind::stream);
    auto k = rest_send_kind("POST", p);
    EXPECT_EQ(k.has_value(), send) << p;
    if (k && op) EXPECT_EQ(*k, op->kind) << p;
  }
  EXPECT_FALSE(rest_send_kind("GET", "/message:send"));
  EXPECT_EQ(rest_path_of("/a2a/x/v1/message%3Asend"), "/v1/message%3Asend");
  EXPECT_EQ(rest_path_of("/a2a/x"), "");
}

}  // namespace
}  // namespace pc::a2a
