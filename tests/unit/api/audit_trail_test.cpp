// The API's audit trail (SPEC §6: every API call and security event is audited) with a real
// AuditLog over a real SQLite store: reads pass through at once, changes are answered only once
// their event is durable (503 audit_unavailable when it cannot be), security events ride along.
#include "api/audit_trail.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "audit/audit_test_support.h"
#include "api/refusals.h"
#include "audit/verify.h"
#include "core/metrics.h"
#include "store/store.h"
#include "support/temp_dir.h"

namespace pc::api {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using audit::testing::all_records;
using audit::testing::FailingStore;
using audit::testing::GatedStore;

// What a Responder was answered with, from whichever thread answered it.
class Answer {
 public:
  net::Responder responder() {
    return net::Responder([this](net::Response&& r) {
      std::lock_guard lk(mu_);
      ++calls_;
      response_ = std::move(r);
      cv_.notify_all();
    });
  }
  bool fired() {
    std::lock_guard lk(mu_);
    return calls_ > 0;
  }
  int calls() {
    std::lock_guard lk(mu_);
    return calls_;
  }
  // Waits up to 5 s for the answer.
  std::optional<net::Response> wait() {
    std::unique_lock lk(mu_);
    if (!cv_.wait_for(lk, 5s, [&] { return calls_ > 0; })) return std::nullopt;
    return response_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int calls_ = 0;
  net::Response response_;
};

// Opens a GatedStore's gate when a test ends, before the AuditLog (declared earlier) is
// destroyed: the log's stop() waits for its writer, which would otherwise wait at the gate
// forever after a failed assertion.
struct OpenOnExit {
  GatedStore& gated;
  ~OpenOnExit() { gated.open(); }
};

std::shared_ptr<net::Request> request(std::string method, std::string path = "/v1/tenants/acme/clients",
                                      std::string_view route = "/v1/tenants/{id}/clients") {
  auto req = std::make_shared<net::Request>();
  req->method = std::move(method);
  req->path = req->target = std::move(path);
  req->route = route;
  req->request_id = "req-77";
  req->remote_address = "10.0.0.7";
  return req;
}

std::shared_ptr<const auth::Principal> principal(std::string tenant = "acme", std::string subject = "client:ci") {
  auto p = std::make_shared<auth::Principal>();
  p->subject = std::move(subject);
  p->tenant = std::move(tenant);
  p->roles = {"SelfService.Admin"};
  return p;
}

std::string error_code(const net::Response& r) {
  return std::string(json::parse(r.body).at("error").at("code").as_string());
}

class AuditTrailTest : public ::testing::Test {
 protected:
  pc::testing::TempDir dir{"pc-audit-trail"};
  std::unique_ptr<store::Store> store = store::Store::open_sqlite(dir.file("portcullis.db"));
};

// ---- reads

TEST_F(AuditTrailTest, AGetIsAnsweredAtOnceAndRecorded) {
  GatedStore gated(*store);
  audit::AuditLog log(gated);
  OpenOnExit open{gated};
  AuditTrail trail(&log);

  Answer answer;
  auto req = request("GET");
  net::Responder wrapped = trail.record(req, principal(), answer.responder());
  wrapped(net::Response::json(200, R"({"clients":[]})"));
  // The writer is held at the gate, so the event is not durable yet: the read did not wait.
  ASSERT_TRUE(answer.fired()) << "a read waited for its audit event";
  auto r = answer.wait();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"clients":[]})");

  gated.open();
  log.flush();
  auto rows = all_records(*store);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].tenant_id, "acme");
  EXPECT_EQ(rows[0].actor, "client:ci");
  EXPECT_EQ(rows[0].action, "http.GET /v1/tenants/{id}/clients");
  EXPECT_EQ(rows[0].resource, "/v1/tenants/acme/clients");
  EXPECT_EQ(rows[0].outcome, "200");
  EXPECT_EQ(rows[0].request_id, "req-77");
  EXPECT_TRUE(audit::verify(*store).ok);
}

