#include "api/tenant_data_routes.h"

#include <openssl/crypto.h>

#include <boost/json.hpp>
#include <charconv>

#include "api/blocking.h"
#include "api/json_body.h"
#include "api/paging.h"
#include "api/path_tenant.h"
#include "api/render.h"
#include "api/window.h"
#include "audit/export.h"
#include "core/log.h"
#include "store/tenant_store.h"
#include "tenancy/capabilities.h"
#include "tenancy/tenant_service.h"
#include "vault/secrets.h"

namespace pc::api {
namespace {

using auth::roles::kPlatformAdmin;
using auth::roles::kPlatformOperator;

constexpr std::size_t kExportPage = 10000;  // audit events per export answer; X-Next-Cursor continues

}  // namespace

void add_tenant_data_routes(net::Router& router, const AdminDeps& d) {
  router.add("GET", "/v1/tenants/{id}/capabilities",
             gated(d, PathTenant::platform_read, [d](auto req, Caller, net::Responder reply, std::string tenant) {
               run_blocking(*d.pool, req, reply, [d, tenant] {
                 auto t = path_tenant(d, tenant);
                 boost::json::array items;
                 for (const auto& c : d.capabilities->all()) {
                   auto decision = d.capabilities->evaluate(c.name, t.tenant_id, t.tier);
                   items.push_back({{"name", c.name}, {"allowed", decision.allowed}, {"reason", decision.reason}});
                 }
                 return json_response(200, {{"tenantId", t.tenant_id}, {"tier", t.tier}, {"capabilities", std::move(items)}});
               });
             }));

  // ---- secrets: write-only through the API
  router.add("GET", "/v1/tenants/{id}/secrets", gated(d, PathTenant::platform_admin, [d](auto req, Caller, net::Responder reply, std::string tenant) {
    if (!d.vault) return reply(net::error_response(503, "unavailable", "the secrets vault is not configured", req->request_id));
    run_blocking(*d.pool, req, reply, [d, tenant] {
      check_path_tenant(d, tenant);
      boost::json::array items;
      for (const auto& s : d.vault->list(tenant))
        items.push_back(secret_info_json(s.name, s.version, s.created_at, s.created_by));
      return page_response("secrets", std::move(items), "");
    });
  }));

  router.add("PUT", "/v1/tenants/{id}/secrets/{name}",
             gated(d, PathTenant::platform_admin, [d](auto req, Caller caller, net::Responder reply, std::string tenant) {
               if (!d.vault)
                 return reply(net::error_response(503, "unavailable", "the secrets vault is not configured", req->request_id));
               std::string name(req->param("name"));
               if (!vault::SecretsVault::valid_name(name))
                 return reply(bad_request(*req, "a secret name is 1 to 128 characters of A-Z a-z 0-9 . _ -"));
               auto body = json_object_body(*req, {"value"});
               if (auto* r = std::get_if<net::Response>(&body)) return reply(std::move(*r));
               std::optional<std::string> value;
               try {
                 value = string_field(std::get<boost::json::object>(body), "value");
               } catch (const BadField& e) {
                 return reply(bad_request(*req, e.what()));
               }
               if (!value) return reply(bad_request(*req, "value is required"));
               // The request body held the value too; it is dropped with the request.
               run_blocking(*d.pool, req, reply, [d, tenant, name, value = std::move(*value), caller, req]() mutable {
                 check_path_tenant(d, tenant);
                 const int version = d.vault->put(tenant, name, value, caller->subject);
                 OPENSSL_cleanse(value.data(), value.size());
                 log::info("secret stored", {{"request_id", req->request_id}, {"tenant", tenant}, {"name", name},
                                             {"version", version}, {"by", caller->subject}});
                 return json_response(201, {{"name", name}, {"version", version}});
               });
             }));

  router.add("DELETE", "/v1/tenants/{id}/secrets/{name}",
             gated(d, PathTenant::platform_admin, [d](auto req, Caller caller, net::Responder reply, std::string tenant) {
               if (!d.vault)
                 return reply(net::error_response(503, "unavailable", "the secrets vault is not configured", req->request_id));
               std::string name(req->param("name"));
               run_blocking(*d.pool, req, reply, [d, tenant, name, caller, req] {
                 check_path_tenant(d, tenant);
                 if (!d.vault->remove(tenant, name))
                   return net::error_response(404, "not_found", "no secret '" + name + "'", req->request_id);
                 log::info("secret deleted", {{"request_id", req->request_id}, {"tenant", tenant}, {"name", name},
                                              {"by", caller->subject}});
                 return net::Response::text(204, "");
               });
             }));

  // ---- invocations (metadata only)
  router.add("GET", "/v1/tenants/{id}/invocations",
             gated(d, PathTenant::platform_read, [d](auto req, Caller, net::Responder reply, std::string tenant) {
               auto q = invocation_query(*req);
               if (auto* r = std::get_if<net::Response>(&q)) return reply(std::move(*r));
               run_blocking(*d.pool, req, reply, [d, tenant, q = std::get<store::InvocationQuery>(q)] {
                 path_tenant(d, tenant);
                 return invocation_page(store::TenantStore(*d.store, tenant).list_invocations(q), q.limit - 1);
               });
             }));

  // GET /v1/tenants/{id}/quotas: api/limit_routes.cpp (limits, issue 12).

  // ---- the tenant's audit export: platform readers, or the tenant's own SelfService.Admin
  router.add("GET", "/v1/tenants/{id}/audit-export",
             gated(d, PathTenant::self_service, [d](auto req, Caller, net::Responder reply, std::string tenant) {
               std::int64_t after = 0;
               if (auto c = query_param(req->query, "cursor"); !c.empty()) {
                 auto [p, ec] = std::from_chars(c.data(), c.data() + c.size(), after);
                 if (ec != std::errc() || p != c.data() + c.size() || after < 0)
                   return reply(bad_request(*req, "cursor must be the seq of the last exported event"));
               }
               run_blocking(*d.pool, req, reply, [d, tenant, after] {
                 check_path_tenant(d, tenant);
                 store::TenantStore handle(*d.store, tenant);
                 std::string body;
                 std::int64_t last = after;
                 std::size_t lines = 0;
                 while (lines < kExportPage) {
                   store::AuditQuery q;
                   q.after_seq = last;
                   q.limit = std::min<std::size_t>(1000, kExportPage - lines);
                   auto rows = handle.query_audit(q);
                   for (const auto& r : rows) body += audit::to_json_line(r);
                   lines += rows.size();
                   if (!rows.empty()) last = rows.back().seq;
                   if (rows.size() < q.limit) break;
                 }
                 auto r = net::Response::text(200, std::move(body), "application/x-ndjson");
                 if (lines == kExportPage) r.headers.push_back({"X-Next-Cursor", std::to_string(last)});
                 return r;
               });
             }));
}

}  // namespace pc::api
