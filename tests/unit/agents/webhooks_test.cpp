// The Webhooks service against a real store and a real receiver on 127.0.0.1 (a small POSIX
// socket server here): secrets shown once and stored sealed, signed deliveries a receiver can
// verify, retries with backoff then a dead letter, redelivery, tenant isolation (another
// tenant's ids are unknown and counted as violations), and SSRF refusals at registration and at
// connect time.
#include "agents/webhooks.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agents/webhook_signature.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "crypto/master_keyring.h"
#include "store/store.h"
#include "support/http_receiver.h"
#include "support/test_store.h"
#include "vault/data_keys.h"
#include "vault/vault_test_util.h"

namespace pc::agents {
namespace {

using pc::testing::Received;
using pc::testing::Receiver;

core::WebhooksConfig test_config() {
  core::WebhooksConfig c;
  c.allow_private_targets = true;  // the receiver is on loopback
  c.allow_http = true;
  c.max_attempts = 3;
  c.backoff_initial_ms = 1;
  c.backoff_max_ms = 5;
  c.timeout_ms = 2000;
  return c;
}

double violations() {
  return core::metrics().counter("portcullis_tenant_access_violations_total", "").get().value();
}

class WebhooksTest : public pc::testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    data_keys = std::make_unique<vault::DataKeys>(store(), ring);
  }
  void TearDown() override {
    data_keys.reset();
    BackendTest::TearDown();
  }
  vault::DataKeys& keys_ref() { return *data_keys; }

  crypto::MasterKeyring ring{vault::testing::master_key(7)};
  std::unique_ptr<vault::DataKeys> data_keys;  // made in SetUp: the store exists only from there

  // Runs due deliveries until none is left or `ms` pass (retries are due within milliseconds).
  void drain(Webhooks& w, int ms = 3000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    int idle = 0;
    while (std::chrono::steady_clock::now() < deadline && idle < 20) {
      if (w.run_due(10) == 0) {
        ++idle;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      } else {
        idle = 0;
      }
    }
  }
};

TEST_P(WebhooksTest, ASignedDeliveryVerifiesWithTheSecretShownOnce) {
  Receiver rx;
  Webhooks w(store(), keys_ref(), test_config());
  auto created = w.create("acme", rx.url(), "ci", "client:ci");
  EXPECT_TRUE(created.secret.starts_with("whsec_"));
  EXPECT_GE(created.secret.size(), 40u);
  // Stored sealed: the secret's text is nowhere in the row.
  auto row = store().find_webhook(created.info.webhook_id);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->secret_sealed.find(created.secret), std::string::npos);

  const std::string id = w.enqueue("acme", created.info.webhook_id, "job.succeeded", R"({"jobId":"j1","n":[1,2]})");
  drain(w);
  auto got = rx.received();
  ASSERT_EQ(got.size(), 1u);
  const Received& r = got[0];
  EXPECT_TRUE(r.head.starts_with("POST /hook HTTP/1.1"));
  EXPECT_EQ(r.header("x-portcullis-delivery-id"), id);
  EXPECT_EQ(r.header("x-portcullis-event"), "job.succeeded");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_TRUE(verify_webhook_signature(created.secret, r.header("x-portcullis-timestamp"),
                                       r.header("x-portcullis-signature"), r.body, core::unix_now()));
  // A wrong secret, an altered body, or an old timestamp fail.
  EXPECT_FALSE(verify_webhook_signature("whsec_other", r.header("x-portcullis-timestamp"),
                                        r.header("x-portcullis-signature"), r.body, core::unix_now()));
  EXPECT_FALSE(verify_webhook_signature(created.secret, r.header("x-portcullis-timestamp"),
                                        r.header("x-portcullis-signature"), r.body + " ", core::unix_now()));
  EXPECT_FALSE(verify_webhook_signature(created.secret, r.header("x-portcullis-timestamp"),
                                        r.header("x-portcullis-signature"), r.body, core::unix_now() + 301));
  auto body = boost::json::parse(r.body).as_object();
  EXPECT_EQ(body.at("id").as_string(), id);
  EXPECT_EQ(body.at("type").as_string(), "job.succeeded");
  EXPECT_EQ(body.at("webhookId").as_string(), created.info.webhook_id);
  EXPECT_EQ(body.at("data").as_object().at("jobId").as_string(), "j1");
  EXPECT_EQ(w.delivery("acme", id)->status, "delivered");
}

TEST_P(WebhooksTest, FailuresAreRetriedThenDeadLetteredThenRedelivered) {
  Receiver rx({500, 503, 502});  // three failures, then 200
  Webhooks w(store(), keys_ref(), test_config());
  auto created = w.create("acme", rx.url(), "", "client:ci");
  const std::string wid = created.info.webhook_id;
  const std::string id = w.ping("acme", wid);
  drain(w);
  EXPECT_EQ(rx.received().size(), 3u);  // max_attempts
  auto dead = w.dead_letters("acme", wid, "", 10);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].delivery_id, id);
  EXPECT_EQ(dead[0].status, "dead");
  EXPECT_EQ(dead[0].attempts, 3);
  EXPECT_EQ(dead[0].last_status, 502);
  EXPECT_EQ(dead[0].last_error, "the receiver answered HTTP 502");
  // Every attempt carried the same delivery id.
  for (const auto& r : rx.received()) EXPECT_EQ(r.header("x-portcullis-delivery-id"), id);

  EXPECT_TRUE(w.redeliver("acme", wid, id));
  EXPECT_FALSE(w.redeliver("acme", wid, id));  // pending now, not a dead letter
  drain(w);
  EXPECT_EQ(rx.received().size(), 4u);
  EXPECT_EQ(w.delivery("acme", id)->status, "delivered");
  EXPECT_TRUE(w.dead_letters("acme", wid, "", 10).empty());
}

