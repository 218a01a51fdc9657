// Usage plans (tenancy/usage_limits.h): plans from tiers and overrides, admit()'s refusals, and
// the store side on every backend — overrides kept and audited, quota counts written per node
// and summed, a write whose commit outcome was lost not counted twice, counts read back after a
// restart.
#include "tenancy/usage_limits.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>

#include "core/clock.h"
#include "support/forwarding_store.h"
#include "support/test_store.h"
#include "tenancy/tenant_service.h"

namespace pc::tenancy {
namespace {

std::map<std::string, core::TierConfig> tiers() {
  core::TierConfig basic{1, 3, 2, 0, 0, 0, 1, 5};
  core::TierConfig gold{1000, 1000, 0, 5, 0.001, 2, 0, 0};
  return {{"basic", basic}, {"gold", gold}};
}

TEST(UsagePlan, TierOverrideAndFallback) {
  UsagePlans plans;
  plans.publish_tiers(tiers());
  EXPECT_EQ(plans.resolve("acme", "basic").burst, 3u);
  EXPECT_EQ(plans.resolve("acme", "gold").principal_burst, 2u);
  EXPECT_EQ(plans.resolve("acme", "gone").burst, 3u) << "an unknown tier gets the lowest-ranked tier's plan";
  UsagePlans::Overrides o;
  o["acme"] = parse_override(R"({"burst":50,"dailyQuota":0,"principalRps":2})");
  plans.publish_overrides(std::move(o));
  Plan p = plans.resolve("acme", "basic");
  EXPECT_EQ(p.burst, 50u);
  EXPECT_EQ(p.daily_quota, 0u) << "an override may lift a quota";
  EXPECT_EQ(p.rps, 1.0) << "fields not set stay the tier's";
  EXPECT_EQ(p.principal_burst, 50u) << "a principal's burst defaults to the tenant's";
  EXPECT_EQ(plans.resolve("globex", "basic").burst, 3u);
}

TEST(UsagePlan, ParseOverrideRefusesWhatIsNotALimit) {
  for (const char* bad : {"[]", "{", R"({"rps":0})", R"({"rps":-1})", R"({"rps":"1"})", R"({"burst":0})",
                          R"({"burst":1.5})", R"({"maxConcurrent":-1})", R"({"x":1})", R"({"rps":1e9})"})
    EXPECT_THROW(parse_override(bad), std::invalid_argument) << bad;
  auto o = parse_override(R"({"rps":2.5,"burst":null,"dailyToolCalls":0})");
  EXPECT_EQ(*o.rps, 2.5);
  EXPECT_FALSE(o.burst);
  EXPECT_EQ(parse_override(override_json(o)), o);
}

TEST(UsageLimits, AdmitRefusesEachLimitWithItsKind) {
  UsageLimits::Options opt;
  opt.tiers = tiers();
  UsageLimits l(std::move(opt));
  using R = Admission::Refusal;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(l.admit("a", "p", "basic", CallKind::request)) << i;
  auto a = l.admit("a", "p", "basic", CallKind::request);
  EXPECT_EQ(a.refusal, R::rate);
  EXPECT_EQ(a.retry_after_seconds, 1);

  auto slot = l.admit("b", "p", "basic", CallKind::invocation);
  ASSERT_TRUE(slot);
  EXPECT_EQ(l.admit("b", "p", "basic", CallKind::invocation).refusal, R::concurrency);
  slot.slot.release();
  EXPECT_TRUE(l.admit("b", "p", "basic", CallKind::invocation));  // second of the quota of 2
  auto q = l.admit("c", "p", "basic", CallKind::invocation);
  EXPECT_TRUE(q);
  q.slot.release();
  // tenant b: 2 invocations counted; the third is over the quota (the slot is free again).
  auto over = l.admit("b", "p", "basic", CallKind::invocation);
  EXPECT_EQ(over.refusal, R::rate) << "b's burst of 3 is spent first";

  auto g1 = l.admit("g", "alice", "gold", CallKind::request), g2 = l.admit("g", "alice", "gold", CallKind::request);
  EXPECT_TRUE(g1 && g2);
  EXPECT_EQ(l.admit("g", "alice", "gold", CallKind::request).refusal, R::principal_rate);
  EXPECT_TRUE(l.admit("g", "bob", "gold", CallKind::request));
}

TEST(UsageLimits, QuotaAndToolQuotaRefusals) {
  auto t = tiers();
  t["basic"].rps = 1000;
  t["basic"].burst = 1000;
  t["basic"].max_concurrent = 0;
  UsageLimits::Options opt;
  opt.tiers = t;
  UsageLimits l(std::move(opt));
  using R = Admission::Refusal;
  EXPECT_TRUE(l.admit("a", "p", "basic", CallKind::invocation));
  EXPECT_TRUE(l.admit("a", "p", "basic", CallKind::invocation));
  auto q = l.admit("a", "p", "basic", CallKind::invocation);
  EXPECT_EQ(q.refusal, R::quota);
  EXPECT_GE(q.retry_after_seconds, 1);
  EXPECT_LE(q.retry_after_seconds, 86400);
  EXPECT_TRUE(l.admit("a", "p", "basic", CallKind::tool_call, 5));
  EXPECT_EQ(l.admit("a", "p", "basic", CallKind::tool_call).refusal, R::tool_quota);
  EXPECT_TRUE(l.admit("a", "p", "basic", CallKind::request)) << "plain requests are not metered";
}

class UsageLimitsStoreTest : public pc::testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    for (const char* id : {"acme", "globex"}) {
      store::TenantRecord t;
      t.tenant_id = id;
      t.display_name = id;
      t.tier = "basic";
      store().insert_tenant(t);
    }
  }
  std::unique_ptr<UsageLimits> node(store::Store& s) {
    UsageLimits::Options opt;
    auto t = tiers();
    t["basic"] = {1000, 1000, 5, 0, 0, 0, 0, 0};
    opt.tiers = t;
    opt.store = &s;
    auto l = std::make_unique<UsageLimits>(std::move(opt));
    l->load();
    return l;
  }
};

