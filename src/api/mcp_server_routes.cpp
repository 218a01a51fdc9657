#include "api/mcp_server_routes.h"

#include <boost/json.hpp>

#include "api/blocking.h"
#include "api/json_body.h"
#include "api/paging.h"
#include "api/path_tenant.h"
#include "api/render.h"
#include "core/log.h"
#include "mcp/server_registry.h"

namespace pc::api {
namespace {

using auth::roles::kPlatformAdmin;
using auth::roles::kPlatformOperator;

// The server as the Admin API shows it. auth.secret is the NAME of a vault secret (a reference);
// the value lives in the tenant's vault and never appears here.
boost::json::object server_json(const store::McpServerRecord& s) {
  boost::json::object auth{{"mode", s.auth_mode}};
  if (s.auth_mode == "vault_secret") {
    auth["secret"] = s.auth_secret;
    auth["header"] = s.auth_header;
  }
  boost::json::array disabled(s.disabled_tools.begin(), s.disabled_tools.end());
  boost::json::value tools = boost::json::array();
  if (!s.last_tools.empty()) {
    boost::system::error_code ec;
    auto v = boost::json::parse(s.last_tools, ec);
    if (!ec && v.is_array()) tools = std::move(v);
  }
  auto text_or_null = [](const std::string& t) { return t.empty() ? boost::json::value(nullptr) : boost::json::value(t); };
  return {{"id", s.server_id},
          {"name", s.name},
          {"scope", s.tenant_id.empty() ? "platform" : s.tenant_id},
          {"url", s.url},
          {"auth", std::move(auth)},
          {"tierMinimum", s.tier_minimum},
          {"enabled", s.enabled},
          {"disabledTools", std::move(disabled)},
          {"timeoutMs", s.timeout_ms},
          {"status", s.status},
          {"checkedAt", text_or_null(s.checked_at)},
          {"lastError", text_or_null(s.last_error)},
          {"tools", std::move(tools)},
          {"createdAt", s.created_at},
          {"updatedAt", s.updated_at}};
}

// The body of POST (create) or PATCH (change). Strict: unknown fields, here and inside "auth",
// are 400s, so a typo is never a silent no-op.
mcp::ServerSpec spec_of(const boost::json::object& o, bool create) {
  mcp::ServerSpec s;
  if (create) s.name = string_field(o, "name");
  s.url = string_field(o, "url");
  if (const auto* a = o.if_contains("auth"); a && !a->is_null()) {
    if (!a->is_object()) throw BadField("auth must be an object {\"mode\", \"secret\"?, \"header\"?}");
    const auto& auth = a->get_object();
    for (const auto& kv : auth)
      if (kv.key() != "mode" && kv.key() != "secret" && kv.key() != "header")
        throw BadField("auth: unknown field '" + std::string(kv.key()) + "' (known: mode, secret, header)");
    s.auth_mode = string_field(auth, "mode");
    if (!s.auth_mode) throw BadField("auth.mode is required: none, act_on_behalf or vault_secret");
    s.auth_secret = string_field(auth, "secret");
    s.auth_header = string_field(auth, "header");
  }
  s.tier_minimum = string_field(o, "tierMinimum");
  s.enabled = bool_field(o, "enabled");
  s.disabled_tools = strings_field(o, "disabledTools");
  s.timeout_ms = int_field(o, "timeoutMs");
  return s;
}

// A registry refusal as its answer (400, 404, 409); anything else goes on to run_blocking's
// mapping (violations 403, store errors, 500).
std::function<net::Response()> refusals_answered(std::shared_ptr<net::Request> req, std::function<net::Response()> job) {
  return [req = std::move(req), job = std::move(job)] {
    try {
      return job();
    } catch (const mcp::ServerError& e) {
      using K = mcp::ServerError::Kind;
      if (e.kind() == K::not_found) return net::error_response(404, "not_found", e.what(), req->request_id);
      if (e.kind() == K::conflict) return net::error_response(409, "conflict", e.what(), req->request_id);
      return net::error_response(400, "invalid_request", e.what(), req->request_id);
    }
  };
}

void log_change(const net::Request& req, const Caller& caller, std::string_view what, const std::string& scope,
                const std::string& name) {
  log::info(what, {{"request_id", req.request_id}, {"scope", scope}, {"server", name}, {"by", caller->subject}});
}

// The handlers of one scope: "" = the globals (platform), else the tenant of the path, which the
// caller's route checked (tenant_gate) before any of these runs.
struct Scope {
  AdminDeps d;
  mcp::ServerRegistry* registry;

  void list(std::shared_ptr<net::Request> req, net::Responder reply, std::string tenant) const {
    auto page = page_of(req->query);
    if (!page) return reply(bad_request(*req, "limit must be 1 to 1000"));
    run_blocking(*d.pool, req, reply, [d = d, registry = registry, tenant, page = *page] {
      if (!tenant.empty()) path_tenant(d, tenant);
      auto rows = registry->list(tenant, page.cursor, page.limit + 1);
      boost::json::array items;
      for (std::size_t i = 0; i < rows.size() && i < page.limit; ++i) items.push_back(server_json(rows[i]));
      return page_response("servers", std::move(items), rows.size() > page.limit ? rows[page.limit - 1].name : "");
    });
  }

