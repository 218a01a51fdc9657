// PushRelay against a real store (SQLite, and PostgreSQL when the run has one), the real webhook
// queue and a receiver on 127.0.0.1: the runtime gets only the relay URL and a random token, the
// client's URL is judged like a webhook target (SSRF), the relay refuses a wrong token and
// another task, deliveries carry the client's token and a gateway JWT verifiable with its key,
// a receiver that keeps failing ends in a dead letter.
#include "a2a/push_relay.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <thread>

#include "a2a/push_signer.h"
#include "agents/webhooks.h"
#include "auth/signing_keys.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "crypto/master_keyring.h"
#include "jose/jws.h"
#include "store/store.h"
#include "support/http_receiver.h"
#include "support/test_store.h"
#include "vault/data_keys.h"
#include "vault/vault_test_util.h"

namespace pc::a2a {
namespace {

namespace json = boost::json;
using pc::testing::Receiver;

constexpr std::string_view kBase = "https://gw.test";

core::WebhooksConfig loopback_rules() {
  core::WebhooksConfig c;
  c.allow_private_targets = true;  // the receiver is on loopback
  c.allow_http = true;
  c.max_attempts = 3;
  c.backoff_initial_ms = 1;
  c.backoff_max_ms = 5;
  c.timeout_ms = 2000;
  return c;
}

double pushes(std::string_view outcome) {
  return core::metrics().counter("portcullis_a2a_push_deliveries_total", "", {"outcome"}).labels({outcome}).value();
}

class PushRelayTest : public pc::testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    data_keys = std::make_unique<vault::DataKeys>(store(), ring);
    webhooks = std::make_unique<agents::Webhooks>(store(), *data_keys, loopback_rules());
    auth::SigningKeys::ensure_key(store(), ring.current());
    signing.load(store(), core::unix_now());
    PushRelaySetup s;
    s.store = &store();
    s.keys = data_keys.get();
    s.webhooks = webhooks.get();
    s.public_base = [] { return std::string(kBase); };
    s.max_configs_per_task = 3;
    s.sign = make_push_signer(signing, [] { return std::string(kBase); });
    relay = make_push_relay(std::move(s));
  }
  void TearDown() override {
    relay.reset();
    webhooks.reset();
    data_keys.reset();
    BackendTest::TearDown();
  }
  void drain(int ms = 3000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    int idle = 0;
    while (std::chrono::steady_clock::now() < deadline && idle < 20) {
      if (webhooks->run_due(10) == 0) {
        ++idle;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      } else {
        idle = 0;
      }
    }
  }
  // The relay id and token the runtime got.
  static std::pair<std::string, std::string> relay_of(const json::object& runtime_config) {
    std::string url(runtime_config.at("url").as_string());
    return {url.substr(url.rfind('/') + 1), std::string(runtime_config.at("token").as_string())};
  }
  static std::string status_update(std::string_view task) {
    return json::serialize(json::object{
        {"statusUpdate", json::object{{"taskId", task}, {"contextId", "c1"}, {"status", {{"state", "TASK_STATE_COMPLETED"}}}}}});
  }

  crypto::MasterKeyring ring{vault::testing::master_key(7)};
  std::unique_ptr<vault::DataKeys> data_keys;
  std::unique_ptr<agents::Webhooks> webhooks;
  auth::SigningKeys signing{ring};
  std::unique_ptr<PushRelay> relay;
  Owner alice{"acme", "user:alice", "echo"};
};

TEST_P(PushRelayTest, TheRuntimeGetsTheRelayUrlAndTheClientsSecretsStaySealed) {
  Receiver rx;
  json::object client{{"url", rx.url()}, {"token", "client-token-123"},
                      {"authentication", {{"scheme", "Bearer"}, {"credentials", "client-cred-456"}}}};
  json::object out = relay->register_config(alice, "t1", Version::v1_0, client);
  const std::string url(out.at("url").as_string());
  EXPECT_TRUE(url.starts_with(std::string(kBase) + "/a2a-push/a2ap_")) << url;
  EXPECT_NE(out.at("token").as_string(), "client-token-123");
  EXPECT_GE(out.at("token").as_string().size(), 40u);
  EXPECT_FALSE(out.contains("authentication"));  // the client's credentials never reach the runtime
  EXPECT_EQ(out.at("taskId").as_string(), "t1");
  EXPECT_FALSE(out.at("id").as_string().empty());  // we pick an id when the client gave none

  auto [relay_id, token] = relay_of(out);
  auto row = store().find_a2a_push_config(relay_id);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->url, rx.url());
  EXPECT_EQ(row->client_sealed.find("client-token-123"), std::string::npos);
  EXPECT_EQ(row->client_sealed.find("client-cred-456"), std::string::npos);
  EXPECT_EQ(row->relay_token_hash.find(token), std::string::npos);  // hashed at rest
}

