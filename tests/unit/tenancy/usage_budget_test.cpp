// The suspension budget of a usage plan (suspend_after, docs/usage-plans.md): the calls of a quota
// day (invocations + tool calls) past which UsageLimits hands the tenant to on_over_budget, once a
// day, again after a failed attempt, never for tenants under their budget.
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "core/clock.h"
#include "tenancy/usage_limits.h"

namespace pc::tenancy {
namespace {

struct Budgeted {
  std::vector<OverBudget> seen;
  bool fail = false;
  std::unique_ptr<UsageLimits> limits;
  explicit Budgeted(std::uint64_t suspend_after) {
    UsageLimits::Options opt;
    core::TierConfig t;
    t.rps = 1000;
    t.burst = 1000;
    t.suspend_after = suspend_after;
    opt.tiers = {{"basic", t}};
    opt.on_over_budget = [this](const OverBudget& o) {
      if (fail) throw std::runtime_error("store down");
      seen.push_back(o);
    };
    limits = std::make_unique<UsageLimits>(std::move(opt));
  }
  void call(const char* tenant, CallKind k = CallKind::invocation, std::uint32_t n = 1) {
    auto a = limits->admit(tenant, "p", "basic", k, n);
    ASSERT_TRUE(a) << "a budget never refuses a call itself";
  }
};

TEST(UsageBudget, PassingTheBudgetHandsTheTenantOverOncePerDay) {
  Budgeted b(3);
  b.call("acme");
  b.call("acme", CallKind::tool_call, 2);  // tool calls count too: 3, at the budget
  b.limits->enforce_budgets();
  EXPECT_TRUE(b.seen.empty()) << "at the budget is not past it";
  b.call("acme");
  b.call("globex");
  b.limits->enforce_budgets();
  ASSERT_EQ(b.seen.size(), 1u);
  EXPECT_EQ(b.seen[0].tenant, "acme");
  EXPECT_EQ(b.seen[0].used, 4u);
  EXPECT_EQ(b.seen[0].budget, 3u);
  EXPECT_EQ(b.seen[0].day, b.limits->meter().day_label(b.limits->meter().day_of(core::unix_now())));
  b.call("acme");
  b.limits->enforce_budgets();
  EXPECT_EQ(b.seen.size(), 1u) << "handled once per quota day";
  b.limits->admit("acme", "p", "basic", CallKind::request);
  EXPECT_EQ(b.seen.size(), 1u) << "plain requests are not counted";
}

TEST(UsageBudget, AFailedSuspensionIsTriedAgain) {
  Budgeted b(1);
  b.call("acme");
  b.call("acme");
  b.fail = true;
  b.limits->enforce_budgets();
  EXPECT_TRUE(b.seen.empty());
  b.fail = false;
  b.limits->enforce_budgets();
  EXPECT_EQ(b.seen.size(), 1u);
}

TEST(UsageBudget, OffByDefaultAndPerTenantOverride) {
  Budgeted b(0);
  for (int i = 0; i < 50; ++i) b.call("acme");
  b.limits->enforce_budgets();
  EXPECT_TRUE(b.seen.empty()) << "suspend_after 0: no budget";
  UsagePlans::Overrides o;
  o["acme"] = parse_override(R"({"suspendAfter":10})");
  EXPECT_EQ(override_json(o["acme"]), R"({"suspendAfter":10})");
  b.limits->plans().publish_overrides(std::move(o));
  b.call("acme");  // 51 calls today, over the overridden budget of 10
  b.limits->enforce_budgets();
  ASSERT_EQ(b.seen.size(), 1u);
  EXPECT_EQ(b.seen[0].budget, 10u);
  EXPECT_THROW(parse_override(R"({"suspendAfter":-1})"), std::invalid_argument);
}

}  // namespace
}  // namespace pc::tenancy
