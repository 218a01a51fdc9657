// The agent registry's admin routes (docs/admin-api.md): agents, versions, promotion, rollback.
#include <boost/json.hpp>

#include "agents/registry.h"
#include "api/blocking.h"
#include "api/json_body.h"
#include "api/platform_routes.h"
#include "api/render.h"
#include "core/log.h"

namespace pc::api {
namespace {

using auth::roles::kPlatformAdmin;
using auth::roles::kPlatformOperator;

boost::json::object view_json(const agents::AgentView& v, bool with_versions) {
  auto o = agent_json(v.agent);
  o["promotedVersion"] = v.promoted_version ? boost::json::value(*v.promoted_version) : nullptr;
  if (with_versions) {
    boost::json::array versions;
    for (const auto& ver : v.versions) versions.push_back(version_json(ver));
    o["versions"] = std::move(versions);
  }
  return o;
}

void log_change(const net::Request& req, const Caller& caller, std::string_view what, const std::string& agent) {
  log::info(what, {{"request_id", req.request_id}, {"agent", agent}, {"by", caller->subject}});
}

}  // namespace

void add_agent_admin_routes(net::Router& router, const AdminDeps& d) {
  const Policy admin = Policy::platform_only({kPlatformAdmin});
  const Policy reader = Policy::platform_only({kPlatformAdmin, kPlatformOperator});

  router.add("GET", "/v1/platform/agents", d.chain->route(reader, [d](auto req, Caller, net::Responder reply) {
    run_blocking(*d.pool, req, reply, [d] {
      boost::json::array items;
      for (const auto& v : d.registry->list()) items.push_back(view_json(v, false));
      return page_response("agents", std::move(items), "");
    });
  }));

  router.add("POST", "/v1/platform/agents", d.chain->route(admin, [d](auto req, Caller caller, net::Responder reply) {
    auto body = json_object_body(*req, {"name", "description", "tierMinimum", "protocol"});
    if (auto* r = std::get_if<net::Response>(&body)) return reply(std::move(*r));
    store::AgentRecord a;
    try {
      auto& o = std::get<boost::json::object>(body);
      a.name = string_field(o, "name").value_or("");
      a.description = string_field(o, "description").value_or("");
      a.tier_minimum = string_field(o, "tierMinimum").value_or("basic");
      a.protocol = string_field(o, "protocol").value_or("http");
    } catch (const BadField& e) {
      return reply(bad_request(*req, e.what()));
    }
    run_blocking(*d.pool, req, reply, [d, a, caller, req] {
      auto created = d.registry->create(a);
      d.capabilities_changed();  // the agent's own capability was created with it
      log_change(*req, caller, "agent created", a.name);
      return json_response(201, agent_json(created));
    });
  }));

  router.add("GET", "/v1/platform/agents/{name}", d.chain->route(reader, [d](auto req, Caller, net::Responder reply) {
    std::string name(req->param("name"));
    run_blocking(*d.pool, req, reply, [d, name, req] {
      auto v = d.registry->get(name);
      if (!v) return net::error_response(404, "not_found", "no agent '" + name + "'", req->request_id);
      return json_response(200, view_json(*v, true));
    });
  }));

  router.add("PATCH", "/v1/platform/agents/{name}", d.chain->route(admin, [d](auto req, Caller caller, net::Responder reply) {
    auto body = json_object_body(*req, {"description", "tierMinimum", "protocol"});
    if (auto* r = std::get_if<net::Response>(&body)) return reply(std::move(*r));
    std::optional<std::string> description, tier, protocol;
    try {
      auto& o = std::get<boost::json::object>(body);
      description = string_field(o, "description");
      tier = string_field(o, "tierMinimum");
      protocol = string_field(o, "protocol");
    } catch (const BadField& e) {
      return reply(bad_request(*req, e.what()));
    }
    std::string name(req->param("name"));
    run_blocking(*d.pool, req, reply, [d, name, description, tier, protocol, caller, req] {
      auto a = d.registry->update(name, description, tier, protocol);
      log_change(*req, caller, "agent updated", name);
      return json_response(200, agent_json(a));
    });
  }));

  router.add("DELETE", "/v1/platform/agents/{name}", d.chain->route(admin, [d](auto req, Caller caller, net::Responder reply) {
    std::string name(req->param("name"));
    run_blocking(*d.pool, req, reply, [d, name, caller, req] {
      d.registry->remove(name);
      log_change(*req, caller, "agent deleted", name);
      return net::Response::text(204, "");
    });
  }));

  router.add("POST", "/v1/platform/agents/{name}/versions", d.chain->route(admin, [d](auto req, Caller caller, net::Responder reply) {
    auto body = json_object_body(*req, {"version", "endpoint"});
    if (auto* r = std::get_if<net::Response>(&body)) return reply(std::move(*r));
    std::string version, endpoint;
    try {
      auto& o = std::get<boost::json::object>(body);
      version = string_field(o, "version").value_or("");
      endpoint = string_field(o, "endpoint").value_or("");
    } catch (const BadField& e) {
      return reply(bad_request(*req, e.what()));
    }
    std::string name(req->param("name"));
    run_blocking(*d.pool, req, reply, [d, name, version, endpoint, caller, req] {
      auto v = d.registry->add_version(name, version, endpoint);
      log_change(*req, caller, "agent version added", name);
      return json_response(201, version_json(v));
    });
  }));

  router.add("POST", "/v1/platform/agents/{name}/versions/{version}/promote",
             d.chain->route(admin, [d](auto req, Caller caller, net::Responder reply) {
               std::string name(req->param("name")), version(req->param("version"));
               run_blocking(*d.pool, req, reply, [d, name, version, caller, req] {
                 auto v = d.registry->promote(name, version, change_audit(d, *req, caller));
                 log_change(*req, caller, "agent version promoted", name);
                 return json_response(200, version_json(v));
               });
             }));

  router.add("POST", "/v1/platform/agents/{name}/rollback", d.chain->route(admin, [d](auto req, Caller caller, net::Responder reply) {
    std::string name(req->param("name"));
    run_blocking(*d.pool, req, reply, [d, name, caller, req] {
      auto v = d.registry->rollback(name, change_audit(d, *req, caller));
      log_change(*req, caller, "agent rolled back", name);
      return json_response(200, version_json(v));
    });
  }));
}

}  // namespace pc::api