TEST_P(PushRelayTest, ClientUrlsAreJudgedLikeWebhookTargets) {
  core::WebhooksConfig strict;  // defaults: https only, no private targets
  webhooks->set_config(strict);
  for (std::string url : {"http://127.0.0.1:9/hook", "https://127.0.0.1/hook", "https://169.254.169.254/latest",
                          "https://10.1.2.3/x", "https://user:pw@example.com/x", "ftp://example.com/x", ""}) {
    EXPECT_THROW(relay->register_config(alice, "t1", Version::v1_0, {{"url", url}}), PushRefused) << url;
  }
  EXPECT_THROW(relay->register_config(alice, "t1", Version::v1_0, json::object{}), PushRefused);
  // allow_private_targets without allow_http: loopback over https passes the check, http does not.
  core::WebhooksConfig priv = strict;
  priv.allow_private_targets = true;
  webhooks->set_config(priv);
  EXPECT_THROW(relay->register_config(alice, "t1", Version::v1_0, {{"url", "http://127.0.0.1:9/hook"}}), PushRefused);
  EXPECT_NO_THROW(relay->register_config(alice, "t1", Version::v1_0, {{"url", "https://127.0.0.1:9/hook"}}));
}

TEST_P(PushRelayTest, TokensAndCredentialsThatCouldInjectHeadersAreRefused) {
  Receiver rx;
  EXPECT_THROW(relay->register_config(alice, "t1", Version::v1_0, {{"url", rx.url()}, {"token", "a\r\nX-Evil: 1"}}),
               PushRefused);
  EXPECT_THROW(relay->register_config(alice, "t1", Version::v1_0,
                                      {{"url", rx.url()}, {"authentication", {{"scheme", "Bearer"}, {"credentials", "x\ny"}}}}),
               PushRefused);
  EXPECT_THROW(relay->register_config(alice, "t1", Version::v1_0, {{"url", rx.url()}, {"taskId", "other-task"}}),
               PushRefused);
}

TEST_P(PushRelayTest, ClientViewShowsOnlyTheCallersOwnConfigs) {
  Receiver rx;
  json::object mine = relay->register_config(alice, "t1", Version::v1_0,
                                             {{"id", "cfg-a"}, {"url", rx.url()}, {"token", "tok-a"}});
  Owner bob{"globex", "user:bob", "echo"};
  json::object theirs = relay->register_config(bob, "t9", Version::v1_0, {{"id", "cfg-b"}, {"url", rx.url()}});

  json::value one = relay->client_view(alice, "t1", Version::v1_0, mine);
  ASSERT_TRUE(one.is_object());
  EXPECT_EQ(one.at("url").as_string(), rx.url());
  EXPECT_EQ(one.at("token").as_string(), "tok-a");
  EXPECT_EQ(one.at("id").as_string(), "cfg-a");

  // A list with mine, another tenant's and one we never issued: only mine is shown.
  json::object list{{"configs", json::array{mine, theirs, {{"id", "x"}, {"url", "https://elsewhere.example/hook"}}}}};
  json::value shown = relay->client_view(alice, "t1", Version::v1_0, list);
  ASSERT_EQ(shown.at("configs").as_array().size(), 1u);
  EXPECT_EQ(shown.at("configs").as_array()[0].at("url").as_string(), rx.url());

  // Another tenant (or principal) asking about my config sees nothing.
  EXPECT_TRUE(relay->client_view(bob, "t1", Version::v1_0, mine).is_null());
  Owner mallory{"acme", "user:mallory", "echo"};
  EXPECT_TRUE(relay->client_view(mallory, "t1", Version::v1_0, mine).is_null());
  EXPECT_TRUE(relay->client_view(alice, "t2", Version::v1_0, mine).is_null());  // not this task's
}

