// The retention job (SPEC §3 `retention`, §6) over every store backend: rows just past each
// limit go, rows just inside it stay; invocation metadata outlives its content; a deleted
// tenant is purged only once its purge_after has passed, and no other tenant loses anything;
// the job audits itself and leaves an audit chain that still verifies.
#include "app/retention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "audit/audit_test_support.h"
#include "audit/verify.h"
#include "core/clock.h"
#include "support/forwarding_store.h"
#include "support/test_store.h"

namespace pc::app {
namespace {

namespace json = boost::json;
using audit::testing::all_records;

constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 86400;

std::string at(std::int64_t unix_seconds) { return core::rfc3339_from_unix(unix_seconds); }

class RetentionTest : public pc::testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    cfg.invocation_content_days = 30;
    cfg.sessions_hours = 24;
    cfg.audit_years = 1;
    cfg.tenant_purge_days = 7;
  }

  void tenant(const std::string& id) {
    store::TenantRecord t;
    t.tenant_id = id;
    t.display_name = id;
    t.tier = "basic";
    store().insert_tenant(t);
  }
  void invocation(const std::string& id, const std::string& tenant, std::int64_t created, bool content = true) {
    store::InvocationRecord r;
    r.invocation_id = id;
    r.tenant_id = tenant;
    r.agent = "echo";
    r.agent_version = "3";
    r.session_id = "s-" + id;
    r.principal = "user-1";
    r.status = "completed";
    r.http_status = 200;
    r.latency_ms = 42;
    r.input_tokens = 7;
    r.output_tokens = 11;
    r.created_at = at(created);
    if (content) r.content_sealed = "sealed-content-of-" + id;
    store().insert_invocation(r);
  }
  void session(const std::string& id, const std::string& tenant, std::int64_t last_seen) {
    store::SessionRecord s;
    s.session_id = id;
    s.tenant_id = tenant;
    s.principal = "user-1";
    s.agent = "echo";
    s.created_at = at(last_seen - kHour);
    s.last_seen_at = at(last_seen);
    store().insert_session(s);
  }
  // Everything a tenant owns, recent enough that only a purge of the tenant removes it.
  void tenant_data(const std::string& t) {
    store::ClientRecord c;
    c.client_id = t + "-client";
    c.tenant_id = t;
    c.name = "bot";
    c.secret_hash = "hash";
    c.roles = {"Machine.Invoke"};
    c.grant_types = {"client_credentials"};
    store().insert_client(c);
    store::DataKeyRecord k;
    k.tenant_id = t;
    k.data_class = "invocation";
    k.version = 1;
    k.wrapped = "wrapped-key";
    ASSERT_TRUE(store().insert_data_key(k));
    store::SecretRecord s;
    s.tenant_id = t;
    s.name = "api-key";
    s.version = 1;
    s.sealed = "sealed-secret";
    s.created_by = "admin";
    store().insert_secret(s);
    invocation(t + "-inv", t, now - kHour);
    session(t + "-session", t, now - kHour);
  }
  bool has_tenant_data(const std::string& t) {
    return store().find_client(t + "-client") && !store().data_keys(t, "invocation").empty() &&
           !store().list_secrets(t).empty() && store().find_invocation(t + "-inv") && store().find_session(t + "-session");
  }
  bool has_none_of_tenant_data(const std::string& t) {
    return !store().find_client(t + "-client") && store().data_keys(t, "invocation").empty() &&
           store().list_secrets(t).empty() && !store().find_invocation(t + "-inv") && !store().find_session(t + "-session") &&
           store().find_tenant(t) && store().find_tenant(t)->purge_after == store::kPurged;  // the tombstone
  }
  // Audit entries with given times, appended (and linked) as the audit writer does.
  void audit_at(std::vector<std::int64_t> times) {
    std::vector<store::AuditRecord> batch;
    for (auto t : times) batch.push_back(audit::testing::make_record(at(t), "acme", "test.old-event"));
    audit::testing::append(store(), std::move(batch));
  }
  std::vector<store::AuditRecord> audit_of(const std::string& action_prefix) {
    store::AuditQuery q;
    q.action_prefix = action_prefix;
    q.limit = 1000;
    return store().query_audit(q);
  }

  core::RetentionConfig cfg;
  const std::int64_t now = core::unix_now();
};