// Issue 8 item 19: a platform admin's actions on a tenant belong to that tenant's log (its audit
// search and export show them), with the actor's own tenant recorded beside the actor.
TEST_F(AuditTrailTest, APlatformPrincipalsActionOnATenantIsThatTenantsEvent) {
  audit::AuditLog log(*store);
  AuditTrail trail(&log);
  auto admin = principal("platform", "admin-1");
  Answer answer;
  auto req = request("POST", "/v1/tenants/acme/clients");
  req->params = {{"id", "acme"}};
  trail.record(req, admin, answer.responder())(net::Response::json(201, "{}"));
  ASSERT_EQ(answer.wait()->status, 201);

  // A tenant principal probing another tenant stays in its own log.
  Answer probe;
  auto other = request("GET", "/v1/tenants/globex/clients");
  other->params = {{"id", "globex"}};
  trail.record(other, principal("acme"), probe.responder())(net::Response::json(200, "{}"));
  // A platform route without a tenant stays the platform's.
  Answer list;
  trail.record(request("GET", "/v1/tenants", "/v1/tenants"), admin, list.responder())(net::Response::json(200, "{}"));
  log.flush();

  auto rows = all_records(*store);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].tenant_id, "acme");
  EXPECT_EQ(rows[0].actor, "admin-1");
  EXPECT_EQ(json::parse(rows[0].details).at("actorTenant").as_string(), "platform");
  EXPECT_EQ(rows[1].tenant_id, "acme");
  EXPECT_FALSE(json::parse(rows[1].details).as_object().contains("actorTenant"));
  EXPECT_EQ(rows[2].tenant_id, "platform");
}

TEST_F(AuditTrailTest, TheOutcomeIsTheStatusTheHandlerAnswered) {
  audit::AuditLog log(*store);
  AuditTrail trail(&log);
  Answer answer;
  trail.record(request("GET"), principal(), answer.responder())(net::error_response(404, "not_found", "no", "req-77"));
  EXPECT_EQ(answer.wait()->status, 404);
  log.flush();
  auto rows = all_records(*store);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].outcome, "404");
}

TEST_F(AuditTrailTest, ADelegatedCallerIsRecordedWithWhomItActsFor) {
  audit::AuditLog log(*store);
  AuditTrail trail(&log);
  auto p = std::make_shared<auth::Principal>();
  p->subject = "agent:echo";
  p->tenant = "acme";
  p->actor = "user-9";
  Answer answer;
  trail.record(request("GET"), p, answer.responder())(net::Response::json(200, "{}"));
  ASSERT_TRUE(answer.wait());
  log.flush();
  auto rows = all_records(*store);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].actor, "agent:echo");
  EXPECT_EQ(json::parse(rows[0].details).at("onBehalfOf").as_string(), "user-9");
}

// ---- changes: acknowledged only once durable

TEST_F(AuditTrailTest, APostIsAnsweredOnlyOnceItsEventIsDurable) {
  GatedStore gated(*store);
  audit::AuditLog log(gated);
  OpenOnExit open{gated};
  AuditTrail trail(&log);

  Answer answer;
  net::Responder wrapped = trail.record(request("POST"), principal(), answer.responder());
  wrapped(net::Response::json(201, R"({"clientId":"acme-1"})"));
  gated.wait_calls(1);  // the writer holds the event's batch at the gate
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(answer.fired()) << "a change was acknowledged before its audit event was durable";
  EXPECT_TRUE(all_records(*store).empty());

  gated.open();
  auto r = answer.wait();
  ASSERT_TRUE(r) << "never answered after the event became durable";
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, R"({"clientId":"acme-1"})");
  EXPECT_EQ(answer.calls(), 1);
  // Durable means in the store by the time the answer went out.
  auto rows = all_records(*store);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].action, "http.POST /v1/tenants/{id}/clients");
  EXPECT_EQ(rows[0].outcome, "201");
  EXPECT_EQ(rows[0].request_id, "req-77");
}

TEST_F(AuditTrailTest, EveryStateChangingMethodWaitsAndHeadDoesNot) {
  GatedStore gated(*store);
  audit::AuditLog log(gated);
  OpenOnExit open{gated};
  AuditTrail trail(&log);

  std::vector<std::unique_ptr<Answer>> changes;
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE"}) {
    changes.push_back(std::make_unique<Answer>());
    trail.record(request(method), principal(), changes.back()->responder())(net::Response::json(200, "{}"));
  }
  Answer head;
  trail.record(request("HEAD"), principal(), head.responder())(net::Response::json(200, ""));
  gated.wait_calls(1);
  EXPECT_TRUE(head.fired()) << "HEAD is a read";
  for (auto& a : changes) EXPECT_FALSE(a->fired());

  gated.open();
  for (auto& a : changes) {
    auto r = a->wait();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  log.flush();
  EXPECT_EQ(all_records(*store).size(), 5u);
}

