// tenant_gate: who may act on the tenant a path names (SPEC §5: platform roles; self-service
// only for a SelfService.Admin of that same tenant, taken from the token, never the path;
// SPEC §6: a tenant principal naming another tenant is a tenant-access violation — 403, an
// audit event, and the metric portcullis_tenant_access_violations_total).
#include "api/admin_deps.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "core/metrics.h"

namespace pc::api {
namespace {

namespace json = boost::json;
using Roles = std::vector<std::string>;

// The process-wide series; compared before and after (gtest runs tests one at a time).
double violations() {
  return core::metrics().counter("portcullis_tenant_access_violations_total", "").get().value();
}

Caller caller(std::string tenant, std::vector<std::string> roles) {
  auto p = std::make_shared<auth::Principal>();
  p->issuer = "https://idp.test";
  p->issuer_name = "corp";
  p->subject = "user-1";
  p->tenant = std::move(tenant);
  p->roles = std::move(roles);
  return Caller{std::move(p), "standard"};
}

net::Request request() {
  net::Request r;
  r.method = "GET";
  r.path = r.target = "/v1/tenants/acme/audit-export";
  r.route = "/v1/tenants/{id}/audit-export";
  r.request_id = "req-gate";
  return r;
}

std::string error_code(const net::Response& r) {
  return std::string(json::parse(r.body).at("error").at("code").as_string());
}

// Every combination of the two switches.
struct Switches {
  bool admin_only;
  bool self_service;
};
const Switches kAll[] = {{false, false}, {false, true}, {true, false}, {true, true}};

TEST(TenantGate, PlatformAdminPassesEveryRoute) {
  const auto req = request();
  for (auto [admin_only, self_service] : kAll) {
    EXPECT_FALSE(tenant_gate(req, caller("platform", {"Platform.Admin"}), "acme", admin_only, self_service))
        << admin_only << self_service;
  }
}

TEST(TenantGate, PlatformOperatorPassesOnlyWhereReadsSuffice) {
  const auto req = request();
  const double before = violations();
  for (bool self_service : {false, true}) {
    EXPECT_FALSE(tenant_gate(req, caller("platform", {"Platform.Operator"}), "acme", false, self_service));
    auto refused = tenant_gate(req, caller("platform", {"Platform.Operator"}), "acme", true, self_service);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 403);
    EXPECT_EQ(error_code(*refused), "forbidden");
    EXPECT_EQ(json::parse(refused->body).at("error").at("requestId").as_string(), "req-gate");
    // A missing role is not an isolation breach: a plain refusal (audited as access denied, like
    // the guard's), no violation counted.
    EXPECT_EQ(refused->audit_action, "security.access_denied");
  }
  EXPECT_EQ(violations(), before);
}

TEST(TenantGate, PlatformPrincipalWithoutAPlatformRoleIsRefused) {
  const auto req = request();
  for (auto [admin_only, self_service] : kAll) {
    for (const Roles& roles : std::initializer_list<Roles>{{}, {"Agent.Invoke"}, {"SelfService.Admin"}}) {
      auto refused = tenant_gate(req, caller("platform", roles), "acme", admin_only, self_service);
      ASSERT_TRUE(refused) << admin_only << self_service;
      EXPECT_EQ(refused->status, 403);
      EXPECT_EQ(refused->audit_action, "security.access_denied");
    }
  }
}

TEST(TenantGate, SelfServiceAdminOfTheSameTenantPassesSelfServiceRoutesOnly) {
  const auto req = request();
  const double before = violations();
  const Caller admin = caller("acme", {"SelfService.Admin"});
  EXPECT_FALSE(tenant_gate(req, admin, "acme", /*admin_only=*/false, /*self_service=*/true));
  EXPECT_FALSE(tenant_gate(req, admin, "acme", /*admin_only=*/true, /*self_service=*/true));

  // Not a self-service route: platform principals only.
  for (bool admin_only : {false, true}) {
    auto refused = tenant_gate(req, admin, "acme", admin_only, /*self_service=*/false);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 403);
    EXPECT_EQ(error_code(*refused), "forbidden");
    EXPECT_EQ(refused->audit_action, "security.access_denied") << "its own tenant is no violation";
  }
  EXPECT_EQ(violations(), before);
}

TEST(TenantGate, TenantPrincipalWithoutSelfServiceAdminIsRefusedOnItsOwnTenant) {
  const auto req = request();
  const double before = violations();
  for (const Roles& roles : std::initializer_list<Roles>{
           {}, {"Agent.Invoke", "Machine.Invoke", "Agent.Developer"},
        // Platform roles in a tenant's token are never honoured.
        {"Platform.Admin"}, {"Platform.Operator"}}) {
    for (auto [admin_only, self_service] : kAll) {
      auto refused = tenant_gate(req, caller("acme", roles), "acme", admin_only, self_service);
      ASSERT_TRUE(refused) << admin_only << self_service << " roles " << roles.size();
      EXPECT_EQ(refused->status, 403);
      EXPECT_EQ(refused->audit_action, "security.access_denied");
    }
  }
  EXPECT_EQ(violations(), before);
}

TEST(TenantGate, NamingAnotherTenantIsAViolation) {
  const auto req = request();
  // Whatever the caller's roles — SelfService.Admin of its own tenant, or platform roles a
  // tenant's token claims — and whatever the route's switches.
  for (const Roles& roles :
       std::initializer_list<Roles>{{"SelfService.Admin"}, {"Platform.Admin"}, {"Agent.Invoke"}, {}}) {
    for (auto [admin_only, self_service] : kAll) {
      const double before = violations();
      auto refused = tenant_gate(req, caller("acme", roles), "globex", admin_only, self_service);
      ASSERT_TRUE(refused);
      EXPECT_EQ(refused->status, 403);
      EXPECT_EQ(error_code(*refused), "forbidden");
      EXPECT_EQ(json::parse(refused->body).at("error").at("requestId").as_string(), "req-gate");
      // The audit trail turns this into a security event beside the call's own.
      EXPECT_EQ(refused->audit_action, "security.tenant_access_violation");
      EXPECT_EQ(violations() - before, 1) << "counted " << violations() - before << " times";
    }
  }
}

TEST(TenantGate, TheTenantComparisonIsExact) {
  // "acme" may not reach "acme-corp", "acm", or "ACME" by a prefix or case match.
  const auto req = request();
  const Caller admin = caller("acme", {"SelfService.Admin"});
  for (const char* other : {"acme-corp", "acm", "ACME", "acme ", ""}) {
    const double before = violations();
    auto refused = tenant_gate(req, admin, other, false, true);
    ASSERT_TRUE(refused) << "'" << other << "'";
    EXPECT_EQ(refused->audit_action, "security.tenant_access_violation") << "'" << other << "'";
    EXPECT_EQ(violations() - before, 1);
  }
}

}  // namespace
}  // namespace pc::api