TEST_P(RetentionTest, RemovesExactlyWhatIsPastEachLimit) {
  tenant("acme");
  // Invocation content: 30 days.
  invocation("inv-old", "acme", now - 30 * kDay - kHour);
  invocation("inv-new", "acme", now - 30 * kDay + kHour);
  invocation("inv-old-empty", "acme", now - 40 * kDay, /*content=*/false);
  // Sessions: 24 hours since last seen.
  session("s-old", "acme", now - 24 * kHour - 60);
  session("s-new", "acme", now - 24 * kHour + 60);
  // Audit: one year (365.25 days), in time order as the writer appends.
  const std::int64_t year = kDay * 1461 / 4;
  audit_at({now - 3 * year, now - year - kDay, now - year - kHour, now - year + kHour, now - 10 * kDay});

  audit::AuditLog log(store());
  RetentionRun run = run_retention(store(), log, cfg, now);

  EXPECT_EQ(run.invocation_contents, 1) << "only inv-old had content past the limit";
  EXPECT_EQ(run.sessions, 1);
  EXPECT_EQ(run.audit_events, 3);
  EXPECT_TRUE(run.tenants_purged.empty());

  // Content gone, metadata kept.
  auto old_inv = store().find_invocation("inv-old");
  ASSERT_TRUE(old_inv) << "the invocation's metadata was removed with its content";
  EXPECT_FALSE(old_inv->content_sealed);
  EXPECT_EQ(old_inv->tenant_id, "acme");
  EXPECT_EQ(old_inv->agent, "echo");
  EXPECT_EQ(old_inv->agent_version, "3");
  EXPECT_EQ(old_inv->status, "completed");
  EXPECT_EQ(old_inv->http_status, 200);
  EXPECT_EQ(old_inv->latency_ms, 42);
  EXPECT_EQ(old_inv->input_tokens, 7);
  EXPECT_EQ(old_inv->output_tokens, 11);
  EXPECT_EQ(old_inv->created_at, at(now - 30 * kDay - kHour));
  auto new_inv = store().find_invocation("inv-new");
  ASSERT_TRUE(new_inv);
  EXPECT_EQ(new_inv->content_sealed, "sealed-content-of-inv-new");
  EXPECT_TRUE(store().find_invocation("inv-old-empty"));
  store::InvocationQuery all;
  all.tenant_id = "acme";
  EXPECT_EQ(store().list_invocations(all).size(), 3u);

  EXPECT_FALSE(store().find_session("s-old"));
  EXPECT_TRUE(store().find_session("s-new"));

  // The audit log keeps what is inside a year, and verifies from the purge's anchor.
  const std::string cutoff = at(now - year);
  for (const auto& r : all_records(store())) EXPECT_GE(r.time, cutoff) << "seq " << r.seq << " at " << r.time;
  EXPECT_EQ(audit_of("test.old-event").size(), 2u);
  auto anchor = store().audit_anchor();
  ASSERT_TRUE(anchor);
  EXPECT_EQ(anchor->seq, 3);
  const audit::VerifyResult v = audit::verify(store());
  EXPECT_TRUE(v.ok) << v.reason << " at " << v.first_broken_seq;
  EXPECT_EQ(v.checked, 3) << "two old events inside the year and the run's own event";
}

TEST_P(RetentionTest, PurgesADeletedTenantOnlyAfterItsPurgeAfter) {
  for (const char* t : {"acme", "gone", "later"}) {
    tenant(t);
    tenant_data(t);
  }
  ASSERT_TRUE(store().mark_tenant_deleted("gone", now - 60));     // grace period over
  ASSERT_TRUE(store().mark_tenant_deleted("later", now + kDay));  // still in its grace period
  ASSERT_TRUE(has_tenant_data("gone"));

  audit::AuditLog log(store());
  RetentionRun run = run_retention(store(), log, cfg, now);

  EXPECT_EQ(run.tenants_purged, (std::vector<std::string>{"gone"}));
  EXPECT_TRUE(has_none_of_tenant_data("gone")) << "something of the purged tenant is left";
  EXPECT_TRUE(has_tenant_data("acme")) << "an active tenant lost data";
  EXPECT_TRUE(has_tenant_data("later")) << "a tenant in its grace period lost data";
  ASSERT_TRUE(store().find_tenant("later"));
  EXPECT_EQ(store().find_tenant("later")->status, "deleted");
  // The recent rows of the survivors were inside every limit.
  EXPECT_EQ(run.invocation_contents, 0);
  EXPECT_EQ(run.sessions, 0);
  EXPECT_EQ(run.audit_events, 0);

  // Once "later" is due, the next run purges it too.
  RetentionRun next = run_retention(store(), log, cfg, now + kDay);
  EXPECT_EQ(next.tenants_purged, (std::vector<std::string>{"later"}));
  EXPECT_TRUE(has_none_of_tenant_data("later"));
  EXPECT_TRUE(store().find_client("acme-client"));
  EXPECT_TRUE(store().find_tenant("acme"));
}

