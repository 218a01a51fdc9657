#include "api/tenant_routes.h"

#include <boost/json.hpp>

#include "api/blocking.h"
#include "api/json_body.h"
#include "api/paging.h"
#include "core/log.h"

namespace pc::api {
namespace {

using auth::roles::kPlatformAdmin;
using auth::roles::kPlatformOperator;
using auth::roles::kSelfServiceAdmin;

boost::json::object tenant_json(const store::TenantRecord& t) {
  return {{"tenantId", t.tenant_id}, {"displayName", t.display_name}, {"tier", t.tier},
          {"status", t.status},      {"createdAt", t.created_at},     {"updatedAt", t.updated_at}};
}

boost::json::object client_json(const store::ClientRecord& c) {
  return {{"clientId", c.client_id},
          {"tenantId", c.tenant_id},
          {"name", c.name},
          {"roles", boost::json::array(c.roles.begin(), c.roles.end())},
          {"scopes", boost::json::array(c.scopes.begin(), c.scopes.end())},
          {"grantTypes", boost::json::array(c.grant_types.begin(), c.grant_types.end())},
          {"status", c.status},
          {"createdAt", c.created_at}};
}

net::Response json(int status, const boost::json::object& o) {
  return net::Response::json(status, boost::json::serialize(o));
}

}  // namespace

void add_tenant_routes(net::Router& router, TenantRoutesDeps d) {
  const Access admin = Access::platform({kPlatformAdmin});
  const Access reader = Access::platform({kPlatformAdmin, kPlatformOperator});

  router.add("POST", "/v1/tenants", d.guard->protect(admin, [d](auto req, Caller caller, net::Responder reply) {
    auto body = json_object_body(*req, {"tenantId", "displayName", "tier"});
    if (auto* r = std::get_if<net::Response>(&body)) return reply(std::move(*r));
    std::string id, name, tier;
    try {
      auto& o = std::get<boost::json::object>(body);
      id = string_field(o, "tenantId").value_or("");
      name = string_field(o, "displayName").value_or("");
      tier = string_field(o, "tier").value_or("standard");
    } catch (const BadField& e) {
      return reply(net::error_response(400, "invalid_request", e.what(), req->request_id));
    }
    run_blocking(*d.pool, req, reply, [d, id, name, tier, caller, req] {
      auto t = d.tenants->create(id, name, tier);
      log::info("tenant created", {{"request_id", req->request_id}, {"tenant", id}, {"by", caller->subject}});
      return json(201, tenant_json(t));
    });
  }));

  router.add("GET", "/v1/tenants", d.guard->protect(reader, [d](auto req, Caller, net::Responder reply) {
    auto page = page_of(req->query);
    if (!page) return reply(net::error_response(400, "invalid_request", "limit must be 1 to 1000", req->request_id));
    run_blocking(*d.pool, req, reply, [d, page = *page] {
      auto rows = d.tenants->list(page.cursor, page.limit + 1);
      boost::json::array items;
      for (std::size_t i = 0; i < rows.size() && i < page.limit; ++i) items.push_back(tenant_json(rows[i]));
      boost::json::object o{{"tenants", std::move(items)}};
      o["nextCursor"] = rows.size() > page.limit ? boost::json::value(rows[page.limit - 1].tenant_id) : nullptr;
      return json(200, o);
    });
  }));

  router.add("GET", "/v1/tenants/{id}", d.guard->protect(reader, [d](auto req, Caller, net::Responder reply) {
    std::string id(req->param("id"));
    run_blocking(*d.pool, req, reply, [d, id, req] {
      auto t = d.tenants->get(id);
      if (!t) return net::error_response(404, "not_found", "no tenant '" + id + "'", req->request_id);
      return json(200, tenant_json(*t));
    });
  }));

  router.add("PATCH", "/v1/tenants/{id}", d.guard->protect(admin, [d](auto req, Caller caller, net::Responder reply) {
    auto body = json_object_body(*req, {"displayName", "tier", "status"});
    if (auto* r = std::get_if<net::Response>(&body)) return reply(std::move(*r));
    store::TenantPatch patch;
    try {
      auto& o = std::get<boost::json::object>(body);
      patch.display_name = string_field(o, "displayName");
      patch.tier = string_field(o, "tier");
      patch.status = string_field(o, "status");
    } catch (const BadField& e) {
      return reply(net::error_response(400, "invalid_request", e.what(), req->request_id));
    }
    std::string id(req->param("id"));
    run_blocking(*d.pool, req, reply, [d, id, patch, caller, req] {
      auto t = d.tenants->update(id, patch);
      log::info("tenant updated", {{"request_id", req->request_id}, {"tenant", id}, {"status", t.status},
                                   {"tier", t.tier}, {"by", caller->subject}});
      return json(200, tenant_json(t));
    });
  }));

  router.add("GET", "/v1/tenants/{id}/clients", d.guard->protect(reader, [d](auto req, Caller, net::Responder reply) {
    std::string id(req->param("id"));
    run_blocking(*d.pool, req, reply, [d, id] {
      boost::json::array items;
      for (const auto& c : d.tenants->list_clients(id)) items.push_back(client_json(c));
      return json(200, {{"clients", std::move(items)}, {"nextCursor", nullptr}});
    });
  }));

  router.add("POST", "/v1/tenants/{id}/clients", d.guard->protect(admin, [d](auto req, Caller caller, net::Responder reply) {
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
      return reply(net::error_response(400, "invalid_request", e.what(), req->request_id));
    }
    std::string id(req->param("id"));
    run_blocking(*d.pool, req, reply, [d, id, nc, caller, req] {
      auto created = d.tenants->create_client(id, nc);
      log::info("client created", {{"request_id", req->request_id}, {"tenant", id},
                                   {"client_id", created.client.client_id}, {"by", caller->subject}});
      auto o = client_json(created.client);
      o["clientSecret"] = created.secret;  // shown once
      auto r = json(201, o);
      r.headers.push_back({"Cache-Control", "no-store"});
      return r;
    });
  }));

  // Platform admins rotate any tenant's clients; a tenant's SelfService.Admin only its own tenant's.
  router.add("POST", "/v1/tenants/{id}/clients/{clientId}/rotate",
             d.guard->protect(Access::authenticated(), [d](auto req, Caller caller, net::Responder reply) {
               std::string id(req->param("id")), client_id(req->param("clientId"));
               const bool platform_admin = caller->is_platform() && caller->has_role(kPlatformAdmin);
               const bool self_service = caller->tenant == id && caller->has_role(kSelfServiceAdmin);
               if (!platform_admin && !self_service) {
                 log::warn("access denied", {{"request_id", req->request_id}, {"route", req->route},
                                             {"tenant", caller->tenant}, {"path_tenant", id}});
                 return reply(net::error_response(403, "forbidden",
                                                  "only a platform admin or this tenant's SelfService.Admin may rotate its clients",
                                                  req->request_id));
               }
               run_blocking(*d.pool, req, reply, [d, id, client_id, caller, req] {
                 auto rotated = d.tenants->rotate_client_secret(id, client_id);
                 log::info("client secret rotated", {{"request_id", req->request_id}, {"tenant", id},
                                                     {"client_id", client_id}, {"by", caller->subject}});
                 auto r = json(200, {{"clientId", client_id}, {"clientSecret", rotated.secret}});
                 r.headers.push_back({"Cache-Control", "no-store"});
                 return r;
               });
             }));
}

}  // namespace pc::api
