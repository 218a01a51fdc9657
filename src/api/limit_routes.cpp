#include "api/limit_routes.h"

#include <boost/json.hpp>

#include "api/blocking.h"
#include "api/path_tenant.h"
#include "api/render.h"
#include "core/clock.h"
#include "core/log.h"
#include "store/tenant_store.h"
#include "tenancy/usage_limits.h"

namespace pc::api {
namespace {

boost::json::value plan_value(const tenancy::Plan& p) { return boost::json::parse(tenancy::plan_json(p)); }

boost::json::object limits_json(const tenancy::UsageLimits& limits, const store::TenantRecord& t) {
  const auto o = limits.plans().override_of(t.tenant_id);
  boost::json::object j{{"tenantId", t.tenant_id},
                        {"tier", t.tier},
                        {"tierLimits", plan_value(limits.plans().tier_plan(t.tier))},
                        {"effective", plan_value(limits.plans().resolve(t.tenant_id, t.tier))}};
  j["override"] = o ? boost::json::parse(tenancy::override_json(*o)) : boost::json::value(nullptr);
  j["updatedAt"] = o ? boost::json::value(o->updated_at) : boost::json::value(nullptr);
  j["updatedBy"] = o ? boost::json::value(o->updated_by) : boost::json::value(nullptr);
  return j;
}

boost::json::value remaining(std::uint64_t limit, std::uint64_t used) {
  if (limit == 0) return nullptr;  // unlimited
  return limit > used ? limit - used : 0;
}

}  // namespace

void add_limit_routes(net::Router& router, const AdminDeps& d, tenancy::UsageLimits& limits) {
  tenancy::UsageLimits* l = &limits;
  router.add("GET", "/v1/tenants/{id}/limits",
             gated(d, PathTenant::platform_read, [d, l](auto req, Caller, net::Responder reply, std::string tenant) {
               run_blocking(*d.pool, req, reply, [d, l, tenant] { return json_response(200, limits_json(*l, path_tenant(d, tenant))); });
             }));

  router.add("PUT", "/v1/tenants/{id}/limits",
             gated(d, PathTenant::platform_admin, [d, l](auto req, Caller caller, net::Responder reply, std::string tenant) {
               tenancy::PlanOverride o;
               try {
                 o = tenancy::parse_override(req->body);
               } catch (const std::invalid_argument& e) {
                 return reply(bad_request(*req, e.what()));
               }
               run_blocking(*d.pool, req, reply, [d, l, tenant, o, caller, req] {
                 auto t = path_tenant(d, tenant);
                 if (t.status == "deleted")
                   return net::error_response(404, "not_found", "the tenant is deleted", req->request_id);
                 l->put_override(tenant, o, caller->subject, change_audit(d, *req, caller));
                 log::info("tenant limits set", {{"request_id", req->request_id}, {"tenant", tenant},
                                                 {"limits", tenancy::override_json(o)}, {"by", caller->subject}});
                 return json_response(200, limits_json(*l, t));
               });
             }));

  router.add("DELETE", "/v1/tenants/{id}/limits",
             gated(d, PathTenant::platform_admin, [d, l](auto req, Caller caller, net::Responder reply, std::string tenant) {
               run_blocking(*d.pool, req, reply, [d, l, tenant, caller, req] {
                 path_tenant(d, tenant);
                 l->clear_override(tenant, change_audit(d, *req, caller));
                 log::info("tenant limits cleared", {{"request_id", req->request_id}, {"tenant", tenant}, {"by", caller->subject}});
                 return net::Response::text(204, "");
               });
             }));

  // Moved here from tenant_data_routes (issue 12): usage is what the limit stage counted (this
  // node's view: the cluster's totals as of the last flush plus its own counts since).
  router.add("GET", "/v1/tenants/{id}/quotas",
             gated(d, PathTenant::platform_read, [d, l](auto req, Caller, net::Responder reply, std::string tenant) {
               run_blocking(*d.pool, req, reply, [d, l, tenant] {
                 auto t = path_tenant(d, tenant);
                 const std::int64_t now = core::unix_now();
                 const auto& meter = l->meter();
                 const auto plan = l->plans().resolve(t.tenant_id, t.tier);
                 const auto used = meter.usage(tenant, now);
                 const std::string day = meter.day_label(meter.day_of(now));
                 auto usage = store::TenantStore(*d.store, tenant).usage_since(day);
                 boost::json::object o{{"tenantId", t.tenant_id},
                                       {"tier", t.tier},
                                       {"rps", plan.rps},
                                       {"burst", plan.burst},
                                       {"dailyQuota", plan.daily_quota},
                                       {"dailyToolCalls", plan.daily_tool_calls},
                                       {"maxConcurrent", plan.max_concurrent},
                                       {"usedToday", used.invocations},
                                       {"toolCallsToday", used.tool_calls},
                                       {"inFlight", l->concurrency().in_flight(tenant)},
                                       {"quotaDayStart", day},
                                       {"quotaResetsAt", core::rfc3339_from_unix(now + meter.seconds_to_reset(now))}};
                 auto tokens = [](const std::optional<std::int64_t>& n) {
                   return n ? boost::json::value(*n) : boost::json::value(nullptr);
                 };
                 o["inputTokensToday"] = usage ? tokens(usage->input_tokens) : boost::json::value(nullptr);
                 o["outputTokensToday"] = usage ? tokens(usage->output_tokens) : boost::json::value(nullptr);
                 o["remainingToday"] = remaining(plan.daily_quota, used.invocations);
                 o["toolCallsRemainingToday"] = remaining(plan.daily_tool_calls, used.tool_calls);
                 return json_response(200, o);
               });
             }));
}

}  // namespace pc::api
