// run_idempotent over a real store (every backend), real data keys and a real work pool: replay
// without a second call, 422 for another body, 409 while the first runs, 400 for bad keys, keys
// scoped to tenant and principal, and keys released (so a retry runs again) after a 5xx, an
// unanswered handler, or a relayed proxy answer.
#include "api/idempotent.h"
#include "api/idempotent_forward.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>

#include "agents/idempotency.h"
#include "core/work_pool.h"
#include "crypto/master_keyring.h"
#include "store/store.h"
#include "support/test_store.h"
#include "vault/data_keys.h"
#include "vault/vault_test_util.h"

namespace pc::api {
namespace {

using namespace std::chrono_literals;

class IdempotentTest : public pc::testing::BackendTest {
 protected:
  crypto::MasterKeyring ring{vault::testing::master_key(3)};
  std::unique_ptr<vault::DataKeys> keys;
  std::unique_ptr<agents::Idempotency> service;
  core::WorkPool pool{"idem-test", 4, 64};
  IdempotentDeps deps;
  std::atomic<int> calls{0};

  void SetUp() override {
    BackendTest::SetUp();
    keys = std::make_unique<vault::DataKeys>(store(), ring);
    service = std::make_unique<agents::Idempotency>(store(), *keys);
    deps = IdempotentDeps{service.get(), &pool, 0ms};
  }
  void TearDown() override {
    pool.stop();
    service.reset();
    keys.reset();
    BackendTest::TearDown();
  }

  static std::shared_ptr<net::Request> request(std::string body, std::string key = "k-1") {
    auto r = std::make_shared<net::Request>();
    r->method = "POST";
    r->path = r->target = "/v1/agents/echo/invoke";
    r->body = std::move(body);
    r->request_id = "req-1";
    r->headers.push_back({"Idempotency-Key", std::move(key)});
    return r;
  }

  // Runs one request; `answer` is what the handler answers (status, body).
  net::Response run(std::shared_ptr<net::Request> req, int status = 200, std::string tenant = "acme",
                    std::string principal = "alice") {
    std::promise<net::Response> got;
    auto fut = got.get_future();
    net::Responder reply([&got](net::Response&& r) { got.set_value(std::move(r)); });
    run_idempotent(deps, req, tenant, principal, reply, [this, status](net::Responder r) {
      const int n = ++calls;
      r(net::Response::json(status, "{\"call\":" + std::to_string(n) + "}"));
    });
    if (fut.wait_for(10s) != std::future_status::ready) {
      ADD_FAILURE() << "no answer";
      return {};
    }
    return fut.get();
  }