TEST_F(AuditTrailTest, AProxiedPostIsForwardedWithoutWaiting) {
  GatedStore gated(*store);
  audit::AuditLog log(gated);
  OpenOnExit open{gated};
  AuditTrail trail(&log);

  net::ForwardTo to;
  to.host = "127.0.0.1";
  to.port = 9000;
  to.target = "/invocations";
  Answer answer;
  trail.record(request("POST", "/v1/agents/echo/invoke", "/v1/agents/{name}/invoke"), principal(),
               answer.responder())(net::Response::proxy(to));
  ASSERT_TRUE(answer.fired()) << "a forwarded call waited for its audit event";
  auto r = answer.wait();
  ASSERT_TRUE(r->forward);
  EXPECT_EQ(r->forward->port, 9000);

  gated.open();
  log.flush();
  auto rows = all_records(*store);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].action, "http.POST /v1/agents/{name}/invoke");
}

TEST_F(AuditTrailTest, APostWhoseEventCannotBeWrittenBecomes503) {
  FailingStore failing(*store);  // every append_audit throws
  audit::AuditLog log(failing);
  AuditTrail trail(&log);

  Answer answer;
  trail.record(request("POST"), principal(), answer.responder())(net::Response::json(201, R"({"secret":"s3cr3t"})"));
  auto r = answer.wait();  // after the log's bounded retries
  ASSERT_TRUE(r) << "never answered";
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(error_code(*r), "audit_unavailable");
  EXPECT_EQ(json::parse(r->body).at("error").at("requestId").as_string(), "req-77");
  EXPECT_EQ(r->body.find("s3cr3t"), std::string::npos) << "the unaudited answer leaked";
  // the handler succeeded, so the change may be there: the client is told
  // to check before retrying (a retry would make a second client, say).
  EXPECT_NE(r->body.find("may have been applied"), std::string::npos) << r->body;
  EXPECT_EQ(answer.calls(), 1);
  EXPECT_GE(failing.attempts(), 1);
  EXPECT_TRUE(all_records(*store).empty());

  // What a POST whose handler answered `handler_answer` is answered in the end.
  auto finally_answered = [&](net::Response handler_answer) {
    Answer a;
    trail.record(request("POST"), principal(), a.responder())(std::move(handler_answer));
    return a.wait();
  };

  // A refusal whose event cannot be written changed nothing: the plain message.
  auto rr = finally_answered(net::error_response(409, "conflict", "exists", "req-77"));
  ASSERT_TRUE(rr) << "never answered";
  EXPECT_EQ(rr->status, 503);
  EXPECT_EQ(rr->body.find("may have been applied"), std::string::npos) << rr->body;

  // A handler's own 5xx is kept: it can know more than this layer (the store lost its
  // connection during the commit, so the change may be there after all).
  auto rf = finally_answered(net::error_response(503, "store_unavailable",
                                                 "the change may have been applied: check before retrying", "req-77"));
  ASSERT_TRUE(rf) << "never answered";
  EXPECT_EQ(rf->status, 503);
  EXPECT_EQ(error_code(*rf), "store_unavailable");
  EXPECT_NE(rf->body.find("may have been applied"), std::string::npos) << rf->body;
}

