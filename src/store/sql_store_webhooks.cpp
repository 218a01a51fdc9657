// SqlStore: webhooks and their delivery queue (issue 9). Secrets and payloads are sealed bytes
// in BLOB columns; nothing here decrypts. Claiming is a conditional UPDATE per row, so two nodes
// racing for the same due delivery cannot both win (the loser's UPDATE changes nothing); on
// PostgreSQL the candidates are also read FOR UPDATE SKIP LOCKED, so concurrent claimers take
// different rows instead of queueing behind each other.
#include "core/clock.h"
#include "store/sql_store.h"

namespace pc::store {
namespace {

constexpr std::string_view kWebhookColumns =
    "webhook_id, tenant_id, url, description, secret_sealed, created_at, created_by";
constexpr std::string_view kDeliveryColumns =
    "delivery_id, tenant_id, webhook_id, event_type, payload_sealed, status, attempts, next_attempt_ms, claimed_by, "
    "lease_until_ms, last_status, last_error, created_at, updated_at";
// Listings leave the sealed columns out: ciphertext is not carried around for nothing.
constexpr std::string_view kDeliveryListColumns =
    "delivery_id, tenant_id, webhook_id, event_type, '', status, attempts, next_attempt_ms, claimed_by, "
    "lease_until_ms, last_status, last_error, created_at, updated_at";

WebhookRecord read_webhook(Statement& q, bool with_secret) {
  WebhookRecord w;
  w.webhook_id = q.column_text(0);
  w.tenant_id = q.column_text(1);
  w.url = q.column_text(2);
  w.description = q.column_text(3);
  if (with_secret) w.secret_sealed = q.column_blob(4);
  w.created_at = q.column_text(5);
  w.created_by = q.column_text(6);
  return w;
}

WebhookDeliveryRecord read_delivery(Statement& q, bool with_payload) {
  WebhookDeliveryRecord d;
  d.delivery_id = q.column_text(0);
  d.tenant_id = q.column_text(1);
  d.webhook_id = q.column_text(2);
  d.event_type = q.column_text(3);
  if (with_payload) d.payload_sealed = q.column_blob(4);
  d.status = q.column_text(5);
  d.attempts = static_cast<int>(q.column_int64(6));
  d.next_attempt_ms = q.column_int64(7);
  d.claimed_by = q.column_text(8);
  d.lease_until_ms = q.column_int64(9);
  d.last_status = static_cast<int>(q.column_int64(10));
  d.last_error = q.column_text(11);
  d.created_at = q.column_text(12);
  d.updated_at = q.column_text(13);
  return d;
}

// Due: pending and its time has come, or claimed by a node whose lease ran out.
constexpr std::string_view kDue =
    "((status = 'pending' AND next_attempt_ms <= ?1) OR (status = 'delivering' AND lease_until_ms <= ?1))";

}  // namespace

void purge_tenant_webhooks(Db& db, std::string_view tenant_id) {
  db.prepare("DELETE FROM webhook_deliveries WHERE tenant_id = ?1").bind_text(1, tenant_id).run();
  db.prepare("DELETE FROM webhooks WHERE tenant_id = ?1").bind_text(1, tenant_id).run();
}

void SqlStore::insert_webhook(const WebhookRecord& w) {
  auto c = conn();
  Statement q = c->prepare("INSERT INTO webhooks(" + std::string(kWebhookColumns) +
                           ") SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE " + tenant_is_live(*c, 2));
  q.bind_text(1, w.webhook_id)
      .bind_text(2, w.tenant_id)
      .bind_text(3, w.url)
      .bind_text(4, w.description)
      .bind_blob(5, w.secret_sealed)
      .bind_text(6, w.created_at.empty() ? core::rfc3339_now() : w.created_at)
      .bind_text(7, w.created_by);
  try {
    q.run();
  } catch (const StoreError& e) {
    throw e.prefixed("insert webhook " + w.webhook_id + ": ");
  }
  require_live_tenant(*c, "insert webhook " + w.webhook_id);
}

std::optional<WebhookRecord> SqlStore::find_webhook(std::string_view webhook_id) {
  auto c = conn();
  Statement q = c->prepare("SELECT " + std::string(kWebhookColumns) + " FROM webhooks WHERE webhook_id = ?1");
  q.bind_text(1, webhook_id);
  if (!q.step()) return std::nullopt;
  return read_webhook(q, true);
}

std::vector<WebhookRecord> SqlStore::list_webhooks(std::string_view tenant_id, std::string_view after,
                                                   std::size_t limit) {
  auto c = conn();
  Statement q = c->prepare("SELECT " + std::string(kWebhookColumns) +
                           " FROM webhooks WHERE tenant_id = ?1 AND webhook_id > ?2 ORDER BY webhook_id LIMIT ?3");
  q.bind_text(1, tenant_id).bind_text(2, after).bind_int64(3, static_cast<std::int64_t>(limit));
  std::vector<WebhookRecord> out;
  while (q.step()) out.push_back(read_webhook(q, false));
  return out;
}

bool SqlStore::delete_webhook(std::string_view webhook_id) {
  auto c = conn();
  Transaction tx(*c);
  c->prepare("DELETE FROM webhooks WHERE webhook_id = ?1").bind_text(1, webhook_id).run();
  const bool existed = c->changes() > 0;
  c->prepare("DELETE FROM webhook_deliveries WHERE webhook_id = ?1").bind_text(1, webhook_id).run();
  tx.commit();
  return existed;
}

void insert_delivery_under(Db& c, const WebhookDeliveryRecord& d, std::string_view owner_table,
                           std::string_view owner_key, std::string_view what) {
  const bool pg = c.dialect() == Db::Dialect::postgres;
  // The owner row is share-locked on PostgreSQL, so a concurrent delete of it either waits for
  // this insert (and removes the delivery with it) or is seen here.
  const std::string sql = "INSERT INTO webhook_deliveries(" + std::string(kDeliveryColumns) +
                          ") SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, '', 0, 0, '', ?9, ?9 WHERE " +
                          tenant_is_live(c, 2) + " AND EXISTS (SELECT 1 FROM " + std::string(owner_table) +
                          " WHERE " + std::string(owner_key) + " = ?3 AND tenant_id = ?2" +
                          (pg ? " FOR SHARE" : "") + ")";
  Statement q = c.prepare(sql);
  const std::string now = core::rfc3339_now();
  q.bind_text(1, d.delivery_id)
      .bind_text(2, d.tenant_id)
      .bind_text(3, d.webhook_id)
      .bind_text(4, d.event_type)
      .bind_blob(5, d.payload_sealed)
      .bind_text(6, d.status)
      .bind_int64(7, d.attempts)
      .bind_int64(8, d.next_attempt_ms)
      .bind_text(9, d.created_at.empty() ? now : d.created_at);
  const std::string label = "insert " + std::string(what) + " delivery " + d.delivery_id;
  try {
    q.run();
  } catch (const StoreError& e) {
    throw e.prefixed(label + ": ");
  }
  if (c.changes() == 0)
    throw StoreError(label + ": the " + std::string(what) + " or its tenant no longer exists", StoreError::Kind::gone);
}

void SqlStore::insert_webhook_delivery(const WebhookDeliveryRecord& d) {
  auto c = conn();
  insert_delivery_under(*c, d, "webhooks", "webhook_id", "webhook");
}

std::optional<WebhookDeliveryRecord> SqlStore::find_webhook_delivery(std::string_view delivery_id) {
  auto c = conn();
  Statement q =
      c->prepare("SELECT " + std::string(kDeliveryColumns) + " FROM webhook_deliveries WHERE delivery_id = ?1");
  q.bind_text(1, delivery_id);
  if (!q.step()) return std::nullopt;
  return read_delivery(q, true);
}

std::vector<WebhookDeliveryRecord> SqlStore::claim_webhook_deliveries(std::string_view node, std::int64_t now_ms,
                                                                      std::int64_t lease_until_ms,
                                                                      std::size_t limit) {
  auto c = conn();
  Transaction tx(*c);
  const bool pg = c->dialect() == Db::Dialect::postgres;
  std::vector<std::string> ids;
  {
    Statement q = c->prepare("SELECT delivery_id FROM webhook_deliveries WHERE " + std::string(kDue) +
                             " ORDER BY next_attempt_ms, delivery_id LIMIT ?2" +
                             (pg ? " FOR UPDATE SKIP LOCKED" : ""));
    q.bind_int64(1, now_ms).bind_int64(2, static_cast<std::int64_t>(limit));
    while (q.step()) ids.push_back(q.column_text(0));
  }
  // The attempt is counted when it is claimed, not when it ends: a delivery whose attempts keep
  // killing the node that makes them still runs out of attempts.
  Statement claim = c->prepare(
      "UPDATE webhook_deliveries SET status = 'delivering', attempts = attempts + 1, claimed_by = ?3, "
      "lease_until_ms = ?4, updated_at = ?5 WHERE delivery_id = ?2 AND " +
      std::string(kDue));
  Statement read =
      c->prepare("SELECT " + std::string(kDeliveryColumns) + " FROM webhook_deliveries WHERE delivery_id = ?1");
  const std::string now = core::rfc3339_now();
  std::vector<WebhookDeliveryRecord> out;
  for (const auto& id : ids) {
    claim.reset();
    claim.bind_int64(1, now_ms).bind_text(2, id).bind_text(3, node).bind_int64(4, lease_until_ms).bind_text(5, now);
    claim.run();
    if (c->changes() != 1) continue;  // another node was first
    read.reset();
    read.bind_text(1, id);
    if (read.step()) out.push_back(read_delivery(read, true));
  }
  tx.commit();
  return out;
}

bool SqlStore::finish_webhook_delivery(const WebhookDeliveryRecord& d) {
  auto c = conn();
  c->prepare(
       "UPDATE webhook_deliveries SET status = ?3, next_attempt_ms = ?4, last_status = ?5, last_error = ?6, "
       "claimed_by = '', lease_until_ms = 0, updated_at = ?7 "
       "WHERE delivery_id = ?1 AND status = 'delivering' AND claimed_by = ?2")
      .bind_text(1, d.delivery_id)
      .bind_text(2, d.claimed_by)
      .bind_text(3, d.status)
      .bind_int64(4, d.next_attempt_ms)
      .bind_int64(5, d.last_status)
      .bind_text(6, d.last_error)
      .bind_text(7, core::rfc3339_now())
      .run();
  return c->changes() > 0;
}

std::vector<WebhookDeliveryRecord> SqlStore::list_webhook_deliveries(std::string_view webhook_id,
                                                                     std::string_view status, std::string_view after,
                                                                     std::size_t limit) {
  auto c = conn();
  Statement q = c->prepare("SELECT " + std::string(kDeliveryListColumns) +
                           " FROM webhook_deliveries WHERE webhook_id = ?1 AND status = ?2 AND delivery_id > ?3 "
                           "ORDER BY delivery_id LIMIT ?4");
  q.bind_text(1, webhook_id).bind_text(2, status).bind_text(3, after).bind_int64(4, static_cast<std::int64_t>(limit));
  std::vector<WebhookDeliveryRecord> out;
  while (q.step()) out.push_back(read_delivery(q, false));
  return out;
}

bool SqlStore::redeliver_webhook_delivery(std::string_view delivery_id, std::int64_t now_ms) {
  auto c = conn();
  c->prepare(
       "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_ms = ?2, updated_at = ?3 "
       "WHERE delivery_id = ?1 AND status = 'dead'")
      .bind_text(1, delivery_id)
      .bind_int64(2, now_ms)
      .bind_text(3, core::rfc3339_now())
      .run();
  return c->changes() > 0;
}

std::int64_t SqlStore::purge_webhook_deliveries_before(std::string_view before) {
  auto c = conn();
  c->prepare("DELETE FROM webhook_deliveries WHERE status = 'delivered' AND updated_at < ?1").bind_text(1, before).run();
  return c->changes();
}

}  // namespace pc::store