TEST_P(UsageLimitsStoreTest, OverridesAreStoredAuditedAndClearedOnce) {
  auto l = node(store());
  int audited = 0;
  store::AuditedChange audit = [&](const std::string& tenant, const std::string& action, const std::string&,
                                   const std::function<void()>& change) {
    EXPECT_EQ(tenant, "acme");
    EXPECT_TRUE(action == "tenant.limits.set" || action == "tenant.limits.clear") << action;
    change();
    ++audited;
  };
  l->put_override("acme", parse_override(R"({"burst":9})"), "admin", audit);
  EXPECT_EQ(l->plans().resolve("acme", "basic").burst, 9u);
  auto other = node(store());  // another node reads it from the store
  EXPECT_EQ(other->plans().resolve("acme", "basic").burst, 9u);
  EXPECT_EQ(other->plans().override_of("acme")->updated_by, "admin");
  l->clear_override("acme", audit);
  EXPECT_EQ(l->plans().resolve("acme", "basic").burst, 1000u);
  EXPECT_THROW(l->clear_override("acme", audit), TenancyError);
  EXPECT_EQ(audited, 2) << "a clear that found nothing is not a change";
  ASSERT_TRUE(store().mark_tenant_deleted("globex", 1));
  EXPECT_THROW(l->put_override("globex", parse_override(R"({"burst":9})"), "admin", {}), TenancyError);
}

TEST_P(UsageLimitsStoreTest, TwoNodesShareTheDailyQuotaThroughTheStore) {
  auto second = open_again();
  auto a = node(store()), b = node(*second);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(a->admit("acme", "p", "basic", CallKind::invocation));
  ASSERT_TRUE(a->flush());
  ASSERT_TRUE(b->flush());
  EXPECT_EQ(b->meter().usage("acme", core::unix_now()).invocations, 3u);
  ASSERT_TRUE(b->admit("acme", "p", "basic", CallKind::invocation));
  ASSERT_TRUE(b->admit("acme", "p", "basic", CallKind::invocation));
  EXPECT_EQ(b->admit("acme", "p", "basic", CallKind::invocation).refusal, Admission::Refusal::quota);
  ASSERT_TRUE(b->flush());
  ASSERT_TRUE(a->flush());
  EXPECT_EQ(a->meter().usage("acme", core::unix_now()).invocations, 5u);
  // A restart reads the day's totals back.
  auto c = node(store());
  EXPECT_EQ(c->meter().usage("acme", core::unix_now()).invocations, 5u);
  // The tenant's purge removes its rows.
  ASSERT_TRUE(store().mark_tenant_deleted("acme", 1));
  store().purge_tenant("acme");
  auto d = node(store());
  EXPECT_EQ(d->meter().usage("acme", core::unix_now()).invocations, 0u);
}

// Review M6: the connection drops during COMMIT, the commit happened, the node cannot know. Its
// next flush writes the same counts again; with per-node absolute rows they count once.
class CommitsThenFails final : public testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  int fail = 1;
  void put_daily_usage(std::string_view node, const std::vector<store::DailyUsageRecord>& d) override {
    ForwardingStore::put_daily_usage(node, d);
    if (fail > 0 && fail--) throw store::StoreError("connection lost during COMMIT");
  }
};

TEST_P(UsageLimitsStoreTest, AWriteWhoseCommitWasLostCountsOnce) {
  CommitsThenFails ambiguous(store());
  auto a = node(ambiguous);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(a->admit("acme", "p", "basic", CallKind::invocation));
  EXPECT_FALSE(a->flush());
  ASSERT_TRUE(a->admit("acme", "p", "basic", CallKind::invocation));
  ASSERT_TRUE(a->flush());
  auto rows = store().daily_usage(a->meter().day_label(a->meter().day_of(core::unix_now())));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].invocations, 4) << "3 written twice (once unknowingly) + 1";
  EXPECT_EQ(node(store())->meter().usage("acme", core::unix_now()).invocations, 4u) << "a restart reads 4";
}

