#include "mcp/interceptor_chain.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "mcp/deadline_timer.h"
#include "mcp/jsonrpc.h"
#include "mcp/request_guards.h"

namespace pc::mcp {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// Test interceptors: each behaves one way, and records that it ran.
class Scripted final : public RequestInterceptor, public ResponseInterceptor {
 public:
  enum class Mode { allow, deny, throw_, hang, twice, async_allow, async_deny, late };
  Scripted(std::string name, Mode mode) : name_(std::move(name)), mode_(mode) {}
  std::string_view name() const override { return name_; }

  void on_request(const CallContext&, json::object& params, DecisionDone done) const override {
    ++calls;
    seen(params).push_back(json::string(name_));
    act(std::move(done));
  }
  void on_response(const CallContext&, json::value& result, bool, ResponseFacts& facts, DecisionDone done) const override {
    ++calls;
    facts.redactions[name_] += 1;
    seen(result.as_object()).push_back(json::string(name_));
    act(std::move(done));
  }

  mutable std::atomic<int> calls{0};
  mutable DecisionDone kept;  // hang/late: the done, kept to answer after the timeout

 private:
  static json::array& seen(json::object& o) {
    if (!o.contains("seen")) o["seen"] = json::array();
    return o["seen"].as_array();
  }
  void act(DecisionDone done) const {
    switch (mode_) {
      case Mode::allow: return done(Decision::allowed());
      case Mode::deny: return done(Decision::denied(-32003, name_ + " says no"));
      case Mode::throw_: throw std::runtime_error("secret internal detail");
      case Mode::hang: kept = std::move(done); return;
      case Mode::twice:
        done(Decision::allowed());
        done(Decision::denied(-32003, "second answer"));
        return;
      case Mode::async_allow:
        std::thread([done = std::move(done)] {
          std::this_thread::sleep_for(20ms);
          done(Decision::allowed());
        }).detach();
        return;
      case Mode::async_deny:
        std::thread([done = std::move(done), n = name_] {
          std::this_thread::sleep_for(20ms);
          done(Decision::denied(-32003, n + " says no later"));
        }).detach();
        return;
      case Mode::late: {
        // Answers after the chain's timeout, from another thread.
        std::thread([done = std::move(done)] {
          std::this_thread::sleep_for(300ms);
          done(Decision::allowed());
        }).detach();
        return;
      }
    }
  }
  std::string name_;
  Mode mode_;
};

using M = Scripted::Mode;

struct Outcome {
  Decision decision;
  json::object params;
  int done_calls = 0;
};

// Runs the chain and waits for its answer (and a little more, to catch a second one).
Outcome run(const RequestChain& chain, json::object params = {{"name", "t"}}, std::chrono::milliseconds settle = 50ms) {
  auto p = std::make_shared<std::promise<Decision>>();
  auto count = std::make_shared<std::atomic<int>>(0);
  auto fut = p->get_future();
  CallContext ctx;
  ctx.tenant = "acme";
  ctx.tool = "t";
  chain.on_request(ctx, params, [p, count](Decision d) {
    if (++*count == 1) p->set_value(std::move(d));
  });
  EXPECT_EQ(fut.wait_for(5s), std::future_status::ready);
  Outcome o{fut.get(), {}, 0};
  std::this_thread::sleep_for(settle);
  o.params = std::move(params);
  o.done_calls = count->load();
  return o;
}

std::shared_ptr<Scripted> make(std::string name, M mode) { return std::make_shared<Scripted>(std::move(name), mode); }

TEST(InterceptorChain, EmptyChainAllows) {
  RequestChain chain;
  auto o = run(chain);
  EXPECT_EQ(o.decision.kind, Decision::allow);
  EXPECT_EQ(o.params.at("name").as_string(), "t");
}

TEST(InterceptorChain, RunsInOrderAndKeepsChanges) {
  RequestChain chain;
  auto a = make("a", M::allow), b = make("b", M::async_allow), c = make("c", M::allow);
  chain.add(a).add(b).add(c);
  auto o = run(chain);
  EXPECT_EQ(o.decision.kind, Decision::allow);
  EXPECT_EQ(json::serialize(o.params.at("seen")), R"(["a","b","c"])");
  EXPECT_EQ(o.done_calls, 1);
}

TEST(InterceptorChain, StopsAtFirstDenial) {
  RequestChain chain;
  auto a = make("a", M::allow), b = make("b", M::deny), c = make("c", M::allow);
  chain.add(a).add(b).add(c);
  auto o = run(chain);
  EXPECT_EQ(o.decision.kind, Decision::deny);
  EXPECT_EQ(o.decision.code, -32003);
  EXPECT_EQ(o.decision.reason, "b says no");
  EXPECT_EQ(c->calls.load(), 0);

  RequestChain later;
  auto d = make("d", M::async_deny), e = make("e", M::allow);
  later.add(d).add(e);
  o = run(later);
  EXPECT_EQ(o.decision.reason, "d says no later");
  EXPECT_EQ(e->calls.load(), 0);
}

TEST(InterceptorChain, ThrowFailsClosedWithoutLeakingTheMessage) {
  RequestChain chain;
  auto a = make("a", M::allow), b = make("boom", M::throw_), c = make("c", M::allow);
  chain.add(a).add(b).add(c);
  auto o = run(chain);
  EXPECT_EQ(o.decision.kind, Decision::deny);
  EXPECT_EQ(o.decision.code, jsonrpc::kInternalError);
  EXPECT_EQ(o.decision.reason, "interceptor boom failed");
  EXPECT_EQ(o.decision.reason.find("secret"), std::string::npos);
  EXPECT_EQ(c->calls.load(), 0);
}

TEST(InterceptorChain, HangFailsClosedAfterItsTimeout) {
  RequestChain chain(5000ms);
  auto h = make("stuck", M::hang), c = make("c", M::allow);
  chain.add(h, 100ms).add(c);
  const auto start = std::chrono::steady_clock::now();
  auto o = run(chain);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(o.decision.kind, Decision::deny);
  EXPECT_EQ(o.decision.code, jsonrpc::kInternalError);
  EXPECT_EQ(o.decision.reason, "interceptor stuck timed out");
  EXPECT_GE(took, 100ms);
  EXPECT_LT(took, 2000ms);
  EXPECT_EQ(c->calls.load(), 0);
  // After a timeout the caller's params stay empty: nothing half-processed goes on.
  EXPECT_TRUE(o.params.empty());
  // Answering now (after the timeout) is ignored: no second done, no next step.
  ASSERT_TRUE(h->kept);
  h->kept(Decision::allowed());
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(c->calls.load(), 0);
}

TEST(InterceptorChain, LateAnswerFromAnotherThreadIsIgnored) {
  RequestChain chain(50ms);
  auto l = make("slow", M::late), c = make("c", M::allow);
  chain.add(l).add(c);
  auto o = run(chain, {{"name", "t"}}, 400ms);  // waits past the late answer
  EXPECT_EQ(o.decision.reason, "interceptor slow timed out");
  EXPECT_EQ(o.done_calls, 1);
  EXPECT_EQ(c->calls.load(), 0);
}

TEST(InterceptorChain, SecondAnswerIgnored) {
  RequestChain chain;
  auto t = make("twice", M::twice), c = make("c", M::allow);
  chain.add(t).add(c);
  auto o = run(chain);
  EXPECT_EQ(o.decision.kind, Decision::allow);  // the first answer stands
  EXPECT_EQ(o.done_calls, 1);
  EXPECT_EQ(c->calls.load(), 1);
}

TEST(InterceptorChain, ChainOutlivesItsOwner) {
  auto chain = std::make_unique<RequestChain>();
  auto a = make("a", M::async_allow);
  chain->add(a);
  auto p = std::make_shared<std::promise<Decision>>();
  auto fut = p->get_future();
  auto params = std::make_shared<json::object>();
  chain->on_request(CallContext{}, *params, [p, params](Decision d) { p->set_value(d); });
  chain.reset();  // the run holds what it needs
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(fut.get().kind, Decision::allow);
}

TEST(InterceptorChain, ResponseChainCarriesResultAndFacts) {
  ResponseChain chain;
  auto a = make("a", M::allow), b = make("b", M::async_allow);
  chain.add(a).add(b);
  json::value result = json::object{{"content", json::array{}}};
  ResponseFacts facts;
  std::promise<Decision> p;
  auto fut = p.get_future();
  chain.on_response(CallContext{}, result, false, facts, [&p](Decision d) { p.set_value(d); });
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(fut.get().kind, Decision::allow);
  EXPECT_EQ(json::serialize(result.at("seen")), R"(["a","b"])");
  EXPECT_EQ(facts.redactions["a"], 1u);
  EXPECT_EQ(facts.redactions["b"], 1u);
}

TEST(InterceptorChain, ResponseChainFailsClosed) {
  for (auto mode : {M::throw_, M::hang, M::deny}) {
    ResponseChain chain(100ms);
    auto x = make("x", mode), c = make("c", M::allow);
    chain.add(x).add(c);
    json::value result = json::object{{"content", "pii"}};
    ResponseFacts facts;
    std::promise<Decision> p;
    auto fut = p.get_future();
    chain.on_response(CallContext{}, result, false, facts, [&p](Decision d) { p.set_value(d); });
    ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
    auto d = fut.get();
    EXPECT_EQ(d.kind, Decision::deny);
    EXPECT_EQ(c->calls.load(), 0);
    if (mode == M::hang) {
      EXPECT_EQ(d.reason, "interceptor x timed out");
      EXPECT_TRUE(result.is_null());  // the unredacted result is not handed back
    }
  }
}

TEST(DeadlineTimer, RunsAndCancels) {
  auto& t = DeadlineTimer::instance();
  std::promise<void> ran;
  auto fut = ran.get_future();
  t.schedule(10ms, [&ran] { ran.set_value(); });
  EXPECT_EQ(fut.wait_for(2s), std::future_status::ready);
  std::atomic<bool> hit{false};
  auto id = t.schedule(50ms, [&hit] { hit = true; });
  EXPECT_TRUE(t.cancel(id));
  EXPECT_FALSE(t.cancel(id));
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(hit.load());
}

// ---- built-in request interceptors

Decision decide(const RequestInterceptor& i, const CallContext& ctx, json::object params) {
  Decision out;
  bool called = false;
  i.on_request(ctx, params, [&](Decision d) {
    out = d;
    called = true;
  });
  EXPECT_TRUE(called);  // both answer at once
  return out;
}

TEST(PolicyInterceptor, RefusedToolLooksUnknown) {
  core::McpPolicyRule allow_weather;
  allow_weather.server = "weather";
  PolicyInterceptor p({allow_weather});
  CallContext ctx;
  ctx.tenant = "acme";
  ctx.server = "weather";
  ctx.tool = "forecast";
  EXPECT_EQ(decide(p, ctx, {}).kind, Decision::allow);
  ctx.server = "files";
  ctx.tool = "delete";
  ctx.exposed_name = "files__delete";
  auto d = decide(p, ctx, {});
  EXPECT_EQ(d.kind, Decision::deny);
  EXPECT_EQ(d.code, jsonrpc::kInvalidParams);
  EXPECT_EQ(d.reason, "Unknown tool: files__delete");
}

TEST(SchemaInterceptor, ValidatesArguments) {
  SchemaInterceptor s;
  const json::object schema = json::parse(R"({"type":"object","properties":{"n":{"type":"integer"}},"required":["n"],
                                              "additionalProperties":false})").as_object();
  CallContext ctx;
  ctx.server = "calc";
  ctx.tool = "add";
  ctx.input_schema = &schema;
  EXPECT_EQ(decide(s, ctx, {{"name", "add"}, {"arguments", {{"n", 1}}}}).kind, Decision::allow);
  auto d = decide(s, ctx, {{"name", "add"}, {"arguments", {{"n", "1"}, {"x", 2}}}});
  EXPECT_EQ(d.kind, Decision::deny);
  EXPECT_EQ(d.code, jsonrpc::kInvalidParams);
  EXPECT_EQ(d.reason, "Invalid arguments: /n: expected integer; /x: property not allowed");
  // Absent arguments are checked as {} (required still applies).
  d = decide(s, ctx, {{"name", "add"}});
  EXPECT_EQ(d.reason, "Invalid arguments: /: missing required property \"n\"");
  d = decide(s, ctx, {{"name", "add"}, {"arguments", json::array{1}}});
  EXPECT_EQ(d.code, jsonrpc::kInvalidParams);
  // No schema known: nothing to check.
  ctx.input_schema = nullptr;
  EXPECT_EQ(decide(s, ctx, {{"arguments", 5}}).kind, Decision::allow);
}

