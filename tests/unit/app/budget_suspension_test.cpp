// Automatic suspension past a usage plan's budget (app/budget_suspension.h) on every store
// backend: the tenant is suspended through the tenant service (this node's directory refuses at
// once), audited as tenant.suspend by actor system with the reason in the same transaction, other
// nodes signalled; a tenant already suspended is left alone; an admin's resume holds for the day.
#include "app/budget_suspension.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/clock.h"
#include "support/test_store.h"

namespace pc::app {
namespace {

class BudgetSuspensionTest : public pc::testing::BackendTest {
 protected:
  tenancy::TenantDirectory directory;
  std::unique_ptr<tenancy::TenantService> svc;
  std::vector<std::pair<std::string, std::string>> signals;
  std::function<void(const std::string&, const std::string&)> changed = [this](const std::string& k,
                                                                            const std::string& t) {
    signals.emplace_back(k, t);
  };
  void SetUp() override {
    BackendTest::SetUp();
    svc = std::make_unique<tenancy::TenantService>(store(), directory, [](const std::string&) { return true; });
    svc->create("acme", "Acme", "basic");
    svc->create("globex", "Globex", "basic");
  }
  tenancy::OverBudget over(const std::string& tenant) {
    // The quota day started an hour before the tenants were created.
    return {tenant, core::rfc3339_from_unix(core::unix_now() - 3600), 11, 10};
  }
};

TEST_P(BudgetSuspensionTest, SuspendsAuditsAndSignalsOnce) {
  EXPECT_EQ(suspend_over_budget(store(), *svc, over("acme"), changed), BudgetOutcome::suspended);
  EXPECT_EQ(store().find_tenant("acme")->status, "suspended");
  ASSERT_NE(directory.find("acme"), nullptr);
  EXPECT_FALSE(directory.find("acme")->active()) << "this node refuses at once";
  EXPECT_EQ(store().find_tenant("globex")->status, "active") << "no other tenant is touched";
  ASSERT_EQ(signals.size(), 1u);
  EXPECT_EQ(signals[0], std::make_pair(std::string("tenant.suspend"), std::string("acme")));

  store::AuditQuery q;
  q.tenant_id = "acme";
  q.action_prefix = "tenant.suspend";
  auto events = store().query_audit(q);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].actor, "system");
  EXPECT_EQ(events[0].outcome, "success");
  auto d = boost::json::parse(events[0].details).as_object();
  EXPECT_EQ(d.at("reason").as_string(), "daily_budget");
  EXPECT_EQ(d.at("suspendAfter").to_number<std::int64_t>(), 10);
  EXPECT_EQ(d.at("used").to_number<std::int64_t>(), 11);
  EXPECT_EQ(d.at("actorTenant").as_string(), "platform");

  EXPECT_EQ(suspend_over_budget(store(), *svc, over("acme"), changed), BudgetOutcome::not_active)
      << "suspended already (another node was first)";
  EXPECT_EQ(store().query_audit(q).size(), 1u);
  EXPECT_EQ(signals.size(), 1u);
}

TEST_P(BudgetSuspensionTest, AnAdminsResumeHoldsForTheQuotaDay) {
  ASSERT_EQ(suspend_over_budget(store(), *svc, over("acme"), changed), BudgetOutcome::suspended);
  store::TenantPatch resume;
  resume.status = "active";
  svc->update("acme", resume);
  EXPECT_EQ(suspend_over_budget(store(), *svc, over("acme"), changed), BudgetOutcome::resumed_today);
  EXPECT_EQ(store().find_tenant("acme")->status, "active");
  // The next quota day (it starts after the resume): over its budget again, suspended again.
  tenancy::OverBudget tomorrow = over("acme");
  tomorrow.day = core::rfc3339_from_unix(core::unix_now() + 1);
  EXPECT_EQ(suspend_over_budget(store(), *svc, tomorrow, changed), BudgetOutcome::suspended);
}

TEST_P(BudgetSuspensionTest, DeletedTenantIsLeftAlone) {
  svc->remove("globex", core::unix_now() + 3600);
  EXPECT_EQ(suspend_over_budget(store(), *svc, over("globex"), changed), BudgetOutcome::not_active);
  EXPECT_EQ(store().find_tenant("globex")->status, "deleted");
}

PC_ALL_BACKENDS(BudgetSuspensionTest);

}  // namespace
}  // namespace pc::app