TEST_P(PushRelayTest, TheV03ShapeRoundTripsAndItsCredentialsAuthenticateTheDelivery) {
  Receiver rx;
  json::object client{{"url", rx.url()}, {"token", "tok-03"},
                      {"authentication", {{"schemes", json::array{"Bearer"}}, {"credentials", "cred-03"}}}};
  json::object out = relay->register_config(alice, "t3", Version::v0_3, client);
  EXPECT_FALSE(out.contains("taskId"));
  EXPECT_FALSE(out.contains("authentication"));
  // The runtime's 0.3 list answer: [{taskId, pushNotificationConfig}].
  json::array answer{{{"taskId", "t3"}, {"pushNotificationConfig", out}}};
  json::value shown = relay->client_view(alice, "t3", Version::v0_3, answer);
  ASSERT_EQ(shown.as_array().size(), 1u);
  const auto& cfg = shown.as_array()[0].at("pushNotificationConfig").as_object();
  EXPECT_EQ(cfg.at("url").as_string(), rx.url());
  EXPECT_EQ(cfg.at("token").as_string(), "tok-03");
  EXPECT_EQ(cfg.at("authentication").at("credentials").as_string(), "cred-03");

  auto [relay_id, token] = relay_of(out);
  const std::string task03 = R"({"kind":"task","id":"t3","contextId":"c","status":{"state":"completed"}})";
  auto r = relay->relay(relay_id, token, task03);
  ASSERT_EQ(r.outcome, PushRelay::RelayOutcome::queued);
  drain();
  auto got = rx.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, task03);
  EXPECT_EQ(got[0].header("x-a2a-notification-token"), "tok-03");
  EXPECT_EQ(got[0].header("authorization"), "Bearer cred-03");  // the client's own credentials win
  EXPECT_FALSE(got[0].header("x-portcullis-push-signature").empty());
}

TEST_P(PushRelayTest, ADeliveryCarriesTheClientsTokenAndAGatewayJwtOverItsBody) {
  Receiver rx;
  json::object out =
      relay->register_config(alice, "t1", Version::v1_0, {{"url", rx.url()}, {"token", "client-token-123"}});
  auto [relay_id, token] = relay_of(out);
  const double delivered = pushes("delivered");
  const std::string body = status_update("t1");
  auto r = relay->relay(relay_id, token, body);
  ASSERT_EQ(r.outcome, PushRelay::RelayOutcome::queued);
  EXPECT_EQ(r.tenant, "acme");
  drain();
  auto got = rx.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, body);  // the runtime's bytes, unwrapped
  EXPECT_EQ(got[0].header("x-a2a-notification-token"), "client-token-123");
  const std::string jwt = got[0].header("x-portcullis-push-signature");
  EXPECT_EQ(got[0].header("authorization"), "Bearer " + jwt);
  EXPECT_EQ(pushes("delivered"), delivered + 1);

  jose::VerifyOptions vo;
  vo.claims.issuer = std::string(kBase);
  vo.claims.audiences = {rx.url()};
  vo.claims.now = core::unix_now();
  auto v = jose::verify_jws(jwt, signing.active()->public_key(), vo);
  ASSERT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.payload.at("request_body_sha256").as_string(), sha256_hex(body));
  EXPECT_EQ(v.payload.at("jti").as_string(), got[0].header("x-portcullis-delivery-id"));
  // Another audience (a receiver replaying it elsewhere) fails.
  vo.claims.audiences = {"https://other.example/hook"};
  EXPECT_FALSE(jose::verify_jws(jwt, signing.active()->public_key(), vo).ok);
}

TEST_P(PushRelayTest, TheRelayRefusesWrongTokensUnknownIdsOtherTasksAndNonJson) {
  Receiver rx;
  json::object out = relay->register_config(alice, "t1", Version::v1_0, {{"url", rx.url()}});
  auto [relay_id, token] = relay_of(out);
  using O = PushRelay::RelayOutcome;
  const double refused = pushes("refused");
  EXPECT_EQ(relay->relay(relay_id, token + "x", status_update("t1")).outcome, O::unauthorized);
  EXPECT_EQ(relay->relay(relay_id, "", status_update("t1")).outcome, O::unauthorized);
  EXPECT_EQ(relay->relay("a2ap_0000000000000000", token, status_update("t1")).outcome, O::unauthorized);
  EXPECT_EQ(relay->relay("wh_123", token, status_update("t1")).outcome, O::unauthorized);
  EXPECT_EQ(relay->relay(relay_id, token, status_update("t2")).outcome, O::wrong_task);
  EXPECT_EQ(relay->relay(relay_id, token, R"({"statusUpdate":{}})").outcome, O::wrong_task);
  EXPECT_EQ(relay->relay(relay_id, token, "not json").outcome, O::bad_body);
  EXPECT_EQ(relay->relay(relay_id, token, "[1]").outcome, O::bad_body);
  EXPECT_EQ(pushes("refused"), refused + 8);
  drain(200);
  EXPECT_TRUE(rx.received().empty());
}

