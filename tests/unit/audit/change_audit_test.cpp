// Issue 8 item 9: an admin change and its audit event commit in one transaction.
#include "audit/change_audit.h"

#include <gtest/gtest.h>

#include "audit/audit_log.h"
#include "audit/audit_test_support.h"
#include "audit/verify.h"
#include "support/test_store.h"

namespace pc::audit {
namespace {

using testing::all_records;

class ChangeAuditTest : public pc::testing::BackendTest {};

TEST_P(ChangeAuditTest, TheChangesEventIsInTheChainBetweenTheWritersBatches) {
  AuditLog log(store());
  Event e;
  e.tenant_id = "platform";
  e.actor = "admin";
  e.action = "http.GET /v1/tenants";
  ASSERT_TRUE(log.record_sync(e));

  store::TenantRecord t;
  t.tenant_id = "acme";
  t.display_name = "Acme";
  t.tier = "basic";
  auto audited = change_audit(store(), "client:admin", "platform", "req-42");
  audited("acme", "tenant.create", "tenant/acme\xFF", [&] { store().insert_tenant(t); });
  // A refused change writes no event.
  EXPECT_THROW(audited("acme", "tenant.create", "tenant/acme", [&] { store().insert_tenant(t); }), store::StoreError);
  ASSERT_TRUE(log.record_sync(e));

  const auto rows = all_records(store());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].action, "tenant.create");
  EXPECT_EQ(rows[1].tenant_id, "acme");
  EXPECT_EQ(rows[1].actor, "client:admin");
  EXPECT_EQ(rows[1].request_id, "req-42");
  EXPECT_EQ(rows[1].outcome, "success");
  EXPECT_EQ(rows[1].resource, "tenant/acme%FF");  // canonical, as the writer's events
  EXPECT_EQ(rows[1].details, R"({"actorTenant":"platform"})");  // a platform admin acting on acme
  EXPECT_TRUE(store().find_tenant("acme"));
  EXPECT_TRUE(verify(store()).ok);
}

PC_ALL_BACKENDS(ChangeAuditTest);

}  // namespace
}  // namespace pc::audit
