// Webhooks and their delivery queue in the store (issue 9): per-tenant rows, deliveries bound to
// a live webhook of the same tenant, claims that go to one node each, leases that expire,
// outcomes recorded only by the claim holder, dead letters and redelivery, and the tenant purge.
// Runs on every backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"
#include "support/test_store.h"

namespace pc::store {
namespace {

using namespace std::string_literals;

const std::string kSealed = "\x00\x01\xff sealed\x00"s;

WebhookRecord webhook(std::string id, std::string tenant) {
  WebhookRecord w;
  w.webhook_id = std::move(id);
  w.tenant_id = std::move(tenant);
  w.url = "https://hooks.example.com/in";
  w.description = "ci";
  w.secret_sealed = kSealed;
  w.created_by = "client:ci";
  return w;
}

WebhookDeliveryRecord delivery(std::string id, std::string tenant, std::string webhook_id, std::int64_t due = 1000) {
  WebhookDeliveryRecord d;
  d.delivery_id = std::move(id);
  d.tenant_id = std::move(tenant);
  d.webhook_id = std::move(webhook_id);
  d.event_type = "job.succeeded";
  d.payload_sealed = kSealed + "payload";
  d.next_attempt_ms = due;
  return d;
}

TenantRecord tenant(std::string id) {
  TenantRecord t;
  t.tenant_id = std::move(id);
  t.display_name = t.tenant_id;
  t.tier = "basic";
  return t;
}

class WebhookRowsTest : public pc::testing::BackendTest {};

TEST_P(WebhookRowsTest, WebhooksRoundTripAndListPerTenantWithoutSecrets) {
  store().insert_webhook(webhook("wh_b", "acme"));
  store().insert_webhook(webhook("wh_a", "acme"));
  store().insert_webhook(webhook("wh_c", "globex"));
  auto found = store().find_webhook("wh_a");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->tenant_id, "acme");
  EXPECT_EQ(found->secret_sealed, kSealed);
  EXPECT_EQ(found->url, "https://hooks.example.com/in");
  EXPECT_EQ(found->created_at.size(), 24u);
  EXPECT_FALSE(store().find_webhook("wh_zz"));

  auto acme = store().list_webhooks("acme", "", 10);
  ASSERT_EQ(acme.size(), 2u);
  EXPECT_EQ(acme[0].webhook_id, "wh_a");
  EXPECT_EQ(acme[1].webhook_id, "wh_b");
  EXPECT_TRUE(acme[0].secret_sealed.empty());
  auto page2 = store().list_webhooks("acme", "wh_a", 10);
  ASSERT_EQ(page2.size(), 1u);
  EXPECT_EQ(page2[0].webhook_id, "wh_b");
  EXPECT_EQ(store().list_webhooks("acme", "", 1).size(), 1u);
  EXPECT_EQ(store().list_webhooks("globex", "", 10).size(), 1u);

  EXPECT_THROW(store().insert_webhook(webhook("wh_a", "globex")), StoreError);
}

TEST_P(WebhookRowsTest, ADeliveryNeedsItsWebhookInItsOwnTenant) {
  store().insert_webhook(webhook("wh_a", "acme"));
  store().insert_webhook_delivery(delivery("d1", "acme", "wh_a"));
  auto d = store().find_webhook_delivery("d1");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->payload_sealed, kSealed + "payload");
  EXPECT_EQ(d->status, "pending");
  EXPECT_EQ(d->attempts, 0);

  try {
    store().insert_webhook_delivery(delivery("d2", "globex", "wh_a"));  // another tenant's webhook
    FAIL() << "inserted";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::gone);
  }
  EXPECT_THROW(store().insert_webhook_delivery(delivery("d3", "acme", "wh_none")), StoreError);
  EXPECT_FALSE(store().find_webhook_delivery("d2"));
  EXPECT_FALSE(store().find_webhook_delivery("d3"));
}

