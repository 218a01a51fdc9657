#include "api/tenant_routes.h"

#include <boost/json.hpp>

#include "api/blocking.h"
#include "api/json_body.h"
#include "api/paging.h"
#include "api/path_tenant.h"
#include "api/render.h"
#include "core/clock.h"
#include "core/log.h"
#include "tenancy/tenant_service.h"

namespace pc::api {
namespace {

using auth::roles::kPlatformAdmin;
using auth::roles::kPlatformOperator;

net::Response no_store(net::Response r) {
  r.headers.push_back({"Cache-Control", "no-store"});  // the answer holds a secret shown once
  return r;
}

}  // namespace

void add_tenant_routes(net::Router& router, const AdminDeps& d) {
  const Policy admin = Policy::platform_only({kPlatformAdmin});
  const Policy reader = Policy::platform_only({kPlatformAdmin, kPlatformOperator});

  router.add("POST", "/v1/tenants", d.chain->route(admin, [d](auto req, Caller caller, net::Responder reply) {
    auto body = json_object_body(*req, {"tenantId", "displayName", "tier"});
    if (auto* r = std::get_if<net::Response>(&body)) return reply(std::move(*r));
    std::string id, name, tier;
    try {
      auto& o = std::get<boost::json::object>(body);
      id = string_field(o, "tenantId").value_or("");
      name = string_field(o, "displayName").value_or("");
      tier = string_field(o, "tier").value_or("standard");
    } catch (const BadField& e) {
      return reply(bad_request(*req, e.what()));
    }
    run_blocking(*d.pool, req, reply, [d, id, name, tier, caller, req] {
      auto t = d.tenants->create(id, name, tier, change_audit(d, *req, caller));
      log::info("tenant created", {{"request_id", req->request_id}, {"tenant", id}, {"by", caller->subject}});
      return json_response(201, tenant_json(t));
    });
  }));

  router.add("GET", "/v1/tenants", d.chain->route(reader, [d](auto req, Caller, net::Responder reply) {
    auto page = page_of(req->query);
    if (!page) return reply(bad_request(*req, "limit must be 1 to 1000"));
    run_blocking(*d.pool, req, reply, [d, page = *page] {
      auto rows = d.tenants->list(page.cursor, page.limit + 1);
      boost::json::array items;
      for (std::size_t i = 0; i < rows.size() && i < page.limit; ++i) items.push_back(tenant_json(rows[i]));
      return page_response("tenants", std::move(items), rows.size() > page.limit ? rows[page.limit - 1].tenant_id : "");
    });
  }));

  router.add("GET", "/v1/tenants/{id}", gated(d, PathTenant::platform_read, [d](auto req, Caller, net::Responder reply, std::string id) {
    run_blocking(*d.pool, req, reply, [d, id, req] {
      auto t = d.tenants->get(id);
      if (!t) return net::error_response(404, "not_found", "no tenant '" + id + "'", req->request_id);
      return json_response(200, tenant_json(*t));
    });
  }));

  router.add("PATCH", "/v1/tenants/{id}", gated(d, PathTenant::platform_admin, [d](auto req, Caller caller, net::Responder reply, std::string id) {
    auto body = json_object_body(*req, {"displayName", "tier", "status"});
    if (auto* r = std::get_if<net::Response>(&body)) return reply(std::move(*r));
    store::TenantPatch patch;
    try {
      auto& o = std::get<boost::json::object>(body);
      patch.display_name = string_field(o, "displayName");
      patch.tier = string_field(o, "tier");
      patch.status = string_field(o, "status");
    } catch (const BadField& e) {
      return reply(bad_request(*req, e.what()));
    }
    run_blocking(*d.pool, req, reply, [d, id, patch, caller, req] {
      auto t = d.tenants->update(id, patch, change_audit(d, *req, caller));
      log::info("tenant updated", {{"request_id", req->request_id}, {"tenant", id}, {"status", t.status},
                                   {"tier", t.tier}, {"by", caller->subject}});
      return json_response(200, tenant_json(t));
    });
  }));

  // SPEC §5: DELETE → 202, the purge is scheduled. The tenant stops working at once (its
  // tokens are refused: the tenant is no longer active); the retention job removes its data
  // after retention.tenant_purge_days.
  router.add("DELETE", "/v1/tenants/{id}", gated(d, PathTenant::platform_admin, [d](auto req, Caller caller, net::Responder reply, std::string id) {
    const std::int64_t grace = static_cast<std::int64_t>(d.config().retention.tenant_purge_days) * 86400;
    run_blocking(*d.pool, req, reply, [d, id, grace, caller, req] {
      auto t = d.tenants->remove(id, core::unix_now() + grace, change_audit(d, *req, caller));
      log::info("tenant deleted", {{"request_id", req->request_id}, {"tenant", id}, {"purge_after", t.purge_after},
                                   {"by", caller->subject}});
      return json_response(202, {{"tenantId", t.tenant_id},
                                 {"status", t.status},
                                 {"purgeAfter", core::rfc3339_from_unix(t.purge_after)}});
    });
  }));

  router.add("GET", "/v1/tenants/{id}/clients", gated(d, PathTenant::platform_read, [d](auto req, Caller, net::Responder reply, std::string id) {
    run_blocking(*d.pool, req, reply, [d, id] {
      check_path_tenant(d, id);
      boost::json::array items;
      for (const auto& c : d.tenants->list_clients(id)) items.push_back(client_json(c));
      return page_response("clients", std::move(items), "");
    });
  }));

  router.add("POST", "/v1/tenants/{id}/clients", gated(d, PathTenant::platform_admin, [d](auto req, Caller caller, net::Responder reply, std::string id) {
    auto body = json_object_body(*req, {"name", "roles", "scopes", "grantTypes"});
    if (auto* r = std::get_if<net::Response>(&body)) return reply(std::move(*r));
    tenancy::NewClient nc;
    try {
      auto& o = std::get<boost::json::object>(body);
      nc.name = string_field(o, "name").value_or("");
      nc.roles = strings_field(o, "roles").value_or(std::vector<std::string>{});
      nc.scopes = strings_field(o, "scopes").value_or(std::vector<std::string>{});
      if (auto g = strings_field(o, "grantTypes")) nc.grant_types = *g;
    } catch (const BadField& e) {
      return reply(bad_request(*req, e.what()));
    }
    run_blocking(*d.pool, req, reply, [d, id, nc, caller, req] {
      check_path_tenant(d, id);
      auto created = d.tenants->create_client(id, nc, change_audit(d, *req, caller));
      log::info("client created", {{"request_id", req->request_id}, {"tenant", id},
                                   {"client_id", created.client.client_id}, {"by", caller->subject}});
      auto o = client_json(created.client);
      o["clientSecret"] = created.secret;  // shown once
      return no_store(json_response(201, o));
    });
  }));

  // Platform admins rotate any tenant's clients; a tenant's SelfService.Admin only its own
  // tenant's — the tenant of its token; naming another one in the path is a violation.
  router.add("POST", "/v1/tenants/{id}/clients/{clientId}/rotate",
             gated(d, PathTenant::self_service_or_platform_admin,
                   [d](auto req, Caller caller, net::Responder reply, std::string id) {
               std::string client_id(req->param("clientId"));
               run_blocking(*d.pool, req, reply, [d, id, client_id, caller, req] {
                 check_path_tenant(d, id);
                 auto rotated = d.tenants->rotate_client_secret(id, client_id, change_audit(d, *req, caller));
                 log::info("client secret rotated", {{"request_id", req->request_id}, {"tenant", id},
                                                     {"client_id", client_id}, {"by", caller->subject}});
                 return no_store(json_response(200, {{"clientId", client_id}, {"clientSecret", rotated.secret}}));
               });
             }));

  // Disable / re-enable and delete: same access as rotate. The client's tokens are refused at
  // once (the tenant directory's blocked clients, checked on every authentication).
  router.add("PATCH", "/v1/tenants/{id}/clients/{clientId}",
             gated(d, PathTenant::self_service_or_platform_admin,
                   [d](auto req, Caller caller, net::Responder reply, std::string id) {
               auto body = json_object_body(*req, {"enabled"});
               if (auto* r = std::get_if<net::Response>(&body)) return reply(std::move(*r));
               std::optional<bool> enabled;
               try {
                 enabled = bool_field(std::get<boost::json::object>(body), "enabled");
               } catch (const BadField& e) {
                 return reply(bad_request(*req, e.what()));
               }
               if (!enabled) return reply(bad_request(*req, "enabled (true or false) is required"));
               std::string client_id(req->param("clientId"));
               run_blocking(*d.pool, req, reply, [d, id, client_id, enabled = *enabled, caller, req] {
                 check_path_tenant(d, id);
                 auto c = d.tenants->set_client_enabled(id, client_id, enabled, change_audit(d, *req, caller));
                 log::info(enabled ? "client enabled" : "client disabled",
                           {{"request_id", req->request_id}, {"tenant", id}, {"client_id", client_id}, {"by", caller->subject}});
                 return json_response(200, client_json(c));
               });
             }));

  router.add("DELETE", "/v1/tenants/{id}/clients/{clientId}",
             gated(d, PathTenant::self_service_or_platform_admin,
                   [d](auto req, Caller caller, net::Responder reply, std::string id) {
               std::string client_id(req->param("clientId"));
               run_blocking(*d.pool, req, reply, [d, id, client_id, caller, req] {
                 check_path_tenant(d, id);
                 d.tenants->delete_client(id, client_id, change_audit(d, *req, caller));
                 log::info("client deleted", {{"request_id", req->request_id}, {"tenant", id},
                                              {"client_id", client_id}, {"by", caller->subject}});
                 return net::Response::text(204, "");
               });
             }));
}

}  // namespace pc::api