TEST_F(AuditTrailTest, APostMeetingAFullQueueIs503AtOnce) {
  GatedStore gated(*store);
  audit::AuditLog log(gated, audit::AuditLog::Options{.max_batch = 100, .max_queue = 1});
  OpenOnExit open{gated};
  AuditTrail trail(&log);

  audit::Event filler;
  filler.tenant_id = "platform";
  filler.actor = "system";
  filler.action = "test.fill";
  ASSERT_TRUE(log.record(filler));
  gated.wait_calls(1);              // the writer holds the first event at the gate
  ASSERT_TRUE(log.record(filler));  // and the one queue place is taken

  Answer post;
  trail.record(request("POST"), principal(), post.responder())(net::Response::json(201, "{}"));
  ASSERT_TRUE(post.fired()) << "a refused event must be answered at once, not after the queue drains";
  auto r = post.wait();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(error_code(*r), "audit_unavailable");

  // A read that cannot be recorded is not served either.
  Answer get;
  trail.record(request("GET"), principal(), get.responder())(net::Response::json(200, R"({"clients":[]})"));
  ASSERT_TRUE(get.fired());
  EXPECT_EQ(get.wait()->status, 503);

  gated.open();
  log.flush();
  auto rows = all_records(*store);
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& row : rows) EXPECT_EQ(row.action, "test.fill");
}

TEST_F(AuditTrailTest, APostAfterTheLogStoppedIs503) {
  audit::AuditLog log(*store);
  AuditTrail trail(&log);
  log.stop();

  Answer answer;
  trail.record(request("POST"), principal(), answer.responder())(net::Response::json(201, "{}"));
  ASSERT_TRUE(answer.fired());
  auto r = answer.wait();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(error_code(*r), "audit_unavailable");
  EXPECT_TRUE(all_records(*store).empty());
}

// ---- security events

TEST_F(AuditTrailTest, AnAnswerWithAnAuditActionRecordsASecurityEventToo) {
  audit::AuditLog log(*store);
  AuditTrail trail(&log);
  net::Response refused = net::error_response(403, "forbidden", "tenant access violation", "req-77");
  refused.audit_action = "security.tenant_access_violation";

  Answer answer;
  trail.record(request("GET", "/v1/tenants/globex/clients"), principal(), answer.responder())(std::move(refused));
  auto r = answer.wait();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  log.flush();

  auto rows = all_records(*store);
  ASSERT_EQ(rows.size(), 2u);
  const store::AuditRecord* security = nullptr;
  const store::AuditRecord* call = nullptr;
  for (const auto& row : rows) (row.action.rfind("security.", 0) == 0 ? security : call) = &row;
  ASSERT_NE(security, nullptr);
  ASSERT_NE(call, nullptr);
  EXPECT_EQ(security->action, "security.tenant_access_violation");
  EXPECT_EQ(security->tenant_id, "acme");
  EXPECT_EQ(security->actor, "client:ci");
  EXPECT_EQ(security->outcome, "denied");
  EXPECT_EQ(security->resource, "/v1/tenants/globex/clients");
  EXPECT_EQ(security->request_id, "req-77");
  auto details = json::parse(security->details).as_object();
  EXPECT_EQ(details.at("route").as_string(), "GET /v1/tenants/{id}/clients");
  EXPECT_EQ(details.at("status").to_number<int>(), 403);
  EXPECT_EQ(details.at("remoteAddress").as_string(), "10.0.0.7");
  EXPECT_EQ(call->action, "http.GET /v1/tenants/{id}/clients");
  EXPECT_EQ(call->outcome, "403");
}

TEST_F(AuditTrailTest, AMarkedChangeRecordsBothAndStillWaits) {
  GatedStore gated(*store);
  audit::AuditLog log(gated);
  OpenOnExit open{gated};
  AuditTrail trail(&log);
  net::Response refused = net::error_response(403, "forbidden", "tenant access violation", "req-77");
  refused.audit_action = "security.tenant_access_violation";

  Answer answer;
  trail.record(request("POST"), principal(), answer.responder())(std::move(refused));
  gated.wait_calls(1);
  EXPECT_FALSE(answer.fired());
  gated.open();
  ASSERT_TRUE(answer.wait());
  log.flush();
  auto rows = all_records(*store);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].action, "security.tenant_access_violation");
  EXPECT_EQ(rows[1].action, "http.POST /v1/tenants/{id}/clients");
}