// edgefix (issue 12): the relay route refuses ids of another shape before any pool or store work,
// so every id the gateway issues must pass the check.
TEST_P(PushRelayTest, IssuedRelayIdsAreWellFormedAndOtherShapesAreNot) {
  Receiver rx;
  for (const char* task : {"t1", "t2", "t3"}) {
    auto [relay_id, token] = relay_of(relay->register_config(alice, task, Version::v1_0, {{"url", rx.url()}}));
    EXPECT_TRUE(well_formed_relay_id(relay_id)) << relay_id;
  }
  for (const char* id : {"", "a2ap_", "wh_0123456789abcdef0123456789abcdef", "a2ap_0123456789abcdef0123456789abcde",
                         "a2ap_0123456789abcdef0123456789abcdef0", "a2ap_0123456789ABCDEF0123456789abcdef",
                         "a2ap_0123456789abcdef0123456789abcdeg", "A2AP_0123456789abcdef0123456789abcdef"})
    EXPECT_FALSE(well_formed_relay_id(id)) << id;
}

TEST_P(PushRelayTest, AReceiverThatKeepsFailingIsRetriedThenDeadLettered) {
  Receiver rx({500, 503, 502});
  json::object out = relay->register_config(alice, "t1", Version::v1_0, {{"url", rx.url()}});
  auto [relay_id, token] = relay_of(out);
  const double dead = pushes("dead"), retry = pushes("retry");
  auto r = relay->relay(relay_id, token, status_update("t1"));
  ASSERT_EQ(r.outcome, PushRelay::RelayOutcome::queued);
  drain();
  EXPECT_EQ(rx.received().size(), 3u);  // max_attempts
  auto d = store().find_webhook_delivery(r.delivery_id);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->status, "dead");
  EXPECT_EQ(d->attempts, 3);
  EXPECT_EQ(d->last_status, 502);
  EXPECT_EQ(pushes("dead"), dead + 1);
  EXPECT_EQ(pushes("retry"), retry + 2);
}

TEST_P(PushRelayTest, ConfigsPerTaskAreBoundedAndAnIdIsReplacedNotAdded) {
  Receiver rx;
  for (int i = 0; i < 3; ++i)
    relay->register_config(alice, "t1", Version::v1_0, {{"id", "c" + std::to_string(i)}, {"url", rx.url()}});
  EXPECT_THROW(relay->register_config(alice, "t1", Version::v1_0, {{"id", "c9"}, {"url", rx.url()}}), PushRefused);
  // Setting c0 again replaces it: the old relay token stops working.
  json::object again = relay->register_config(alice, "t1", Version::v1_0, {{"id", "c0"}, {"url", rx.url()}});
  EXPECT_TRUE(store().find_a2a_push_config(relay_of(again).first));
}

TEST_P(PushRelayTest, ForgetRemovesTheConfigAndItsPendingDeliveries) {
  Receiver rx;
  json::object out = relay->register_config(alice, "t1", Version::v1_0, {{"id", "c1"}, {"url", rx.url()}});
  auto [relay_id, token] = relay_of(out);
  auto r = relay->relay(relay_id, token, status_update("t1"));
  ASSERT_EQ(r.outcome, PushRelay::RelayOutcome::queued);
  Owner bob{"globex", "user:bob", "echo"};
  relay->forget(bob, "t1", "c1");  // not bob's: nothing happens
  EXPECT_TRUE(store().find_a2a_push_config(relay_id));
  relay->forget(alice, "t1", "c1");
  EXPECT_FALSE(store().find_a2a_push_config(relay_id));
  EXPECT_FALSE(store().find_webhook_delivery(r.delivery_id));
  EXPECT_EQ(relay->relay(relay_id, token, status_update("t1")).outcome, PushRelay::RelayOutcome::unauthorized);
  drain(200);
  EXPECT_TRUE(rx.received().empty());
}

PC_ALL_BACKENDS(PushRelayTest);

}  // namespace
}  // namespace pc::a2a
