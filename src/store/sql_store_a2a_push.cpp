// SqlStore: A2A push configs held by the gateway (issue 11, a2a/push_relay.h) and the insert of
// their deliveries into the webhook delivery queue. The client's token and authentication are
// sealed bytes, the relay token only a salted hash: nothing here decrypts or verifies.
#include "core/clock.h"
#include "store/sql_store.h"

namespace pc::store {
namespace {

constexpr std::string_view kColumns =
    "relay_id, tenant_id, principal, agent, task_id, config_id, version, url, relay_token_hash, client_sealed, "
    "created_at";

A2aPushConfigRecord read_config(Statement& q) {
  A2aPushConfigRecord c;
  c.relay_id = q.column_text(0);
  c.tenant_id = q.column_text(1);
  c.principal = q.column_text(2);
  c.agent = q.column_text(3);
  c.task_id = q.column_text(4);
  c.config_id = q.column_text(5);
  c.version = q.column_text(6);
  c.url = q.column_text(7);
  c.relay_token_hash = q.column_text(8);
  c.client_sealed = q.column_blob(9);
  c.created_at = q.column_text(10);
  return c;
}

// The deliveries of one config (its relay id), and the config itself.
void delete_config_rows(Db& db, std::string_view relay_id) {
  db.prepare("DELETE FROM webhook_deliveries WHERE webhook_id = ?1").bind_text(1, relay_id).run();
  db.prepare("DELETE FROM a2a_push_configs WHERE relay_id = ?1").bind_text(1, relay_id).run();
}

}  // namespace

void purge_tenant_a2a_push_configs(Db& db, std::string_view tenant_id) {
  // Their deliveries carry the tenant id too and go with purge_tenant_webhooks.
  db.prepare("DELETE FROM a2a_push_configs WHERE tenant_id = ?1").bind_text(1, tenant_id).run();
}

bool SqlStore::put_a2a_push_config(const A2aPushConfigRecord& c, std::size_t max_per_task) {
  auto lease = conn();
  Db& db = *lease;
  Transaction tx(db);
  // Two clients setting configs on one task at once must not both pass the count.
  db.lock_for_write("a2a_push_configs");
  {
    Statement old = db.prepare(
        "SELECT relay_id FROM a2a_push_configs WHERE agent = ?1 AND task_id = ?2 AND config_id = ?3");
    old.bind_text(1, c.agent).bind_text(2, c.task_id).bind_text(3, c.config_id);
    std::vector<std::string> replaced;
    while (old.step()) replaced.push_back(old.column_text(0));
    for (const auto& id : replaced) delete_config_rows(db, id);
  }
  {
    Statement n = db.prepare("SELECT COUNT(*) FROM a2a_push_configs WHERE agent = ?1 AND task_id = ?2");
    n.bind_text(1, c.agent).bind_text(2, c.task_id);
    n.step();
    if (static_cast<std::size_t>(n.column_int64(0)) >= max_per_task) return false;  // rolls back
  }
  Statement q = db.prepare("INSERT INTO a2a_push_configs(" + std::string(kColumns) +
                           ") SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 WHERE " + tenant_is_live(db, 2));
  q.bind_text(1, c.relay_id)
      .bind_text(2, c.tenant_id)
      .bind_text(3, c.principal)
      .bind_text(4, c.agent)
      .bind_text(5, c.task_id)
      .bind_text(6, c.config_id)
      .bind_text(7, c.version)
      .bind_text(8, c.url)
      .bind_text(9, c.relay_token_hash)
      .bind_blob(10, c.client_sealed)
      .bind_text(11, c.created_at.empty() ? core::rfc3339_now() : c.created_at);
  try {
    q.run();
  } catch (const StoreError& e) {
    throw e.prefixed("insert a2a push config " + c.relay_id + ": ");
  }
  require_live_tenant(db, "insert a2a push config " + c.relay_id);
  tx.commit();
  return true;
}

std::optional<A2aPushConfigRecord> SqlStore::find_a2a_push_config(std::string_view relay_id) {
  auto c = conn();
  Statement q = c->prepare("SELECT " + std::string(kColumns) + " FROM a2a_push_configs WHERE relay_id = ?1");
  q.bind_text(1, relay_id);
  if (!q.step()) return std::nullopt;
  return read_config(q);
}

bool SqlStore::delete_a2a_push_config(std::string_view tenant_id, std::string_view agent, std::string_view task_id,
                                      std::string_view config_id) {
  auto lease = conn();
  Db& db = *lease;
  Transaction tx(db);
  Statement q = db.prepare(
      "SELECT relay_id FROM a2a_push_configs WHERE tenant_id = ?1 AND agent = ?2 AND task_id = ?3 AND config_id = ?4");
  q.bind_text(1, tenant_id).bind_text(2, agent).bind_text(3, task_id).bind_text(4, config_id);
  std::vector<std::string> ids;
  while (q.step()) ids.push_back(q.column_text(0));
  for (const auto& id : ids) delete_config_rows(db, id);
  tx.commit();
  return !ids.empty();
}

void SqlStore::insert_a2a_push_delivery(const WebhookDeliveryRecord& d) {
  auto c = conn();
  // The push config stands in the webhook's place (webhook_id = relay id).
  insert_delivery_under(*c, d, "a2a_push_configs", "relay_id", "a2a push config");
}

}  // namespace pc::store