TEST_P(UsageLimitsStoreTest, NodesRowsAreSummedAndNeverGoDown) {
  const std::string day = "2026-12-06T00:00:00.000Z";
  store().put_daily_usage("node-a", {{"acme", day, 3, 1}});
  store().put_daily_usage("node-a", {{"acme", day, 3, 1}});  // repeated
  store().put_daily_usage("node-b", {{"acme", day, 2, 0}, {"globex", day, 1, 1}});
  store().put_daily_usage("node-a", {{"acme", day, 1, 0}});  // stale: less than written
  auto rows = store().daily_usage(day);
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& r : rows) {
    if (r.tenant_id == "acme") {
      EXPECT_EQ(r.invocations, 5);
      EXPECT_EQ(r.tool_calls, 1);
    } else {
      EXPECT_EQ(r.invocations, 1);
    }
  }
  ASSERT_TRUE(store().mark_tenant_deleted("globex", 1));
  store().put_daily_usage("node-a", {{"globex", day, 9, 9}});  // a deleted tenant's: skipped
  for (const auto& r : store().daily_usage(day)) {
    if (r.tenant_id == "globex") EXPECT_EQ(r.invocations, 1);
  }
}

TEST_P(UsageLimitsStoreTest, OldDailyUsageRowsArePurgedInBoundedBatches) {
  UsageLimits::Options opt;
  opt.tiers = tiers();
  opt.config.keep_days = 90;
  opt.store = &store();
  UsageLimits l(std::move(opt));
  const auto& m = l.meter();
  const std::int64_t today = m.day_of(core::unix_now());
  std::vector<store::DailyUsageRecord> rows;
  for (std::int64_t ago : {0, 1, 89, 90, 91, 200, 365})
    for (const char* t : {"acme", "globex"}) rows.push_back({t, m.day_label(today - ago), 1, 0});
  store().put_daily_usage("node-a", rows);
  store().put_daily_usage("node-b", rows);
  EXPECT_EQ(l.purge_old_usage(8), 8) << "a batch is bounded";
  EXPECT_EQ(l.purge_old_usage(8), 4) << "days before today - 90: 91, 200 and 365 days ago, two tenants, two nodes";
  EXPECT_EQ(l.purge_old_usage(8), 0);
  for (std::int64_t ago : {0, 1, 89, 90}) EXPECT_EQ(store().daily_usage(m.day_label(today - ago)).size(), 2u) << ago;
  for (std::int64_t ago : {91, 200, 365}) EXPECT_TRUE(store().daily_usage(m.day_label(today - ago)).empty()) << ago;
}

// Review L1: a reload that read the override table before a change must not publish after the
// change's own reload. The store stalls the sync thread's read until the PUT returned (at most
// 0.5 s): with read + publish serialized, the PUT's reload waits for it and publishes last.
class StallingStore final : public testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::vector<store::TenantLimitsRecord> list_tenant_limits() override {
    auto rows = ForwardingStore::list_tenant_limits();
    if (std::this_thread::get_id() == stalled) {
      read.set_value();
      put_done.wait_for(std::chrono::milliseconds(500));
    }
    return rows;
  }
  std::thread::id stalled;
  std::promise<void> read;
  std::shared_future<void> put_done;
};

TEST_P(UsageLimitsStoreTest, AReloadReadBeforeAnOverrideChangeNeverPublishesAfterIt) {
  StallingStore s(store());
  auto l = node(s);
  std::promise<void> put_done;
  s.put_done = put_done.get_future().share();
  auto read = s.read.get_future();
  std::thread sync([&] {
    s.stalled = std::this_thread::get_id();
    l->reload_overrides();
  });
  read.wait();  // the sync thread holds the table as it was before the change
  PlanOverride o;
  o.burst = 42;
  l->put_override("acme", o, "admin", {});
  put_done.set_value();
  sync.join();
  EXPECT_EQ(l->plans().resolve("acme", "basic").burst, 42u) << "the stale read was published after the PUT";
}

// Review M4: the sync thread sweeps whatever limiter it was given (a shared one in cluster mode
// was never swept, so its tables grew with every principal ever seen).
class CountingLimiter final : public RateLimiter {
 public:
  RateDecision take(std::string_view, std::string_view, const Rate&, std::int64_t, std::uint32_t) override {
    RateDecision d;
    d.allowed = true;
    return d;
  }
  std::size_t sweep(std::int64_t) override { return ++sweeps; }
  std::atomic<std::size_t> sweeps{0};
};

TEST_P(UsageLimitsStoreTest, TheSyncThreadSweepsAGivenLimiter) {
  auto limiter = std::make_shared<CountingLimiter>();
  UsageLimits::Options opt;
  opt.tiers = tiers();
  opt.config.persist_interval_seconds = 1;
  opt.store = &store();
  opt.limiter = limiter;
  UsageLimits l(std::move(opt));
  EXPECT_TRUE(l.admit("acme", "p", "basic", CallKind::request));
  l.start();
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (limiter->sweeps.load() < 2 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  l.stop();
  EXPECT_GE(limiter->sweeps.load(), 2u) << "swept every interval";
}

PC_ALL_BACKENDS(UsageLimitsStoreTest);

}  // namespace
}  // namespace pc::tenancy