TEST_P(WebhookRowsTest, DeletingAWebhookRemovesItsDeliveries) {
  store().insert_webhook(webhook("wh_a", "acme"));
  store().insert_webhook(webhook("wh_b", "acme"));
  store().insert_webhook_delivery(delivery("d1", "acme", "wh_a"));
  store().insert_webhook_delivery(delivery("d2", "acme", "wh_b"));
  EXPECT_TRUE(store().delete_webhook("wh_a"));
  EXPECT_FALSE(store().delete_webhook("wh_a"));
  EXPECT_FALSE(store().find_webhook("wh_a"));
  EXPECT_FALSE(store().find_webhook_delivery("d1"));
  EXPECT_TRUE(store().find_webhook_delivery("d2"));
}

TEST_P(WebhookRowsTest, ClaimTakesDueDeliveriesOnceAndCountsTheAttempt) {
  store().insert_webhook(webhook("wh_a", "acme"));
  store().insert_webhook_delivery(delivery("d1", "acme", "wh_a", 1000));
  store().insert_webhook_delivery(delivery("d2", "acme", "wh_a", 2000));
  store().insert_webhook_delivery(delivery("d3", "acme", "wh_a", 9000));  // not due yet

  auto first = store().claim_webhook_deliveries("n1", 5000, 60000, 10);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].delivery_id, "d1");  // oldest due first
  EXPECT_EQ(first[1].delivery_id, "d2");
  for (const auto& d : first) {
    EXPECT_EQ(d.status, "delivering");
    EXPECT_EQ(d.claimed_by, "n1");
    EXPECT_EQ(d.attempts, 1);
    EXPECT_EQ(d.payload_sealed, kSealed + "payload");
  }
  EXPECT_TRUE(store().claim_webhook_deliveries("n2", 5000, 60000, 10).empty());  // claimed, lease running

  // The lease of n1 runs out (it died): n2 takes them over, and that is another attempt.
  auto taken = store().claim_webhook_deliveries("n2", 60000, 120000, 1);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].claimed_by, "n2");
  EXPECT_EQ(taken[0].attempts, 2);

  // n1's late outcome is not recorded; n2's is.
  WebhookDeliveryRecord late = first[0];
  late.status = "delivered";
  EXPECT_FALSE(store().finish_webhook_delivery(late));
  WebhookDeliveryRecord done = taken[0];
  done.status = "pending";
  done.next_attempt_ms = 70000;
  done.last_status = 503;
  done.last_error = "the receiver answered HTTP 503";
  EXPECT_TRUE(store().finish_webhook_delivery(done));
  auto after = store().find_webhook_delivery("d1");
  EXPECT_EQ(after->status, "pending");
  EXPECT_EQ(after->claimed_by, "");
  EXPECT_EQ(after->last_status, 503);
  EXPECT_EQ(after->last_error, "the receiver answered HTTP 503");
  EXPECT_EQ(after->attempts, 2);
}

TEST_P(WebhookRowsTest, ConcurrentClaimersNeverShareADelivery) {
  store().insert_webhook(webhook("wh_a", "acme"));
  constexpr int kDeliveries = 60;
  for (int i = 0; i < kDeliveries; ++i) store().insert_webhook_delivery(delivery("d" + std::to_string(100 + i), "acme", "wh_a"));
  std::vector<std::unique_ptr<Store>> nodes;
  for (int i = 0; i < 3; ++i) nodes.push_back(open_again());
  std::mutex mu;
  std::vector<std::string> claimed;
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i)
    threads.emplace_back([&, i] {
      for (;;) {
        std::vector<WebhookDeliveryRecord> got;
        for (int tries = 0;; ++tries) {
          try {
            got = nodes[i]->claim_webhook_deliveries("n" + std::to_string(i), 5000, 60000, 4);
            break;
          } catch (const StoreError& e) {
            if (e.kind() != StoreError::Kind::busy || tries > 50) throw;
          }
        }
        if (got.empty()) return;
        std::lock_guard lock(mu);
        for (const auto& d : got) claimed.push_back(d.delivery_id);
      }
    });
  for (auto& t : threads) t.join();
  std::set<std::string> unique(claimed.begin(), claimed.end());
  EXPECT_EQ(claimed.size(), static_cast<std::size_t>(kDeliveries));
  EXPECT_EQ(unique.size(), static_cast<std::size_t>(kDeliveries));
}

