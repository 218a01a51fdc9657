// ExampleA2a (the example agent's A2A side) without the network: the JSON-RPC answers in the 1.0
// and 0.3 shapes, the stream plan and its pacing hooks (emit, poll_held), and the bound on the
// tasks kept in memory.
#include "examples/example_a2a.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

namespace pc::examples {
namespace {

namespace json = boost::json;

json::object parse(const std::string& s) { return json::parse(s).as_object(); }

std::string send(std::string_view method, std::string_view text, std::string_view extra_message = "",
                 std::string_view id = "1") {
  return std::string(R"({"jsonrpc":"2.0","id":)") + std::string(id) + R"(,"method":")" + std::string(method) +
         R"(","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":")" + std::string(text) + "\"}]" +
         std::string(extra_message) + "}}}";
}

int error_code(const std::string& body) { return static_cast<int>(parse(body).at("error").at("code").as_int64()); }

TEST(ExampleA2a, SendMessageEchoesAsACompletedTaskAndGetTaskFindsIt) {
  ExampleA2a a2a("echo-a2a");
  ExampleA2a::Caller caller;
  caller.identity = json::object{{"sub", "u"}};
  caller.session_id = "s-1";
  auto r = a2a.handle(send("SendMessage", "hello"), caller);
  ASSERT_FALSE(r.stream);
  auto res = parse(r.body);
  EXPECT_EQ(res.at("jsonrpc"), "2.0");
  EXPECT_EQ(res.at("id"), 1);
  const auto& task = res.at("result").at("task").as_object();
  EXPECT_EQ(task.at("status").at("state"), "TASK_STATE_COMPLETED");
  EXPECT_EQ(task.at("artifacts").at(0).at("parts").at(0).at("text"), "hello");
  EXPECT_EQ(task.at("history").at(0).at("taskId"), task.at("id"));
  EXPECT_EQ(task.at("metadata").at("sessionId"), "s-1");
  EXPECT_EQ(task.at("metadata").at("identity").at("sub"), "u");

  const std::string id(task.at("id").as_string());
  auto g = parse(a2a.handle(R"({"jsonrpc":"2.0","id":"g","method":"GetTask","params":{"id":")" + id + "\"}}", caller).body);
  EXPECT_EQ(g.at("result").at("id"), task.at("id"));
  EXPECT_EQ(g.at("id"), "g");
  // Completed: not cancelable.
  EXPECT_EQ(error_code(a2a.handle(R"({"jsonrpc":"2.0","id":2,"method":"CancelTask","params":{"id":")" + id + "\"}}", caller).body),
            -32002);
}

TEST(ExampleA2a, LegacyMethodsAnswerInTheV03Shapes) {
  ExampleA2a a2a("echo-a2a");
  auto body = std::string(R"({"jsonrpc":"2.0","id":7,"method":"message/send","params":{"message":{"kind":"message","messageId":"m","role":"user","parts":[{"kind":"text","text":"hi"}]}}})");
  auto t = parse(a2a.handle(body, {}).body).at("result").as_object();
  EXPECT_EQ(t.at("kind"), "task");
  EXPECT_EQ(t.at("status").at("state"), "completed");
  EXPECT_EQ(t.at("artifacts").at(0).at("parts").at(0).at("kind"), "text");
  EXPECT_EQ(t.at("history").at(0).at("role"), "user");
  EXPECT_EQ(t.at("history").at(0).at("kind"), "message");
}

TEST(ExampleA2a, V03StateNamesKeepTheirDashes) {
  json::object task{{"id", "t"}, {"contextId", "c"}, {"status", {{"state", "TASK_STATE_INPUT_REQUIRED"}}}};
  EXPECT_EQ(a2a_task_to_v03(task).at("status").at("state"), "input-required");
  task["status"] = {{"state", "TASK_STATE_CANCELED"}};
  EXPECT_EQ(a2a_task_to_v03(task).at("status").at("state"), "canceled");
}

TEST(ExampleA2a, StreamPlanIsSubmittedWorkingChunksCompleted) {
  ExampleA2a a2a("echo-a2a");
  auto r = a2a.handle(send("SendStreamingMessage", "a b c"), {});
  ASSERT_TRUE(r.stream);
  ASSERT_EQ(r.events.size(), 6u);  // task, working, 3 chunks, completed
  std::string text;
  for (std::size_t i = 0; i < r.events.size(); ++i) {
    auto e = a2a.emit(r, r.events[i]);
    EXPECT_FALSE(e.last);
    auto res = parse(e.data).at("result").as_object();
    if (i >= 2 && i < 5) text += std::string(res.at("artifactUpdate").at("artifact").at("parts").at(0).at("text").as_string());
  }
  EXPECT_EQ(text, "a b c");
  auto last = parse(r.events.back().data).at("result").as_object();
  EXPECT_EQ(last.at("statusUpdate").at("status").at("state"), "TASK_STATE_COMPLETED");
}

TEST(ExampleA2a, CancelDuringAStreamEndsItWithTheCancellation) {
  ExampleA2a a2a("echo-a2a");
  auto r = a2a.handle(send("SendStreamingMessage", "a b c"), {});
  ASSERT_TRUE(r.stream);
  a2a.emit(r, r.events[0]);
  a2a.emit(r, r.events[1]);
  auto c = parse(a2a.handle(R"({"jsonrpc":"2.0","id":3,"method":"CancelTask","params":{"id":")" + r.task_id + "\"}}", {}).body);
  EXPECT_EQ(c.at("result").at("status").at("state"), "TASK_STATE_CANCELED");
  auto e = a2a.emit(r, r.events[2]);
  EXPECT_TRUE(e.last);
  EXPECT_EQ(parse(e.data).at("result").at("statusUpdate").at("status").at("state"), "TASK_STATE_CANCELED");
}