TEST_F(AuditTrailTest, RefusalsAreSecurityEvents) {
  audit::AuditLog log(*store);
  AuditTrail trail(&log);
  auto req = request("GET");

  // 401: nobody was authenticated.
  trail.refusal(*req, nullptr, net::error_response(401, "unauthenticated", "no token", "req-77"));
  // 403: authenticated, not allowed.
  const auto who = principal("acme", "user-5");
  trail.refusal(*req, who.get(), net::error_response(403, "forbidden", "no role", "req-77"));
  log.flush();

  auto rows = all_records(*store);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].action, "security.authentication_failed");
  EXPECT_EQ(rows[0].actor, "anonymous");
  EXPECT_EQ(rows[0].tenant_id, "platform");
  EXPECT_EQ(rows[0].outcome, "denied");
  EXPECT_EQ(rows[0].request_id, "req-77");
  EXPECT_EQ(json::parse(rows[0].details).at("status").to_number<int>(), 401);

  EXPECT_EQ(rows[1].action, "security.access_denied");
  EXPECT_EQ(rows[1].actor, "user-5");
  EXPECT_EQ(rows[1].tenant_id, "acme");
  EXPECT_EQ(rows[1].outcome, "denied");
  EXPECT_EQ(json::parse(rows[1].details).at("status").to_number<int>(), 403);
  EXPECT_EQ(json::parse(rows[1].details).at("remoteAddress").as_string(), "10.0.0.7");
}

// ---- refusals at a bounded cost

double auth_failures(std::string_view reason) {
  return core::metrics().counter("portcullis_auth_failures_total", "", {"reason"}).labels({std::string(reason)}).value();
}

net::Response garbage_token_answer() { return net::error_response(401, "unauthenticated", "the bearer token is not valid", "x"); }

TEST_F(AuditTrailTest, AFloodOfRefusalsCostsAFewRowsAndExactCountsWhileServedCallsAreStillAudited) {
  // Before: every refusal was one audit row (and one warn line), so N garbage tokens were N rows.
  audit::AuditLog log(*store);
  AuditTrail trail(&log);
  RefusalRecorder refusals(&trail);
  const double before = auth_failures("malformed");
  constexpr int kFlood = 20000;
  Answer served;
  for (int i = 0; i < kFlood; ++i) {
    auto req = request("GET", "/v1/agents", "/v1/agents");
    req->request_id = "flood-" + std::to_string(i);
    req->remote_address = "198.51.100." + std::to_string(i % 200);  // one /24
    refusals.refused(*req, nullptr, garbage_token_answer(), "malformed", "not a JWS");
    if (i == kFlood / 2) {
      // A served change in the middle of the flood is audited and acknowledged.
      auto post = request("POST");
      post->request_id = "served-1";
      trail.record(post, principal(), served.responder())(net::Response::json(201, "{}"));
    }
  }
  auto answer = served.wait();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 201);
  refusals.flush();
  log.flush();

  EXPECT_EQ(auth_failures("malformed") - before, kFlood) << "metrics count every refusal";
  auto rows = all_records(*store);
  EXPECT_LE(rows.size(), 10u) << "a flood of refusals must not cost a row each";
  std::uint64_t individual = 0, summed = 0;
  bool served_row = false;
  for (const auto& row : rows) {
    if (row.request_id == "served-1") served_row = row.action == "http.POST /v1/tenants/{id}/clients";
    if (row.action != "security.authentication_failed") continue;
    auto d = json::parse(row.details).as_object();
    if (d.contains("summary")) {
      summed += d.at("count").to_number<std::uint64_t>();
      EXPECT_EQ(d.at("remoteNetwork").as_string(), "198.51.100.0/24");
      EXPECT_EQ(d.at("reason").as_string(), "malformed");
      EXPECT_EQ(row.actor, "anonymous");
    } else {
      ++individual;
    }
  }
  EXPECT_TRUE(served_row) << "the served call was not audited";
  EXPECT_EQ(individual, RefusalOptions{}.audited_per_source);
  EXPECT_EQ(individual + summed, static_cast<std::uint64_t>(kFlood)) << "the summary counts what was not recorded one by one";
}

TEST_F(AuditTrailTest, RefusalsHaveTheirOwnShareOfTheQueueAndNeverTakeServedCallsRoom) {
  GatedStore gated(*store);
  audit::AuditLog log(gated, audit::AuditLog::Options{.max_batch = 100, .max_queue = 64});
  OpenOnExit open{gated};
  AuditTrail trail(&log, /*refusal_budget=*/8);
  auto req = request("GET");
  int queued = 0;
  for (int i = 0; i < 200; ++i) queued += trail.refusal(*req, nullptr, garbage_token_answer()) ? 1 : 0;
  EXPECT_EQ(queued, 8) << "refusals beyond their budget are dropped, not queued";

  Answer post;
  trail.record(request("POST"), principal(), post.responder())(net::Response::json(201, "{}"));
  gated.open();
  auto r = post.wait();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201) << "a served change found no room in the audit queue";
  log.flush();
  // Once written, the budget is free again.
  EXPECT_TRUE(trail.refusal(*req, nullptr, garbage_token_answer()));
}