TEST_P(WebhookRowsTest, DeadLettersAreListedAndOnlyThemRedelivered) {
  store().insert_webhook(webhook("wh_a", "acme"));
  store().insert_webhook_delivery(delivery("d1", "acme", "wh_a"));
  store().insert_webhook_delivery(delivery("d2", "acme", "wh_a"));
  auto claimed = store().claim_webhook_deliveries("n1", 5000, 60000, 10);
  ASSERT_EQ(claimed.size(), 2u);
  claimed[0].status = "dead";
  claimed[0].last_error = "connection refused";
  ASSERT_TRUE(store().finish_webhook_delivery(claimed[0]));
  claimed[1].status = "delivered";
  claimed[1].last_status = 200;
  ASSERT_TRUE(store().finish_webhook_delivery(claimed[1]));

  auto dead = store().list_webhook_deliveries("wh_a", "dead", "", 10);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].delivery_id, "d1");
  EXPECT_TRUE(dead[0].payload_sealed.empty());
  EXPECT_EQ(dead[0].last_error, "connection refused");

  EXPECT_FALSE(store().redeliver_webhook_delivery("d2", 7000));  // delivered: not a dead letter
  EXPECT_FALSE(store().redeliver_webhook_delivery("nope", 7000));
  EXPECT_TRUE(store().redeliver_webhook_delivery("d1", 7000));
  EXPECT_FALSE(store().redeliver_webhook_delivery("d1", 7000));  // pending now
  auto again = store().find_webhook_delivery("d1");
  EXPECT_EQ(again->status, "pending");
  EXPECT_EQ(again->attempts, 0);
  EXPECT_EQ(again->next_attempt_ms, 7000);
  EXPECT_TRUE(store().list_webhook_deliveries("wh_a", "dead", "", 10).empty());
  auto reclaimed = store().claim_webhook_deliveries("n1", 7000, 60000, 10);
  ASSERT_EQ(reclaimed.size(), 1u);
  EXPECT_EQ(reclaimed[0].attempts, 1);

  // Delivered rows are purged after their retention; dead letters are not.
  EXPECT_EQ(store().purge_webhook_deliveries_before("9999-01-01T00:00:00.000Z"), 1);
  EXPECT_FALSE(store().find_webhook_delivery("d2"));
  EXPECT_TRUE(store().find_webhook_delivery("d1"));
}

TEST_P(WebhookRowsTest, ADeletedTenantTakesNoWebhooksAndThePurgeRemovesThem) {
  store().insert_tenant(tenant("acme"));
  store().insert_tenant(tenant("globex"));
  store().insert_webhook(webhook("wh_a", "acme"));
  store().insert_webhook(webhook("wh_g", "globex"));
  store().insert_webhook_delivery(delivery("d1", "acme", "wh_a"));
  store().insert_webhook_delivery(delivery("dg", "globex", "wh_g"));
  ASSERT_TRUE(store().mark_tenant_deleted("acme", 1));
  try {
    store().insert_webhook(webhook("wh_a2", "acme"));
    FAIL() << "inserted into a deleted tenant";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::gone);
  }
  EXPECT_THROW(store().insert_webhook_delivery(delivery("d2", "acme", "wh_a")), StoreError);
  store().purge_tenant("acme");
  EXPECT_FALSE(store().find_webhook("wh_a"));
  EXPECT_FALSE(store().find_webhook_delivery("d1"));
  EXPECT_TRUE(store().find_webhook("wh_g"));
  EXPECT_TRUE(store().find_webhook_delivery("dg"));
}

PC_ALL_BACKENDS(WebhookRowsTest);

}  // namespace
}  // namespace pc::store