TEST(ExampleA2a, HeldStreamWaitsUntilCanceledOrGivesUp) {
  ExampleA2a a2a("echo-a2a");
  auto r = a2a.handle(send("SendStreamingMessage", "x", R"(,"metadata":{"hold":true})"), {});
  ASSERT_TRUE(r.hold);
  ASSERT_EQ(r.events.size(), 2u);
  for (const auto& ev : r.events) a2a.emit(r, ev);
  EXPECT_FALSE(a2a.poll_held(r));
  auto r2 = a2a.handle(send("SendStreamingMessage", "y", R"(,"metadata":{"hold":true})"), {});
  for (const auto& ev : r2.events) a2a.emit(r2, ev);
  EXPECT_EQ(parse(a2a.give_up(r2)).at("result").at("statusUpdate").at("status").at("state"), "TASK_STATE_FAILED");
  // A next message naming the held task completes it with its echo; the held stream then ends.
  auto next = parse(a2a.handle(send("SendMessage", "done", R"(,"taskId":")" + r.task_id + "\""), {}).body);
  EXPECT_EQ(next.at("result").at("task").at("status").at("state"), "TASK_STATE_COMPLETED");
  EXPECT_EQ(next.at("result").at("task").at("history").as_array().size(), 2u);
  auto fin = a2a.poll_held(r);
  ASSERT_TRUE(fin);
  EXPECT_EQ(parse(*fin).at("result").at("statusUpdate").at("status").at("state"), "TASK_STATE_COMPLETED");
  // Terminal now: it takes no more messages.
  EXPECT_EQ(error_code(a2a.handle(send("SendMessage", "more", R"(,"taskId":")" + r.task_id + "\""), {}).body), -32004);
}

TEST(ExampleA2a, AnotherTenantsTaskIsNotFound) {
  ExampleA2a a2a("echo-a2a");
  ExampleA2a::Caller demo, acme;
  demo.identity = json::object{{"sub", "a"}, {"tenantid", "demo"}};
  acme.identity = json::object{{"sub", "b"}, {"tenantid", "acme"}};
  auto t = parse(a2a.handle(send("SendMessage", "x", R"(,"metadata":{"hold":true})"), demo).body);
  const std::string id(t.at("result").at("task").at("id").as_string());
  const std::string get = R"({"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":")" + id + "\"}}";
  const std::string cancel = R"({"jsonrpc":"2.0","id":1,"method":"CancelTask","params":{"id":")" + id + "\"}}";
  EXPECT_EQ(error_code(a2a.handle(get, acme).body), -32001);
  EXPECT_EQ(error_code(a2a.handle(cancel, acme).body), -32001);
  EXPECT_EQ(error_code(a2a.handle(send("SendMessage", "y", R"(,"taskId":")" + id + "\""), acme).body), -32001);
  EXPECT_EQ(parse(a2a.handle(get, demo).body).at("result").at("status").at("state"), "TASK_STATE_WORKING");
}

TEST(ExampleA2a, TasksAreBoundedOldestFirst) {
  ExampleA2a a2a("echo-a2a", 3);
  std::string first;
  for (int i = 0; i < 5; ++i) {
    auto t = parse(a2a.handle(send("SendMessage", "n"), {}).body);
    if (i == 0) first = std::string(t.at("result").at("task").at("id").as_string());
  }
  EXPECT_EQ(a2a.task_count(), 3u);
  EXPECT_EQ(error_code(a2a.handle(R"({"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":")" + first + "\"}}", {}).body),
            -32001);
}

TEST(ExampleA2a, BadRequestsAreJsonRpcErrors) {
  ExampleA2a a2a("echo-a2a");
  EXPECT_EQ(error_code(a2a.handle("{", {}).body), -32700);
  EXPECT_EQ(error_code(a2a.handle(R"([1])", {}).body), -32600);
  EXPECT_EQ(error_code(a2a.handle(R"({"jsonrpc":"1.0","id":1,"method":"GetTask"})", {}).body), -32600);
  EXPECT_EQ(error_code(a2a.handle(R"({"jsonrpc":"2.0","id":1,"method":"Nope"})", {}).body), -32601);
  EXPECT_EQ(error_code(a2a.handle(R"({"jsonrpc":"2.0","id":1,"method":"SendMessage","params":[]})", {}).body), -32602);
  EXPECT_EQ(error_code(a2a.handle(R"({"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","parts":[{"raw":"AA=="}]}}})", {}).body),
            -32602);
  ExampleA2a::Caller v2;
  v2.a2a_version = "2.0";
  EXPECT_EQ(error_code(a2a.handle(send("SendMessage", "x"), v2).body), -32009);
}

TEST(ExampleA2a, CardsNameTheInterfaceUnderTheBase) {
  ExampleA2a a2a("echo-a2a");
  auto v1 = parse(a2a.card_v1("http://127.0.0.1:9"));
  EXPECT_EQ(v1.at("supportedInterfaces").at(0).at("url"), "http://127.0.0.1:9/a2a");
  EXPECT_EQ(v1.at("supportedInterfaces").at(0).at("protocolBinding"), "JSONRPC");
  EXPECT_EQ(v1.at("capabilities").at("streaming"), true);
  auto v03 = parse(a2a.card_v03("http://127.0.0.1:9"));
  EXPECT_EQ(v03.at("url"), "http://127.0.0.1:9/a2a");
  EXPECT_EQ(v03.at("protocolVersion"), "0.3.0");
}

}  // namespace
}  // namespace pc::examples