  static std::string header(const net::Response& r, std::string_view name) {
    for (const auto& h : r.headers)
      if (net::iequals(h.name, name)) return h.value;
    return "";
  }
};

TEST_P(IdempotentTest, SameKeyAndBodyReplaysTheFirstAnswerWithoutASecondCall) {
  auto first = run(request(R"({"input":1})"), 201);
  EXPECT_EQ(first.status, 201);
  EXPECT_EQ(first.body, "{\"call\":1}");
  EXPECT_EQ(header(first, "Idempotent-Replayed"), "");
  auto again = run(request(R"({"input":1})"), 201);
  EXPECT_EQ(calls.load(), 1) << "a replay must not call again";
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.content_type, "application/json");
  EXPECT_EQ(header(again, "Idempotent-Replayed"), "true");
  // A third time, through another node's service on the same store: still a replay.
  auto other_store = open_again();
  vault::DataKeys other_keys(*other_store, ring);
  agents::Idempotency other(*other_store, other_keys);
  deps.service = &other;
  EXPECT_EQ(run(request(R"({"input":1})")).body, first.body);
  EXPECT_EQ(calls.load(), 1);
}

TEST_P(IdempotentTest, SameKeyWithAnotherBodyIs422) {
  run(request(R"({"input":1})"));
  auto r = run(request(R"({"input":2})"));
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(r.body.find("idempotency_key_reused"), std::string::npos);
  EXPECT_EQ(calls.load(), 1);
}

TEST_P(IdempotentTest, WhileTheFirstRunsTheSecondIs409) {
  std::promise<net::Responder> held;
  std::promise<net::Response> first_answer;
  net::Responder first_reply([&](net::Response&& r) { first_answer.set_value(std::move(r)); });
  run_idempotent(deps, request("{}"), "acme", "alice", first_reply,
                 [&](net::Responder r) { held.set_value(std::move(r)); });
  auto responder = held.get_future().get();  // the first is running now
  auto second = run(request("{}"));
  EXPECT_EQ(second.status, 409);
  EXPECT_NE(second.body.find("idempotency_in_flight"), std::string::npos);
  EXPECT_EQ(header(second, "Retry-After"), "1");
  EXPECT_EQ(calls.load(), 0);
  responder(net::Response::json(200, "{\"late\":true}"));
  EXPECT_EQ(first_answer.get_future().get().status, 200);
  auto third = run(request("{}"));
  EXPECT_EQ(third.body, "{\"late\":true}");
  EXPECT_EQ(header(third, "Idempotent-Replayed"), "true");
}

TEST_P(IdempotentTest, BadKeysAre400AndNothingRuns) {
  for (std::string bad : {std::string(""), std::string(256, 'a'), std::string("has space"), std::string("tab\there"),
                          std::string("caf\xc3\xa9")}) {
    auto r = run(request("{}", bad));
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_NE(r.body.find("invalid_request"), std::string::npos);
  }
  EXPECT_EQ(calls.load(), 0);
  EXPECT_EQ(run(request("{}", std::string(255, 'a'))).status, 200) << "255 characters is allowed";
}

TEST_P(IdempotentTest, WithoutAKeyEveryRequestRuns) {
  auto req = request("{}");
  req->headers.clear();
  run(req);
  run(req);
  EXPECT_EQ(calls.load(), 2);
}

TEST_P(IdempotentTest, KeysAreScopedToTenantAndPrincipal) {
  run(request("{}"), 200, "acme", "alice");
  run(request("{}"), 200, "acme", "bob");
  run(request("{}"), 200, "beta", "alice");
  EXPECT_EQ(calls.load(), 3) << "another principal's or tenant's key of the same spelling is another key";
  // And a different body under bob's key is bob's own mismatch, not alice's.
  EXPECT_EQ(run(request("{\"x\":1}"), 200, "acme", "bob").status, 422);
}

TEST_P(IdempotentTest, AServerErrorIsNotRememberedSoARetryRunsAgain) {
  EXPECT_EQ(run(request("{}"), 503).status, 503);
  auto retry = run(request("{}"), 200);
  EXPECT_EQ(retry.status, 200);
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(header(run(request("{}")), "Idempotent-Replayed"), "true");
}

TEST_P(IdempotentTest, AHandlerThatNeverAnswersReleasesTheKey) {
  std::promise<net::Response> got;
  net::Responder reply([&](net::Response&& r) { got.set_value(std::move(r)); });
  run_idempotent(deps, request("{}"), "acme", "alice", reply, [](net::Responder) { /* dropped */ });
  EXPECT_EQ(got.get_future().get().status, 500);  // the Responder's own safety net
  // The release runs on the pool; the next request runs instead of waiting for the claim to lapse.
  net::Response r;
  for (int i = 0; i < 50; ++i) {
    r = run(request("{}"));
    if (r.status != 409) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(calls.load(), 1);
}

TEST_P(IdempotentTest, ARelayedProxyAnswerReleasesTheKeyWhenItEnds) {
  std::promise<net::Response> got;
  net::Responder reply([&](net::Response&& r) { got.set_value(std::move(r)); });
  std::atomic<int> completed{0};
  run_idempotent(deps, request("{}"), "acme", "alice", reply, [&](net::Responder r) {
    net::ForwardTo to;
    to.host = "127.0.0.1";
    to.on_complete = [&](int) { ++completed; };
    r(net::Response::proxy(std::move(to)));
  });
  auto proxied = got.get_future().get();
  ASSERT_TRUE(proxied.forward);
  EXPECT_EQ(run(request("{}")).status, 409) << "in flight until the exchange ends";
  proxied.forward->on_complete(200);  // what the network layer does when the relay ends
  EXPECT_EQ(completed.load(), 1) << "the route's own on_complete still runs";
  net::Response r;
  for (int i = 0; i < 50; ++i) {
    r = run(request("{}"));
    if (r.status != 409) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(r.status, 200) << "a relayed body is not replayable: the key was released";
}

TEST_P(IdempotentTest, TheRememberedAnswerIsSealedInTheStore) {
  auto r = run(request(R"({"input":"confidential"})"), 200);
  ASSERT_EQ(r.status, 200);
  auto c = connect();
  auto q = c->prepare("SELECT response_sealed, state FROM idempotency_keys");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_text(1), "done");
  EXPECT_EQ(q.column_blob(0).find("call"), std::string::npos) << "answers are stored sealed";
}

PC_ALL_BACKENDS(IdempotentTest);

TEST(IdempotencyRules, RequestHashTellsMethodPathAndBodyApart) {
  using agents::Idempotency;
  const auto h = Idempotency::request_hash("POST", "/a", "{}");
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(h, Idempotency::request_hash("POST", "/a", "{}"));
  EXPECT_NE(h, Idempotency::request_hash("POST", "/b", "{}"));
  EXPECT_NE(h, Idempotency::request_hash("PUT", "/a", "{}"));
  EXPECT_NE(h, Idempotency::request_hash("POST", "/a", "{} "));
  EXPECT_NE(Idempotency::request_hash("POST", "/a{", "}"), Idempotency::request_hash("POST", "/a", "{}"));
}

TEST(IdempotencyRules, WhichAnswersAreRemembered) {
  using agents::Idempotency;
  for (int s : {200, 201, 202, 400, 404, 422}) EXPECT_TRUE(Idempotency::worth_remembering(s)) << s;
  for (int s : {408, 409, 425, 429, 500, 502, 503, 504, 499, 101}) EXPECT_FALSE(Idempotency::worth_remembering(s)) << s;
}

}  // namespace
}  // namespace pc::api