TEST_P(WebhooksTest, AnotherTenantsIdsAreUnknownAndCountedAsViolations) {
  Receiver rx({500, 500, 500});
  Webhooks w(store(), keys_ref(), test_config());
  auto mine = w.create("acme", rx.url(), "", "client:a");
  auto theirs = w.create("globex", rx.url(), "", "client:g");
  const std::string dead_id = w.ping("globex", theirs.info.webhook_id);
  drain(w);
  ASSERT_EQ(w.dead_letters("globex", theirs.info.webhook_id, "", 10).size(), 1u);

  auto foreign = [&](auto f) {
    const double before = violations();
    try {
      f();
      ADD_FAILURE() << "no WebhookNotFound";
    } catch (const WebhookNotFound& e) {
      EXPECT_TRUE(e.foreign());
    }
    EXPECT_EQ(violations(), before + 1);
  };
  const std::string t = theirs.info.webhook_id;
  foreign([&] { w.get("acme", t); });
  foreign([&] { w.remove("acme", t); });
  foreign([&] { w.enqueue("acme", t, "x", "{}"); });
  foreign([&] { w.dead_letters("acme", t, "", 10); });
  foreign([&] { w.redeliver("acme", t, dead_id); });
  // Their delivery under my webhook's path: still theirs.
  foreign([&] { w.redeliver("acme", mine.info.webhook_id, dead_id); });
  foreign([&] { w.delivery("acme", dead_id); });
  EXPECT_FALSE(w.exists("acme", t));
  EXPECT_TRUE(w.exists("globex", t));
  EXPECT_EQ(w.list("acme", "", 10).size(), 1u);

  // Unknown ids: not found, no violation.
  const double before = violations();
  try {
    w.get("acme", "wh_000000000000000000000000");
    ADD_FAILURE();
  } catch (const WebhookNotFound& e) {
    EXPECT_FALSE(e.foreign());
  }
  EXPECT_EQ(violations(), before);
  // Theirs is untouched.
  EXPECT_EQ(w.dead_letters("globex", t, "", 10).size(), 1u);
}

TEST_P(WebhooksTest, PrivateTargetsAreRefusedAtRegistrationAndAtConnectTime) {
  core::WebhooksConfig strict = test_config();
  strict.allow_private_targets = false;
  strict.allow_http = false;
  Webhooks w(store(), keys_ref(), strict);
  auto refused = [&](std::string url) {
    try {
      w.create("acme", url, "", "c");
      return std::string("(accepted)");
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
  };
  EXPECT_NE(refused("http://hooks.example.com/").find("https"), std::string::npos);
  for (std::string url : {"https://127.0.0.1/", "https://localhost/", "https://169.254.169.254/latest/meta-data",
                          "https://10.0.0.8/", "https://192.168.0.1/", "https://[::1]/", "https://[fd00::1]/",
                          "https://100.64.0.1/", "https://224.0.0.1/", "https://0.0.0.0/",
                          "https://[::ffff:127.0.0.1]/"})
    EXPECT_NE(refused(url).find("webhooks may only reach public addresses"), std::string::npos) << url;
  EXPECT_NE(refused("https://user:pw@example.com/").find("credentials"), std::string::npos);
  EXPECT_NE(refused("ftp://example.com/").find("https"), std::string::npos);
  EXPECT_NE(refused("not a url").find("absolute URL"), std::string::npos);
  EXPECT_TRUE(w.list("acme", "", 10).empty());

  // Registered while private targets were allowed, delivered after they no longer are (the DNS
  // answer could have changed the same way): refused when connecting, never reaching it.
  Receiver rx;
  core::WebhooksConfig open = test_config();
  w.set_config(open);
  auto created = w.create("acme", rx.url("localhost"), "", "c");
  strict.allow_http = true;
  strict.max_attempts = 1;
  w.set_config(strict);
  const std::string id = w.ping("acme", created.info.webhook_id);
  drain(w);
  EXPECT_TRUE(rx.received().empty());
  auto d = w.delivery("acme", id);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->status, "dead");
  EXPECT_NE(d->last_error.find("is not allowed"), std::string::npos) << d->last_error;
}

TEST_P(WebhooksTest, BadEventsAreRefusedAndDeletionDropsPendingDeliveries) {
  Webhooks w(store(), keys_ref(), test_config());
  auto created = w.create("acme", "http://127.0.0.1:9/x", "", "c");
  const std::string wid = created.info.webhook_id;
  EXPECT_THROW(w.enqueue("acme", wid, "job.done", "{not json"), std::invalid_argument);
  EXPECT_THROW(w.enqueue("acme", wid, "bad type!", "{}"), std::invalid_argument);
  EXPECT_THROW(w.enqueue("acme", wid, "", "{}"), std::invalid_argument);
  EXPECT_THROW(w.create("acme", "https://example.com/", std::string(257, 'd'), "c"), std::invalid_argument);
  const std::string id = w.enqueue("acme", wid, "job.done", "{}");
  w.remove("acme", wid);
  EXPECT_FALSE(w.delivery("acme", id));
  EXPECT_THROW(w.enqueue("acme", wid, "job.done", "{}"), WebhookNotFound);
}

PC_ALL_BACKENDS(WebhooksTest);

}  // namespace
}  // namespace pc::agents