TEST_P(RetentionTest, AuditsItself) {
  tenant("gone");
  tenant_data("gone");
  ASSERT_TRUE(store().mark_tenant_deleted("gone", now - 60));
  tenant("acme");
  invocation("inv-old", "acme", now - 31 * kDay);
  session("s-old", "acme", now - 2 * kDay);

  audit::AuditLog log(store());
  run_retention(store(), log, cfg, now);
  // record_sync: the events are durable when run_retention returns, without a flush.

  auto purges = audit_of("tenant.purge");
  ASSERT_EQ(purges.size(), 1u);
  EXPECT_EQ(purges[0].tenant_id, "platform");
  EXPECT_EQ(purges[0].actor, "system");
  EXPECT_EQ(purges[0].resource, "/v1/tenants/gone");
  EXPECT_EQ(purges[0].outcome, "success");
  EXPECT_EQ(json::parse(purges[0].details).at("tenantId").as_string(), "gone");

  auto runs = audit_of("retention.run");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].tenant_id, "platform");
  EXPECT_EQ(runs[0].actor, "system");
  EXPECT_EQ(runs[0].outcome, "success");
  EXPECT_GT(runs[0].seq, purges[0].seq) << "the run's summary comes after what it did";
  auto details = json::parse(runs[0].details).as_object();
  EXPECT_EQ(details.at("invocationContents").to_number<std::int64_t>(), 1);
  EXPECT_EQ(details.at("sessions").to_number<std::int64_t>(), 1);
  EXPECT_EQ(details.at("auditEvents").to_number<std::int64_t>(), 0);
  EXPECT_EQ(details.at("tenantsPurged").as_array(), (json::array{"gone"}));

  EXPECT_TRUE(audit::verify(store()).ok);
}

TEST_P(RetentionTest, ASecondRunChangesNothingButIsAuditedAgain) {
  tenant("gone");
  tenant_data("gone");
  ASSERT_TRUE(store().mark_tenant_deleted("gone", now - 60));
  tenant("acme");
  invocation("inv-old", "acme", now - 31 * kDay);
  session("s-old", "acme", now - 2 * kDay);
  const std::int64_t year = kDay * 1461 / 4;
  audit_at({now - 2 * year});

  audit::AuditLog log(store());
  RetentionRun first = run_retention(store(), log, cfg, now);
  EXPECT_EQ(first.invocation_contents, 1);
  EXPECT_EQ(first.sessions, 1);
  EXPECT_EQ(first.audit_events, 1);
  EXPECT_EQ(first.tenants_purged.size(), 1u);

  RetentionRun second = run_retention(store(), log, cfg, now);
  EXPECT_EQ(second.invocation_contents, 0);
  EXPECT_EQ(second.sessions, 0);
  EXPECT_EQ(second.audit_events, 0);
  EXPECT_TRUE(second.tenants_purged.empty());
  EXPECT_EQ(audit_of("retention.run").size(), 2u);
  EXPECT_EQ(audit_of("tenant.purge").size(), 1u);
  const audit::VerifyResult v = audit::verify(store());
  EXPECT_TRUE(v.ok) << v.reason << " at " << v.first_broken_seq;
}

TEST_P(RetentionTest, AuditEntriesOfAPurgedTenantStay) {
  // The chain must not break: purging a tenant's rows leaves its (recent) audit trail.
  tenant("gone");
  tenant_data("gone");
  audit::AuditLog log(store());
  audit::Event e;
  e.tenant_id = "gone";
  e.actor = "user-1";
  e.action = "http.POST /v1/agents/{name}/invoke";
  ASSERT_TRUE(log.record_sync(e));
  ASSERT_TRUE(store().mark_tenant_deleted("gone", now - 60));

  run_retention(store(), log, cfg, now);
  EXPECT_EQ(all_records(store(), "gone").size(), 1u);
  EXPECT_TRUE(audit::verify(store()).ok);
}

// A store that fails in the middle of the run (sessions purge).
class FailingSessionsStore : public pc::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::int64_t purge_sessions_before(std::string_view) override {
    throw store::StoreError("disk I/O error (injected)");
  }
};

TEST_P(RetentionTest, AFailedRunIsAuditedAndRethrown) {
  FailingSessionsStore failing(store());
  audit::AuditLog log(store());
  EXPECT_THROW(run_retention(failing, log, cfg, now), store::StoreError);
  auto runs = audit_of("retention.run");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].outcome, "failure");
  EXPECT_NE(json::parse(runs[0].details).at("error").as_string().find("injected"), std::string::npos);
}

PC_ALL_BACKENDS(RetentionTest);

}  // namespace
}  // namespace pc::app