namespace pc::api {
namespace {

// ForwardTo as net's issue 9 branch shapes it (transform + on_outcome), and as it is today.
struct BufferedTo {
  std::function<net::Response(std::string&&)> transform;
  std::function<void(int&&)> on_outcome;
  std::function<void(int)> on_complete;
};
struct RelayTo {
  std::function<void(int)> on_complete;
};

TEST(IdempotentForward, ABufferedAnswerIsSeenAndTheRoutesHooksStillRun) {
  BufferedTo to;
  int outcomes = 0;
  to.transform = [](std::string&& body) { return net::Response::json(200, "{\"got\":\"" + body + "\"}"); };
  to.on_outcome = [&](int&&) { ++outcomes; };
  std::string seen;
  int ended = 0;
  detail::watch_forward(to, [&](const net::Response& r) { seen = r.body; }, [&] { ++ended; });
  auto r = to.transform("x");
  EXPECT_EQ(r.body, "{\"got\":\"x\"}") << "the client gets what the route's transform made";
  EXPECT_EQ(seen, r.body);
  EXPECT_EQ(ended, 0);
  to.on_outcome(0);
  EXPECT_EQ(ended, 1);
  EXPECT_EQ(outcomes, 1);
  EXPECT_FALSE(to.on_complete) << "on_complete is left alone in buffered mode";
}

TEST(IdempotentForward, WithoutATransformOnlyTheEndIsSeen) {
  BufferedTo buffered_without;  // members exist, no transform set: a relay
  int ended = 0, seen = 0;
  detail::watch_forward(buffered_without, [&](const net::Response&) { ++seen; }, [&] { ++ended; });
  ASSERT_TRUE(buffered_without.on_complete);
  buffered_without.on_complete(200);
  RelayTo relay;
  int completed = 0;
  relay.on_complete = [&](int) { ++completed; };
  detail::watch_forward(relay, [&](const net::Response&) { ++seen; }, [&] { ++ended; });
  relay.on_complete(499);
  EXPECT_EQ(ended, 2);
  EXPECT_EQ(seen, 0);
  EXPECT_EQ(completed, 1);
}

}  // namespace
}  // namespace pc::api