  void create(std::shared_ptr<net::Request> req, Caller caller, net::Responder reply, std::string tenant) const {
    auto body = json_object_body(
        *req, {"name", "url", "auth", "tierMinimum", "enabled", "disabledTools", "timeoutMs"});
    if (auto* r = std::get_if<net::Response>(&body)) return reply(std::move(*r));
    mcp::ServerSpec spec;
    try {
      spec = spec_of(std::get<boost::json::object>(body), true);
    } catch (const BadField& e) {
      return reply(bad_request(*req, e.what()));
    }
    run_blocking(*d.pool, req, reply, refusals_answered(req, [d = d, registry = registry, tenant, spec, caller, req] {
      if (!tenant.empty()) path_tenant(d, tenant);
      auto s = registry->create(tenant, spec, change_audit(d, *req, caller));
      if (d.capabilities_changed) d.capabilities_changed();  // tools.<name> was created with it
      log_change(*req, caller, "mcp server created", tenant.empty() ? "platform" : tenant, s.name);
      return json_response(201, server_json(s));
    }));
  }

  void get(std::shared_ptr<net::Request> req, net::Responder reply, std::string tenant) const {
    std::string name(req->param("name"));
    run_blocking(*d.pool, req, reply, [d = d, registry = registry, tenant, name, req] {
      if (!tenant.empty()) path_tenant(d, tenant);
      auto s = registry->get(tenant, name);
      if (!s) return net::error_response(404, "not_found", "no MCP server '" + name + "'", req->request_id);
      return json_response(200, server_json(*s));
    });
  }

  void update(std::shared_ptr<net::Request> req, Caller caller, net::Responder reply, std::string tenant) const {
    auto body = json_object_body(*req, {"url", "auth", "tierMinimum", "enabled", "disabledTools", "timeoutMs"});
    if (auto* r = std::get_if<net::Response>(&body)) return reply(std::move(*r));
    mcp::ServerSpec change;
    try {
      change = spec_of(std::get<boost::json::object>(body), false);
    } catch (const BadField& e) {
      return reply(bad_request(*req, e.what()));
    }
    std::string name(req->param("name"));
    run_blocking(*d.pool, req, reply,
                 refusals_answered(req, [d = d, registry = registry, tenant, name, change, caller, req] {
                   if (!tenant.empty()) path_tenant(d, tenant);
                   auto s = registry->update(tenant, name, change, change_audit(d, *req, caller));
                   log_change(*req, caller, "mcp server updated", tenant.empty() ? "platform" : tenant, s.name);
                   return json_response(200, server_json(s));
                 }));
  }

  void remove(std::shared_ptr<net::Request> req, Caller caller, net::Responder reply, std::string tenant) const {
    std::string name(req->param("name"));
    run_blocking(*d.pool, req, reply, refusals_answered(req, [d = d, registry = registry, tenant, name, caller, req] {
                   if (!tenant.empty()) path_tenant(d, tenant);
                   registry->remove(tenant, name, change_audit(d, *req, caller));
                   log_change(*req, caller, "mcp server deleted", tenant.empty() ? "platform" : tenant, name);
                   return net::Response::text(204, "");
                 }));
  }
};

}  // namespace

void add_mcp_server_routes(net::Router& router, const AdminDeps& d, mcp::ServerRegistry& registry) {
  const Policy admin = Policy::platform_only({kPlatformAdmin});
  const Policy reader = Policy::platform_only({kPlatformAdmin, kPlatformOperator});
  const Scope scope{d, &registry};

  // ---- global servers
  router.add("GET", "/v1/platform/mcp-servers", d.chain->route(reader, [scope](auto req, Caller, net::Responder reply) {
    scope.list(std::move(req), std::move(reply), "");
  }));
  router.add("POST", "/v1/platform/mcp-servers", d.chain->route(admin, [scope](auto req, Caller caller, net::Responder reply) {
    scope.create(std::move(req), std::move(caller), std::move(reply), "");
  }));
  router.add("GET", "/v1/platform/mcp-servers/{name}", d.chain->route(reader, [scope](auto req, Caller, net::Responder reply) {
    scope.get(std::move(req), std::move(reply), "");
  }));
  router.add("PATCH", "/v1/platform/mcp-servers/{name}",
             d.chain->route(admin, [scope](auto req, Caller caller, net::Responder reply) {
               scope.update(std::move(req), std::move(caller), std::move(reply), "");
             }));
  router.add("DELETE", "/v1/platform/mcp-servers/{name}",
             d.chain->route(admin, [scope](auto req, Caller caller, net::Responder reply) {
               scope.remove(std::move(req), std::move(caller), std::move(reply), "");
             }));

  // ---- a tenant's own servers (the path's tenant checked by tenant_in_path)
  router.add("GET", "/v1/tenants/{id}/mcp-servers",
             gated(d, PathTenant::platform_read, [scope](auto req, Caller, net::Responder reply, std::string tenant) {
               scope.list(std::move(req), std::move(reply), std::move(tenant));
             }));
  router.add("POST", "/v1/tenants/{id}/mcp-servers",
             gated(d, PathTenant::platform_admin, [scope](auto req, Caller caller, net::Responder reply, std::string tenant) {
               scope.create(std::move(req), std::move(caller), std::move(reply), std::move(tenant));
             }));
  router.add("GET", "/v1/tenants/{id}/mcp-servers/{name}",
             gated(d, PathTenant::platform_read, [scope](auto req, Caller, net::Responder reply, std::string tenant) {
               scope.get(std::move(req), std::move(reply), std::move(tenant));
             }));
  router.add("PATCH", "/v1/tenants/{id}/mcp-servers/{name}",
             gated(d, PathTenant::platform_admin, [scope](auto req, Caller caller, net::Responder reply, std::string tenant) {
               scope.update(std::move(req), std::move(caller), std::move(reply), std::move(tenant));
             }));
  router.add("DELETE", "/v1/tenants/{id}/mcp-servers/{name}",
             gated(d, PathTenant::platform_admin, [scope](auto req, Caller caller, net::Responder reply, std::string tenant) {
               scope.remove(std::move(req), std::move(caller), std::move(reply), std::move(tenant));
             }));
}

}  // namespace pc::api