TEST_F(AuditTrailTest, AuthenticatedRefusalsAndViolationsStayIndividual) {
  audit::AuditLog log(*store);
  AuditTrail trail(&log);
  RefusalRecorder refusals(&trail);
  const auto who = principal("acme", "user-5");
  for (int i = 0; i < 50; ++i) {
    auto req = request("GET");
    req->request_id = "denied-" + std::to_string(i);
    refusals.refused(*req, who.get(), net::error_response(403, "forbidden", "no role", "x"), "role");
  }
  for (int i = 0; i < 20; ++i) {
    auto req = request("GET");
    req->request_id = "violation-" + std::to_string(i);
    auto answer = net::error_response(403, "forbidden", "tenant access violation", "x");
    answer.audit_action = "security.tenant_access_violation";
    refusals.refused(*req, who.get(), answer, "tenant_violation");
  }
  refusals.flush();
  log.flush();
  int denied = 0, violations = 0;
  for (const auto& row : all_records(*store)) {
    EXPECT_EQ(row.tenant_id, "acme");
    EXPECT_EQ(row.actor, "user-5");
    denied += row.action == "security.access_denied";
    violations += row.action == "security.tenant_access_violation";
  }
  EXPECT_EQ(denied, 50);
  EXPECT_EQ(violations, 20);
}

TEST_F(AuditTrailTest, AWindowsSummaryIsWrittenByTheNextTickAfterItEnds) {
  audit::AuditLog log(*store);
  AuditTrail trail(&log);
  // A window long enough that the 30 refusals below surely fall in it on a loaded CI machine
  // (50 ms was not: the summary then came with the first tick).
  RefusalRecorder refusals(&trail, RefusalOptions{.window = 1000ms, .audited_per_source = 2});
  for (int i = 0; i < 30; ++i) {
    auto req = request("GET", "/v1/agents", "/v1/agents");
    req->request_id = "r-" + std::to_string(i);
    refusals.refused(*req, nullptr, garbage_token_answer(), "expired");
  }
  refusals.tick();  // the window is still open: nothing more
  log.flush();
  EXPECT_EQ(all_records(*store).size(), 2u);
  std::this_thread::sleep_for(1100ms);
  refusals.tick();
  log.flush();
  auto rows = all_records(*store);
  ASSERT_EQ(rows.size(), 3u);
  auto d = json::parse(rows[2].details).as_object();
  EXPECT_EQ(d.at("count").to_number<int>(), 28);
  EXPECT_EQ(d.at("route").as_string(), "GET /v1/agents");
  EXPECT_EQ(rows[2].request_id, "r-2") << "the first refusal the summary stands for";
}

TEST(ClientNetwork, RefusalsAreAttributedToANetwork) {
  EXPECT_EQ(client_network("198.51.100.77"), "198.51.100.0/24");
  EXPECT_EQ(client_network("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(client_network("::1"), "::1");
  EXPECT_EQ(client_network(""), "");
}

// ---- auditing off

TEST_F(AuditTrailTest, WithoutALogEverythingPassesThrough) {
  AuditTrail trail(nullptr);
  for (const char* method : {"GET", "POST", "DELETE"}) {
    Answer answer;
    net::Response r = net::Response::json(201, R"({"ok":true})");
    r.audit_action = "security.tenant_access_violation";
    trail.record(request(method), principal(), answer.responder())(std::move(r));
    ASSERT_TRUE(answer.fired()) << method;
    auto got = answer.wait();
    EXPECT_EQ(got->status, 201) << method;
    EXPECT_EQ(got->body, R"({"ok":true})") << method;
  }
  auto req = request("GET");
  EXPECT_NO_THROW(trail.refusal(*req, nullptr, net::error_response(401, "unauthenticated", "x", "req-77")));
}

}  // namespace
}  // namespace pc::api
