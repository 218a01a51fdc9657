// The tenant-bound handle: every tenant-owned resource, reached through a handle bound to
// another tenant, raises a violation (read, change, delete, list filter) and leaves the owner's
// row unchanged. Runs on every backend.
#include "store/tenant_store.h"

#include <gtest/gtest.h>

#include "core/metrics.h"
#include "support/test_store.h"

namespace pc::store {
namespace {

double violations() {
  return core::metrics().counter("portcullis_tenant_access_violations_total", "", {}).labels({}).value();
}

class TenantStoreTest : public pc::testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    for (const char* id : {"acme", "globex"}) {
      TenantRecord t;
      t.tenant_id = id;
      t.display_name = id;
      t.tier = "standard";
      store().insert_tenant(t);
    }
  }
  TenantStore acme() { return TenantStore(store(), "acme"); }
  TenantStore globex() { return TenantStore(store(), "globex"); }

  static ClientRecord client(std::string id) {
    ClientRecord c;
    c.client_id = std::move(id);
    c.name = "bot";
    c.secret_hash = "hash-1";
    c.roles = {"Machine.Invoke"};
    c.grant_types = {"client_credentials"};
    return c;
  }
};

TEST_P(TenantStoreTest, NeedsATenant) { EXPECT_THROW(TenantStore(store(), ""), std::invalid_argument); }

TEST_P(TenantStoreTest, ClientsOfAnotherTenantAreViolations) {
  globex().insert_client(client("globex-1"));
  acme().insert_client(client("acme-1"));
  EXPECT_EQ(store().find_client("acme-1")->tenant_id, "acme");  // filled in by the handle

  const double before = violations();
  EXPECT_THROW(acme().find_client("globex-1"), TenantAccessViolation);
  EXPECT_THROW(acme().update_client_secret("globex-1", "stolen"), TenantAccessViolation);
  auto c = client("sneaky");
  c.tenant_id = "globex";  // writing a row into another tenant
  EXPECT_THROW(acme().insert_client(c), TenantAccessViolation);
  EXPECT_EQ(violations(), before + 3);

  EXPECT_EQ(store().find_client("globex-1")->secret_hash, "hash-1");
  EXPECT_FALSE(store().find_client("sneaky"));
  ASSERT_EQ(acme().clients().size(), 1u);
  EXPECT_EQ(acme().clients()[0].client_id, "acme-1");
  EXPECT_FALSE(acme().find_client("nobody"));  // a missing id is just missing
}

TEST_P(TenantStoreTest, ViolationMessageDoesNotNameTheOwner) {
  globex().insert_client(client("c-1"));
  try {
    acme().find_client("c-1");
    FAIL();
  } catch (const TenantAccessViolation& e) {
    EXPECT_EQ(std::string(e.what()).find("globex"), std::string::npos) << e.what();
    EXPECT_EQ(e.bound_tenant(), "acme");
  }
}

TEST_P(TenantStoreTest, SecretsAreScopedByTheHandle) {
  SecretRecord s;
  s.name = "api-key";
  s.version = 1;
  s.sealed = std::string("\x01sealed\0bytes", 13);
  s.created_by = "admin";
  globex().insert_secret(s);
  EXPECT_FALSE(acme().find_secret("api-key", 0));  // another tenant's name does not exist here
  EXPECT_TRUE(acme().list_secrets().empty());
  EXPECT_FALSE(acme().delete_secret("api-key"));
  ASSERT_TRUE(globex().find_secret("api-key", 0));
  s.tenant_id = "globex";
  EXPECT_THROW(acme().insert_secret(s), TenantAccessViolation);
}

TEST_P(TenantStoreTest, InvocationsAndSessionsOfAnotherTenantAreViolations) {
  InvocationRecord r;
  r.invocation_id = "inv-1";
  r.agent = "echo";
  r.agent_version = "1";
  r.session_id = "s-1";
  r.principal = "bot";
  r.status = "completed";
  r.http_status = 200;
  r.created_at = "2026-11-23T10:00:00.000Z";
  r.content_sealed = "secret content";
  globex().insert_invocation(r);
  SessionRecord s;
  s.session_id = "s-1";
  s.principal = "bot";
  s.agent = "echo";
  s.created_at = s.last_seen_at = "2026-11-23T10:00:00.000Z";
  globex().insert_session(s);

  EXPECT_THROW(acme().find_invocation("inv-1"), TenantAccessViolation);
  EXPECT_THROW(acme().find_session("s-1"), TenantAccessViolation);
  EXPECT_THROW(acme().end_session("s-1"), TenantAccessViolation);
  InvocationQuery q;
  q.tenant_id = "globex";  // a list filter naming another tenant
  EXPECT_THROW(acme().list_invocations(q), TenantAccessViolation);
  EXPECT_TRUE(acme().list_invocations({}).empty());
  EXPECT_EQ(acme().usage_since("2026-01-01T00:00:00.000Z")->invocations, 0);

  EXPECT_EQ(store().find_session("s-1")->status, "active");
  EXPECT_EQ(globex().list_invocations({}).size(), 1u);
  EXPECT_EQ(globex().usage_since("2026-01-01T00:00:00.000Z")->invocations, 1);
}

TEST_P(TenantStoreTest, AuditQueriesAreScoped) {
  std::vector<AuditRecord> batch(2);
  batch[0].tenant_id = "acme";
  batch[1].tenant_id = "globex";
  for (auto& r : batch) {
    r.time = "2026-11-23T10:00:00.000Z";
    r.actor = "a";
    r.action = "x";
    r.details = "{}";
  }
  store().append_audit(batch, [](AuditRecord& r, const std::string& prev) {
    r.prev_hash = prev;
    r.hash = prev + "+";
  });
  auto mine = acme().query_audit({});
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].tenant_id, "acme");
  AuditQuery q;
  q.tenant_id = "globex";
  EXPECT_THROW(acme().query_audit(q), TenantAccessViolation);
}

PC_ALL_BACKENDS(TenantStoreTest);

}  // namespace
}  // namespace pc::store