TEST(SchemaInterceptor, InvalidSchemaRefusesTheCall) {
  SchemaInterceptor s;
  const json::object bad = json::parse(R"({"type":"object","properties":{"n":{"$ref":"#/nowhere"}}})").as_object();
  CallContext ctx;
  ctx.tool = "t";
  ctx.input_schema = &bad;
  auto d = decide(s, ctx, {{"arguments", json::object{}}});
  EXPECT_EQ(d.kind, Decision::deny);
  EXPECT_EQ(d.code, jsonrpc::kInternalError);
  EXPECT_EQ(d.reason, "tool t has an invalid inputSchema");
  // Cached as invalid: the second call is refused the same way.
  EXPECT_EQ(decide(s, ctx, {}).code, jsonrpc::kInternalError);
}

TEST(SchemaInterceptor, CacheFollowsSchemaChanges) {
  SchemaInterceptor s;
  json::object v1 = json::parse(R"({"properties":{"n":{"type":"integer"}}})").as_object();
  json::object v2 = json::parse(R"({"properties":{"n":{"type":"string"}}})").as_object();
  CallContext ctx;
  ctx.server = "srv";
  ctx.tool = "t";
  auto c1 = s.compiled(ctx, v1);
  EXPECT_EQ(c1, s.compiled(ctx, v1));  // compiled once
  auto c2 = s.compiled(ctx, v2);       // same tool, new schema: recompiled
  EXPECT_NE(c1, c2);
  ctx.input_schema = &v2;
  EXPECT_EQ(decide(s, ctx, {{"arguments", {{"n", 1}}}}).kind, Decision::deny);
  EXPECT_EQ(decide(s, ctx, {{"arguments", {{"n", "1"}}}}).kind, Decision::allow);
}

TEST(InterceptorChain, BuiltinsInAChain) {
  core::McpPolicyRule r;
  r.tool = "add";
  RequestChain chain;
  chain.add(std::make_shared<PolicyInterceptor>(std::vector<core::McpPolicyRule>{r}))
      .add(std::make_shared<SchemaInterceptor>());
  const json::object schema = json::parse(R"({"required":["n"]})").as_object();
  auto go = [&](std::string tool, json::object params) {
    CallContext ctx;
    ctx.tool = tool;
    ctx.input_schema = &schema;
    std::promise<Decision> p;
    auto fut = p.get_future();
    chain.on_request(ctx, params, [&p](Decision d) { p.set_value(d); });
    return fut.get();
  };
  EXPECT_EQ(go("add", {{"arguments", {{"n", 1}}}}).kind, Decision::allow);
  EXPECT_EQ(go("add", {{"arguments", json::object{}}}).code, jsonrpc::kInvalidParams);
  EXPECT_EQ(go("sub", {{"arguments", {{"n", 1}}}}).reason, "Unknown tool: sub");
}

}  // namespace
}  // namespace pc::mcp
